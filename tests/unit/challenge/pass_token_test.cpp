#include "bawwab/challenge/pass_token.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "challenge_test_util.hpp"

using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

TEST_CASE("pass: the token layout matches an independent HMAC (python hmac)") {
  // Computed with Python's hmac over the documented layout (see pass_token.cpp): a change of the
  // layout invalidates every pass in the field, so it must be deliberate.
  const auto ring = fixed_ring();
  CHECK(issue_pass(ring, context(), kT0 + 24h) ==
        "1.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M");
}

TEST_CASE("pass: valid for the same client until expiry") {
  const auto ring = fixed_ring();
  const auto token = issue_pass(ring, context(), kT0 + 24h);
  CHECK(verify_pass(ring, token, context(), kT0) == PassCheck::valid);
  CHECK(verify_pass(ring, token, context(), kT0 + 24h - 1s) == PassCheck::valid);
  // Another host of the same /24 (a NAT pool, a DHCP renewal) keeps its pass.
  CHECK(verify_pass(ring, token, context("203.0.113.250"), kT0) == PassCheck::valid);
  // The IPv4-mapped spelling of the same client.
  CHECK(verify_pass(ring, token, context("::ffff:203.0.113.9"), kT0) == PassCheck::valid);
}

TEST_CASE("pass: expires at its expiry second") {
  const auto ring = fixed_ring();
  const auto token = issue_pass(ring, context(), kT0 + 1h);
  CHECK(verify_pass(ring, token, context(), kT0 + 1h) == PassCheck::expired);
  CHECK(verify_pass(ring, token, context(), kT0 + 48h) == PassCheck::expired);
}

TEST_CASE("pass: bound to the network, the User-Agent and the TLS fingerprint") {
  const auto ring = fixed_ring();
  const auto token = issue_pass(ring, context(), kT0 + 24h);
  CHECK(verify_pass(ring, token, context("203.0.114.5"), kT0) == PassCheck::bad_mac);
  CHECK(verify_pass(ring, token, context("198.51.100.5"), kT0) == PassCheck::bad_mac);
  CHECK(verify_pass(ring, token, context("203.0.113.5", kChromeUa + " "), kT0) ==
        PassCheck::bad_mac);
  CHECK(verify_pass(ring, token, context("203.0.113.5", "curl/8.5.0"), kT0) == PassCheck::bad_mac);
  CHECK(verify_pass(ring, token,
                    context("203.0.113.5", kChromeUa, "t13d1715h2_5b57614c22b0_3d5424432f57"),
                    kT0) == PassCheck::bad_mac);
  // A pass from plain HTTP does not carry over to TLS (and the reverse).
  CHECK(verify_pass(ring, token, context("203.0.113.5", kChromeUa, ""), kT0) == PassCheck::bad_mac);
}

TEST_CASE("pass: IPv6 is bound to the /64") {
  const auto ring = fixed_ring();
  const auto ctx = context("2001:db8:1:2:aaaa::1");
  const auto token = issue_pass(ring, ctx, kT0 + 24h);
  CHECK(verify_pass(ring, token, context("2001:db8:1:2:ffff:1:2:3"), kT0) == PassCheck::valid);
  CHECK(verify_pass(ring, token, context("2001:db8:1:3::1"), kT0) == PassCheck::bad_mac);
  // An IPv4 client whose bytes happen to match the prefix is another family.
  CHECK(verify_pass(ring, token, context("32.1.13.184"), kT0) == PassCheck::bad_mac);
}

TEST_CASE("pass: tampering is detected") {
  const auto ring = fixed_ring();
  const std::string token = issue_pass(ring, context(), kT0 + 24h);
  SECTION("a later expiry") {
    std::string t = token;
    t.replace(t.find(".1767312000."), 12, ".1767398400.");
    CHECK(verify_pass(ring, t, context(), kT0) == PassCheck::bad_mac);
  }
  SECTION("each MAC character flipped") {
    const auto mac_at = token.rfind('.') + 1;
    for (std::size_t i = mac_at; i < token.size(); ++i) {
      std::string t = token;
      t[i] = t[i] == 'A' ? 'B' : 'A';
      const auto r = verify_pass(ring, t, context(), kT0);
      // The last character also carries 2 padding bits: a change there may be non-canonical.
      CHECK((r == PassCheck::bad_mac || r == PassCheck::malformed));
      CHECK(r != PassCheck::valid);
    }
  }
  SECTION("non-canonical spellings are refused, not normalised") {
    std::string t = token;
    t.replace(0, 4, "1.01");  // key id "01"
    CHECK(verify_pass(ring, t, context(), kT0) == PassCheck::malformed);
    // The MAC's last char: 'M' -> 'N' keeps the decoded bytes but sets a padding bit.
    std::string u = token;
    REQUIRE(u.back() == 'M');
    u.back() = 'N';
    CHECK(verify_pass(ring, u, context(), kT0) == PassCheck::malformed);
  }
  SECTION("a challenge is not a pass") {
    const auto c = issue_challenge(ring, context(), 8, "/", kT0);
    CHECK(verify_pass(ring, c, context(), kT0) == PassCheck::malformed);
  }
}

TEST_CASE("pass: malformed values") {
  const auto ring = fixed_ring();
  const std::vector<std::string> bad = {
      "x",
      "1.1.1767312000",
      "2.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M",
      "1.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8",
      "1.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M.x",
      "1.-1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M",
      "1.1.+1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M",
      "1.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8=",
      "1.1.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1w+8M",
      "1.99999999999.1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M",
      "1..1767312000.HXZJmfhu2GYsELfkY36ay2jDQoncU4PARTHLPc1wd8M",
      std::string(300, 'A'),
  };
  for (const auto& b : bad) {
    INFO(b);
    CHECK(verify_pass(ring, b, context(), kT0) == PassCheck::malformed);
  }
  CHECK(verify_pass(ring, "", context(), kT0) == PassCheck::absent);
}

TEST_CASE("pass: unknown key id") {
  const auto ring = fixed_ring();
  const KeyRing other({fixed_key(7, 1'767'000'000, 0x40)});
  const auto token = issue_pass(other, context(), kT0 + 24h);
  CHECK(verify_pass(ring, token, context(), kT0) == PassCheck::unknown_key);
  // Same id, other secret (a key file regenerated elsewhere): a bad MAC.
  const KeyRing same_id({fixed_key(1, 1'767'000'000, 0x40)});
  CHECK(verify_pass(ring, issue_pass(same_id, context(), kT0 + 24h), context(), kT0) ==
        PassCheck::bad_mac);
}

TEST_CASE("pass: after rotation, old passes verify while their key is listed") {
  const Key old_key = fixed_key(1, 1'767'000'000, 0x10);
  const Key new_key = fixed_key(2, 1'767'100'000, 0x50);
  const KeyRing before({old_key});
  const KeyRing rotated({new_key, old_key});  // order does not matter: sorted by creation
  CHECK(rotated.signing_key().id == 2);
  const auto old_token = issue_pass(before, context(), kT0 + 24h);
  CHECK(verify_pass(rotated, old_token, context(), kT0) == PassCheck::valid);
  const auto new_token = issue_pass(rotated, context(), kT0 + 24h);
  CHECK(new_token.starts_with("1.2."));
  CHECK(verify_pass(rotated, new_token, context(), kT0) == PassCheck::valid);
  // Once the old key is dropped its passes are refused as from an unknown key.
  const KeyRing dropped({new_key});
  CHECK(verify_pass(dropped, old_token, context(), kT0) == PassCheck::unknown_key);
}

TEST_CASE("pass: from the Cookie headers") {
  const auto ring = fixed_ring();
  const auto good = issue_pass(ring, context(), kT0 + 24h);
  const auto stale = issue_pass(ring, context(), kT0 - 1h);
  const std::string h1 = "theme=dark; bawwab_pass=" + stale;
  const std::string h2 = "bawwab_pass=\"" + good + "\"; other=1";
  SECTION("any valid one wins, across several headers and quoted values") {
    const std::vector<std::string_view> headers = {h1, h2};
    CHECK(check_pass_cookie(ring, headers, "bawwab_pass", context(), kT0) == PassCheck::valid);
  }
  SECTION("else the first failure") {
    const std::vector<std::string_view> headers = {h1};
    CHECK(check_pass_cookie(ring, headers, "bawwab_pass", context(), kT0) == PassCheck::expired);
  }
  SECTION("absent") {
    const std::string h = "xbawwab_pass=1; bawwab_passx=2; bawwab_pass_chk_abc=1";
    const std::vector<std::string_view> headers = {h};
    CHECK(check_pass_cookie(ring, headers, "bawwab_pass", context(), kT0) == PassCheck::absent);
    CHECK(check_pass_cookie(ring, {}, "bawwab_pass", context(), kT0) == PassCheck::absent);
  }
}
