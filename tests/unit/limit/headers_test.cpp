#include "bawwab/limit/headers.hpp"

#include <catch2/catch.hpp>

#include "bawwab/limit/limiter.hpp"
#include "limit_test_util.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;
using limit::test::spec;

TEST_CASE("retry_after_value: whole seconds, rounded up", "[headers]") {
  CHECK(retry_after_value(0ns) == "0");
  CHECK(retry_after_value(-5s) == "0");
  CHECK(retry_after_value(1ns) == "1");
  CHECK(retry_after_value(100ms) == "1");
  CHECK(retry_after_value(1s) == "1");
  CHECK(retry_after_value(1001ms) == "2");
  CHECK(retry_after_value(600s) == "600");
}

TEST_CASE("ratelimit_policy_item: draft-10 policy item", "[headers]") {
  CHECK(ratelimit_policy_item(spec("article-per-ip", 10, 1s, 5)) ==
        "\"article-per-ip\";q=10;w=1;bawwab-burst=5");
  CHECK(ratelimit_policy_item(spec("per-net", 300, 3600s, 0)) == "\"per-net\";q=300;w=3600");
  CHECK(ratelimit_policy_item(spec("a\"b\\c\x01", 1, 60s, 0)) ==
        "\"a\\\"b\\\\c_\";q=1;w=60");
}

TEST_CASE("ratelimit_item: remaining and seconds until more quota", "[headers]") {
  ManualClock clock;
  LocalLimiter limiter;
  const LimitSpec s = spec("article-per-ip", 10, 1s, 5);
  const Verdict first = limiter.check(s, 1, clock.now());
  REQUIRE(first.kind == Verdict::Kind::pass);
  CHECK(first.remaining == 5);
  CHECK(more_quota_in(first) == 100ms);  // the 6th slot comes back 100 ms later
  CHECK(ratelimit_item(first) == "\"article-per-ip\";r=5;t=1");
  for (int i = 0; i < 5; ++i) limiter.check(s, 1, clock.now());
  const Verdict rejected = limiter.check(s, 1, clock.now());
  REQUIRE(rejected.kind == Verdict::Kind::reject);
  CHECK(more_quota_in(rejected) == 100ms);
  CHECK(ratelimit_item(rejected) == "\"article-per-ip\";r=0;t=1");
  CHECK(retry_after_value(rejected.retry_after) == "1");  // never earlier than t

  const LimitSpec hourly = spec("per-net", 300, 3600s, 0);  // T = 12 s
  const Verdict h1 = limiter.check(hourly, 1, clock.now());
  CHECK(ratelimit_item(h1) == "\"per-net\";r=0;t=12");
  const Verdict h2 = limiter.check(hourly, 1, clock.now());
  CHECK(ratelimit_item(h2) == "\"per-net\";r=0;t=12");
  CHECK(retry_after_value(h2.retry_after) == "12");

  CHECK(ratelimit_item(Verdict{}).empty());
}

TEST_CASE("ratelimit values for several limits", "[headers]") {
  ManualClock clock;
  LocalLimiter limiter;
  const LimitSpec a = spec("a", 10, 1s, 5);
  const LimitSpec b = spec("b", 300, 3600s, 0);
  const std::vector<Verdict> v = {limiter.check(a, 1, clock.now()), Verdict{},
                                  limiter.check(b, 1, clock.now())};
  CHECK(ratelimit_policy_value(v) == "\"a\";q=10;w=1;bawwab-burst=5, \"b\";q=300;w=3600");
  CHECK(ratelimit_value(v) == "\"a\";r=5;t=1, \"b\";r=0;t=12");
  CHECK(ratelimit_value({}).empty());
}

TEST_CASE("ratelimit_item: a ban's t is its end", "[headers]") {
  ManualClock clock;
  LocalLimiter limiter;
  LimitSpec s = spec("login", 1, 1s, 0, OnExceed::ban);
  s.ban_duration = 600s;
  limiter.check(s, 1, clock.now());
  const Verdict ban = limiter.check(s, 1, clock.now());
  REQUIRE(ban.kind == Verdict::Kind::ban);
  CHECK(ratelimit_item(ban) == "\"login\";r=0;t=600");
  CHECK(retry_after_value(ban.retry_after) == "600");
}
