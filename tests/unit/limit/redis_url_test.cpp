#include <catch2/catch.hpp>

#include "bawwab/limit/redis_store.hpp"

using namespace bawwab;
using namespace bawwab::limit;

TEST_CASE("parse_redis_url: good URLs", "[redis_url]") {
  auto u = parse_redis_url("redis://127.0.0.1:6379");
  REQUIRE(u.has_value());
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 6379);
  CHECK(u->db == 0);
  CHECK(u->password.empty());
  CHECK(u->user.empty());

  u = parse_redis_url("redis://redis.internal");
  REQUIRE(u.has_value());
  CHECK(u->host == "redis.internal");
  CHECK(u->port == 6379);

  u = parse_redis_url("redis://:s3cret@10.0.0.5:6380/2");
  REQUIRE(u.has_value());
  CHECK(u->host == "10.0.0.5");
  CHECK(u->port == 6380);
  CHECK(u->db == 2);
  CHECK(u->password == "s3cret");
  CHECK(u->user.empty());
  CHECK(u->to_string() == "redis://10.0.0.5:6380/2");  // no credentials in logs

  u = parse_redis_url("redis://bawwab:p%40ss%2Fw@cache:7000/0");
  REQUIRE(u.has_value());
  CHECK(u->user == "bawwab");
  CHECK(u->password == "p@ss/w");
  CHECK(u->host == "cache");

  u = parse_redis_url("redis://[::1]:7000/3");
  REQUIRE(u.has_value());
  CHECK(u->host == "::1");
  CHECK(u->port == 7000);
  CHECK(u->db == 3);
  CHECK(u->to_string() == "redis://[::1]:7000/3");

  u = parse_redis_url("REDIS://Host_1/");
  REQUIRE(u.has_value());
  CHECK(u->host == "Host_1");
  CHECK(parse_redis_url("redis://[2001:db8::5]").value().port == 6379);
}

TEST_CASE("parse_redis_url: bad URLs, each with a reason", "[redis_url]") {
  for (const char* bad : {"", "localhost:6379", "http://x", "rediss://x:6379", "redis://",
                          "redis://:6379", "redis://host:0", "redis://host:65536",
                          "redis://host:abc", "redis://host:", "redis://host/db",
                          "redis://host/1/2", "redis://host/70000", "redis://host?db=1",
                          "redis://host#x", "redis://::1:6379", "redis://[::1",
                          "redis://[::1]x", "redis://[1.2.3.4]:1", "redis://pass@host",
                          "redis://:@host", "redis://:%zz@host", "redis://ho st",
                          "redis://host\t", "redis://h\xc3\xa9st", "redis://a:b:c"}) {
    INFO(bad);
    std::string why;
    auto u = parse_redis_url(bad, &why);
    CHECK_FALSE(u.has_value());
    if (!u) CHECK(u.error() == make_error_code(Errc::config_invalid));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  (void)parse_redis_url("rediss://x", &why);
  CHECK(why.find("TLS") != std::string::npos);
}
