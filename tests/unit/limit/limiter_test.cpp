#include "bawwab/limit/limiter.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "limit_test_util.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;
using Kind = Verdict::Kind;
using limit::test::spec;

TEST_CASE("LocalLimiter: reject with Retry-After, counted", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  const LimitSpec s = spec("article-per-ip", 10, 1s, 5);
  int passes = 0;
  for (int i = 0; i < 20; ++i) {
    const Verdict v = limiter.check(s, 42, clock.now());
    CHECK(v.spec == &s);
    CHECK_FALSE(v.shadow);
    if (v.kind == Kind::pass) {
      ++passes;
    } else {
      CHECK(v.kind == Kind::reject);
      CHECK(v.retry_after == 100ms);
      CHECK(v.remaining == 0);
    }
  }
  CHECK(passes == 6);
  // Another key has its own budget.
  CHECK(limiter.check(s, 43, clock.now()).kind == Kind::pass);
  const LimiterStats& st = limiter.stats();
  CHECK(st.checks == 21);
  CHECK(st.passes == 7);
  CHECK(st.rejects == 14);
  CHECK(st.keys == 2);
  CHECK(st.limits == 1);
}

TEST_CASE("LocalLimiter: delay holds requests within the burst to the rate", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  const LimitSpec s = spec("slow", 10, 1s, 5, OnExceed::delay);
  std::vector<Verdict> out;
  for (int i = 0; i < 20; ++i) out.push_back(limiter.check(s, 1, clock.now()));
  CHECK(out[0].kind == Kind::pass);
  CHECK(out[0].wait == 0ns);
  for (int i = 1; i <= 5; ++i) {
    INFO(i);
    CHECK(out[i].kind == Kind::delay);
    CHECK(out[i].wait == std::chrono::nanoseconds(i * 100ms));  // like nginx without nodelay
  }
  for (int i = 6; i < 20; ++i) CHECK(out[i].kind == Kind::reject);
  CHECK(limiter.stats().delays == 5);
  // Requests arriving at the rate are not delayed.
  clock.advance(10s);
  for (int i = 0; i < 5; ++i) {
    CHECK(limiter.check(s, 1, clock.now()).kind == Kind::pass);
    clock.advance(100ms);
  }
}

TEST_CASE("LocalLimiter: max_delay bounds the wait, later requests are rejected", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  LimitSpec s = spec("slow", 10, 1s, 5, OnExceed::delay);
  s.max_delay = 250ms;
  std::vector<Kind> kinds;
  std::chrono::nanoseconds longest{0};
  for (int i = 0; i < 6; ++i) {
    const Verdict v = limiter.check(s, 1, clock.now());
    kinds.push_back(v.kind);
    longest = std::max(longest, v.wait);
  }
  CHECK(kinds == std::vector<Kind>{Kind::pass, Kind::delay, Kind::delay, Kind::reject,
                                   Kind::reject, Kind::reject});
  CHECK(longest == 200ms);
}

TEST_CASE("LocalLimiter: ban, escalation, cap, expiry and forgiveness", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  LimitSpec s = spec("login", 1, 1s, 0, OnExceed::ban);
  s.ban_duration = 10s;
  s.ban_escalation = 2.0;
  s.ban_max = 35s;

  const auto offend = [&](std::chrono::seconds expected) {
    REQUIRE(limiter.check(s, 7, clock.now()).kind == Kind::pass);
    const Verdict ban = limiter.check(s, 7, clock.now());
    REQUIRE(ban.kind == Kind::ban);
    CHECK(ban.retry_after == expected);
    // While banned every request is a ban, with the time left.
    clock.advance(expected - 1s);
    const Verdict during = limiter.check(s, 7, clock.now());
    CHECK(during.kind == Kind::ban);
    CHECK(during.retry_after == 1s);
    clock.advance(1s);  // the ban is over
  };
  offend(10s);
  offend(20s);  // x2
  offend(35s);  // x2 = 40, capped at ban_max
  offend(35s);
  // Another key is untouched by the ban.
  CHECK(limiter.check(s, 8, clock.now()).kind == Kind::pass);
  // Clean for longer than ban_max after the last ban: the next ban is a first ban again.
  clock.advance(36s);
  offend(10s);
  CHECK(limiter.stats().bans == 10);
}

TEST_CASE("ban_length", "[limiter]") {
  LimitSpec s = spec("b", 1, 1s, 0, OnExceed::ban);
  s.ban_duration = 600s;
  s.ban_escalation = 1.0;
  s.ban_max = 86'400s;
  CHECK(ban_length(s, 0) == 600s);
  CHECK(ban_length(s, 9) == 600s);  // no escalation
  s.ban_escalation = 3.0;
  CHECK(ban_length(s, 1) == 1800s);
  CHECK(ban_length(s, 2) == 5400s);
  CHECK(ban_length(s, 1000) == 86'400s);  // 3^1000 is inf in double: capped
  s.ban_max = 60s;  // a cap below the first ban wins
  CHECK(ban_length(s, 0) == 60s);
}

TEST_CASE("LocalLimiter: shadow verdicts are computed, flagged and counted", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  LimitSpec s = spec("dry", 1, 1s, 0);
  s.shadow = true;
  const Verdict first = limiter.check(s, 1, clock.now());
  CHECK(first.kind == Kind::pass);
  CHECK(first.shadow);
  const Verdict second = limiter.check(s, 1, clock.now());
  CHECK(second.kind == Kind::reject);  // what enforcing would do
  CHECK(second.shadow);                // the caller lets it through
  CHECK(limiter.stats().shadowed == 1);
  CHECK(limiter.stats().rejects == 1);
}

TEST_CASE("LocalLimiter: state is kept by limit name across reloads", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  auto before = std::make_unique<LimitSpec>(spec("per-ip", 1, 60s, 2));
  for (int i = 0; i < 3; ++i) REQUIRE(limiter.check(*before, 5, clock.now()).kind == Kind::pass);
  REQUIRE(limiter.check(*before, 5, clock.now()).kind == Kind::reject);
  before.reset();  // the old rule set is gone

  // A reload compiles a new spec object with the same name: the key is still over its limit.
  const LimitSpec after = spec("per-ip", 1, 60s, 2);
  CHECK(limiter.check(after, 5, clock.now()).kind == Kind::reject);
  // A changed rate applies from now on.
  const LimitSpec faster = spec("per-ip", 10, 1s, 2);
  CHECK(limiter.check(faster, 5, clock.now()).kind == Kind::reject);
  clock.advance(100ms);
  CHECK(limiter.check(faster, 5, clock.now()).kind == Kind::pass);
  // A different name is a different table (the same key hash does not share state).
  CHECK(limiter.check(spec("other", 1, 60s, 0), 5, clock.now()).kind == Kind::pass);
  CHECK(limiter.stats().limits == 2);
  CHECK(limiter.peek("per-ip", 5).has_value());
  CHECK_FALSE(limiter.peek("per-ip", 6).has_value());
  CHECK_FALSE(limiter.peek("nope", 5).has_value());
}

TEST_CASE("LocalLimiter: exact under concurrent checks of one key", "[limiter]") {
  ManualClock clock;
  LocalLimiter limiter;
  const LimitSpec s = spec("race", 1, 60s, 99);  // 100 pass, then nothing for a minute
  const TimePoint now = clock.now();
  std::atomic<int> passes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (limiter.check(s, 99, now).kind == Kind::pass) ++passes;
        // Other keys in between, to make shards and the name lookup busy too.
        limiter.check(s, static_cast<std::uint64_t>(i) << 40, now);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(passes == 100);
  CHECK(limiter.stats().checks == 16'000);
}

// The session reads the clock, then the limiter takes the shard lock: a request stamped earlier
// can reach the lock second. It must still be judged as if it came second, not against a TAT
// its own clock reading has not reached (with burst 1 that refused the second of two
// simultaneous requests, and with on_exceed: ban it banned the client).
TEST_CASE("LocalLimiter: a request stamped earlier that locks second is judged at the later time",
          "[limiter][order]") {
  LocalLimiter limiter;
  const LimitSpec s = spec("order", 1, 1s, 1, OnExceed::ban);  // 2 at once, then 1/s
  const TimePoint t1 = SteadyClock::now();
  const TimePoint t2 = t1 + 3ms;
  CHECK(limiter.check(s, 1, t2).kind == Kind::pass);  // the later reading locks first
  CHECK(limiter.check(s, 1, t1).kind == Kind::pass);  // the earlier one: the burst's second
  const Verdict third = limiter.check(s, 1, t1);
  CHECK(third.kind == Kind::ban);  // the third is over
}

// Two threads hammer one key with the real clock, reading it before the check as the session
// does: one request each on a fresh key with burst 1, so both must pass. Only the request that
// uses up the burst is judged on the edge (where a clock reading older than the key's state
// would refuse it), so every round puts the edge between the two threads. 10,000 rounds in a
// row must all give exactly the GCRA answer.
TEST_CASE("LocalLimiter: two threads on one key give the exact GCRA answer every round",
          "[limiter][order]") {
  constexpr int rounds = 10'000;
  LocalLimiter limiter;
  const LimitSpec s = spec("hammer", 1, 3600s, 1);  // 2 at once, then one an hour
  std::atomic<int> passes{0};
  int round = 0;
  int wrong_rounds = 0;
  int first_wrong = -1;
  // The completion runs once both threads finished a round (on one of them), before either
  // starts the next: it checks the round and moves to a fresh key.
  const auto end_of_round = [&]() noexcept {
    if (passes.load() != 2) {
      ++wrong_rounds;
      if (first_wrong < 0) first_wrong = round;
    }
    passes.store(0);
    ++round;
  };
  std::barrier sync(2, end_of_round);
  const auto worker = [&](int id) {
    for (int r = 0; r < rounds; ++r) {
      const auto key = static_cast<std::uint64_t>(r);
      const TimePoint now = SteadyClock::now();
      // Widen the window between reading the clock and taking the lock by a different amount in
      // each thread, as a preempted worker would, so that they often lock out of clock order.
      for (int spin = 0; spin < ((r + id) % 4) * 200; ++spin) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
      }
      if (limiter.check(s, key, now).kind == Kind::pass) passes.fetch_add(1);
      sync.arrive_and_wait();
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  INFO("first wrong round " << first_wrong);
  CHECK(round == rounds);
  CHECK(wrong_rounds == 0);
}

TEST_CASE("strictest: ban > reject > delay (longest) > pass; shadow never enforces",
          "[limiter]") {
  const LimitSpec a = spec("a", 1, 1s, 0);
  const LimitSpec b = spec("b", 1, 1s, 0);
  const auto v = [](Kind k, std::chrono::nanoseconds wait, std::chrono::nanoseconds retry,
                    const LimitSpec* s, bool shadow = false) {
    Verdict x;
    x.kind = k;
    x.wait = wait;
    x.retry_after = retry;
    x.spec = s;
    x.shadow = shadow;
    return x;
  };
  CHECK(strictest({}).kind == Kind::pass);
  CHECK(strictest({}).spec == nullptr);
  CHECK(strictest({v(Kind::pass, 0s, 0s, &a), v(Kind::pass, 0s, 0s, &b)}).spec == &a);
  CHECK(strictest({v(Kind::pass, 0s, 0s, &a), v(Kind::delay, 2s, 0s, &b)}).kind == Kind::delay);
  const Verdict longest = strictest(
      {v(Kind::delay, 1s, 0s, &a), v(Kind::delay, 3s, 0s, &b), v(Kind::pass, 0s, 0s, &a)});
  CHECK(longest.wait == 3s);
  CHECK(longest.spec == &b);
  CHECK(strictest({v(Kind::delay, 9s, 0s, &a), v(Kind::reject, 0s, 1s, &b)}).kind == Kind::reject);
  CHECK(strictest({v(Kind::reject, 0s, 5s, &a), v(Kind::reject, 0s, 7s, &b)}).retry_after == 7s);
  CHECK(strictest({v(Kind::reject, 0s, 500s, &a), v(Kind::ban, 0s, 1s, &b)}).kind == Kind::ban);
  // Shadow: an enforced delay beats a shadow ban (the ban would not be enforced anyway).
  const Verdict enforced = strictest({v(Kind::ban, 0s, 60s, &a, true), v(Kind::delay, 1s, 0s, &b)});
  CHECK(enforced.kind == Kind::delay);
  CHECK_FALSE(enforced.shadow);
  // Everything enforced passes: the strictest shadow verdict comes back, flagged, for the log.
  const Verdict dry = strictest({v(Kind::pass, 0s, 0s, &b), v(Kind::reject, 0s, 2s, &a, true)});
  CHECK(dry.kind == Kind::reject);
  CHECK(dry.shadow);
  CHECK(strictest({v(Kind::pass, 0s, 0s, &a, true)}).shadow);
}

TEST_CASE("kind_name", "[limiter]") {
  CHECK(kind_name(Kind::pass) == "pass");
  CHECK(kind_name(Kind::delay) == "delay");
  CHECK(kind_name(Kind::reject) == "reject");
  CHECK(kind_name(Kind::ban) == "ban");
}
