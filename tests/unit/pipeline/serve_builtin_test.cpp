// pipeline::serve_builtin: the challenge verify endpoint bawwab answers itself before any rule,
// and the pass cookie check that tells the signals and the action phase whether the reader has
// already passed. Keys, challenges and passes are made with the challenge module's own functions;
// the wall clock is injected (kT0), nothing sleeps.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/proof_of_work.hpp"
#include "bawwab/core/snapshot.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/header_consistency.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "support/context_builder.hpp"

namespace bh = boost::beast::http;
namespace challenge = bawwab::challenge;
namespace config = bawwab::config;
namespace pipeline = bawwab::pipeline;
namespace rules = bawwab::rules;
namespace test = bawwab::test;
using namespace std::chrono_literals;

// A named namespace, not an anonymous one: under BAWWAB_UNITY this file shares a translation unit
// with the other pipeline tests, whose helpers have short names too.
namespace serve_builtin_test {

using Source = rules::Decision::Source;

// 2026-01-01T00:00:00Z, as in the challenge module's tests.
const challenge::WallTime kT0{std::chrono::seconds(1'767'225'600)};
const std::string kUa = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const std::string kVerify = "/.well-known/bawwab/verify";  // ChallengeConfig's default
constexpr unsigned kBits = 4;  // proof of work: ~16 hashes to solve

challenge::Key fixed_key(std::uint32_t id, std::uint8_t fill) {
  challenge::Key k;
  k.id = id;
  k.created_unix = 1'767'000'000;
  for (std::size_t i = 0; i < k.secret.size(); ++i) k.secret[i] = std::uint8_t(fill + i);
  return k;
}

config::ServerConfig one_site() {
  config::ServerConfig cfg;
  cfg.source = "<test>";
  cfg.listeners.resize(1);
  cfg.listeners[0].address = "127.0.0.1:0";
  config::UpstreamGroup g;
  g.name = "news";
  g.servers.push_back(config::UpstreamServer{"http://news:8081", "news", 8081});
  cfg.upstreams.emplace("news", g);
  cfg.sites.push_back(config::Site{{"*"}, "news"});
  return cfg;
}

// What the server holds for the phases: the pinned runtime, the key ring, the spent set.
struct Fixture {
  pipeline::Runtime rt = test::runtime(one_site());
  bawwab::Snapshot<challenge::KeyRing> keys{
      std::make_shared<const challenge::KeyRing>(std::vector{fixed_key(1, 0x10)})};
  challenge::SpentSet spent;

  pipeline::Services services() {
    pipeline::Services s;
    s.keys = &keys;
    s.spent = &spent;
    return s;
  }
  const challenge::KeyRing& ring() const { return *keys.load(); }
};

// A browser's request: Host, User-Agent and, when given, one Cookie field.
bh::request_header<> browser(std::string_view line, std::string_view cookie = {},
                             std::string_view ua = kUa) {
  auto req = test::request(line, {{"Host", "news.example"}});
  if (!ua.empty()) req.insert(bh::field::user_agent, ua);
  if (!cookie.empty()) req.insert(bh::field::cookie, cookie);
  return req;
}

// The context after the request-head phase (path and query split, client IP resolved); `binding`
// is what the TLS hello phase would have put in client.tls_binding.
pipeline::RequestContext admitted(const bh::request_header<>& req, const pipeline::Runtime& rt,
                                  const test::Client& client = {},
                                  std::string_view binding = {}) {
  auto ctx = test::context(req, client);
  ctx.client.tls_binding = binding;
  const auto refused = pipeline::admit_request(ctx, rt);
  REQUIRE_FALSE(refused);
  return ctx;
}

// The values of the headers named `name` in a local reply.
std::vector<std::string> headers_named(const bawwab::http::LocalReply& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.headers)
    if (n == name) out.push_back(v);
  return out;
}

bool has_pass_cookie(const bawwab::http::LocalReply& r) {
  for (const auto& v : headers_named(r, "Set-Cookie"))
    if (v.starts_with("bawwab_pass=")) return true;
  return false;
}

// "name=value" of a Set-Cookie value, as the browser sends it back.
std::string cookie_pair(std::string_view set_cookie) {
  return std::string(set_cookie.substr(0, set_cookie.find(';')));
}

// The value of attribute `name` (first occurrence) in `html`, &amp; undone.
std::string attribute(std::string_view html, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto start = html.find(key);
  if (start == std::string_view::npos) return {};
  const auto from = start + key.size();
  std::string v(html.substr(from, html.find('"', from) - from));
  for (std::size_t p; (p = v.find("&amp;")) != std::string::npos;) v.replace(p, 5, "&");
  return v;
}

// The smallest decimal answer meeting the difficulty (what the page's worker searches for).
std::string solve(std::string_view c, unsigned bits) {
  for (std::uint64_t n = 0; n < (1ull << 24); ++n) {
    const std::string a = std::to_string(n);
    if (challenge::meets_difficulty(c, a, bits)) return a;
  }
  throw std::runtime_error("no answer found");
}

std::string non_answer(std::string_view c, unsigned bits) {
  for (std::uint64_t n = 0;; ++n) {
    const std::string a = std::to_string(n);
    if (!challenge::meets_difficulty(c, a, bits)) return a;
  }
}

// A js challenge page as the action phase serves it for `target`, read as the browser reads it.
struct Page {
  std::string url;           // the verifier's URL without the answer: "<verify>?c=...&r=..."
  std::string challenge;     // data-c
  unsigned difficulty = 0;   // data-d
  std::string check_cookie;  // "name=1", to send back
  std::string solved() const { return url + "&a=" + solve(challenge, difficulty); }
  std::string wrong() const { return url + "&a=" + non_answer(challenge, difficulty); }
};

// `target` is set on the context after the head phase, so that a test can ask for a challenge on a
// target the head phase would have rewritten.
Page challenge_page(Fixture& f, std::string_view target, const test::Client& client = {},
                    std::string_view binding = {}) {
  const auto req = browser("GET / HTTP/1.1");
  auto ctx = admitted(req, f.rt, client, binding);
  ctx.target = target;
  ctx.decision.action = rules::Challenge{"js", kBits};
  const auto plan = pipeline::act(ctx, f.rt, f.services(), kT0);
  REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
  const auto& reply = std::get<pipeline::Respond>(plan).reply;
  REQUIRE(reply.status == 403);
  Page p;
  p.url = attribute(reply.body, "data-u");
  p.challenge = attribute(reply.body, "data-c");
  p.difficulty = unsigned(std::stoul(attribute(reply.body, "data-d")));
  const auto set = headers_named(reply, "Set-Cookie");
  REQUIRE(set.size() == 1);
  p.check_cookie = cookie_pair(set[0]);
  REQUIRE(p.url.starts_with(kVerify + "?c="));
  REQUIRE(p.difficulty == kBits);
  return p;
}

// The verify request for `url` with `cookie`: what serve_builtin answers, and the context after.
struct Verified {
  std::optional<bawwab::http::LocalReply> reply;
  pipeline::RequestContext ctx;
};

Verified verify(Fixture& f, std::string_view url, std::string_view cookie,
                challenge::WallTime now, const test::Client& client = {},
                std::string_view binding = {}) {
  const auto req = browser("GET " + std::string(url) + " HTTP/1.1", cookie);
  Verified v{std::nullopt, admitted(req, f.rt, client, binding)};
  v.ctx.decision.rule_id = "stale";  // the verifier decides, not a rule
  v.reply = pipeline::serve_builtin(v.ctx, f.rt, f.services(), now);
  v.ctx.request = nullptr;  // `req` dies here
  return v;
}

// The pass a reply sets, as the browser sends it back ("bawwab_pass=<token>").
std::string pass_of(const bawwab::http::LocalReply& r) {
  for (const auto& v : headers_named(r, "Set-Cookie"))
    if (v.starts_with("bawwab_pass=")) return cookie_pair(v);
  FAIL("no pass cookie in the reply");
  return {};
}

// pass_valid / pass_invalid for a plain GET carrying `cookie`, and whether anything replied.
struct PassFlags {
  bool valid = false;
  bool invalid = false;
  bool replied = false;
};

PassFlags check(Fixture& f, std::string_view cookie, challenge::WallTime now,
                const test::Client& client = {}, std::string_view binding = {},
                std::string_view ua = kUa) {
  const auto req = browser("GET /articles/7 HTTP/1.1", cookie, ua);
  auto ctx = admitted(req, f.rt, client, binding);
  const auto reply = pipeline::serve_builtin(ctx, f.rt, f.services(), now);
  return {ctx.pass_valid, ctx.pass_invalid, reply.has_value()};
}

// "bawwab_pass=<token>" for a pass bound to (ip, ua, binding).
std::string pass_cookie(const challenge::KeyRing& ring, std::string_view ip,
                        std::string_view binding, challenge::WallTime expiry,
                        std::string_view ua = kUa) {
  const challenge::PassContext pc{boost::asio::ip::make_address(std::string(ip)), ua, binding};
  return "bawwab_pass=" + challenge::issue_pass(ring, pc, expiry);
}

}  // namespace serve_builtin_test

using namespace serve_builtin_test;

TEST_CASE("serve_builtin: an ordinary request gets no reply and, without a pass, no pass flag",
          "[pipeline][builtin]") {
  Fixture f;
  for (std::string_view cookie : {"", "theme=dark; lang=ar", "bawwab_pass_chk_abc=1"}) {
    INFO(cookie);
    const auto req = browser("GET /articles/7?x=1 HTTP/1.1", cookie);
    auto ctx = admitted(req, f.rt);
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, f.services(), kT0));
    CHECK_FALSE(ctx.pass_valid);
    CHECK_FALSE(ctx.pass_invalid);
    CHECK(ctx.decision.source == Source::default_);
  }
  CHECK(f.spent.size() == 0);

  SECTION("a context whose head never arrived is left alone") {
    pipeline::RequestContext ctx;
    ctx.path = kVerify;
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, f.services(), kT0));
    CHECK_FALSE(ctx.pass_valid);
    CHECK_FALSE(ctx.pass_invalid);
  }
}

TEST_CASE("serve_builtin: a pass bound to this client is valid", "[pipeline][builtin]") {
  Fixture f;
  const auto expiry = kT0 + 1h;
  const std::string pass = pass_cookie(f.ring(), "203.0.113.5", "", expiry);

  const auto own = check(f, pass, kT0);
  CHECK(own.valid);
  CHECK_FALSE(own.invalid);
  CHECK_FALSE(own.replied);  // a valid pass only sets the flag: the rules still run
  // Until the second before its expiry.
  CHECK(check(f, pass, expiry - 1s).valid);

  SECTION("among other cookies, and next to a stale pass of the same name") {
    CHECK(check(f, "theme=dark; " + pass + "; lang=ar", kT0).valid);
    const auto r = check(f, "bawwab_pass=1.1.99.garbage; " + pass, kT0);
    CHECK(r.valid);
    CHECK_FALSE(r.invalid);
  }
  SECTION("bound to the network (/24), not to the host") {
    CHECK(check(f, pass, kT0, {.peer = "203.0.113.77"}).valid);
    // IPv4-mapped IPv6 (a dual-stack socket) is the same client.
    CHECK(check(f, pass, kT0, {.peer = "::ffff:203.0.113.5"}).valid);
  }
  SECTION("bound to the TLS binding (JA4 without resumption extensions), not to the raw JA4") {
    const std::string tls_pass = pass_cookie(f.ring(), "203.0.113.5", "t13d1516h2_stable", expiry);
    const auto req = browser("GET /articles/7 HTTP/1.1", tls_pass);
    auto ctx = admitted(req, f.rt, {.tls = true}, "t13d1516h2_stable");
    ctx.client.ja4 = "t13d1517h2_resumed";  // a resumed hello: another JA4, the same binding
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, f.services(), kT0));
    CHECK(ctx.pass_valid);
    CHECK_FALSE(ctx.pass_invalid);
  }
  SECTION("signed by an older key still in the ring") {
    const challenge::KeyRing old_ring({fixed_key(1, 0x10)});
    const std::string old_pass = pass_cookie(old_ring, "203.0.113.5", "", expiry);
    f.keys.store(std::make_shared<const challenge::KeyRing>(
        std::vector{fixed_key(1, 0x10), [] {
                      auto k = fixed_key(2, 0x40);
                      k.created_unix += 3600;  // newer: it signs now
                      return k;
                    }()}));
    CHECK(f.ring().signing_key().id == 2);
    CHECK(check(f, old_pass, kT0).valid);
  }
}

TEST_CASE("serve_builtin: a pass copied, expired or altered is invalid", "[pipeline][builtin]") {
  Fixture f;
  const auto expiry = kT0 + 1h;
  const std::string pass = pass_cookie(f.ring(), "203.0.113.5", "", expiry);
  REQUIRE(check(f, pass, kT0).valid);

  auto invalid = [](const PassFlags& r) {
    CHECK_FALSE(r.valid);
    CHECK(r.invalid);
    CHECK_FALSE(r.replied);  // an invalid pass is a signal for the rules, not a reply
  };

  SECTION("another network") { invalid(check(f, pass, kT0, {.peer = "198.51.100.5"})); }
  SECTION("the neighbouring /24") { invalid(check(f, pass, kT0, {.peer = "203.0.114.5"})); }
  SECTION("another browser (User-Agent)") {
    invalid(check(f, pass, kT0, {}, {}, "curl/8.5.0"));
    invalid(check(f, pass, kT0, {}, {}, ""));
  }
  SECTION("another TLS binding") {
    const std::string tls_pass = pass_cookie(f.ring(), "203.0.113.5", "t13d1516h2_stable", expiry);
    invalid(check(f, tls_pass, kT0, {.tls = true}, "t13d0912h1_other"));
    // The plain-HTTP listener (no binding) does not accept a pass made on TLS, nor the reverse.
    invalid(check(f, tls_pass, kT0));
    invalid(check(f, pass, kT0, {.tls = true}, "t13d1516h2_stable"));
  }
  SECTION("the binding is client.tls_binding: the raw JA4 does not stand in for it") {
    const std::string tls_pass = pass_cookie(f.ring(), "203.0.113.5", "t13d1516h2_stable", expiry);
    const auto req = browser("GET /articles/7 HTTP/1.1", tls_pass);
    auto ctx = admitted(req, f.rt, {.tls = true}, "t13d1516h2_other");
    ctx.client.ja4 = "t13d1516h2_stable";
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, f.services(), kT0));
    CHECK_FALSE(ctx.pass_valid);
    CHECK(ctx.pass_invalid);
  }
  SECTION("expired: at its expiry second and after") {
    invalid(check(f, pass, expiry));
    invalid(check(f, pass, expiry + 24h));
  }
  SECTION("tampered: the MAC, the expiry or the key id changed") {
    // A character inside the MAC (the last one carries two padding bits only).
    std::string mac = pass;
    char& c = mac[mac.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    invalid(check(f, mac, kT0));
    // A later expiry written into the cookie: the MAC covers it.
    const std::string exp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                               expiry.time_since_epoch())
                                               .count());
    std::string later = pass;
    later.replace(later.find(exp), exp.size(), std::to_string(std::stoll(exp) + 86'400 * 365));
    invalid(check(f, later, kT0));
    std::string other_key = pass;
    other_key.replace(other_key.find("=1.1."), 5, "=1.7.");
    invalid(check(f, other_key, kT0));
  }
  SECTION("signed with another ring's key (another deployment, a dropped key)") {
    const challenge::KeyRing foreign({fixed_key(1, 0x99)});
    invalid(check(f, pass_cookie(foreign, "203.0.113.5", "", expiry), kT0));
  }
  SECTION("not a pass at all") {
    invalid(check(f, "bawwab_pass=hello", kT0));
    invalid(check(f, "bawwab_pass=" + std::string(300, '1'), kT0));
  }
}

TEST_CASE("serve_builtin: the verify path answers GET, HEAD and the proof's POST only",
          "[pipeline][builtin]") {
  Fixture f;
  for (std::string_view method : {"PUT", "DELETE", "OPTIONS"}) {
    INFO(method);
    const auto req = browser(std::string(method) + " " + kVerify + "?c=x&a=1 HTTP/1.1");
    auto ctx = admitted(req, f.rt);
    const auto reply = pipeline::serve_builtin(ctx, f.rt, f.services(), kT0);
    REQUIRE(reply);
    CHECK(reply->status == 405);
    CHECK(headers_named(*reply, "Allow") == std::vector<std::string>{"GET, HEAD, POST"});
    CHECK(reply->close);
    CHECK_FALSE(has_pass_cookie(*reply));
    CHECK(ctx.decision.source == Source::default_);  // nothing was verified
  }
  {
    // A POST that is not the silent proof's answer: refused by the verifier, no pass.
    const auto req = browser("POST " + kVerify + "?c=x&a=1 HTTP/1.1");
    auto ctx = admitted(req, f.rt);
    const auto reply = pipeline::serve_builtin(ctx, f.rt, f.services(), kT0);
    REQUIRE(reply);
    CHECK(reply->status == 403);
    CHECK_FALSE(has_pass_cookie(*reply));
    CHECK(ctx.decision.source == Source::challenge_failed);
  }
  CHECK(f.spent.size() == 0);

  SECTION("HEAD reaches the verifier") {
    const auto req = browser("HEAD " + kVerify + " HTTP/1.1");
    auto ctx = admitted(req, f.rt);
    const auto reply = pipeline::serve_builtin(ctx, f.rt, f.services(), kT0);
    REQUIRE(reply);
    CHECK(reply->status == 403);  // no challenge in the query: a new one
    CHECK(ctx.decision.source == Source::challenge_failed);
  }
}

TEST_CASE("serve_builtin: a solved challenge gets the pass and goes back", "[pipeline][builtin]") {
  Fixture f;
  const Page page = challenge_page(f, "/articles/7?x=1");
  const auto ok = verify(f, page.solved(), page.check_cookie, kT0 + 2s);
  REQUIRE(ok.reply);
  const auto& r = *ok.reply;
  CHECK(r.status == 303);
  CHECK(headers_named(r, "Location") == std::vector<std::string>{"/articles/7?x=1"});
  CHECK(headers_named(r, "Cache-Control") == std::vector<std::string>{"no-store"});
  CHECK(r.body.empty());
  CHECK(r.content_type.empty());  // a redirect without a body has no Content-Type
  CHECK(ok.ctx.decision.source == Source::challenge_passed);
  CHECK(ok.ctx.decision.rule_id.empty());
  const auto set = headers_named(r, "Set-Cookie");
  REQUIRE(set.size() == 2);
  CHECK(set[0].starts_with("bawwab_pass="));
  CHECK(set[0].ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"));  // no Secure: plain
  // The check cookie is cleared on the verify path.
  CHECK(set[1] == page.check_cookie.substr(0, page.check_cookie.find('=')) + "=; Path=" + kVerify +
                      "; Max-Age=0; HttpOnly; SameSite=Lax");
  CHECK(f.spent.size() == 1);

  // The pass works for the same reader on the next request, until pass_ttl is over.
  const std::string pass = pass_of(r);
  const auto next = check(f, pass, kT0 + 3s);
  CHECK(next.valid);
  CHECK_FALSE(next.invalid);
  CHECK(check(f, pass, kT0 + 2s + 86'399s).valid);
  CHECK(check(f, pass, kT0 + 2s + 86'400s).invalid);
  CHECK(check(f, pass, kT0 + 3s, {.peer = "198.51.100.5"}).invalid);

  SECTION("HEAD redeems like GET") {
    const Page p2 = challenge_page(f, "/b");
    const auto req = browser("HEAD " + p2.solved() + " HTTP/1.1", p2.check_cookie);
    auto ctx = admitted(req, f.rt);
    const auto reply = pipeline::serve_builtin(ctx, f.rt, f.services(), kT0 + 1s);
    REQUIRE(reply);
    CHECK(reply->status == 303);
    CHECK(ctx.decision.source == Source::challenge_passed);
  }
}

TEST_CASE("serve_builtin: over TLS the pass is Secure and bound to the TLS binding",
          "[pipeline][builtin]") {
  Fixture f;
  const test::Client tls{.tls = true};
  const Page page = challenge_page(f, "/a", tls, "t13d1516h2_stable");
  const auto ok = verify(f, page.solved(), page.check_cookie, kT0 + 1s, tls, "t13d1516h2_stable");
  REQUIRE(ok.reply);
  REQUIRE(ok.reply->status == 303);
  const auto set = headers_named(*ok.reply, "Set-Cookie");
  REQUIRE_FALSE(set.empty());
  CHECK(set[0].ends_with("; Secure"));
  const std::string pass = pass_of(*ok.reply);
  CHECK(check(f, pass, kT0 + 2s, tls, "t13d1516h2_stable").valid);
  CHECK(check(f, pass, kT0 + 2s, tls, "t13d0912h1_other").invalid);

  SECTION("a challenge solved on another TLS stack is refused") {
    const Page p2 = challenge_page(f, "/a", tls, "t13d1516h2_stable");
    const auto other = verify(f, p2.solved(), p2.check_cookie, kT0 + 1s, tls, "t13d0912h1_other");
    REQUIRE(other.reply);
    CHECK(other.reply->status == 403);
    CHECK_FALSE(has_pass_cookie(*other.reply));
    CHECK(other.ctx.decision.source == Source::challenge_failed);
  }
}

TEST_CASE("serve_builtin: a wrong answer gets a new challenge, not a pass", "[pipeline][builtin]") {
  Fixture f;
  const Page page = challenge_page(f, "/articles/7");
  const auto bad = verify(f, page.wrong(), page.check_cookie, kT0 + 1s);
  REQUIRE(bad.reply);
  const auto& r = *bad.reply;
  CHECK(r.status == 403);  // ChallengeConfig::page_status
  CHECK(bad.ctx.decision.source == Source::challenge_failed);
  CHECK(bad.ctx.decision.rule_id.empty());
  CHECK(headers_named(r, "Location").empty());
  CHECK_FALSE(has_pass_cookie(r));
  // A fresh challenge of the same difficulty, its Content-Type among the module's headers.
  CHECK(attribute(r.body, "data-d") == std::to_string(kBits));
  CHECK_FALSE(attribute(r.body, "data-c").empty());
  CHECK(attribute(r.body, "data-c") != page.challenge);
  CHECK(headers_named(r, "Content-Type") == std::vector<std::string>{"text/html; charset=utf-8"});
  CHECK(r.content_type.empty());  // not a second Content-Type
  CHECK(headers_named(r, "Cache-Control") == std::vector<std::string>{"no-store"});
  // A wrong answer does not spend the challenge: the right one still passes.
  CHECK(f.spent.size() == 0);
  const auto ok = verify(f, page.solved(), page.check_cookie, kT0 + 2s);
  REQUIRE(ok.reply);
  CHECK(ok.reply->status == 303);

  SECTION("without the check cookie: no pass either") {
    const Page p2 = challenge_page(f, "/b");
    const auto r2 = verify(f, p2.solved(), "theme=dark", kT0 + 1s);
    REQUIRE(r2.reply);
    CHECK(r2.reply->status == 403);
    CHECK_FALSE(has_pass_cookie(*r2.reply));
    CHECK(r2.ctx.decision.source == Source::challenge_failed);
  }
  SECTION("an expired challenge") {
    const Page p2 = challenge_page(f, "/b");
    const auto r2 = verify(f, p2.solved(), p2.check_cookie, kT0 + 301s);
    REQUIRE(r2.reply);
    CHECK(r2.reply->status == 403);
    CHECK_FALSE(has_pass_cookie(*r2.reply));
    CHECK(r2.ctx.decision.source == Source::challenge_failed);
  }
  SECTION("a challenge issued to another network") {
    const Page p2 = challenge_page(f, "/b", {.peer = "198.51.100.5"});
    const auto r2 = verify(f, p2.solved(), p2.check_cookie, kT0 + 1s);
    REQUIRE(r2.reply);
    CHECK(r2.reply->status == 403);
    CHECK(r2.ctx.decision.source == Source::challenge_failed);
  }
}

TEST_CASE("serve_builtin: a solved challenge buys one pass only", "[pipeline][builtin]") {
  Fixture f;
  const Page page = challenge_page(f, "/articles/7");
  const std::string url = page.solved();
  const auto first = verify(f, url, page.check_cookie, kT0 + 1s);
  REQUIRE(first.reply);
  CHECK(first.reply->status == 303);
  CHECK(first.ctx.decision.source == Source::challenge_passed);

  const auto again = verify(f, url, page.check_cookie, kT0 + 5s);
  REQUIRE(again.reply);
  CHECK(again.reply->status == 403);
  CHECK(again.ctx.decision.source == Source::challenge_failed);
  CHECK_FALSE(has_pass_cookie(*again.reply));
  CHECK(headers_named(*again.reply, "Location").empty());
  CHECK(f.spent.replays() == 1);
  CHECK(f.spent.size() == 1);

  // Replayed from elsewhere with the pass the first redemption earned: still refused (the pass
  // makes the request pass_valid, not the replayed challenge good).
  const auto with_pass =
      verify(f, url, page.check_cookie + "; " + pass_of(*first.reply), kT0 + 6s);
  REQUIRE(with_pass.reply);
  CHECK(with_pass.reply->status == 403);
  CHECK(with_pass.ctx.pass_valid);
  CHECK(with_pass.ctx.decision.source == Source::challenge_failed);
  CHECK(f.spent.replays() == 2);
}

TEST_CASE("serve_builtin: services without keys or without a spent set", "[pipeline][builtin]") {
  Fixture f;
  const Page page = challenge_page(f, "/articles/7");
  const std::string pass = pass_cookie(f.ring(), "203.0.113.5", "", kT0 + 1h);

  SECTION("no keys: nothing is answered and no pass is checked") {
    const pipeline::Services none{};
    const auto req = browser("GET " + page.solved() + " HTTP/1.1", page.check_cookie + "; " + pass);
    auto ctx = admitted(req, f.rt);
    ctx.decision.rule_id = "kept";
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, none, kT0 + 1s));
    CHECK_FALSE(ctx.pass_valid);  // even a good pass: there is no key to check it with
    CHECK_FALSE(ctx.pass_invalid);
    CHECK(ctx.decision.source == Source::default_);
    CHECK(ctx.decision.rule_id == "kept");

    const auto post = browser("POST " + kVerify + " HTTP/1.1");
    auto pctx = admitted(post, f.rt);
    CHECK_FALSE(pipeline::serve_builtin(pctx, f.rt, none, kT0));  // not even the 405

    const auto bad = browser("GET /a HTTP/1.1", "bawwab_pass=hello");
    auto bctx = admitted(bad, f.rt);
    CHECK_FALSE(pipeline::serve_builtin(bctx, f.rt, none, kT0));
    CHECK_FALSE(bctx.pass_invalid);
  }
  SECTION("keys but no spent set: the pass is checked, the verify path is not answered") {
    pipeline::Services keys_only;
    keys_only.keys = &f.keys;
    const auto req = browser("GET " + page.solved() + " HTTP/1.1", page.check_cookie + "; " + pass);
    auto ctx = admitted(req, f.rt);
    CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, keys_only, kT0 + 1s));
    CHECK(ctx.pass_valid);
    CHECK(ctx.decision.source == Source::default_);
    // Nothing was spent: the challenge still redeems once the spent set is there.
    const auto ok = verify(f, page.solved(), page.check_cookie, kT0 + 2s);
    REQUIRE(ok.reply);
    CHECK(ok.reply->status == 303);
  }
}

TEST_CASE("serve_builtin: the verify redirect never leaves the site", "[pipeline][builtin]") {
  Fixture f;
  // Each Location the verifier sends is a path on this site: one '/', then no '/' or '\'.
  auto same_site = [](const bawwab::http::LocalReply& r) {
    for (const auto& loc : headers_named(r, "Location")) {
      INFO(loc);
      CHECK(loc.starts_with('/'));
      CHECK_FALSE(loc.starts_with("//"));
      CHECK_FALSE(loc.starts_with("/\\"));
    }
  };

  SECTION("a challenge issued on a target that names another host sends the reader to /") {
    for (std::string_view target :
         {"//evil.example/x", "/\\evil.example", "https://evil.example/", "http:/evil.example"}) {
      INFO(target);
      const Page page = challenge_page(f, target);
      CHECK(page.url.ends_with("&r=%2F"));
      const auto ok = verify(f, page.solved(), page.check_cookie, kT0 + 1s);
      REQUIRE(ok.reply);
      CHECK(ok.reply->status == 303);
      CHECK(headers_named(*ok.reply, "Location") == std::vector<std::string>{"/"});
      same_site(*ok.reply);
    }
  }
  SECTION("r rewritten to another host: sanitised to / before the MAC check") {
    for (std::string_view r : {"https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example",
                               "%2F%5Cevil.example", "%2F%09%2Fevil.example", "//evil.example"}) {
      INFO(r);
      const Page page = challenge_page(f, "/");  // issued for "/"
      std::string url = page.solved();
      const auto at = url.find("&r=%2F&");
      REQUIRE(at != std::string::npos);
      url.replace(at, 7, "&r=" + std::string(r) + "&");
      const auto ok = verify(f, url, page.check_cookie, kT0 + 1s);
      REQUIRE(ok.reply);
      CHECK(ok.reply->status == 303);
      CHECK(headers_named(*ok.reply, "Location") == std::vector<std::string>{"/"});
      same_site(*ok.reply);
    }
  }
  SECTION("r rewritten on a challenge issued for a real path: refused, no redirect at all") {
    const Page page = challenge_page(f, "/articles/7");
    std::string url = page.solved();
    const auto at = url.find("&r=%2Farticles%2F7&");
    REQUIRE(at != std::string::npos);
    url.replace(at, 19, "&r=https%3A%2F%2Fevil.example%2Farticles%2F7&");
    const auto bad = verify(f, url, page.check_cookie, kT0 + 1s);
    REQUIRE(bad.reply);
    CHECK(bad.reply->status == 403);
    CHECK(headers_named(*bad.reply, "Location").empty());
    CHECK(bad.ctx.decision.source == Source::challenge_failed);
  }
}

TEST_CASE("serve_builtin: the pass is found in any Cookie field", "[pipeline][builtin]") {
  Fixture f;
  const std::string pass = pass_cookie(f.ring(), "203.0.113.5", "", kT0 + 1h);
  const auto req = test::request("GET /articles/7 HTTP/1.1", {{"Host", "news.example"},
                                                                {"Cookie", "theme=dark"},
                                                                {"User-Agent", kUa},
                                                                {"Cookie", pass}});
  auto ctx = admitted(req, f.rt);
  CHECK_FALSE(pipeline::serve_builtin(ctx, f.rt, f.services(), kT0));
  CHECK(ctx.pass_valid);
  CHECK_FALSE(ctx.pass_invalid);
}

TEST_CASE("apply_limits: 'answer: challenge' revokes a pass with a harder challenge each time",
          "[pipeline][limits][proof]") {
  Fixture f;
  bawwab::detect::BehaviourTracker behaviour{bawwab::detect::BehaviourConfig{}};
  auto services = f.services();
  services.behaviour = &behaviour;
  bawwab::limit::LimitSpec spec;
  spec.name = "reading-per-pass";
  spec.count = 60;
  spec.on_exceed = bawwab::limit::OnExceed::ban;
  spec.answer_challenge = true;
  bawwab::limit::Verdict banned;
  banned.spec = &spec;
  banned.kind = bawwab::limit::Verdict::Kind::ban;
  const std::vector<bawwab::limit::Verdict> v{banned};
  bawwab::ManualClock clock;

  const auto difficulty_after = [&](bawwab::TimePoint now, std::string_view pass) {
    const auto req = browser("GET /articles/7 HTTP/1.1", "bawwab_pass=" + std::string(pass));
    auto ctx = admitted(req, f.rt);
    ctx.pass_valid = true;  // a valid pass: challenged all the same
    const auto plan = pipeline::apply_limits(ctx, f.rt, v, &services, kT0, now);
    REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
    const auto& reply = std::get<pipeline::Respond>(plan).reply;
    CHECK(reply.status == 403);
    CHECK(ctx.limit_hit->label() == "reading-per-pass:ban");
    return unsigned(std::stoul(attribute(reply.body, "data-d")));
  };
  const unsigned max = f.rt.challenge.max_difficulty;
  CHECK(difficulty_after(clock.now(), "p1") == max);
  clock.advance(std::chrono::seconds(10));  // the same pass, still being refused
  CHECK(difficulty_after(clock.now(), "p1") == max);
  CHECK(difficulty_after(clock.now(), "p2") == max + 2);  // a new pass, revoked at once
  CHECK(difficulty_after(clock.now(), "p3") == max + 4);
  for (int i = 4; i < 20; ++i) difficulty_after(clock.now(), "p" + std::to_string(i));
  CHECK(difficulty_after(clock.now(), "p20") == bawwab::challenge::kMaxDifficulty);  // capped
  clock.advance(std::chrono::hours(25));  // a day without: starts over
  CHECK(difficulty_after(clock.now(), "p21") == max);

  SECTION("without the challenge answer, or without keys: the limit's status") {
    spec.answer_challenge = false;
    const auto req = browser("GET /articles/7 HTTP/1.1");
    auto ctx = admitted(req, f.rt);
    const auto plan = pipeline::apply_limits(ctx, f.rt, v, &services, kT0, clock.now());
    REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
    CHECK(std::get<pipeline::Respond>(plan).reply.status == 429);
  }
}

TEST_CASE("serve_builtin: the silent proof earns a pass and clears the client's refusal",
          "[pipeline][builtin][proof]") {
  Fixture f;
  f.rt.challenge.proof_difficulty = kBits;
  bawwab::detect::BehaviourTracker behaviour{bawwab::detect::BehaviourConfig{}};
  auto services = f.services();
  services.behaviour = &behaviour;
  bawwab::ManualClock clock;

  // The client asks for content without a pass until it is refused (2 grace, 3 challenged).
  const auto page = browser("GET /articles/7 HTTP/1.1");
  const auto key = bawwab::detect::BehaviourTracker::client_key(
      bawwab::net::parse_address(test::Client{}.peer).value(), kUa,
      bawwab::detect::header_order_hash(page));
  bawwab::detect::ClientEvent content;
  content.path = "/articles/7";
  content.content = true;
  for (int i = 0; i < 5; ++i) behaviour.record_client(key, content, clock.now());
  REQUIRE(behaviour.record_client(key, content, clock.now()).refused);

  // Its page's script: the challenge, then the answer.
  const auto get = browser("GET " + kVerify + "?proof=challenge HTTP/1.1");
  auto gctx = admitted(get, f.rt);
  const auto c = pipeline::serve_builtin(gctx, f.rt, services, kT0, clock.now());
  REQUIRE(c);
  REQUIRE(c->status == 200);
  CHECK(gctx.decision.source == Source::default_);  // no verdict either way
  const std::string body = c->body;
  const auto at = body.find("\"c\":\"") + 5;
  const std::string challenge = body.substr(at, body.find('"', at) - at);
  const auto post = browser("POST " + kVerify + "?proof=answer&c=" + challenge +
                            "&a=" + solve(challenge, kBits) + " HTTP/1.1");
  auto pctx = admitted(post, f.rt);
  const auto ok = pipeline::serve_builtin(pctx, f.rt, services, kT0, clock.now());
  REQUIRE(ok);
  CHECK(ok->status == 204);
  CHECK(has_pass_cookie(*ok));
  CHECK(pctx.decision.source == Source::challenge_passed);
  // Same client key (address, UA, header order of its navigations): no longer refused.
  CHECK_FALSE(behaviour.record_client(key, content, clock.now()).refused);
}
