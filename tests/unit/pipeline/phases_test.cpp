#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <variant>

#include "bawwab/limit/limiter.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/rules/loader.hpp"
#include "support/context_builder.hpp"

#include <boost/json/serialize.hpp>

namespace bh = boost::beast::http;
namespace pipeline = bawwab::pipeline;
namespace config = bawwab::config;
namespace rules = bawwab::rules;
namespace test = bawwab::test;
using namespace std::chrono_literals;

namespace {

config::UpstreamGroup group(std::string name, std::string url) {
  config::UpstreamGroup g;
  g.name = std::move(name);
  g.servers.push_back(config::UpstreamServer{std::move(url), "127.0.0.1", 8081});
  return g;
}

// Sites listed in the worst order for a first-match router: the catch-all first, the shorter
// wildcard before the longer one, the exact names last. Precedence must not depend on it.
//   listener 0: plain; 1: plain, redirect to 443; 2: plain, redirect to 8443.
config::ServerConfig routing_config() {
  config::ServerConfig cfg;
  cfg.source = "<test>";
  cfg.listeners.resize(3);
  cfg.listeners[0].address = "127.0.0.1:0";
  cfg.listeners[1].address = "127.0.0.1:0";
  cfg.listeners[1].redirect_https = true;
  cfg.listeners[2].address = "127.0.0.1:0";
  cfg.listeners[2].redirect_https = true;
  cfg.listeners[2].redirect_https_port = 8443;
  for (const char* name : {"exact", "wild_long", "wild_short", "any"}) {
    cfg.upstreams.emplace(name, group(name, std::string("http://") + name + ":8081"));
  }
  cfg.sites.push_back(config::Site{{"*"}, "any"});
  cfg.sites.push_back(config::Site{{"*.news.example"}, "wild_short"});
  cfg.sites.push_back(config::Site{{"*.cdn.news.example"}, "wild_long"});
  cfg.sites.push_back(config::Site{{"news.example", "www.news.example"}, "exact"});
  cfg.trusted_proxies = test::cidrs({"10.0.0.0/8"});
  cfg.via = "edge";
  return cfg;
}

// No catch-all: unknown hosts must get 421.
config::ServerConfig strict_config() {
  config::ServerConfig cfg;
  cfg.listeners.resize(1);
  cfg.upstreams.emplace("shop", group("shop", "http://shop:8081"));
  cfg.sites.push_back(config::Site{{"*.shop.example"}, "shop"});
  return cfg;
}

// The name of the group admit_request routed to, or "" when it replied.
std::string routed(const pipeline::Runtime& rt, const bh::request_header<>& req,
                   const test::Client& client = {}) {
  auto ctx = test::context(req, client);
  const auto reply = pipeline::admit_request(ctx, rt);
  if (reply) {
    CHECK(ctx.upstream == nullptr);
    return "";
  }
  REQUIRE(ctx.upstream != nullptr);
  return ctx.upstream->name;
}

// An access record's extra field as JSON text, or "<none>".
std::string extra(const bawwab::accesslog::AccessRecord& r, std::string_view key) {
  for (const auto& [k, v] : r.extra) {
    if (k == key) return boost::json::serialize(v);
  }
  return "<none>";
}

std::string reply_header(const bawwab::http::LocalReply& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<none>";
}

std::string field(const bh::fields& f, std::string_view name) {
  if (f.count(name) == 0) return "<none>";
  REQUIRE(f.count(name) == 1);
  return std::string(f[name]);
}

}  // namespace

TEST_CASE("admit_request: host routing precedence", "[pipeline][route]") {
  const auto rt = test::runtime(routing_config());
  auto get = [&](std::string_view host) {
    return routed(rt, test::request("GET / HTTP/1.1", {{"Host", host}}));
  };
  SECTION("exact names beat every wildcard") {
    CHECK(get("news.example") == "exact");
    CHECK(get("www.news.example") == "exact");  // also matches *.news.example
  }
  SECTION("the longer wildcard beats the shorter one") {
    CHECK(get("img.cdn.news.example") == "wild_long");
    CHECK(get("a.b.cdn.news.example") == "wild_long");
  }
  SECTION("a wildcard does not match its bare domain") {
    CHECK(get("cdn.news.example") == "wild_short");  // not *.cdn.news.example
    CHECK(get("a.news.example") == "wild_short");
  }
  SECTION("a wildcard matches on a label boundary only") {
    CHECK(get("fakenews.example") == "any");
    CHECK(get("x.fakecdn.news.example") == "wild_short");
  }
  SECTION("anything else goes to the catch-all") {
    CHECK(get("other.example") == "any");
    CHECK(get("203.0.113.9") == "any");
    CHECK(get("[2001:db8::1]:8080") == "any");
  }
  SECTION("port, case and a trailing dot do not change the site") {
    CHECK(get("news.example:8080") == "exact");
    CHECK(get("NEWS.Example") == "exact");
    CHECK(get("WWW.NEWS.EXAMPLE:443") == "exact");
    CHECK(get("IMG.CDN.news.example") == "wild_long");
    CHECK(get("news.example.") == "exact");
  }
}

TEST_CASE("admit_request: fills authority, host and origin-form target", "[pipeline][route]") {
  const auto rt = test::runtime(routing_config());
  SECTION("Host with port and upper case") {
    const auto req = test::request("GET /a?b=1 HTTP/1.1", {{"Host", "News.Example:8080"}});
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.authority == "News.Example:8080");
    CHECK(ctx.host == "news.example");
    CHECK(ctx.target == "/a?b=1");
    CHECK(ctx.http_version == 11);
    CHECK(ctx.upstream->name == "exact");
  }
  SECTION("absolute-form: the target's authority wins over Host") {
    const auto req = test::request("GET http://img.cdn.news.example:81/p?q HTTP/1.1",
                                   {{"Host", "news.example"}});
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.authority == "img.cdn.news.example:81");
    CHECK(ctx.host == "img.cdn.news.example");
    CHECK(ctx.target == "/p?q");
    CHECK(ctx.upstream->name == "wild_long");
  }
  SECTION("absolute-form without a path") {
    const auto req = test::request("GET https://News.Example HTTP/1.1", {{"Host", "x.example"}});
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.host == "news.example");
    CHECK(ctx.target == "/");
    CHECK(ctx.upstream->name == "exact");
  }
  SECTION("HTTP/1.0 without Host goes to the catch-all") {
    const auto req = test::request("GET /old HTTP/1.0");
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.http_version == 10);
    CHECK(ctx.host.empty());
    CHECK(ctx.upstream->name == "any");
  }
}

TEST_CASE("admit_request: unknown hosts get 421, never an open proxy", "[pipeline][route]") {
  const auto rt = test::runtime(strict_config());
  for (const char* host : {"shop.example", "other.example", "evilshop.example", "127.0.0.1"}) {
    CAPTURE(host);
    const auto req = test::request("GET / HTTP/1.1", {{"Host", host}});
    auto ctx = test::context(req);
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == 421);
    CHECK(ctx.upstream == nullptr);
  }
  SECTION("an absolute-form target for another host is refused even with a known Host") {
    const auto req = test::request("GET http://other.example/ HTTP/1.1",
                                   {{"Host", "www.shop.example"}});
    auto ctx = test::context(req);
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == 421);
    CHECK(ctx.upstream == nullptr);
  }
  SECTION("a name under the wildcard is served") {
    CHECK(routed(rt, test::request("GET / HTTP/1.1", {{"Host", "www.shop.example"}})) == "shop");
  }
}

TEST_CASE("admit_request: invalid heads become replies that close", "[pipeline][validate]") {
  const auto rt = test::runtime(routing_config());
  struct Case {
    const char* name;
    bh::request_header<> req;
    unsigned status;
  };
  const Case cases[] = {
      {"Content-Length with Transfer-Encoding",
       test::request("POST /f HTTP/1.1", {{"Host", "news.example"},
                                          {"Content-Length", "5"},
                                          {"Transfer-Encoding", "chunked"}}),
       400},
      {"missing Host on HTTP/1.1", test::request("GET / HTTP/1.1"), 400},
      {"two Host fields",
       test::request("GET / HTTP/1.1", {{"Host", "news.example"}, {"Host", "evil.example"}}),
       400},
      {"TRACE", test::request("TRACE / HTTP/1.1", {{"Host", "news.example"}}), 405},
      {"CONNECT",
       test::request("CONNECT news.example:443 HTTP/1.1", {{"Host", "news.example:443"}}), 405},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto ctx = test::context(c.req);
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == c.status);
    CHECK(reply->close);
    CHECK(ctx.upstream == nullptr);
    if (c.status == 405) {
      const auto allow = reply_header(*reply, "Allow");
      CHECK(allow.find("GET") != std::string::npos);
      CHECK(allow.find("TRACE") == std::string::npos);
      CHECK(allow.find("CONNECT") == std::string::npos);
    } else {
      CHECK(reply_header(*reply, "Allow") == "<none>");
    }
    // The log phase still learns who sent it.
    CHECK(ctx.client.ip.to_string() == "203.0.113.5");
  }
}

TEST_CASE("admit_request: client IP and trusted proxies", "[pipeline][client-ip]") {
  const auto rt = test::runtime(routing_config());  // trusts 10.0.0.0/8
  const auto req = test::request("GET / HTTP/1.1", {{"Host", "news.example"},
                                                    {"X-Forwarded-For", "198.51.100.7, 10.0.0.2"}});
  SECTION("an untrusted peer's X-Forwarded-For is ignored") {
    auto ctx = test::context(req, {.peer = "203.0.113.5"});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK_FALSE(ctx.client.peer_trusted);
    CHECK(ctx.client.ip.to_string() == "203.0.113.5");
  }
  SECTION("a trusted peer's chain is walked from the right past trusted hops") {
    auto ctx = test::context(req, {.peer = "10.0.0.1"});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.client.peer_trusted);
    CHECK(ctx.client.ip.to_string() == "198.51.100.7");
  }
  SECTION("a trusted peer without X-Forwarded-For is the client") {
    const auto plain = test::request("GET / HTTP/1.1", {{"Host", "news.example"}});
    auto ctx = test::context(plain, {.peer = "10.0.0.1"});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.client.peer_trusted);
    CHECK(ctx.client.ip.to_string() == "10.0.0.1");
  }
  SECTION("an IPv4-mapped peer is unmapped") {
    auto ctx = test::context(req, {.peer = "::ffff:203.0.113.5"});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.client.ip.to_string() == "203.0.113.5");
  }
}

TEST_CASE("admit_request: redirect_https on plain listeners", "[pipeline][redirect]") {
  const auto rt = test::runtime(routing_config());
  const auto req = test::request("GET /a/b?c=1 HTTP/1.1", {{"Host", "News.Example:8080"}});
  SECTION("default port: no port in Location") {
    auto ctx = test::context(req, {.listener = 1});
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == 308);
    CHECK(reply_header(*reply, "Location") == "https://news.example/a/b?c=1");
    CHECK(ctx.upstream == nullptr);
  }
  SECTION("another port is written") {
    auto ctx = test::context(req, {.listener = 2});
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == 308);
    CHECK(reply_header(*reply, "Location") == "https://news.example:8443/a/b?c=1");
  }
  SECTION("absolute-form: the origin-form target is used") {
    const auto abs = test::request("GET http://news.example/x?y HTTP/1.1",
                                   {{"Host", "news.example"}});
    auto ctx = test::context(abs, {.listener = 1});
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply_header(*reply, "Location") == "https://news.example/x?y");
  }
  SECTION("not on a TLS connection") {
    auto ctx = test::context(req, {.listener = 1, .tls = true});
    CHECK_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(ctx.upstream != nullptr);
  }
  SECTION("not on a listener without redirect_https") {
    auto ctx = test::context(req, {.listener = 0});
    CHECK_FALSE(pipeline::admit_request(ctx, rt));
  }
  SECTION("an invalid head is refused, not redirected") {
    const auto bad = test::request("TRACE / HTTP/1.1", {{"Host", "news.example"}});
    auto ctx = test::context(bad, {.listener = 1});
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    CHECK(reply->status == 405);
  }
}

// A Location must be an absolute https URL with a host and a path; "https:///old" (no Host) or
// "https://news.example*" (OPTIONS *) send browsers and caches astray.
TEST_CASE("admit_request: redirect_https never writes an invalid Location",
          "[pipeline][redirect]") {
  const auto rt = test::runtime(routing_config());
  const bh::request_header<> reqs[] = {
      test::request("GET /old HTTP/1.0"),                          // no Host at all
      test::request("GET /empty HTTP/1.1", {{"Host", ""}}),         // empty Host (RFC 9112 §3.2)
      test::request("OPTIONS * HTTP/1.1", {{"Host", "news.example"}}),  // asterisk-form
  };
  for (const auto& req : reqs) {
    CAPTURE(req.target());
    auto ctx = test::context(req, {.listener = 1});
    const auto reply = pipeline::admit_request(ctx, rt);
    if (!reply || reply->status != 308) continue;  // refusing or serving it is fine
    const auto location = reply_header(*reply, "Location");
    CAPTURE(location);
    REQUIRE(location.starts_with("https://"));
    const auto rest = std::string_view(location).substr(8);
    const auto slash = rest.find('/');
    CHECK(slash != 0);                      // a host
    CHECK(slash != std::string_view::npos);  // a path
  }
}

TEST_CASE("signals, rules and action with the empty rule set", "[pipeline][rules]") {
  const auto rt = test::runtime(routing_config());
  const auto req = test::request("GET /a/../b//c?x=1 HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  CHECK(ctx.path == "/b/c");  // normalised for the rules
  CHECK(ctx.query == "x=1");

  pipeline::collect_signals(ctx, rt, pipeline::Services{}, bawwab::TimePoint{});
  CHECK_FALSE(ctx.signals.has("ua.ai_crawler"));

  ctx.decision = pipeline::evaluate_rules(ctx, rt);
  CHECK(std::holds_alternative<rules::Allow>(ctx.decision.action));
  CHECK(ctx.decision.rule_id.empty());
  CHECK_FALSE(ctx.decision.shadow);
  const auto now = std::chrono::system_clock::time_point{};

  SECTION("Allow goes upstream") {
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::act(ctx, rt, {}, now)));
  }
  SECTION("Block replies with its status; drop closes") {
    ctx.decision.action = rules::Block{403, "", false};
    auto plan = pipeline::act(ctx, rt, {}, now);
    REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
    CHECK(std::get<pipeline::Respond>(plan).reply.status == 403);
    ctx.decision.action = rules::Block{403, "", true};
    CHECK(std::holds_alternative<pipeline::Drop>(pipeline::act(ctx, rt, {}, now)));
  }
  SECTION("Tarpit replies after its delay") {
    ctx.decision.action = rules::Tarpit{std::chrono::milliseconds(1500), 403};
    auto plan = pipeline::act(ctx, rt, {}, now);
    REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
    CHECK(std::get<pipeline::Respond>(plan).delay == std::chrono::milliseconds(1500));
  }
  SECTION("a shadow Block only logs") {
    ctx.decision.action = rules::Block{};
    ctx.decision.shadow = true;
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::act(ctx, rt, {}, now)));
  }
  SECTION("robots.txt and verified crawlers are never challenged") {
    ctx.decision.action = rules::Challenge{};
    ctx.path = "/robots.txt";
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::act(ctx, rt, {}, now)));
    ctx.path = "/articles/x";
    ctx.signals.add("crawler.verified", "googlebot", 0);
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::act(ctx, rt, {}, now)));
  }
  SECTION("a valid pass is not challenged again") {
    ctx.decision.action = rules::Challenge{};
    ctx.pass_valid = true;
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::act(ctx, rt, {}, now)));
  }
}

TEST_CASE("limiter verdicts become the plan: strictest wins, shadow only logs",
          "[pipeline][limits]") {
  const auto rt = test::runtime(routing_config());
  const auto req = test::request("GET / HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  bawwab::limit::LimitSpec spec;
  spec.name = "per-ip";
  spec.count = 10;
  spec.burst = 5;
  bawwab::limit::Verdict pass;
  pass.spec = &spec;
  bawwab::limit::Verdict reject = pass;
  reject.kind = bawwab::limit::Verdict::Kind::reject;
  reject.retry_after = std::chrono::milliseconds(1500);
  bawwab::limit::Verdict delay = pass;
  delay.kind = bawwab::limit::Verdict::Kind::delay;
  delay.wait = std::chrono::milliseconds(250);

  SECTION("all pass: forward") {
    const std::vector<bawwab::limit::Verdict> v{pass, pass};
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::apply_limits(ctx, rt, v)));
    CHECK_FALSE(ctx.limit_hit.has_value());
  }
  SECTION("a reject: 429 with Retry-After rounded up and the draft headers") {
    const std::vector<bawwab::limit::Verdict> v{pass, reject, delay};
    auto plan = pipeline::apply_limits(ctx, rt, v);
    REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
    const auto& reply = std::get<pipeline::Respond>(plan).reply;
    CHECK(reply.status == 429);
    auto header = [&](std::string_view n) {
      for (const auto& [k, val] : reply.headers)
        if (k == n) return val;
      return std::string();
    };
    CHECK(header("Retry-After") == "2");
    CHECK(header("RateLimit-Policy").find("\"per-ip\"") != std::string::npos);
    CHECK(header("RateLimit").find("per-ip") != std::string::npos);
    CHECK(ctx.limit_hit->label() == "per-ip:reject");
  }
  SECTION("a delay: forward after the wait") {
    const std::vector<bawwab::limit::Verdict> v{pass, delay};
    auto plan = pipeline::apply_limits(ctx, rt, v);
    REQUIRE(std::holds_alternative<pipeline::Forward>(plan));
    CHECK(std::get<pipeline::Forward>(plan).delay == std::chrono::milliseconds(250));
  }
  SECTION("a shadow reject: forward, logged") {
    reject.shadow = true;
    const std::vector<bawwab::limit::Verdict> v{pass, reject};
    CHECK(std::holds_alternative<pipeline::Forward>(pipeline::apply_limits(ctx, rt, v)));
    CHECK(ctx.limit_hit->label() == "per-ip:reject:shadow");
  }
}

TEST_CASE("prepare_upstream_request edits the client's head in place", "[pipeline][upstream]") {
  const auto rt = test::runtime(routing_config());
  auto req = test::request("GET http://news.example:8080/p?q=1 HTTP/1.1",
                           {{"Host", "ignored.example"},
                            {"Connection", "keep-alive, X-Secret"},
                            {"Connection", "x-other"},
                            {"X-Secret", "s"},
                            {"X-Other", "o"},
                            {"Keep-Alive", "timeout=5"},
                            {"TE", "trailers"},
                            {"Upgrade", "h2c"},
                            {"Proxy-Connection", "keep-alive"},
                            {"Transfer-Encoding", "chunked"},
                            {"X-Forwarded-For", "1.2.3.4"},
                            {"X-Forwarded-Proto", "https"},
                            {"X-Forwarded-Host", "spoofed.example"},
                            {"User-Agent", "ua/1"},
                            {"Cookie", "a=b"}});
  auto ctx = test::context(req, {.peer = "203.0.113.5"});
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  pipeline::prepare_upstream_request(ctx, rt, req);  // the real call: ctx.request == &req

  CHECK(req.version() == 11);
  CHECK(req.target() == "/p?q=1");
  CHECK(field(req, "Host") == "news.example:8080");
  for (const char* gone : {"Connection", "X-Secret", "X-Other", "Keep-Alive", "TE", "Upgrade",
                           "Proxy-Connection", "Transfer-Encoding", "Content-Length"}) {
    CAPTURE(gone);
    CHECK(req.count(gone) == 0);
  }
  CHECK(field(req, "X-Forwarded-For") == "203.0.113.5");  // the client's chain is not passed on
  CHECK(field(req, "X-Real-IP") == "203.0.113.5");
  CHECK(field(req, "X-Forwarded-Proto") == "http");
  CHECK(field(req, "X-Forwarded-Host") == "news.example:8080");
  CHECK(field(req, "Via") == "1.1 edge");
  CHECK(field(req, "User-Agent") == "ua/1");
  CHECK(field(req, "Cookie") == "a=b");
  CHECK(req.method() == bh::verb::get);
}

TEST_CASE("prepare_upstream_request: versions, TLS, trusted peers, framing",
          "[pipeline][upstream]") {
  const auto rt = test::runtime(routing_config());
  SECTION("an HTTP/1.0 client is forwarded as HTTP/1.1 with a 1.0 Via") {
    auto req = test::request("GET /old HTTP/1.0", {{"Host", "news.example"}});
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    pipeline::prepare_upstream_request(ctx, rt, req);
    CHECK(req.version() == 11);
    CHECK(field(req, "Host") == "news.example");
    CHECK(field(req, "Via") == "1.0 edge");
  }
  SECTION("an HTTP/1.0 client without Host: Host stays empty, never made up") {
    auto req = test::request("GET /old HTTP/1.0");
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    pipeline::prepare_upstream_request(ctx, rt, req);
    CHECK(req.version() == 11);
    CHECK(field(req, "Host").empty());
    CHECK(req.count("X-Forwarded-Host") == 0);
  }
  SECTION("TLS clients: X-Forwarded-Proto https") {
    auto req = test::request("GET / HTTP/1.1", {{"Host", "news.example"}});
    auto ctx = test::context(req, {.tls = true});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    pipeline::prepare_upstream_request(ctx, rt, req);
    CHECK(field(req, "X-Forwarded-Proto") == "https");
  }
  SECTION("a trusted peer's chain is extended, not replaced") {
    auto req = test::request("GET / HTTP/1.1",
                             {{"Host", "news.example"}, {"X-Forwarded-For", "198.51.100.7"}});
    auto ctx = test::context(req, {.peer = "10.0.0.1"});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    pipeline::prepare_upstream_request(ctx, rt, req);
    CHECK(field(req, "X-Forwarded-For") == "198.51.100.7, 10.0.0.1");
    CHECK(field(req, "X-Real-IP") == "198.51.100.7");
  }
  SECTION("Content-Length is removed: the caller sets the framing again") {
    auto req = test::request("POST /form HTTP/1.1",
                             {{"Host", "news.example"}, {"Content-Length", "5"},
                              {"Content-Type", "text/plain"}});
    auto ctx = test::context(req);
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    pipeline::prepare_upstream_request(ctx, rt, req);
    CHECK(req.count("Content-Length") == 0);
    CHECK(req.count("Transfer-Encoding") == 0);
    CHECK(field(req, "Content-Type") == "text/plain");
    CHECK(req.method() == bh::verb::post);
  }
}

TEST_CASE("filter_response removes hop-by-hop fields and appends Via", "[pipeline][response]") {
  const auto rt = test::runtime(routing_config());
  const auto req = test::request("GET / HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));

  bh::response_header<> res;
  res.result(200);
  res.version(11);
  res.insert("Connection", "keep-alive, X-Hop");
  res.insert("X-Hop", "1");
  res.insert("Keep-Alive", "timeout=5");
  res.insert("Transfer-Encoding", "chunked");
  res.insert("Upgrade", "h2c");
  res.insert("Proxy-Connection", "keep-alive");
  res.insert("Trailer", "X-Checksum");
  res.insert("Content-Type", "text/html");
  res.insert("Set-Cookie", "s=1");
  res.insert("Via", "1.1 origin");

  SECTION("HTTP/1.1 origin") {
    pipeline::filter_response(ctx, rt, res, 11);
    for (const char* gone : {"Connection", "X-Hop", "Keep-Alive", "Transfer-Encoding",
                             "Upgrade", "Proxy-Connection", "Trailer"}) {
      CAPTURE(gone);
      CHECK(res.count(gone) == 0);
    }
    CHECK(field(res, "Content-Type") == "text/html");
    CHECK(field(res, "Set-Cookie") == "s=1");
    CHECK(field(res, "Via") == "1.1 origin, 1.1 edge");
  }
  SECTION("HTTP/1.0 origin") {
    pipeline::filter_response(ctx, rt, res, 10);
    CHECK(field(res, "Via") == "1.1 origin, 1.0 edge");
  }
}

TEST_CASE("status_class", "[pipeline][status]") {
  for (unsigned s = 100; s < 600; ++s) {
    CAPTURE(s);
    CHECK(pipeline::status_class(s) == std::to_string(s / 100) + "xx");
  }
  for (unsigned s : {0u, 1u, 99u, 600u, 999u, 1000u, 4294967295u}) {
    CAPTURE(s);
    CHECK(pipeline::status_class(s) == "other");
  }
}

TEST_CASE("make_access_record after a forwarded request", "[pipeline][log]") {
  const auto rt = test::runtime(routing_config());
  bawwab::ManualClock clock;
  const auto req = test::request("GET http://news.example/a?b=1 HTTP/1.1",
                                 {{"Host", "news.example"},
                                  {"User-Agent", "Mozilla/5.0 (test)"},
                                  {"Referer", "https://news.example/"},
                                  {"X-Forwarded-For", "198.51.100.7"}});
  auto ctx = test::context(req, {.peer = "10.0.0.1", .port = 51234, .tls = true}, clock.now());
  ctx.id = 42;
  ctx.wall_started = std::chrono::system_clock::time_point(1'700'000'000s);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));

  pipeline::Outcome outcome;
  outcome.status = 200;
  outcome.bytes_in = 300;
  outcome.bytes_out = 4000;
  outcome.upstream_ms = 12.5;
  outcome.upstream = "http://exact:8081";
  clock.advance(1500ms);

  const auto r = pipeline::make_access_record(ctx, outcome, clock.now());
  CHECK(r.time == ctx.wall_started);
  CHECK(r.request_id == 42);
  CHECK(r.client_ip == "198.51.100.7");
  CHECK(r.tls);
  CHECK(r.method == "GET");
  CHECK(r.path == "/a?b=1");
  CHECK(r.host == "news.example");
  CHECK(r.http_version == "1.1");
  CHECK(r.user_agent == "Mozilla/5.0 (test)");
  CHECK(r.referer == "https://news.example/");
  CHECK(r.status == 200);
  CHECK(r.bytes_in == 300);
  CHECK(r.bytes_out == 4000);
  CHECK(r.duration_ms == Approx(1500.0));
  REQUIRE(r.upstream_ms);
  CHECK(*r.upstream_ms == Approx(12.5));
  CHECK(r.upstream == "http://exact:8081");
  CHECK(r.error.empty());
  CHECK(extra(r, "stage") == "\"connection\"");  // the session had not marked it decided
  ctx.stage = pipeline::Stage::decided;
  const auto decided = pipeline::make_access_record(ctx, outcome, clock.now());
  CHECK(extra(decided, "stage") == "\"decided\"");
  CHECK(extra(decided, "decision") == "\"allow\"");
  CHECK(extra(decided, "decided_by") == "\"default\"");
}

// AccessRecord::peer is documented as the TCP peer "1.2.3.4:5678" (and the accesslog tests and
// JSON examples use that form); ClientInfo carries peer_port for it.
TEST_CASE("make_access_record: peer is address and port", "[pipeline][log]") {
  const auto rt = test::runtime(routing_config());
  const auto req = test::request("GET / HTTP/1.1", {{"Host", "news.example"}});
  SECTION("IPv4") {
    auto ctx = test::context(req, {.peer = "10.0.0.1", .port = 51234});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(pipeline::make_access_record(ctx, {}, ctx.started).peer == "10.0.0.1:51234");
  }
  SECTION("IPv6") {
    auto ctx = test::context(req, {.peer = "2001:db8::1", .port = 443});
    REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
    CHECK(pipeline::make_access_record(ctx, {}, ctx.started).peer == "[2001:db8::1]:443");
  }
}

TEST_CASE("make_access_record for refused and unfinished requests", "[pipeline][log]") {
  const auto rt = test::runtime(routing_config());
  bawwab::ManualClock clock;
  SECTION("refused before the head was complete: no request at all") {
    pipeline::RequestContext ctx;
    ctx.started = clock.now();
    ctx.client.peer = boost::asio::ip::make_address("203.0.113.5");
    ctx.client.peer_port = 40000;
    // ctx.client.ip left unset, as when admit_request never ran
    pipeline::Outcome outcome;
    outcome.status = 408;
    outcome.bytes_in = 17;
    outcome.bytes_out = 200;
    outcome.error = "header_timeout";
    clock.advance(10s);
    const auto r = pipeline::make_access_record(ctx, outcome, clock.now());
    CHECK(r.client_ip == "203.0.113.5");
    CHECK(r.method.empty());
    CHECK(r.path.empty());
    CHECK(r.host.empty());
    CHECK(r.user_agent.empty());
    CHECK(r.status == 408);
    CHECK(r.bytes_in == 17);
    CHECK(r.bytes_out == 200);
    CHECK(r.error == "header_timeout");
    CHECK(r.duration_ms == Approx(10'000.0));
    CHECK_FALSE(r.upstream_ms);
    CHECK(r.upstream.empty());
  }
  SECTION("refused by validation: method and raw target still logged") {
    const auto req = test::request("TRACE /debug HTTP/1.0", {{"User-Agent", "scanner"}});
    auto ctx = test::context(req, {.peer = "203.0.113.5"}, clock.now());
    const auto reply = pipeline::admit_request(ctx, rt);
    REQUIRE(reply);
    pipeline::Outcome outcome;
    outcome.status = reply->status;
    const auto r = pipeline::make_access_record(ctx, outcome, clock.now());
    CHECK(r.client_ip == "203.0.113.5");
    CHECK(r.method == "TRACE");
    CHECK(r.path == "/debug");
    CHECK(r.http_version == "1.0");
    CHECK(r.user_agent == "scanner");
    CHECK(r.status == 405);
    CHECK(r.duration_ms == Approx(0.0));
  }
  SECTION("unknown host: 421 logged with the host asked for") {
    const auto strict = test::runtime(strict_config());
    const auto req = test::request("GET /x HTTP/1.1", {{"Host", "Other.Example"}});
    auto ctx = test::context(req);
    REQUIRE(pipeline::admit_request(ctx, strict));
    pipeline::Outcome outcome;
    outcome.status = 421;
    const auto r = pipeline::make_access_record(ctx, outcome, ctx.started);
    CHECK(r.host == "other.example");
    CHECK(r.path == "/x");
    // A 421 is no decision of the rules: the log says where the request stopped, and carries
    // no decision fields (it used to say "decision: allow, decided_by: default").
    ctx.stage = pipeline::Stage::head;
    const auto r2 = pipeline::make_access_record(ctx, outcome, ctx.started);
    CHECK(extra(r2, "stage") == "\"head\"");
    CHECK(extra(r2, "decision") == "<none>");
  }
}

TEST_CASE("act: block with a page renders the operator's template", "[pipeline][rules]") {
  auto rt = test::runtime(routing_config());
  auto loaded = rules::load_rules_text(R"(
pages: { legal: pages/legal.html, json: pages/refused.json }
rules:
  - { id: geo, when: { path: /gone }, then: { block: { status: 451, page: legal } } }
  - { id: api, when: { path: /api }, then: { block: { status: 429, page: json } } }
)",
                                       "test.yaml", BAWWAB_FIXTURES "/rules");
  REQUIRE(loaded.rules);
  rt.rules = loaded.rules;
  auto cfg = *rt.config;
  cfg.challenge.contact = "readers@news.example";
  rt.config = std::make_shared<const config::ServerConfig>(cfg);
  rt.challenge = pipeline::challenge_config_from(cfg);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'796'000'000));

  const auto req = test::request("GET /gone?<b> HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  ctx.id = 99;
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  ctx.decision = pipeline::evaluate_rules(ctx, rt);
  auto plan = pipeline::act(ctx, rt, {}, now);
  REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
  const auto& reply = std::get<pipeline::Respond>(plan).reply;
  CHECK(reply.status == 451);
  CHECK(reply.content_type == "text/html; charset=utf-8");
  CHECK_THAT(reply.body, Catch::Contains("<title>451 Unavailable For Legal Reasons</title>"));
  CHECK_THAT(reply.body, Catch::Contains("Rule: geo · Request: 99 · GET news.example/gone"));
  CHECK_THAT(reply.body, Catch::Contains("2026-11-30T00:53:20Z"));
  CHECK_THAT(reply.body, Catch::Contains("<p>readers@news.example</p>"));

  const auto api = test::request("GET /api HTTP/1.1", {{"Host", "news.example"}});
  auto ctx2 = test::context(api);
  REQUIRE_FALSE(pipeline::admit_request(ctx2, rt));
  ctx2.decision = pipeline::evaluate_rules(ctx2, rt);
  plan = pipeline::act(ctx2, rt, {}, now);
  REQUIRE(std::holds_alternative<pipeline::Respond>(plan));
  CHECK(std::get<pipeline::Respond>(plan).reply.content_type == "application/json");
  CHECK_THAT(std::get<pipeline::Respond>(plan).reply.body,
             Catch::StartsWith("{\"error\": 429, \"reason\": \"Too Many Requests\""));
}
