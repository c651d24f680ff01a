#include "bawwab/challenge/verify_endpoint.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "challenge_test_util.hpp"

using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

namespace {

ChallengeConfig site() {
  ChallengeConfig c;
  c.site_name = "أخبار الصباح";
  c.contact = "webmaster@news.example";
  return c;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::vector<std::string> headers_named(const Headers& h, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : h)
    if (n == name) out.push_back(v);
  return out;
}

// "name=value" of a Set-Cookie value, as a browser sends it back.
std::string cookie_pair(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

// What a browser does with a js page: solve and build the verifier's query; keep the cookie.
struct Solved {
  std::string query;
  std::string cookie;
  std::string challenge;
};

Solved solve_page(const ChallengeReply& page) {
  Solved s;
  const auto url = attribute(page.body, "data-u");
  const auto d = std::stoi(attribute(page.body, "data-d"));
  s.challenge = attribute(page.body, "data-c");
  s.query = url.substr(url.find('?') + 1) + "&a=" + solve(s.challenge, unsigned(d));
  s.cookie = cookie_pair(headers_named(page.headers, "Set-Cookie").at(0));
  return s;
}

struct Fixture {
  ChallengeConfig cfg = site();
  KeyRing ring = fixed_ring();
  SpentSet spent;

  VerifyOutcome verify(std::string_view query, std::vector<std::string_view> cookies, WallTime now,
                       const PassContext& ctx = context(), bool tls = false) {
    cookies_ = std::move(cookies);
    return handle_verify(cfg, ring, spent, VerifyRequest{query, cookies_, ctx, tls, now});
  }
  ChallengeReply page(Level level, std::string_view target, unsigned difficulty = 8,
                      WallTime now = kT0) {
    return challenge_reply(cfg, ring, level, difficulty, context(), target, false, now);
  }

 private:
  std::vector<std::string_view> cookies_;
};

}  // namespace

TEST_CASE("verify: a solved js challenge gets the pass cookie and goes back; a replay fails") {
  Fixture f;
  const auto s = solve_page(f.page(Level::js, "/articles/7?x=1"));
  const auto ok = f.verify(s.query, {s.cookie}, kT0 + 2s);
  CHECK(ok.passed);
  CHECK(ok.status == 303);
  CHECK(ok.reason == "passed");
  CHECK(ok.location == "/articles/7?x=1");
  CHECK(ok.body.empty());
  REQUIRE(ok.set_cookie.starts_with("bawwab_pass="));
  CHECK(ok.set_cookie.ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"));
  CHECK(headers_named(ok.headers, "Location") == std::vector<std::string>{"/articles/7?x=1"});
  CHECK(headers_named(ok.headers, "Cache-Control") == std::vector<std::string>{"no-store"});
  const auto cookies = headers_named(ok.headers, "Set-Cookie");
  REQUIRE(cookies.size() == 2);
  CHECK(cookies[0] == ok.set_cookie);
  CHECK(cookies[1] == cookie_pair(s.cookie).substr(0, s.cookie.find('=')) +
                          "=; Path=/.well-known/bawwab/verify; Max-Age=0; HttpOnly; SameSite=Lax");
  // The pass works for the same client on its next request.
  const std::string token = cookie_pair(ok.set_cookie).substr(std::string("bawwab_pass=").size());
  CHECK(verify_pass(f.ring, token, context(), kT0 + 3s) == PassCheck::valid);
  CHECK(verify_pass(f.ring, token, context(), kT0 + 86'402s) == PassCheck::expired);

  const auto replay = f.verify(s.query, {s.cookie}, kT0 + 5s);
  CHECK_FALSE(replay.passed);
  CHECK(replay.status == 403);
  CHECK(replay.reason == "replayed");
  CHECK(replay.set_cookie.empty());
  CHECK(replay.location.empty());
  // A new challenge of the same difficulty, with its own check cookie.
  CHECK(contains(replay.body, "data-d=\"8\""));
  CHECK(attribute(replay.body, "data-c") != s.challenge);
  CHECK(headers_named(replay.headers, "Cache-Control") == std::vector<std::string>{"no-store"});
  CHECK(headers_named(replay.headers, "Set-Cookie").size() == 2);  // new check cookie, old cleared
}

TEST_CASE("verify: Secure cookies on TLS") {
  Fixture f;
  const auto s = solve_page(f.page(Level::js, "/"));
  const auto ok = f.verify(s.query, {s.cookie}, kT0 + 1s, context(), true);
  REQUIRE(ok.passed);
  CHECK(ok.set_cookie.ends_with("; Secure"));
}

TEST_CASE("verify: the check cookie must come back, or the reader is told about cookies") {
  Fixture f;
  const auto s = solve_page(f.page(Level::js, "/a"));
  const auto r = f.verify(s.query, {"other=1"}, kT0 + 1s);
  CHECK_FALSE(r.passed);
  CHECK(r.status == 403);
  CHECK(r.reason == "no_check_cookie");
  CHECK(contains(r.body, "role=\"alert\""));
  CHECK_FALSE(contains(r.body, "<script"));  // no new proof of work: that would be a loop
  CHECK(headers_named(r.headers, "Cache-Control") == std::vector<std::string>{"no-store"});
  // Another tab's check cookie does not stand in for this one.
  const auto other = solve_page(f.page(Level::js, "/b"));
  CHECK(f.verify(s.query, {other.cookie}, kT0 + 1s).reason == "replayed");  // spent above
  const auto s2 = solve_page(f.page(Level::js, "/a"));
  CHECK(f.verify(s2.query, {other.cookie}, kT0 + 1s).reason == "no_check_cookie");
  // Both tabs' cookies together (tabs opened in parallel): fine.
  const auto s3 = solve_page(f.page(Level::js, "/c"));
  const std::string both = other.cookie + "; " + s3.cookie;
  CHECK(f.verify(s3.query, {both}, kT0 + 1s).passed);
}

TEST_CASE("verify: failures answer a new challenge, never an easier one") {
  Fixture f;
  const auto s = solve_page(f.page(Level::js, "/a", 9));
  SECTION("wrong answer: same difficulty") {
    std::string q = s.query.substr(0, s.query.rfind("&a=")) + "&a=" + non_answer(s.challenge, 9);
    const auto r = f.verify(q, {s.cookie}, kT0 + 1s);
    CHECK(r.reason == "insufficient_work");
    CHECK(contains(r.body, "data-d=\"9\""));
  }
  SECTION("expired: same difficulty") {
    const auto r = f.verify(s.query, {s.cookie}, kT0 + 301s);
    CHECK(r.reason == "expired");
    CHECK(contains(r.body, "data-d=\"9\""));
  }
  SECTION("forged or from another client: max difficulty") {
    const auto r = f.verify(s.query, {s.cookie}, kT0 + 1s, context("198.51.100.7"));
    CHECK(r.reason == "bad_mac");
    CHECK(contains(r.body, "data-d=\"20\""));
    CHECK(headers_named(r.headers, "Set-Cookie").size() == 1);  // an untrusted nonce clears nothing
  }
  SECTION("a different return path than the challenge was issued for") {
    std::string q = s.query;
    q.replace(q.find("&r=%2Fa"), 7, "&r=%2Fb");
    CHECK(f.verify(q, {s.cookie}, kT0 + 1s).reason == "bad_mac");
  }
  SECTION("malformed queries") {
    CHECK(f.verify("", {}, kT0).reason == "malformed");
    CHECK(f.verify("c=1&c=2&a=1", {}, kT0).reason == "malformed_query");
    CHECK(f.verify("c=%zz&a=1", {}, kT0).reason == "malformed_query");
    CHECK(f.verify("c=x&a=1", {}, kT0).reason == "malformed");
    CHECK(f.verify(std::string(5000, 'a'), {}, kT0).reason == "malformed_query");
    const auto r = f.verify("c=x", {}, kT0);
    CHECK(r.reason == "malformed");
    CHECK(r.status == 403);
    CHECK(contains(r.body, "data-d=\"20\""));
  }
}

TEST_CASE("verify: open redirects all end at /") {
  Fixture f;
  const std::vector<std::string> attacks = {
      "//evil.com",   "/\\evil.com",    "https://evil.com", "%2F%2Fevil.com",    "/\t/evil.com",
      "/\n/evil.com", "http:/evil.com", "evil.com",         "/%0a/evil.com\x7f", "///evil.com",
  };
  for (const auto& target : attacks) {
    INFO(target);
    // Issued for the attack target (the request target itself): the page already says "/".
    const auto s = solve_page(f.page(Level::js, target));
    CHECK(s.query.ends_with(std::string("&r=%2F&a=") + s.query.substr(s.query.rfind('=') + 1)));
    const auto ok = f.verify(s.query, {s.cookie}, kT0 + 1s);
    CHECK(ok.passed);
    CHECK(ok.location == "/");
  }
  for (const std::string r : {"%2F%2Fevil.com", "%2F%5Cevil.com", "https%3A%2F%2Fevil.com",
                              "%252F%252Fevil.com", "//evil.com", "%2F%09%2Fevil.com"}) {
    INFO(r);
    // Issued for "/", then the attacker rewrites r: it is sanitised to "/" before the MAC check.
    const auto s = solve_page(f.page(Level::js, "/"));
    std::string q = s.query;
    q.replace(q.find("&r=%2F"), 6, "&r=" + r);
    const auto ok = f.verify(q, {s.cookie}, kT0 + 1s);
    CHECK(ok.passed);
    CHECK(ok.location == "/");
  }
}

TEST_CASE("verify: the no-JS path") {
  Fixture f;
  const auto page = f.verify("level=nojs&r=%2Farticles%2F7", {}, kT0);
  CHECK(page.reason == "page_nojs");
  CHECK(page.status == 403);
  CHECK_FALSE(page.passed);
  CHECK_FALSE(contains(page.body, "<script"));
  const auto set = headers_named(page.headers, "Set-Cookie");
  REQUIRE(set.size() == 1);
  const std::string cookie = cookie_pair(set[0]);
  // The refresh target, as the browser follows it.
  const auto meta = page.body.find("content=\"3;url=");
  REQUIRE(meta != std::string::npos);
  std::string url = page.body.substr(meta + 15, page.body.find('"', meta + 15) - meta - 15);
  for (std::size_t p; (p = url.find("&amp;")) != std::string::npos;) url.replace(p, 5, "&");
  const std::string query = url.substr(url.find('?') + 1);
  CHECK(contains(query, "&nojs=1&r=%2Farticles%2F7"));

  SECTION("too early: before the refresh delay") {
    const auto r = f.verify(query, {cookie}, kT0 + 2s);
    CHECK(r.reason == "too_early");
    CHECK(contains(r.body, "http-equiv=\"refresh\""));
  }
  SECTION("after the delay with the cookie: passed, for a short while only") {
    const auto r = f.verify(query, {cookie}, kT0 + 3s);
    CHECK(r.passed);
    CHECK(r.location == "/articles/7");
    CHECK(f.verify(query, {cookie}, kT0 + 4s).reason == "replayed");
    // A no-JS pass lasts nojs_pass_ttl (10 minutes), not pass_ttl (a day): any client that keeps
    // cookies and waits gets one.
    CHECK(contains(r.set_cookie, "Max-Age=600"));
    const std::string token = cookie_pair(r.set_cookie).substr(f.cfg.cookie_name.size() + 1);
    CHECK(verify_pass(f.ring, token, context(), kT0 + 9min) == PassCheck::valid);
    CHECK(verify_pass(f.ring, token, context(), kT0 + 11min) == PassCheck::expired);
  }
  SECTION("turned off: the no-JS page and its redemption get the js page") {
    f.cfg.nojs_enabled = false;
    const auto r = f.verify(query, {cookie}, kT0 + 3s);
    CHECK_FALSE(r.passed);
    CHECK(r.reason == "nojs_disabled");
    CHECK(contains(r.body, "<script"));
    CHECK(f.verify("level=nojs&r=%2F", {}, kT0).reason == "nojs_disabled");
  }
  SECTION("a client that ignores cookies does not pass") {
    const auto r = f.verify(query, {}, kT0 + 4s);
    CHECK(r.reason == "no_check_cookie");
    CHECK_FALSE(r.passed);
  }
  SECTION("expired") { CHECK(f.verify(query, {cookie}, kT0 + 300s).reason == "expired"); }
  SECTION("a proof-of-work challenge cannot be redeemed without its work") {
    const auto s = solve_page(f.page(Level::js, "/"));
    std::string q = s.query.substr(0, s.query.rfind("&a=")) + "&nojs=1";
    CHECK(f.verify(q, {s.cookie}, kT0 + 10s).reason == "wrong_kind");
  }
}

TEST_CASE("verify: the accessible page on request") {
  Fixture f;
  const auto r = f.verify("level=accessible&r=%2Fx", {}, kT0);
  CHECK(r.reason == "page_accessible");
  CHECK(contains(r.body, "level=nojs&amp;r=%2Fx"));
  CHECK(headers_named(r.headers, "Cache-Control") == std::vector<std::string>{"no-store"});
}

TEST_CASE("verify: a pass from a rotated-out key is refused, a challenge from the old key kept") {
  Fixture f;
  const auto s = solve_page(f.page(Level::js, "/"));
  // The ring rotated between the page and the answer: the old key still verifies.
  f.ring = KeyRing({fixed_key(1, 1'767'000'000, 0x10), fixed_key(2, 1'767'200'000, 0x60)});
  const auto ok = f.verify(s.query, {s.cookie}, kT0 + 1s);
  CHECK(ok.passed);
  CHECK(contains(ok.set_cookie, "=1.2."));  // the new pass is signed by the new key
}
