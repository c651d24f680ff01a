// The response-plan phase: which body filters a response gets and how its head changes; the
// response-header edits on bawwab's own replies. Pure: no sockets.
#include <catch2/catch.hpp>

#include <string>

#include "bawwab/detect/behaviour.hpp"
#include "bawwab/http/replies.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/rules/loader.hpp"
#include "bawwab/rules/signals.hpp"
#include "support/context_builder.hpp"

namespace bh = boost::beast::http;
namespace pipeline = bawwab::pipeline;
namespace config = bawwab::config;
namespace detect = bawwab::detect;
namespace test = bawwab::test;

namespace {

config::ServerConfig one_site() {
  config::ServerConfig cfg;
  cfg.listeners.resize(1);
  config::UpstreamGroup g;
  g.name = "origin";
  g.servers.push_back(config::UpstreamServer{"http://127.0.0.1:8081", "127.0.0.1", 8081});
  cfg.upstreams.emplace("origin", g);
  cfg.sites.push_back(config::Site{{"*"}, "origin"});
  return cfg;
}

bh::response_header<> response(unsigned status, test::Fields fields = {}) {
  bh::response_header<> res;
  res.result(status);
  res.version(11);
  for (const auto& [n, v] : fields) res.insert(n, v);
  return res;
}

std::string body_through(pipeline::ResponsePlan& plan, std::string_view body) {
  std::string out;
  plan.filters.on_data(body.substr(0, body.size() / 2), out, false);
  plan.filters.on_data(body.substr(body.size() / 2), out, true);
  return out;
}

}  // namespace

TEST_CASE("plan_response: robots.txt passing through is learnt, unchanged", "[pipeline][plan]") {
  const auto rt = test::runtime(one_site());
  detect::BehaviourTracker behaviour(detect::BehaviourConfig{});
  pipeline::Services services;
  services.behaviour = &behaviour;
  const auto req = test::request("GET /robots.txt HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));

  SECTION("a 200 plain body: one observer, the head keeps its length and validators") {
    auto res = response(200, {{"Content-Length", "38"}, {"ETag", "\"r1\""},
                              {"Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"}});
    auto plan = pipeline::plan_response(ctx, rt, services, res, false);
    REQUIRE(plan.filters.size() == 1);
    CHECK(plan.filters.at(0).name() == "robots");
    CHECK_FALSE(plan.rewritten);
    CHECK(res[bh::field::content_length] == "38");
    CHECK(res[bh::field::etag] == "\"r1\"");
    CHECK(res.count(bh::field::last_modified) == 1);
    const std::string body = "User-agent: *\nDisallow: /private/\n";
    CHECK(body_through(plan, body) == body);
    // What it learnt works: a client that read robots.txt, then asks for /private/x.
    const auto key = detect::BehaviourTracker::key_for(ctx.client.ip);
    const bawwab::TimePoint now{};
    behaviour.record(key, {"news.example", "/robots.txt", "bot/1", detect::RequestKind::other}, now);
    const auto flags = behaviour.record(
        key, {"news.example", "/private/x", "bot/1", detect::RequestKind::page}, now);
    CHECK(flags.robots_violation);
  }
  SECTION("not learnt: compressed, not 200, HEAD, or no behaviour table") {
    auto gz = response(200, {{"Content-Encoding", "gzip"}});
    CHECK(pipeline::plan_response(ctx, rt, services, gz, false).filters.empty());
    auto missing = response(404);
    CHECK(pipeline::plan_response(ctx, rt, services, missing, false).filters.empty());
    auto head = response(200);
    CHECK(pipeline::plan_response(ctx, rt, services, head, true).filters.empty());
    auto plain = response(200);
    CHECK(pipeline::plan_response(ctx, rt, pipeline::Services{}, plain, false).filters.empty());
  }
}

TEST_CASE("plan_response: other paths and bodiless statuses get no filter", "[pipeline][plan]") {
  const auto rt = test::runtime(one_site());
  detect::BehaviourTracker behaviour(detect::BehaviourConfig{});
  pipeline::Services services;
  services.behaviour = &behaviour;
  const auto req = test::request("GET /articles/a.html HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  for (unsigned status : {200u, 204u, 206u, 304u, 404u, 502u}) {
    auto res = response(status, {{"Content-Type", "text/html"}, {"Content-Length", "10"}});
    const auto plan = pipeline::plan_response(ctx, rt, services, res, false);
    CHECK(plan.filters.empty());
    CHECK(res[bh::field::content_length] == "10");
  }
}

TEST_CASE("filter_local_reply: set_response_header applies to bawwab's own replies",
          "[pipeline][plan]") {
  auto loaded = bawwab::rules::load_rules_text(R"(
rules:
  - id: mark
    when: {path: {prefix: /articles/}}
    then:
      - set_response_header: {name: X-Robots-Tag, value: "noai, noimageai"}
      - block: {status: 403}
  - id: mark-html
    when: {content_type: text/html}
    then:
      - set_response_header: {name: X-Frame-Options, value: DENY}
)",
                                               "inline.yaml");
  REQUIRE(loaded.rules != nullptr);
  auto rt = test::runtime(one_site());
  rt.rules = loaded.rules;
  const auto req = test::request("GET /articles/a.html HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  ctx.decision = pipeline::evaluate_rules(ctx, rt);
  auto res = bawwab::http::to_response(bawwab::http::error_reply(403), 11, false);
  pipeline::filter_local_reply(ctx, rt, res.base());
  CHECK(res["X-Robots-Tag"] == "noai, noimageai");  // from the deciding rule
  CHECK(res["X-Frame-Options"] == "DENY");  // a response-phase rule: the reply is text/html
  SECTION("a shadow decision changes nothing") {
    ctx.decision.shadow = true;
    auto res2 = bawwab::http::to_response(bawwab::http::error_reply(403), 11, false);
    pipeline::filter_local_reply(ctx, rt, res2.base());
    CHECK(res2.count("X-Robots-Tag") == 0);
  }
}

TEST_CASE("upstream_failure: the status and log error for each way the upstream failed",
          "[pipeline][upstream]") {
  using bawwab::Errc;
  const auto f = [](Errc e) { return pipeline::upstream_failure(e); };
  CHECK(f(Errc::upstream_timeout).status == 504);
  CHECK(f(Errc::upstream_timeout).error == "upstream_timeout");
  CHECK(f(Errc::upstream_connect_failed).status == 502);
  CHECK(f(Errc::upstream_connect_failed).error == "upstream_connect_failed");
  CHECK(f(Errc::upstream_closed).status == 502);
  CHECK(f(Errc::no_upstream).error == "no_upstream");
  CHECK(f(Errc::upstream_protocol_error).error == "upstream_protocol_error");
  CHECK(f(Errc::body_too_large).status == 413);
  CHECK(f(Errc::bad_request_body).status == 400);
  CHECK(f(Errc::client_closed).status == 499);  // nothing is written to a client that left
}

TEST_CASE("tally_decision: what the counters learn from a decided request", "[pipeline][tally]") {
  const auto rt = test::runtime(one_site());
  const auto req = test::request("GET /a HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  ctx.signals.add("ua.browser", "firefox", 0);
  ctx.signals.add("headers.order_mismatch", "firefox", 10);
  ctx.decision.action = bawwab::rules::Challenge{};
  ctx.decision.source = bawwab::rules::Decision::Source::threshold;
  ctx.decision.shadow_hits.push_back({"watch", bawwab::rules::Block{}});
  ctx.limit_hit = pipeline::LimitHit{"per-ip", bawwab::limit::Verdict::Kind::reject, false};
  const pipeline::Plan respond = pipeline::Respond{bawwab::http::error_reply(403), {}};
  auto t = pipeline::tally_decision(ctx, respond);
  CHECK(t.action == ctx.decision.action.index());
  CHECK_FALSE(t.shadow);
  CHECK(t.shadow_hits.size() == 1);
  CHECK(t.by_threshold);
  REQUIRE(t.signals.size() == 2);
  const auto catalog = bawwab::rules::signal_catalog();
  CHECK(catalog[t.signals[0].index].name == "ua.browser");
  CHECK(catalog[t.signals[1].index].name == "headers.order_mismatch");
  CHECK(t.limit == pipeline::DecisionTally::Limit::rejected);
  CHECK(t.challenge_issued);
  SECTION("a shadow decision: its shadow hits are the decision, no challenge goes out") {
    ctx.decision.shadow = true;
    ctx.limit_hit->shadow = true;
    t = pipeline::tally_decision(ctx, pipeline::Forward{});
    CHECK(t.shadow);
    CHECK(t.shadow_hits.empty());
    CHECK(t.limit == pipeline::DecisionTally::Limit::shadow);
    CHECK_FALSE(t.challenge_issued);
  }
}

TEST_CASE("sets_bawwab_cookie: the answers that set a cookie the behaviour table expects back",
          "[pipeline][cookie]") {
  const auto rt = test::runtime(one_site());
  const auto req = test::request("GET /a HTTP/1.1", {{"Host", "news.example"}});
  auto ctx = test::context(req);
  REQUIRE_FALSE(pipeline::admit_request(ctx, rt));
  ctx.stage = pipeline::Stage::builtin;  // the verify endpoint answered: pass or new check cookie
  CHECK(pipeline::sets_bawwab_cookie(ctx, nullptr));
  ctx.stage = pipeline::Stage::decided;
  ctx.decision.action = bawwab::rules::Challenge{};
  const pipeline::Plan page = pipeline::Respond{bawwab::http::error_reply(403), {}};
  const auto cookie = [&](const pipeline::Plan& plan) {
    const auto t = pipeline::tally_decision(ctx, plan);
    return pipeline::sets_bawwab_cookie(ctx, &t);
  };
  CHECK(cookie(page));  // a challenge page sets its check cookie
  CHECK_FALSE(pipeline::sets_bawwab_cookie(ctx, nullptr));
  const pipeline::Plan forward = pipeline::Forward{};  // a passed reader: no new cookie
  CHECK_FALSE(cookie(forward));
  ctx.decision.shadow = true;  // a shadow challenge is not sent
  CHECK_FALSE(cookie(page));
  ctx.decision.shadow = false;
  ctx.decision.action = bawwab::rules::Block{};
  CHECK_FALSE(cookie(page));
  ctx.stage = pipeline::Stage::head;  // refused at the head: nothing set
  CHECK_FALSE(pipeline::sets_bawwab_cookie(ctx, nullptr));
}
