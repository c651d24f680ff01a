#include "bawwab/detect/robots.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bawwab::detect;

TEST_CASE("robots.txt groups and rules", "[robots]") {
  const auto r = parse_robots(
      "# a news site\n"
      "User-agent: GPTBot\n"
      "User-agent: CCBot\n"
      "Disallow: /\n"
      "\n"
      "User-agent: *\n"
      "Allow: /private/open.html\n"
      "Disallow: /private/   # members only\n"
      "Disallow: /*.pdf$\n"
      "Disallow:\n"
      "Crawl-delay: 10\n"
      "Sitemap: https://news.example/sitemap.xml\n"
      "Content-Signal: search=yes, ai-train=no\n"
      "\n"
      "user-agent: Googlebot/2.1\r\n"
      "disallow: /search\r\n");
  REQUIRE(r.groups.size() == 3);
  CHECK(r.groups[0].agents == std::vector<std::string>{"gptbot", "ccbot"});
  CHECK(r.groups[1].agents == std::vector<std::string>{"*"});
  CHECK(r.groups[1].rules.size() == 3);
  CHECK(r.groups[2].agents == std::vector<std::string>{"googlebot"});

  const char* gpt = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2";
  const char* curl = "curl/7.88.1";
  const char* google = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

  CHECK(disallowed(r, gpt, "/"));
  CHECK(disallowed(r, gpt, "/article/1"));
  CHECK_FALSE(disallowed(r, gpt, "/robots.txt"));
  // The specific group replaces `*` for the agents it names.
  CHECK_FALSE(disallowed(r, google, "/private/x"));
  CHECK(disallowed(r, google, "/search?q=1"));
  CHECK_FALSE(disallowed(r, curl, "/article/1"));
  CHECK(disallowed(r, curl, "/private/x"));
  CHECK_FALSE(disallowed(r, curl, "/private/open.html"));  // longer allow wins
  CHECK(disallowed(r, curl, "/files/a.pdf"));
  CHECK_FALSE(disallowed(r, curl, "/files/a.pdf.html"));  // `$` anchors
}

TEST_CASE("robots.txt edge cases", "[robots]") {
  CHECK(parse_robots("").groups.empty());
  CHECK(parse_robots("Disallow: /\n").groups.empty());  // a rule before any user-agent
  CHECK_FALSE(disallowed(parse_robots("Disallow: /\n"), "curl", "/x"));
  // Equal length: allow wins.
  const auto tie = parse_robots("User-agent: *\nDisallow: /a\nAllow: /a\n");
  CHECK_FALSE(disallowed(tie, "curl", "/a"));
  // No `*` group and no match: allowed.
  const auto only = parse_robots("User-agent: GPTBot\nDisallow: /\n");
  CHECK_FALSE(disallowed(only, "curl/7", "/x"));
  // Garbage lines are ignored.
  const auto junk = parse_robots("<html>\nnot robots\nUser-agent *\n\x01\x02:\xff\n");
  CHECK_FALSE(disallowed(junk, "curl", "/x"));
}

TEST_CASE("robots path patterns", "[robots]") {
  CHECK(robots_pattern_matches("/", "/anything"));
  CHECK(robots_pattern_matches("/a", "/abc"));
  CHECK_FALSE(robots_pattern_matches("/abc", "/a"));
  CHECK(robots_pattern_matches("/*.php", "/x/y.php?z"));
  CHECK(robots_pattern_matches("/*.php$", "/x/y.php"));
  CHECK_FALSE(robots_pattern_matches("/*.php$", "/x/y.php?z"));
  CHECK(robots_pattern_matches("/a*b*c", "/a-x-b-y-c-z"));
  CHECK_FALSE(robots_pattern_matches("/a*b*c", "/a-x-c-y-b"));
  CHECK(robots_pattern_matches("*", "/"));
  CHECK(robots_pattern_matches("/$", "/"));
  CHECK_FALSE(robots_pattern_matches("/$", "/a"));
  CHECK(robots_pattern_matches("/fish*", "/fish"));
}

TEST_CASE("RobotsLearner: passes the body through and learns it once the body ended",
          "[robots][learner]") {
  std::vector<std::string> learnt;
  bawwab::detect::RobotsLearner learner([&](std::string_view body) { learnt.emplace_back(body); });
  CHECK_FALSE(learner.changes_bytes());
  std::string out;
  learner.on_data("User-agent: *\nDis", out, false);
  learner.on_data("allow: /private/\n", out, false);
  CHECK(learnt.empty());  // not before the end: a body cut short teaches nothing
  learner.on_data("", out, true);
  CHECK(out == "User-agent: *\nDisallow: /private/\n");
  REQUIRE(learnt.size() == 1);
  CHECK(learnt[0] == out);
}

TEST_CASE("RobotsLearner: keeps at most kMaxRobotsBytes, passes everything", "[robots][learner]") {
  std::size_t learnt_size = 0;
  bawwab::detect::RobotsLearner learner([&](std::string_view body) { learnt_size = body.size(); });
  const std::string piece(100 * 1024, '#');
  std::string out;
  for (int i = 0; i < 7; ++i) learner.on_data(piece, out, false);
  CHECK(learner.held_bytes() == bawwab::detect::kMaxRobotsBytes);
  learner.on_data("", out, true);
  CHECK(out.size() == 7 * piece.size());
  CHECK(learnt_size == bawwab::detect::kMaxRobotsBytes);
}
