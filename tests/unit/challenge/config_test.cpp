#include "bawwab/challenge/config.hpp"

#include <catch2/catch.hpp>

#include "bawwab/challenge/return_path.hpp"

using namespace bawwab::challenge;
using namespace std::chrono_literals;

TEST_CASE("difficulty: from the rule, else mapped from the score") {
  ChallengeConfig c;  // 14 bits at score <= 30, 20 bits at >= 100
  CHECK(difficulty_for(c, 0, 0) == 14);
  CHECK(difficulty_for(c, 0, 30) == 14);
  CHECK(difficulty_for(c, 0, 65) == 17);
  CHECK(difficulty_for(c, 0, 99) == 20);
  CHECK(difficulty_for(c, 0, 100) == 20);
  CHECK(difficulty_for(c, 0, 1000) == 20);
  CHECK(difficulty_for(c, 0, -5) == 14);
  CHECK(difficulty_for(c, 8, 100) == 8);
  CHECK(difficulty_for(c, 99, 0) == kMaxDifficulty);
  c.min_difficulty = 10;
  c.max_difficulty = 12;
  c.score_for_min = 50;
  c.score_for_max = 60;
  CHECK(difficulty_for(c, 0, 55) == 11);
  CHECK(difficulty_for(c, 0, 70) == 12);
}

TEST_CASE("config: defaults are valid, mistakes are named") {
  CHECK(check_config(ChallengeConfig{}).empty());
  ChallengeConfig c;
  c.dir = "up";
  c.cookie_name = "bad name";
  c.min_difficulty = 25;
  c.max_difficulty = 31;
  c.verify_path = "//x";
  c.lang = "";
  c.nojs_delay = 0s;
  const auto p = check_config(c);
  CHECK(p.size() == 6);
  ChallengeConfig d;
  d.verify_path = "/verify?x=1";
  d.challenge_ttl = 10s;
  CHECK(check_config(d).size() == 2);
}

TEST_CASE("levels parse from rule text") {
  CHECK(parse_level("js") == Level::js);
  CHECK(parse_level("nojs") == Level::nojs);
  CHECK(parse_level("accessible") == Level::accessible);
  CHECK_FALSE(parse_level("JS").has_value());
  CHECK(to_string(Level::nojs) == "nojs");
}

TEST_CASE("return path: only same-site paths") {
  CHECK(safe_return_path("/") == "/");
  CHECK(safe_return_path("/articles/7?x=1&y=%2F#top") == "/articles/7?x=1&y=%2F#top");
  CHECK(safe_return_path("/a/b//c") == "/a/b//c");  // a double slash later on is a path
  for (const char* bad : {"", "//evil.com", "/\\evil.com", "\\\\evil.com", "https://evil.com",
                          "%2F%2Fevil.com", "evil.com", "/\t/evil.com", "/\r\n/evil.com", "/a b",
                          "/a\"b", "/a<b", "/\xd8\xa3", "/a\\b", " /a", "/a\x7f"}) {
    INFO(bad);
    CHECK(safe_return_path(bad) == "/");
  }
  CHECK(safe_return_path("/" + std::string(kMaxReturnPath, 'a')) == "/");
  CHECK(safe_return_path("/" + std::string(kMaxReturnPath - 1, 'a')).size() == kMaxReturnPath);
}
