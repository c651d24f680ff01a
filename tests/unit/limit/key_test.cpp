#include "bawwab/limit/key.hpp"

#include <boost/beast/http/fields.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "limit_test_util.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;

namespace {

net::Address addr(const char* text) { return boost::asio::ip::make_address(text); }

LimitSpec keyed(std::string name, std::vector<KeyComponent> parts) {
  LimitSpec s = limit::test::spec(std::move(name), 10, 1s, 0);
  s.key = std::move(parts);
  return s;
}

KeyInput from(const char* ip) {
  KeyInput in;
  in.ip = addr(ip);
  return in;
}

}  // namespace

TEST_CASE("key: ip_prefix groups an IPv4 /24", "[key]") {
  const LimitSpec s = keyed("article-per-ip", {{KeyPart::ip_prefix, ""}});
  const Key k = make_key(s, from("203.0.113.7"));
  CHECK(k.printable == "article-per-ip:203.0.113.0/24");
  CHECK(k.hash == key_hash(s, from("203.0.113.200")));
  CHECK(k.hash != key_hash(s, from("203.0.114.7")));
  // IPv4-mapped IPv6 is the same client.
  CHECK(k.hash == key_hash(s, from("::ffff:203.0.113.9")));
  CHECK(make_key(s, from("::ffff:203.0.113.9")).printable == "article-per-ip:203.0.113.0/24");
}

TEST_CASE("key: ip_prefix groups an IPv6 /64", "[key]") {
  const LimitSpec s = keyed("per-net", {{KeyPart::ip_prefix, ""}});
  const Key k = make_key(s, from("2001:db8:1:2::1"));
  CHECK(k.printable == "per-net:2001:db8:1:2::/64");
  CHECK(k.hash == key_hash(s, from("2001:db8:1:2:ffff:eeee:dddd:cccc")));
  CHECK(k.hash != key_hash(s, from("2001:db8:1:3::1")));
  // Other prefix lengths.
  LimitSpec wide = s;
  wide.ipv6_prefix = 48;
  wide.ipv4_prefix = 16;
  CHECK(make_key(wide, from("2001:db8:1:2::1")).printable == "per-net:2001:db8:1::/48");
  CHECK(key_hash(wide, from("2001:db8:1:ffff::1")) == key_hash(wide, from("2001:db8:1:2::1")));
  CHECK(make_key(wide, from("198.51.100.7")).printable == "per-net:198.51.0.0/16");
}

TEST_CASE("ip_prefix: edges", "[key]") {
  CHECK(ip_prefix(addr("10.1.2.3"), 0, 64).to_string() == "0.0.0.0/0");
  CHECK(ip_prefix(addr("10.1.2.3"), 32, 64).to_string() == "10.1.2.3/32");
  CHECK(ip_prefix(addr("10.1.2.3"), 99, 64).to_string() == "10.1.2.3/32");  // clamped
  CHECK(ip_prefix(addr("10.1.2.3"), 20, 64).to_string() == "10.1.0.0/20");
  CHECK(ip_prefix(addr("2001:db8::1"), 24, 128).to_string() == "2001:db8::1/128");
  CHECK(ip_prefix(addr("2001:db8:abcd::1"), 24, 36).to_string() == "2001:db8:a000::/36");
  CHECK(ip_prefix(addr("2001:db8::1"), 24, 0).to_string() == "::/0");
}

TEST_CASE("key: ip is exact, and the limit name separates limits", "[key]") {
  const LimitSpec a = keyed("a", {{KeyPart::ip, ""}});
  const LimitSpec b = keyed("b", {{KeyPart::ip, ""}});
  CHECK(make_key(a, from("192.0.2.1")).printable == "a:192.0.2.1");
  CHECK(key_hash(a, from("192.0.2.1")) != key_hash(a, from("192.0.2.2")));
  CHECK(key_hash(a, from("192.0.2.1")) != key_hash(b, from("192.0.2.1")));
  CHECK(make_key(a, from("2001:db8::5")).printable == "a:2001:db8::5");
  CHECK(key_hash(a, from("::ffff:192.0.2.1")) == key_hash(a, from("192.0.2.1")));
}

TEST_CASE("key: make_key and key_hash agree", "[key]") {
  boost::beast::http::fields h;
  h.set("X-Api-Key", "abc");
  h.set(boost::beast::http::field::cookie, "sid=42");
  const LimitSpec s = keyed("combo", {{KeyPart::ip_prefix, ""},
                                      {KeyPart::header, "x-api-key"},
                                      {KeyPart::cookie, "sid"},
                                      {KeyPart::user_agent, ""},
                                      {KeyPart::tls_ja4, ""},
                                      {KeyPart::host, ""},
                                      {KeyPart::path_group, ""},
                                      {KeyPart::rule, ""}});
  KeyInput in = from("203.0.113.7");
  in.user_agent = "curl/8.0";
  in.ja4 = "t13d1516h2_8daaf6152771_02713d6af862";
  in.host = "news.example";
  in.path = "/articles/2024/x";
  in.rule_id = "articles";
  in.headers = &h;
  const Key k = make_key(s, in);
  CHECK(k.hash == key_hash(s, in));
  CHECK(k.printable ==
        "combo:203.0.113.0/24|abc|42|curl/8.0|t13d1516h2_8daaf6152771_02713d6af862|news.example|"
        "/articles|articles");
  // Each part matters.
  KeyInput other = in;
  other.path = "/live/x";
  CHECK(key_hash(s, other) != k.hash);
  other = in;
  other.rule_id = "other";
  CHECK(key_hash(s, other) != k.hash);
}

TEST_CASE("key: header names are case-insensitive, absent is empty, repeats are joined",
          "[key]") {
  const LimitSpec s = keyed("per-key", {{KeyPart::header, "x-api-key"}});
  boost::beast::http::fields upper;
  upper.set("X-API-KEY", "k1");
  boost::beast::http::fields lower;
  lower.set("x-api-key", "k1");
  KeyInput a = from("192.0.2.1");
  a.headers = &upper;
  KeyInput b = from("192.0.2.99");  // the key is the header only: the IP does not matter
  b.headers = &lower;
  CHECK(key_hash(s, a) == key_hash(s, b));
  CHECK(make_key(s, a).printable == "per-key:k1");

  KeyInput none = from("192.0.2.1");
  CHECK(make_key(s, none).printable == "per-key:");
  boost::beast::http::fields empty;
  none.headers = &empty;
  CHECK(key_hash(s, none) == key_hash(s, from("192.0.2.1")));

  boost::beast::http::fields twice;
  twice.insert("X-Api-Key", "k1");
  twice.insert("X-Api-Key", "k2");
  KeyInput t = from("192.0.2.1");
  t.headers = &twice;
  CHECK(make_key(s, t).printable == "per-key:k1,k2");
  CHECK(key_hash(s, t) != key_hash(s, a));
}

TEST_CASE("cookie_value: parses every Cookie field", "[key]") {
  boost::beast::http::fields h;
  h.insert(boost::beast::http::field::cookie, "a=1; theme=dark ;  sid = s-123 ");
  h.insert(boost::beast::http::field::cookie, "late=9; sid=second");
  CHECK(cookie_value(h, "sid") == "s-123");  // the first one wins
  CHECK(cookie_value(h, "a") == "1");
  CHECK(cookie_value(h, "theme") == "dark");
  CHECK(cookie_value(h, "late") == "9");
  CHECK(cookie_value(h, "SID").empty());  // cookie names are case-sensitive
  CHECK(cookie_value(h, "missing").empty());
  boost::beast::http::fields odd;
  odd.insert(boost::beast::http::field::cookie, "novalue; ;=x; q=\"quoted\"; e=");
  CHECK(cookie_value(odd, "q") == "\"quoted\"");
  CHECK(cookie_value(odd, "e").empty());
  CHECK(cookie_value(odd, "novalue").empty());

  const LimitSpec s = keyed("per-session", {{KeyPart::cookie, "sid"}});
  KeyInput in = from("192.0.2.1");
  in.headers = &h;
  CHECK(make_key(s, in).printable == "per-session:s-123");
}

TEST_CASE("path_group", "[key]") {
  CHECK(path_group("/articles/2024/x") == "/articles");
  CHECK(path_group("/articles") == "/articles");
  CHECK(path_group("/articles/") == "/articles");
  CHECK(path_group("/articles?page=2") == "/articles");
  CHECK(path_group("/") == "/");
  CHECK(path_group("") == "/");
  CHECK(path_group("/?x=/y") == "/");
}

TEST_CASE("key: printable form escapes and shortens values", "[key]") {
  const LimitSpec s = keyed("ua", {{KeyPart::user_agent, ""}});
  KeyInput in = from("192.0.2.1");
  in.user_agent = "Mozilla 5.0|{x}%\n";
  CHECK(make_key(s, in).printable == "ua:Mozilla%205.0%7C%7Bx%7D%25%0A");
  const std::string long_ua(300, 'A');
  in.user_agent = long_ua;
  const std::string p = make_key(s, in).printable;
  REQUIRE(p.size() == 3 + 1 + 16);
  CHECK(p.substr(0, 4) == "ua:~");
  CHECK(p == make_key(s, in).printable);  // fixed seed: the same in every process
  std::string other_ua = long_ua;
  other_ua.back() = 'B';
  in.user_agent = other_ua;
  CHECK(make_key(s, in).printable != p);
  // A ':' in a limit name is escaped, so names cannot run into values.
  CHECK(make_key(keyed("a:b", {{KeyPart::ip, ""}}), from("192.0.2.1")).printable ==
        "a%3Ab:192.0.2.1");
}

TEST_CASE("key: parts are delimited in the hash", "[key]") {
  const LimitSpec s = keyed("two", {{KeyPart::user_agent, ""}, {KeyPart::host, ""}});
  KeyInput a = from("192.0.2.1");
  a.user_agent = "ab";
  a.host = "c";
  KeyInput b = a;
  b.user_agent = "a";
  b.host = "bc";
  CHECK(key_hash(s, a) != key_hash(s, b));
}

TEST_CASE("hash64: deterministic, spreads", "[key]") {
  CHECK(hash64("abc", 1) == hash64("abc", 1));
  CHECK(hash64("abc", 1) != hash64("abc", 2));
  CHECK(hash64("", 1) != hash64(std::string_view("\0", 1), 1));
  // 100k sequential inputs: no collision, and the top 6 bits (the shard) are all used.
  std::set<std::uint64_t> seen;
  std::set<std::uint64_t> shards;
  for (int i = 0; i < 100'000; ++i) {
    const std::string s = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    const std::uint64_t h = hash64(s, 7);
    seen.insert(h);
    shards.insert(h >> 58);
  }
  CHECK(seen.size() == 100'000);
  CHECK(shards.size() == 64);
}
