// Actions and the decision: evaluation order, terminal and non-terminal actions, shadow mode
// (per rule and global), score thresholds, trace entries, the empty set.
#include <catch2/catch.hpp>

#include "rules_test_util.hpp"

using namespace bawwab;
using namespace bawwab::rules;
using namespace std::chrono_literals;
using test::Request;

namespace {

Signals with_score(int weight) {
  Signals s;
  s.add("ua.http_library", "curl", weight);
  return s;
}

std::vector<std::string> as_strings(const std::vector<std::string_view>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("the empty rule set allows everything") {
  for (const RuleSetPtr& rs : {empty_rule_set(), std::make_shared<const RuleSet>()}) {
    auto r = Request().ua("GPTBot");
    Trace trace;
    const Decision d = r.evaluate(*rs, &trace);
    CHECK(test::is_allow(d));
    CHECK(d.source == bawwab::rules::Decision::Source::default_);
    CHECK(trace.empty());
    CHECK(rs->version() == "empty");
    CHECK(rs->size() == 0);
    CHECK(rs->rules().empty());
    CHECK(rs->limits().empty());
    CHECK(rs->find_limit("x") == nullptr);
    CHECK(rs->claimed_crawler("Googlebot") == nullptr);
    CHECK_FALSE(rs->global_shadow());
    CHECK(rs->weight("ua.ai_crawler") == find_signal("ua.ai_crawler")->default_weight);
    std::vector<UaMatch> m;
    rs->match_user_agent("GPTBot", m);
    CHECK(m.empty());
  }
  CHECK(load_rules({}).rules == empty_rule_set());
}

TEST_CASE("terminal actions and their parameters") {
  const auto rs = test::compile(R"(
pages:
  legal: pages/legal.html
limits:
  - { name: a, rate: 5/s }
  - { name: b, rate: 10/min, burst: 3 }
rules:
  - { id: allow, when: { path: /allow }, then: allow }
  - { id: block, when: { path: /block }, then: block }
  - id: block-status
    when: { path: /block-status }
    then: { block: { status: 451, page: legal } }
  - { id: drop, when: { path: /drop }, then: { block: drop } }
  - { id: challenge, when: { path: /challenge }, then: challenge }
  - { id: challenge-level, when: { path: /nojs }, then: { challenge: nojs } }
  - { id: challenge-map, when: { path: /hard }, then: { challenge: { level: js, difficulty: 20 } } }
  - { id: limit, when: { path: /limit }, then: { rate_limit: b } }
  - { id: limits, when: { path: /limits }, then: { rate_limit: [a, b] } }
  - { id: tarpit, when: { path: /tarpit }, then: tarpit }
  - { id: tarpit-map, when: { path: /tarpit2 }, then: { tarpit: { delay: 10s, status: 429 } } }
)");
  auto decide = [&](std::string target) {
    Decision d = Request().target(std::move(target)).evaluate(*rs);
    CHECK(d.source == bawwab::rules::Decision::Source::rule);
    return d;
  };
  CHECK(test::is_allow(decide("/allow")));
  CHECK(decide("/allow").rule_id == "allow");
  const Block b = std::get<Block>(decide("/block").action);
  CHECK(b.status == 403);
  CHECK(b.page.empty());
  CHECK_FALSE(b.drop);
  const Block bs = std::get<Block>(decide("/block-status").action);
  CHECK(bs.status == 451);
  CHECK(bs.page == "legal");
  CHECK(std::get<Block>(decide("/drop").action).drop);
  CHECK(std::get<Challenge>(decide("/challenge").action).level == "js");
  CHECK(std::get<Challenge>(decide("/challenge").action).difficulty == 0);
  CHECK(std::get<Challenge>(decide("/nojs").action).level == "nojs");
  CHECK(std::get<Challenge>(decide("/hard").action).difficulty == 20);
  CHECK(std::get<RateLimit>(decide("/limit").action).limits == std::vector<std::size_t>{1});
  CHECK(std::get<RateLimit>(decide("/limits").action).limits == std::vector<std::size_t>{0, 1});
  CHECK(std::get<Tarpit>(decide("/tarpit").action).delay == 5s);
  CHECK(std::get<Tarpit>(decide("/tarpit2").action).delay == 10s);
  CHECK(std::get<Tarpit>(decide("/tarpit2").action).status == 429);
  CHECK(action_name(decide("/tarpit").action) == "tarpit");
  CHECK(action_name(decide("/limit").action) == "rate_limit");
  const Decision none = Request().target("/nothing").evaluate(*rs);
  CHECK(test::is_allow(none));
  CHECK(none.source == bawwab::rules::Decision::Source::default_);
  CHECK(none.rule_id.empty());
}

TEST_CASE("non-terminal actions accumulate; the first terminal action wins") {
  const auto rs = test::compile(R"(
rules:
  - id: one
    then: [ { tag: first }, { score: 20 }, { set_request_header: { name: X-Bot, value: "maybe" } } ]
  - id: two
    when: { path: { prefix: /a } }
    then: [ { score: -5 }, { tag: second }, { set_response_header: { name: X-R, value: "1" } } ]
  - id: decide
    when: { path: { prefix: /a/b } }
    then: [ { tag: decided }, challenge ]
  - id: never
    when: { path: { prefix: /a } }
    then: [ { tag: never }, block ]
)");
  const Decision d = Request().target("/a/b").evaluate(*rs);
  CHECK(test::is_challenge(d));
  CHECK(d.rule_id == "decide");
  CHECK(d.score == 15);
  CHECK(as_strings(d.tags) == std::vector<std::string>{"first", "second", "decided"});
  CHECK(as_strings(d.matched) == std::vector<std::string>{"one", "two", "decide"});
  REQUIRE(d.request_headers.size() == 1);
  CHECK(d.request_headers[0]->name == "X-Bot");
  CHECK(d.request_headers[0]->value == "maybe");
  REQUIRE(d.response_headers.size() == 1);
  CHECK(d.response_headers[0]->name == "X-R");

  const Decision other = Request().target("/a/c").evaluate(*rs);
  CHECK(test::is_block(other));
  CHECK(other.rule_id == "never");
}

TEST_CASE("the score starts from the signals and is clamped to 0..100") {
  const auto rs = test::compile(R"(
rules:
  - { id: up, when: { path: /up }, then: [ { score: 100 }, { score: 30 } ] }
  - { id: down, when: { path: /down }, then: { score: -100 } }
)");
  CHECK(Request().target("/up").signals(with_score(50)).evaluate(*rs).score == 100);
  CHECK(Request().target("/down").signals(with_score(50)).evaluate(*rs).score == 0);
  CHECK(Request().target("/x").signals(with_score(50)).evaluate(*rs).score == 50);
  CHECK(Request().target("/x").evaluate(*rs).score == 0);
}

TEST_CASE("thresholds decide when no terminal rule fired: block first, then challenge") {
  const auto rs = test::compile(R"(
thresholds: { challenge: 30, block: 70 }
rules:
  - { id: add, when: { header: { name: X-Add, present: true } }, then: { score: 25 } }
  - { id: allowed, when: { path: /free }, then: allow }
)");
  CHECK(rs->thresholds().challenge == 30);
  CHECK(rs->thresholds().block == 70);
  auto decide = [&](int weight, std::string target = "/", bool add = false) {
    auto r = Request().target(std::move(target)).signals(with_score(weight));
    if (add) r.header("X-Add", "1");
    return r.evaluate(*rs);
  };
  CHECK(test::is_allow(decide(29)));
  CHECK(decide(29).source == bawwab::rules::Decision::Source::default_);
  CHECK(test::is_challenge(decide(30)));
  CHECK(decide(30).source == bawwab::rules::Decision::Source::threshold);
  CHECK(decide(30).rule_id.empty());
  CHECK(test::is_challenge(decide(69)));
  CHECK(test::is_block(decide(70)));
  CHECK(std::get<Block>(decide(70).action).status == 403);
  CHECK(decide(70).source == bawwab::rules::Decision::Source::threshold);
  CHECK(test::is_block(decide(50, "/", true)));  // 50 + 25 from a rule
  CHECK(test::is_allow(decide(90, "/free")));    // a terminal rule fired: no threshold
  // Off when 0 or absent.
  const auto none = test::compile("thresholds: { challenge: 0 }\nrules: []");
  CHECK(test::is_allow(Request().signals(with_score(100)).evaluate(*none)));
  const auto only_block = test::compile("thresholds: { block: 80 }");
  CHECK(test::is_allow(Request().signals(with_score(79)).evaluate(*only_block)));
  CHECK(test::is_block(Request().signals(with_score(80)).evaluate(*only_block)));
}

TEST_CASE("a shadow rule is recorded and changes nothing") {
  const auto rs = test::compile(R"(
rules:
  - id: trial
    mode: shadow
    when: { path: { prefix: /a } }
    then:
      [ { score: 50 }, { tag: trial }, { set_request_header: { name: X-T, value: "1" } }, block ]
  - id: trial-score-only
    mode: shadow
    when: { path: { prefix: /a } }
    then: { score: 10 }
  - id: real
    when: { path: /a/real }
    then: challenge
)");
  CHECK(rs->rules()[0].shadow);
  CHECK_FALSE(rs->rules()[2].shadow);
  const Decision d = Request().target("/a/x").evaluate(*rs);
  CHECK(test::is_allow(d));
  CHECK_FALSE(d.shadow);
  CHECK(d.score == 0);
  CHECK(d.request_headers.empty());
  CHECK(as_strings(d.tags) == std::vector<std::string>{"trial"});
  CHECK(as_strings(d.matched) == std::vector<std::string>{"trial", "trial-score-only"});
  REQUIRE(d.shadow_hits.size() == 1);
  CHECK(d.shadow_hits[0].rule_id == "trial");
  CHECK(std::holds_alternative<Block>(d.shadow_hits[0].action));
  // Evaluation goes on after a shadow rule's terminal action.
  const Decision real = Request().target("/a/real").evaluate(*rs);
  CHECK(test::is_challenge(real));
  CHECK(real.rule_id == "real");
  CHECK(real.shadow_hits.size() == 1);
}

TEST_CASE("global shadow: the decision is what would have happened, marked shadow") {
  const auto rs = test::compile(R"(
shadow: true
thresholds: { block: 60 }
rules:
  - id: add
    when: { path: { prefix: /a } }
    then: [ { score: 40 }, { set_request_header: { name: X-T, value: "1" } } ]
  - { id: blocked, when: { path: /b }, then: block }
)");
  CHECK(rs->global_shadow());
  const Decision b = Request().target("/b").evaluate(*rs);
  CHECK(b.shadow);
  CHECK(test::is_block(b));
  CHECK(b.rule_id == "blocked");
  const Decision t = Request().target("/a").signals(with_score(20)).evaluate(*rs);
  CHECK(t.shadow);
  CHECK(t.score == 60);
  CHECK(test::is_block(t));
  CHECK(t.source == bawwab::rules::Decision::Source::threshold);
  CHECK(t.request_headers.empty());  // never enforced: the origin sees no edit
  const Decision a = Request().target("/x").evaluate(*rs);
  CHECK(a.shadow);
  CHECK(test::is_allow(a));
  // Response-phase edits are not applied either.
  const auto resp = test::compile(R"(
shadow: true
rules:
  - id: r
    when: { content_type: text/html }
    then: { set_response_header: { name: X-A, value: b } }
)");
  std::vector<const HeaderEdit*> out;
  auto html = Request().content_type("text/html");
  resp->evaluate_response(html.view(), out);
  CHECK(out.empty());
}

TEST_CASE("any file saying shadow: true puts the whole set in shadow") {
  const LoadResult r = load_rules({BAWWAB_FIXTURES "/rules/include/shadow_main.yaml"});
  INFO(test::joined(r.diagnostics));
  REQUIRE(r.rules);
  CHECK(r.rules->global_shadow());
}

TEST_CASE("disabled rules are validated but not compiled") {
  const auto rs = test::compile(R"(
rules:
  - { id: off, enabled: false, when: { path: /x }, then: block }
  - { id: on, when: { path: /y }, then: block }
)");
  CHECK(rs->size() == 1);
  CHECK(rs->rules()[0].id == "on");
  CHECK(test::is_allow(Request().target("/x").evaluate(*rs)));
  const auto bad = test::diagnostic(R"(
rules:
  - { id: off, enabled: false, when: { path: { regex: '(' } }, then: block }
)");
  CHECK(bad == "test.yaml:3:55: rule 'off': when.path.regex: bad regex '(': missing ): (");
}

TEST_CASE("trace: one entry per rule looked at, with why") {
  const auto rs = test::compile(R"(
lists:
  ai: [GPTBot]
rules:
  - id: feed
    when: { path: { prefix: /feed } }
    then: allow
  - id: ai
    description: AI crawlers
    when: { user_agent: { list: ai }, path: { prefix: /articles/ } }
    then: [ { tag: ai }, block ]
  - id: after
    then: allow
)");
  Trace trace;
  const Decision d =
      Request().target("/articles/x").ua("Mozilla/5.0 GPTBot/1.0").evaluate(*rs, &trace);
  CHECK(test::is_block(d));
  REQUIRE(trace.size() == 2);  // "after" was never looked at
  CHECK(trace[0].rule_id == "feed");
  CHECK_FALSE(trace[0].matched);
  CHECK(trace[0].file == "test.yaml");
  CHECK(trace[0].line == 5);
  CHECK(trace[0].why == "path '/articles/x' matched none of: prefix '/feed'");
  CHECK(trace[1].matched);
  CHECK(trace[1].why ==
        "user_agent matched list 'ai' ('GPTBot'); path '/articles/x' matched prefix '/articles/'; "
        "decides: block 403");
  CHECK(rs->rules()[1].description == "AI crawlers");

  trace.clear();
  Request().target("/x").ua("curl/8").evaluate(*rs, &trace);
  REQUIRE(trace.size() == 3);
  CHECK(trace[1].why == "user_agent 'curl/8' matched none of: list 'ai'");
  CHECK(trace[2].why == "no condition; decides: allow");
}

TEST_CASE("trace explains each kind of condition") {
  const auto rs = test::compile(R"(
networks: { office: [10.0.0.0/8] }
rules:
  - id: r
    when:
      any:
        - method: POST
        - host: '*.example'
        - ip: { network: office }
        - header: { name: X-A, equals: b }
        - cookie: { name: sid, present: true }
        - query: { param: page }
        - signal: ua.headless
        - score: '>= 90'
        - not: { user_agent: 'Firefox' }
    then: block
)");
  Trace trace;
  Request().host("news.test").target("/?x=1").evaluate(*rs, &trace);
  REQUIRE(trace.size() == 1);
  CHECK_FALSE(trace[0].matched);
  CHECK(trace[0].why ==
        "none of: method GET is not POST; host 'news.test' is not '*.example'; ip 203.0.113.9 is "
        "not in network 'office'; header 'X-A' is absent; cookie 'sid' is absent; query has no "
        "parameter 'page'; no signal ua.headless; score 0 is not >= 90; not (user_agent matched "
        "regex 'Firefox')");
  trace.clear();
  Request().host("news.test").ip("10.1.1.1").evaluate(*rs, &trace);
  CHECK(trace[0].why == "ip 10.1.1.1 is in network 'office'; decides: block 403");
}

TEST_CASE("weights: the catalogue's default unless overridden") {
  const auto rs = test::compile("weights: { ua.ai_crawler: 90, behaviour.html_only: -5 }");
  CHECK(rs->weight("ua.ai_crawler") == 90);
  CHECK(rs->weight("behaviour.html_only") == -5);
  CHECK(rs->weight("ua.headless") == find_signal("ua.headless")->default_weight);
  CHECK(rs->weight("no.such") == 0);
}

TEST_CASE("limits are parsed into LimitSpec") {
  const auto rs = test::compile(R"(
limits:
  - name: article-per-ip
    key: ip
    rate: 5/s
    burst: 20
  - name: composite
    key: [ip_prefix, header:X-Api-Key, cookie:sid, user_agent, tls.ja4, host, path_group, rule]
    rate: 300/min
    on_exceed: delay
    max_delay: 2s
    ipv4_prefix: 16
    ipv6_prefix: 48
    mode: shadow
  - name: banned
    rate: 100/h
    on_exceed: ban
    status: 403
    ban: { duration: 10m, escalation: 1.5, max: 24h }
  - { name: m, rate: 7/m }
)");
  REQUIRE(rs->limits().size() == 4);
  const limit::LimitSpec& a = rs->limits()[0];
  CHECK(a.name == "article-per-ip");
  CHECK(a.count == 5);
  CHECK(a.period == 1s);
  CHECK(a.rate_text == "5/s");
  CHECK(a.burst == 20);
  REQUIRE(a.key.size() == 1);
  CHECK(a.key[0].part == limit::KeyPart::ip);
  CHECK(a.on_exceed == limit::OnExceed::reject);
  CHECK(a.status == 429);
  CHECK_FALSE(a.shadow);
  CHECK(a.file == "test.yaml");
  CHECK(a.line == 3);
  const limit::LimitSpec& c = *rs->find_limit("composite");
  REQUIRE(c.key.size() == 8);
  CHECK(c.key[0].part == limit::KeyPart::ip_prefix);
  CHECK(c.key[1].part == limit::KeyPart::header);
  CHECK(c.key[1].name == "x-api-key");
  CHECK(c.key[2].part == limit::KeyPart::cookie);
  CHECK(c.key[2].name == "sid");
  CHECK(c.key[3].part == limit::KeyPart::user_agent);
  CHECK(c.key[4].part == limit::KeyPart::tls_ja4);
  CHECK(c.key[5].part == limit::KeyPart::host);
  CHECK(c.key[6].part == limit::KeyPart::path_group);
  CHECK(c.key[7].part == limit::KeyPart::rule);
  CHECK(c.count == 300);
  CHECK(c.period == 60s);
  CHECK(c.on_exceed == limit::OnExceed::delay);
  CHECK(c.max_delay == 2s);
  CHECK(c.ipv4_prefix == 16);
  CHECK(c.ipv6_prefix == 48);
  CHECK(c.shadow);
  const limit::LimitSpec& b = *rs->find_limit("banned");
  CHECK(b.period == 3600s);
  CHECK(b.on_exceed == limit::OnExceed::ban);
  CHECK(b.status == 403);
  CHECK(b.ban_duration == 600s);
  CHECK(b.ban_escalation == 1.5);
  CHECK(b.ban_max == 86400s);
  CHECK(rs->find_limit("m")->period == 60s);
}

TEST_CASE("crawlers: claims, networks, DNS suffixes") {
  const auto rs = test::compile(R"(
networks: { googlebot: { file: networks/office.txt } }
crawlers:
  googlebot: { user_agent: 'Googlebot', network: googlebot, dns: [.googlebot.com, google.com] }
  bing: { user_agent: 'bingbot/', dns: .search.msn.com }
)");
  REQUIRE(rs->crawlers().size() == 2);
  const CrawlerSpec* g = rs->claimed_crawler("Mozilla/5.0 (compatible; googlebot/2.1)");
  REQUIRE(g != nullptr);
  CHECK(g->name == "googlebot");
  CHECK(g->network == "googlebot");
  CHECK(g->dns_suffixes == std::vector<std::string>{".googlebot.com", ".google.com"});
  CHECK(rs->claimed_crawler("bingbot/2.0")->name == "bing");
  CHECK(rs->claimed_crawler("Firefox") == nullptr);
}

TEST_CASE("crawlers: a rule tells which crawler was verified") {
  // The detection phase emits crawler.verified with the crawlers: name as its value, so a rule
  // can pick out one verified crawler by name (value / in), or by the list its UA is in; a
  // verified SEO crawler is then rate limited while a verified search engine is allowed.
  const auto rs = test::compile(R"(
lists:
  seo-tools: { signal: ua.seo_tool, patterns: [AhrefsBot, BLEXBot] }
crawlers:
  googlebot: { user_agent: 'Googlebot', network: google }
  ahrefsbot: { user_agent: 'AhrefsBot', network: ahrefs }
  blexbot: { user_agent: 'BLEXBot', dns: [.webmeup.com] }
networks:
  google: [66.249.64.0/19]
  ahrefs: [54.36.148.0/23]
limits:
  - { name: bot-per-ip, rate: 10/min }
rules:
  - id: verified-ahrefs-by-name
    when: { path: /by-name, signal: { name: crawler.verified, in: [ahrefsbot, blexbot] } }
    then: { rate_limit: bot-per-ip }
  - id: verified-seo-by-list
    when:
      all:
        - signal: crawler.verified
        - user_agent: { list: seo-tools }
    then: { rate_limit: bot-per-ip }
  - id: verified-allowed
    when: { signal: crawler.verified }
    then: allow
  - id: unverified-refused
    when: { signal: crawler.unverified }
    then: { block: { status: 503 } }
)");
  auto verified = [](const char* name) {
    Signals s;
    s.add("crawler.verified", name, 0);
    return s;
  };
  const std::string ahrefs = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)";
  const std::string blex = "Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)";
  const std::string google = "Mozilla/5.0 (compatible; Googlebot/2.1)";
  for (const char* path : {"/by-name", "/by-list"}) {
    INFO(path);
    for (const auto& [ua, name] : {std::pair{ahrefs, "ahrefsbot"}, std::pair{blex, "blexbot"}}) {
      const Decision d = Request().target(path).ua(ua).signals(verified(name)).evaluate(*rs);
      CHECK(std::holds_alternative<RateLimit>(d.action));
      CHECK(d.rule_id ==
            (std::string(path) == "/by-name" ? "verified-ahrefs-by-name" : "verified-seo-by-list"));
    }
    const Decision g =
        Request().target(path).ua(google).signals(verified("googlebot")).evaluate(*rs);
    CHECK(std::holds_alternative<Allow>(g.action));
    CHECK(g.rule_id == "verified-allowed");
  }
  // An unverified AhrefsBot claim is an impostor, like an unverified Googlebot.
  Signals fake;
  fake.add("crawler.unverified", "ahrefsbot", 70);
  const Decision d = Request().ua(ahrefs).signals(fake).evaluate(*rs);
  CHECK(d.rule_id == "unverified-refused");
}

TEST_CASE("gated evaluation decides as the rule-by-rule walk of explain does") {
  // Many rules gated by path, UA and IP atoms, mixed with ungated ones; evaluate() looks only at
  // the candidates, evaluate(trace) at every rule: the decisions must be the same.
  std::string yaml = R"(
lists:
  bots: ['^curl/', GPTBot, 'Bot[0-9]']
networks:
  n1: [10.0.0.0/8]
  n2: [10.1.0.0/16, "2001:db8::/32"]
rules:
)";
  for (int i = 0; i < 120; ++i) {
    const std::string id = "r" + std::to_string(i);
    std::string when;
    switch (i % 8) {
      case 0:
        when = "{ path: { prefix: /a/" + std::to_string(i % 5) + " } }";
        break;
      case 1:
        when = "{ path: '/b/*/" + std::to_string(i % 3) + "' }";
        break;
      case 2:
        when = "{ user_agent: { list: bots }, path: { prefix: /a } }";
        break;
      case 3:
        when = "{ ip: { network: n" + std::to_string(1 + i % 2) + " } }";
        break;
      case 4:
        when = "{ any: [ { path: /c }, { path: { regex: 'd$' } } ] }";
        break;
      case 5:
        when = "{ any: [ { path: /c }, { ip: [192.0.2.0/24] } ] }";
        break;  // ungated
      case 6:
        when = "{ score: '>= " + std::to_string(20 + i % 40) + "' }";
        break;
      default:
        when = "{ not: { path: { prefix: /a } } }";
        break;
    }
    const std::string then = i % 3 == 0   ? "{ score: 7 }"
                             : i % 3 == 1 ? "[ { tag: " + id + " }, { score: 3 } ]"
                                          : (i % 9 == 2 ? "block" : "{ tag: t" + id + " }");
    yaml += "  - { id: " + id + ", when: " + when + ", then: " + then + " }\n";
  }
  const auto rs = test::compile(yaml);
  const std::vector<std::string> paths = {"/",  "/a/1", "/a/3/x", "/b/x/1", "/b/x/2",
                                          "/c", "/d",   "/xd",    "/a/0d",  "/b//1"};
  const std::vector<std::string> uas = {"curl/8", "GPTBot", "Bot7", "Firefox", ""};
  const std::vector<std::string> ips = {"10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::1",
                                        "1.1.1.1"};
  int checked = 0;
  for (const auto& p : paths) {
    for (const auto& ua : uas) {
      for (const auto& ip : ips) {
        auto r = Request().target(p).ua(ua).ip(ip);
        Trace trace;
        const Decision walked = r.evaluate(*rs, &trace);
        const Decision gated = r.evaluate(*rs);
        INFO(p << " " << ua << " " << ip);
        CHECK(gated.action.index() == walked.action.index());
        CHECK(gated.rule_id == walked.rule_id);
        CHECK(gated.score == walked.score);
        CHECK(as_strings(gated.matched) == as_strings(walked.matched));
        CHECK(as_strings(gated.tags) == as_strings(walked.tags));
        ++checked;
      }
    }
  }
  CHECK(checked == 250);
}
