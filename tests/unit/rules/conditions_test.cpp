// Each condition kind of the rule language (rules/README.md "Conditions"), matching and not.
#include <catch2/catch.hpp>

#include "rules_test_util.hpp"

using namespace bawwab;
using namespace bawwab::rules;
using test::Request;

namespace {

// One rule "r" blocking when `when` holds; true when the request is blocked.
struct OneRule {
  RuleSetPtr rs;
  explicit OneRule(const std::string& when)
      : rs(test::compile("rules:\n  - id: r\n    when: " + when + "\n    then: block\n")) {}
  bool operator()(Request r) const { return test::is_block(r.evaluate(*rs)); }
};

Signals signals(std::initializer_list<std::pair<std::string_view, std::string>> list) {
  Signals s;
  for (const auto& [name, value] : list) s.add(name, value, find_signal(name)->default_weight);
  return s;
}

}  // namespace

TEST_CASE("no when, or an empty one, always matches") {
  auto rs = test::compile("rules: [{id: a, then: block}]");
  CHECK(test::is_block(Request().evaluate(*rs)));
  rs = test::compile("rules: [{id: a, when: {}, then: block}]");
  CHECK(test::is_block(Request().evaluate(*rs)));
}

TEST_CASE("method: one or a list, case-sensitive") {
  const OneRule one("{method: POST}");
  CHECK(one(Request().method("POST")));
  CHECK_FALSE(one(Request().method("GET")));
  CHECK_FALSE(one(Request().method("post")));
  const OneRule list("{method: [GET, HEAD]}");
  CHECK(list(Request().method("HEAD")));
  CHECK_FALSE(list(Request().method("DELETE")));
}

TEST_CASE("host: exact names and *.subdomains, case-insensitive") {
  const OneRule rule("{host: [news.example, '*.cdn.example']}");
  CHECK(rule(Request().host("news.example")));
  CHECK(rule(Request().host("NEWS.example")));
  CHECK(rule(Request().host("img.cdn.example")));
  CHECK(rule(Request().host("a.b.cdn.example")));
  CHECK_FALSE(rule(Request().host("cdn.example")));  // *. is subdomains only
  CHECK_FALSE(rule(Request().host("evilcdn.example")));
  CHECK_FALSE(rule(Request().host("other.example")));
}

TEST_CASE("path: exact strings, and globs when they hold '*'") {
  const OneRule rule("{path: [/robots.txt, '/articles/*/amp']}");
  CHECK(rule(Request().target("/robots.txt")));
  CHECK(rule(Request().target("/robots.txt?x=1")));  // the query is not part of the path
  CHECK_FALSE(rule(Request().target("/robots.txt/")));
  CHECK(rule(Request().target("/articles/2024-story/amp")));
  CHECK_FALSE(rule(Request().target("/articles/a/b/amp")));  // '*' stops at '/'
}

TEST_CASE("path: exact, prefix, glob and regex mappings") {
  SECTION("exact") {
    const OneRule rule("{path: {exact: [/a, /b]}}");
    CHECK(rule(Request().target("/a")));
    CHECK(rule(Request().target("/b")));
    CHECK_FALSE(rule(Request().target("/a/")));
  }
  SECTION("prefix") {
    const OneRule rule("{path: {prefix: [/feed, /articles/]}}");
    CHECK(rule(Request().target("/feed")));
    CHECK(rule(Request().target("/feed.xml")));
    CHECK(rule(Request().target("/articles/x")));
    CHECK_FALSE(rule(Request().target("/articles")));
    CHECK_FALSE(rule(Request().target("/news/feed")));
  }
  SECTION("glob") {
    const OneRule rule("{path: {glob: ['/**/*.pdf', '/a/?.html']}}");
    CHECK(rule(Request().target("/x/y/z.pdf")));
    CHECK(rule(Request().target("/z.pdf")));
    CHECK_FALSE(rule(Request().target("/z.pdfx")));  // anchored at both ends
    CHECK(rule(Request().target("/a/b.html")));
    CHECK_FALSE(rule(Request().target("/a/bc.html")));
    CHECK_FALSE(rule(Request().target("/a//.html")));
  }
  SECTION("regex (RE2, unanchored, case-sensitive)") {
    const OneRule rule(R"({path: {regex: '\.(css|js)$'}})");
    CHECK(rule(Request().target("/static/site.css")));
    CHECK(rule(Request().target("/a.js?v=3")));
    CHECK_FALSE(rule(Request().target("/site.CSS")));
    CHECK_FALSE(rule(Request().target("/a.json")));
  }
  SECTION("several keys must all hold") {
    const OneRule rule("{path: {prefix: /articles/, glob: '**.html'}}");
    CHECK(rule(Request().target("/articles/x.html")));
    CHECK_FALSE(rule(Request().target("/articles/x.pdf")));
    CHECK_FALSE(rule(Request().target("/other/x.html")));
  }
}

TEST_CASE("path conditions see the normalised path: bypass attempts fail") {
  const OneRule rule("{path: {prefix: /articles/}}");
  CHECK(rule(Request().target("/%61rticles/../articles//x")));
  CHECK(rule(Request().target("/articles/./x")));
  CHECK(rule(Request().target("//articles/x")));
  CHECK(rule(Request().target("/x/%2e%2e/articles/y")));
  CHECK(rule(Request().target("/x/%2E%2E/articles/y")));
  CHECK(rule(Request().target("/articles/%2e/x")));
  CHECK(rule(Request().target("/articles/x%2F..%2F..%2Fy")));  // %2F is no separator: one segment
  CHECK(rule(Request().target("http://news.example/articles/x")));  // absolute-form
  // Case is significant in paths (the origin decides what /ARTICLES is): no match.
  CHECK_FALSE(rule(Request().target("/ARTICLES/x")));
  const OneRule exact("{path: /articles/x}");
  CHECK(exact(Request().target("/articles/x/.")) == false);  // "/articles/x/" is another path
  CHECK(exact(Request().target("/articles/y/../x")));
  CHECK(exact(Request().target("/articles/%78")));
}

TEST_CASE("query: present, absent, value, regex; a list must all hold") {
  SECTION("present") {
    const OneRule rule("{query: {param: page}}");
    CHECK(rule(Request().target("/?page=2")));
    CHECK(rule(Request().target("/?a=1&page")));
    CHECK(rule(Request().target("/?p%61ge=1")));  // names are compared percent-decoded
    CHECK_FALSE(rule(Request().target("/?pages=2")));
    CHECK_FALSE(rule(Request().target("/")));
  }
  SECTION("absent") {
    const OneRule rule("{query: {absent: page}}");
    CHECK(rule(Request().target("/?x=1")));
    CHECK_FALSE(rule(Request().target("/?page=1")));
  }
  SECTION("value") {
    const OneRule rule("{query: {param: q, value: 'a b'}}");
    CHECK(rule(Request().target("/?q=a+b")));
    CHECK(rule(Request().target("/?x=1&q=a%20b")));
    CHECK_FALSE(rule(Request().target("/?q=ab")));
    CHECK(rule(Request().target("/?q=x&q=a+b")));  // any of repeated parameters
  }
  SECTION("regex") {
    const OneRule rule(R"({query: {param: page, regex: '^\d{3,}$'}})");
    CHECK(rule(Request().target("/?page=100")));
    CHECK_FALSE(rule(Request().target("/?page=99")));
  }
  SECTION("list") {
    const OneRule rule("{query: [{param: a}, {absent: b}]}");
    CHECK(rule(Request().target("/?a=1")));
    CHECK_FALSE(rule(Request().target("/?a=1&b=2")));
  }
}

TEST_CASE("header: present, absent, equals, contains, regex; names case-insensitive") {
  const std::vector<std::pair<std::string, std::string>> h = {{"Accept-Language", "en-GB,en"},
                                                              {"X-Test", "Value"}};
  CHECK(OneRule("{header: {name: accept-language, present: true}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: Accept-Language, present: true}}")(Request()));
  CHECK(OneRule("{header: {name: Accept-Language, present: false}}")(Request()));
  CHECK(OneRule("{header: {name: X-Other, absent: true}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: x-test, absent: true}}")(Request().headers(h)));
  CHECK(OneRule("{header: {name: X-Test, equals: Value}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: X-Test, equals: value}}")(Request().headers(h)));
  CHECK(OneRule("{header: {name: Accept-Language, contains: en-GB}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: Accept-Language, contains: fr}}")(Request().headers(h)));
  CHECK(OneRule("{header: {name: Accept-Language, regex: '^en'}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: Accept-Language, regex: '^fr'}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{header: {name: X-None, regex: '.*'}}")(Request().headers(h)));
  // A list: all of them.
  CHECK(
      OneRule("{header: [{name: Accept-Language, present: true}, {name: X-Test, equals: Value}]}")(
          Request().headers(h)));
  CHECK_FALSE(
      OneRule("{header: [{name: Accept-Language, present: true}, {name: X-Test, equals: v}]}")(
          Request().headers(h)));
}

TEST_CASE("user_agent: regex (case-insensitive, unanchored), lists, empty") {
  const auto rs = test::compile(R"(
lists:
  ai:
    signal: ua.ai_crawler
    patterns: [GPTBot, { pattern: 'Claude(Bot|-User)', label: Anthropic }]
  libs: ['^curl/', python-requests]
  fromfile: { file: lists/ai.txt }
rules:
  - { id: regex, when: { user_agent: 'headlesschrome' }, then: { tag: regex } }
  - { id: regex2, when: { user_agent: { regex: '^Mozilla' } }, then: { tag: regex2 } }
  - { id: ai, when: { user_agent: { list: ai } }, then: { tag: ai } }
  - { id: both, when: { user_agent: { list: [libs, fromfile] } }, then: { tag: both } }
  - { id: empty, when: { user_agent: { empty: true } }, then: { tag: empty } }
  - { id: nonempty, when: { user_agent: { empty: false } }, then: { tag: nonempty } }
)");
  auto tags = [&](Request r) {
    const Decision d = r.evaluate(*rs);
    return std::vector<std::string>(d.tags.begin(), d.tags.end());
  };
  using V = std::vector<std::string>;
  CHECK(tags(Request().ua("Mozilla/5.0 HeadlessChrome/120")) == V{"regex", "regex2", "nonempty"});
  CHECK(tags(Request().ua("Mozilla/5.0 (compatible; GPTBot/1.2)")) ==
        V{"regex2", "ai", "both", "nonempty"});  // GPTBot is in lists/ai.txt too
  CHECK(tags(Request().ua("claude-user")) == V{"ai", "nonempty"});
  CHECK(tags(Request().ua("curl/8.5.0")) == V{"both", "nonempty"});
  CHECK(tags(Request().ua("x curl/8.5.0")) == V{"nonempty"});       // ^ anchors
  CHECK(tags(Request().ua("CCBot/2.0")) == V{"both", "nonempty"});  // from the file (trimmed)
  CHECK(tags(Request().ua("")) == V{"empty"});
  CHECK(tags(Request().ua(std::nullopt)) == V{"empty"});
}

TEST_CASE("match_user_agent: the lists in order, with labels and signals") {
  const auto rs = test::compile(R"(
lists:
  ai: { signal: ua.ai_crawler, patterns: [GPTBot, { pattern: 'Claude', label: Anthropic }, Bot] }
  libs: [curl, python]
  nothing-matches: [zzzz]
)");
  std::vector<UaMatch> out;
  rs->match_user_agent("ClaudeBot via curl", out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].list == "ai");
  CHECK(out[0].signal == "ua.ai_crawler");
  CHECK(out[0].label == "Anthropic");  // the first matching entry of the list
  CHECK(out[1].list == "libs");
  CHECK(out[1].signal == "");
  CHECK(out[1].label == "curl");  // no label: the pattern itself
  out.clear();
  rs->match_user_agent("Mozilla/5.0 Firefox", out);
  CHECK(out.empty());
  const auto lists = rs->ua_lists();
  REQUIRE(lists.size() == 3);
  CHECK(lists[0].name == "ai");
  CHECK(lists[0].patterns == 3);
}

TEST_CASE("ip: inline CIDRs, named networks, files; IPv4 and IPv6") {
  const auto rs = test::compile(R"(
networks:
  office: [10.0.0.0/8, "2001:db8::/32"]
  fromfile: { file: networks/office.txt }
  mixed: { cidrs: [192.0.2.0/24], file: networks/office.txt }
rules:
  - id: inline
    when: { ip: [198.51.100.0/24, "2001:db8:1::/48", 203.0.113.7] }
    then: { tag: inline }
  - { id: one, when: { ip: 100.64.0.1 }, then: { tag: one } }
  - { id: named, when: { ip: { network: office } }, then: { tag: named } }
  - { id: file, when: { ip: { file: networks/office.txt } }, then: { tag: file } }
  - { id: two, when: { ip: { network: [fromfile, mixed] } }, then: { tag: two } }
)");
  auto tags = [&](std::string ip) {
    const Decision d = Request().ip(std::move(ip)).evaluate(*rs);
    return std::vector<std::string>(d.tags.begin(), d.tags.end());
  };
  using V = std::vector<std::string>;
  CHECK(tags("198.51.100.200") == V{"inline"});
  CHECK(tags("203.0.113.7") == V{"inline"});
  CHECK(tags("203.0.113.8") == V{});
  CHECK(tags("100.64.0.1") == V{"one"});
  CHECK(tags("2001:db8:1::5") == V{"inline", "named", "file", "two"});
  CHECK(tags("2001:db8:2::5") == V{"named", "file", "two"});
  CHECK(tags("10.1.2.3") == V{"named", "file", "two"});
  CHECK(tags("::ffff:10.1.2.3") == V{"named", "file", "two"});  // IPv4-mapped is IPv4
  CHECK(tags("198.51.100.7") == V{"inline", "file", "two"});    // a bare address in the file
  CHECK(tags("2002::1") == V{});
  CHECK(rs->in_network("office", boost::asio::ip::make_address("10.9.9.9")));
  CHECK_FALSE(rs->in_network("office", boost::asio::ip::make_address("11.9.9.9")));
  CHECK_FALSE(rs->in_network("nope", boost::asio::ip::make_address("10.9.9.9")));
  CHECK(rs->in_network("mixed", boost::asio::ip::make_address("192.0.2.1")));
}

TEST_CASE("cookie: present, absent, regex") {
  const std::vector<std::pair<std::string, std::string>> h = {{"Cookie", "a=1; sid=abc123"},
                                                              {"Cookie", "theme=dark"}};
  CHECK(OneRule("{cookie: {name: sid, present: true}}")(Request().headers(h)));
  CHECK(OneRule("{cookie: {name: theme, present: true}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{cookie: {name: SID, present: true}}")(Request().headers(h)));
  CHECK(OneRule("{cookie: {name: other, absent: true}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{cookie: {name: sid, absent: true}}")(Request().headers(h)));
  CHECK(OneRule("{cookie: {name: sid, regex: '^abc[0-9]+$'}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{cookie: {name: sid, regex: '^x'}}")(Request().headers(h)));
  CHECK_FALSE(OneRule("{cookie: {name: sid, present: true}}")(Request()));
}

TEST_CASE("signal: a name, any of a list, a value, a value in a list") {
  const Signals ai =
      signals({{"ua.ai_crawler", "OpenAI"}, {"tls.ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1"}});
  CHECK(OneRule("{signal: ua.ai_crawler}")(Request().signals(ai)));
  CHECK_FALSE(OneRule("{signal: ua.headless}")(Request().signals(ai)));
  CHECK(OneRule("{signal: [ua.headless, ua.ai_crawler]}")(Request().signals(ai)));
  CHECK(OneRule("{signal: {name: ua.ai_crawler, value: OpenAI}}")(Request().signals(ai)));
  CHECK_FALSE(OneRule("{signal: {name: ua.ai_crawler, value: Anthropic}}")(Request().signals(ai)));
  CHECK(OneRule("{signal: {name: tls.ja4, in: [t13d1516h2_8daaf6152771_e5627efa2ab1, x]}}")(
      Request().signals(ai)));
  CHECK_FALSE(OneRule("{signal: {name: tls.ja4, in: [x, y]}}")(Request().signals(ai)));
  CHECK_FALSE(OneRule("{signal: ua.ai_crawler}")(Request()));
}

TEST_CASE("score: comparisons with the score so far") {
  const Signals s = signals({{"ua.http_library", "curl"}});  // 50
  CHECK(OneRule("{score: '>= 50'}")(Request().signals(s)));
  CHECK_FALSE(OneRule("{score: '> 50'}")(Request().signals(s)));
  CHECK(OneRule("{score: '<= 50'}")(Request().signals(s)));
  CHECK_FALSE(OneRule("{score: '< 50'}")(Request().signals(s)));
  CHECK(OneRule("{score: '==50'}")(Request().signals(s)));
  CHECK(OneRule("{score: '< 10'}")(Request()));
  // Earlier `score:` actions count.
  const auto rs = test::compile(R"(
rules:
  - { id: add, when: { path: /x }, then: { score: 30 } }
  - { id: check, when: { score: ">= 30" }, then: block }
)");
  CHECK(test::is_block(Request().target("/x").evaluate(*rs)));
  CHECK(test::is_allow(Request().target("/y").evaluate(*rs)));
}

TEST_CASE("content_type makes a response-phase rule") {
  const auto rs = test::compile(R"(
rules:
  - id: robots-tag
    when: { content_type: [text/html, application/xhtml], path: { prefix: /articles/ } }
    then: [ { set_response_header: { name: X-Robots-Tag, value: "noai, noimageai" } }, { tag: t } ]
  - id: block-all-json
    when: { content_type: application/json }
    then: { set_response_header: { name: X-A, value: b } }
)");
  REQUIRE(rs->rules().size() == 2);
  CHECK(rs->rules()[0].response_phase);
  // Not evaluated in the request phase.
  const Decision d = Request().target("/articles/x").evaluate(*rs);
  CHECK(d.matched.empty());
  std::vector<const HeaderEdit*> out;
  auto html = Request().target("/articles/x").content_type("Text/HTML; charset=utf-8");
  rs->evaluate_response(html.view(), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0]->name == "X-Robots-Tag");
  CHECK(out[0]->value == "noai, noimageai");
  out.clear();
  auto other = Request().target("/other").content_type("text/html");
  rs->evaluate_response(other.view(), out);
  CHECK(out.empty());
  auto json = Request().target("/api").content_type("application/json");
  rs->evaluate_response(json.view(), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0]->name == "X-A");
  // A shadow response-phase rule applies nothing.
  const auto shadow = test::compile(R"(
rules:
  - id: s
    mode: shadow
    when: { content_type: text/html }
    then: { set_response_header: { name: X-A, value: b } }
)");
  out.clear();
  auto page = Request().content_type("text/html");
  shadow->evaluate_response(page.view(), out);
  CHECK(out.empty());
}

TEST_CASE("all, any, not combine conditions") {
  const OneRule rule(R"(
      all:
        - any: [ { path: /a }, { path: /b } ]
        - not: { method: POST }
        - not: { any: [ { host: x.example }, { header: { name: X-Skip, present: true } } ] })");
  CHECK(rule(Request().target("/a")));
  CHECK(rule(Request().target("/b")));
  CHECK_FALSE(rule(Request().target("/c")));
  CHECK_FALSE(rule(Request().method("POST").target("/a")));
  CHECK_FALSE(rule(Request().host("x.example").target("/a")));
  CHECK_FALSE(rule(Request().target("/a").headers({{"X-Skip", "1"}})));
  // Several keys in one mapping: all of them.
  const OneRule both("{path: /a, method: GET}");
  CHECK(both(Request().target("/a")));
  CHECK_FALSE(both(Request().method("HEAD").target("/a")));
}
