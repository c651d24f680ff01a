#include "bawwab/challenge/proof_of_work.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "challenge_test_util.hpp"

using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

TEST_CASE("pow: an 8-bit challenge solved in C++ is redeemed once, and its replay fails") {
  const auto ring = fixed_ring();
  SpentSet spent;
  const auto c = issue_challenge(ring, context(), 8, "/articles/1", kT0);
  const auto answer = solve(c, 8);
  Challenge parsed;
  CHECK(verify_solution(ring, c, answer, context(), "/articles/1", kT0 + 2s, spent, &parsed) ==
        ChallengeCheck::valid);
  CHECK(parsed.difficulty == 8);
  CHECK(parsed.expiry_unix == 1'767'225'600 + 300);
  CHECK(parsed.nonce_text.size() == 22);
  CHECK(spent.size() == 1);
  CHECK(verify_solution(ring, c, answer, context(), "/articles/1", kT0 + 3s, spent) ==
        ChallengeCheck::replayed);
  CHECK(spent.replays() == 1);
}

TEST_CASE("pow: the challenge string's shape") {
  const auto ring = fixed_ring();
  const auto c = issue_challenge(ring, context(), 14, "/", kT0);
  // 1.<id>.<expiry>.<difficulty>.<nonce 22>.<mac 43>, URL-safe without escaping.
  CHECK(c.starts_with("1.1.1767225900.14."));
  CHECK(c.size() == std::string("1.1.1767225900.14.").size() + 22 + 1 + 43);
  CHECK(c.find_first_not_of("0123456789.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") ==
        std::string::npos);
  CHECK(issue_challenge(ring, context(), 14, "/", kT0) != c);  // a fresh nonce each time
  CHECK(issue_challenge(ring, context(), 99, "/", kT0).starts_with("1.1.1767225900.30."));
}

TEST_CASE("pow: failures") {
  const auto ring = fixed_ring();
  SpentSet spent;
  const auto c = issue_challenge(ring, context(), 8, "/a", kT0);
  const auto answer = solve(c, 8);
  SECTION("not enough work") {
    CHECK(verify_solution(ring, c, non_answer(c, 8), context(), "/a", kT0, spent) ==
          ChallengeCheck::insufficient_work);
    CHECK(spent.size() == 0);  // a failed attempt does not spend the challenge
    CHECK(verify_solution(ring, c, answer, context(), "/a", kT0, spent) == ChallengeCheck::valid);
  }
  SECTION("answers that are not counters") {
    for (const char* a : {"", "-1", "1e3", " 1", "12345678901234567", "0x10"}) {
      INFO(a);
      CHECK(verify_solution(ring, c, a, context(), "/a", kT0, spent) == ChallengeCheck::malformed);
    }
  }
  SECTION("another client or another return path") {
    CHECK(verify_solution(ring, c, answer, context("198.51.100.1"), "/a", kT0, spent) ==
          ChallengeCheck::bad_mac);
    CHECK(verify_solution(ring, c, answer, context("203.0.113.5", "curl/8"), "/a", kT0, spent) ==
          ChallengeCheck::bad_mac);
    CHECK(verify_solution(ring, c, answer, context("203.0.113.5", kChromeUa, ""), "/a", kT0,
                          spent) == ChallengeCheck::bad_mac);
    CHECK(verify_solution(ring, c, answer, context(), "/b", kT0, spent) == ChallengeCheck::bad_mac);
  }
  SECTION("expired") {
    Challenge parsed;
    CHECK(verify_solution(ring, c, answer, context(), "/a", kT0 + 300s, spent, &parsed) ==
          ChallengeCheck::expired);
    CHECK(parsed.difficulty == 8);  // trusted: the MAC held
  }
  SECTION("an easier difficulty written into it") {
    std::string t = c;
    t.replace(t.find(".8."), 3, ".1.");
    CHECK(verify_solution(ring, t, solve(t, 1), context(), "/a", kT0, spent) ==
          ChallengeCheck::bad_mac);
  }
  SECTION("unknown key") {
    const KeyRing other({fixed_key(9, 1'767'000'000, 0x70)});
    const auto foreign = issue_challenge(other, context(), 8, "/a", kT0);
    CHECK(verify_solution(ring, foreign, solve(foreign, 8), context(), "/a", kT0, spent) ==
          ChallengeCheck::unknown_key);
  }
  SECTION("a no-JS challenge is not a proof of work") {
    const auto nojs = issue_challenge(ring, context(), 0, "/a", kT0);
    CHECK(verify_solution(ring, nojs, "1", context(), "/a", kT0, spent) ==
          ChallengeCheck::wrong_kind);
  }
  SECTION("malformed strings") {
    const auto pass = issue_pass(ring, context(), kT0 + 1h);
    for (const std::string& s :
         {std::string(), std::string("1.1.2.3"), pass, c + ".x", "2" + c.substr(1),
          c.substr(0, c.size() - 1), std::string(200, 'a')}) {
      INFO(s);
      CHECK(open_challenge(ring, s, context(), "/a", kT0) == ChallengeCheck::malformed);
    }
  }
}

TEST_CASE("pow: meets_difficulty counts leading zero bits") {
  // The C++ solver and the check agree; 0 bits is always met.
  const std::string c = "1.1.1767225900.12.AAAAAAAAAAAAAAAAAAAAAA.x";
  const auto a = solve(c, 12);
  CHECK(meets_difficulty(c, a, 12));
  CHECK(meets_difficulty(c, a, 1));
  CHECK(meets_difficulty(c, "0", 0));
  CHECK_FALSE(meets_difficulty(c, "abc", 0));
  // The smallest answer for 12 bits does not meet 12 bits for any smaller counter.
  for (int n = 0; n < std::stoi(a); ++n) CHECK_FALSE(meets_difficulty(c, std::to_string(n), 12));
}

TEST_CASE("spent set: bounded, expired entries pruned, oldest evicted when full") {
  SpentSet spent(8, 1);
  auto nonce = [](std::uint8_t i) {
    Nonce n{};
    n[0] = i;
    n[15] = 0;
    return n;
  };
  for (std::uint8_t i = 0; i < 8; ++i) CHECK(spent.mark_spent(nonce(i), kT0 + 300s, kT0));
  CHECK(spent.size() == 8);
  CHECK_FALSE(spent.mark_spent(nonce(3), kT0 + 300s, kT0));
  // Full: the oldest goes, counted.
  CHECK(spent.mark_spent(nonce(100), kT0 + 301s, kT0 + 1s));
  CHECK(spent.size() == 8);
  CHECK(spent.evicted() == 1);
  CHECK(spent.mark_spent(nonce(0), kT0 + 301s, kT0 + 1s));  // evicted: redeemable again
  // Once their challenges have expired, entries go on the next insert.
  CHECK(spent.mark_spent(nonce(200), kT0 + 700s, kT0 + 300s));
  CHECK(spent.size() == 3);                                   // nonce(100), nonce(0), nonce(200)
  CHECK(spent.mark_spent(nonce(5), kT0 + 700s, kT0 + 400s));  // long expired: fine to reuse
}

TEST_CASE("spent set: concurrent redemptions of one challenge, exactly one wins") {
  SpentSet spent(100'000, 4);  // room for all: no eviction in this test
  Nonce n{};
  n[0] = 42;
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        Nonce other{};
        other[0] = std::uint8_t(t);
        other[1] = std::uint8_t(i);
        other[15] = std::uint8_t(i);
        spent.mark_spent(other, kT0 + 300s, kT0);
        if (i == 100 && spent.mark_spent(n, kT0 + 300s, kT0)) ++wins;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wins == 1);
  CHECK(spent.size() == 8 * 200 + 1);
}
