#include <catch2/catch.hpp>

#include "bawwab/http/forwarded.hpp"

namespace bh = boost::beast::http;
using boost::asio::ip::address;
using boost::asio::ip::make_address;
using bawwab::http::ForwardedContext;
using bawwab::http::prepare_response_fields;
using bawwab::http::resolve_client_ip;
using bawwab::http::set_forwarding_headers;

namespace {

bh::fields make(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  bh::fields f;
  for (const auto& [n, v] : list) f.insert(n, v);
  return f;
}

bawwab::net::CidrList trusted_list() {
  std::vector<bawwab::net::Cidr> v;
  for (const char* c : {"10.0.0.0/8", "2001:db8:ffff::/48", "127.0.0.1"}) {
    auto r = bawwab::net::parse_cidr(c);
    REQUIRE(r.has_value());
    v.push_back(*r);
  }
  return bawwab::net::CidrList(std::move(v));
}

std::string value(const bh::fields& f, std::string_view name) {
  REQUIRE(f.count(name) == 1);
  return std::string(f[name]);
}

}  // namespace

TEST_CASE("resolve_client_ip: untrusted peers", "[http][forwarded]") {
  const auto trusted = trusted_list();
  const auto peer = make_address("203.0.113.5");
  SECTION("X-Forwarded-For from an untrusted peer is ignored (spoofing)") {
    const auto f = make({{"X-Forwarded-For", "1.2.3.4"}, {"Forwarded", "for=5.6.7.8"}});
    CHECK(resolve_client_ip(f, peer, trusted) == peer);
  }
  SECTION("even when the spoofed chain lists trusted hops") {
    const auto f = make({{"X-Forwarded-For", "1.2.3.4, 10.0.0.1"}});
    CHECK(resolve_client_ip(f, peer, trusted) == peer);
  }
  SECTION("an IPv4-mapped peer is unmapped") {
    const auto f = make({});
    CHECK(resolve_client_ip(f, make_address("::ffff:203.0.113.5"), trusted) == peer);
  }
}

TEST_CASE("resolve_client_ip: trusted chains (real_ip_recursive)", "[http][forwarded]") {
  const auto trusted = trusted_list();
  const auto peer = make_address("10.0.0.9");
  struct Case {
    const char* name;
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"no header: the peer", {}, "10.0.0.9"},
      {"one hop", {{"X-Forwarded-For", "198.51.100.7"}}, "198.51.100.7"},
      {"client-made prefix is skipped: first untrusted from the right",
       {{"X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.0.0.2"}}, "198.51.100.7"},
      {"several lines form one list",
       {{"X-Forwarded-For", "1.1.1.1, 198.51.100.7"}, {"X-Forwarded-For", "10.1.1.1"}},
       "198.51.100.7"},
      {"all trusted: the leftmost", {{"X-Forwarded-For", "10.0.0.3, 127.0.0.1"}}, "10.0.0.3"},
      {"malformed rightmost: the peer", {{"X-Forwarded-For", "198.51.100.7, garbage"}},
       "10.0.0.9"},
      {"malformed after a trusted hop: that hop",
       {{"X-Forwarded-For", "198.51.100.7, unknown, 10.0.0.4"}}, "10.0.0.4"},
      {"empty element stops the walk", {{"X-Forwarded-For", "198.51.100.7, , 10.0.0.4"}},
       "10.0.0.4"},
      {"IPv4 with port", {{"X-Forwarded-For", "198.51.100.7:5555"}}, "198.51.100.7"},
      {"bare IPv6", {{"X-Forwarded-For", "2001:db8::7"}}, "2001:db8::7"},
      {"bracketed IPv6 with port", {{"X-Forwarded-For", "[2001:db8::7]:443"}}, "2001:db8::7"},
      {"IPv6 trusted hop skipped",
       {{"X-Forwarded-For", "198.51.100.7, 2001:db8:ffff::1"}}, "198.51.100.7"},
      {"IPv4-mapped entry is unmapped and checked as IPv4",
       {{"X-Forwarded-For", "198.51.100.7, ::ffff:10.0.0.5"}}, "198.51.100.7"},
      {"octal-looking IPv4 is malformed", {{"X-Forwarded-For", "010.1.1.1"}}, "10.0.0.9"},
      {"zone id is malformed", {{"X-Forwarded-For", "fe80::1%eth0"}}, "10.0.0.9"},
      {"hostnames are malformed", {{"X-Forwarded-For", "evil.example"}}, "10.0.0.9"},
      {"Forwarded when there is no X-Forwarded-For",
       {{"Forwarded", "for=198.51.100.7;proto=https, for=10.0.0.2"}}, "198.51.100.7"},
      {"Forwarded IPv6 quoted with port",
       {{"Forwarded", "for=\"[2001:db8::1]:443\";proto=https"}}, "2001:db8::1"},
      {"Forwarded quoted IPv4 with port, case-insensitive name",
       {{"Forwarded", "For=\"198.51.100.7:8080\""}}, "198.51.100.7"},
      {"Forwarded parameters in any order, comma inside quotes",
       {{"Forwarded", "proto=http;host=\"a,b\";for=198.51.100.7;by=10.0.0.1"}}, "198.51.100.7"},
      {"Forwarded unknown stops the walk",
       {{"Forwarded", "for=198.51.100.7, for=unknown, for=10.0.0.2"}}, "10.0.0.2"},
      {"Forwarded obfuscated stops the walk", {{"Forwarded", "for=_hidden"}}, "10.0.0.9"},
      {"Forwarded element without for stops the walk",
       {{"Forwarded", "for=198.51.100.7, proto=https"}}, "10.0.0.9"},
      {"Forwarded unquoted IPv6 is malformed", {{"Forwarded", "for=[2001:db8::1]"}}, "10.0.0.9"},
      {"Forwarded unterminated quote", {{"Forwarded", "for=198.51.100.7, for=\"10.0.0.2"}},
       "10.0.0.9"},
      {"Forwarded several lines",
       {{"Forwarded", "for=198.51.100.7"}, {"Forwarded", "for=10.0.0.3"}},
       "198.51.100.7"},
      {"X-Forwarded-For wins over Forwarded",
       {{"Forwarded", "for=192.0.2.99"}, {"X-Forwarded-For", "198.51.100.7"}}, "198.51.100.7"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    bh::fields f;
    for (const auto& [n, v] : c.fields) f.insert(n, v);
    CHECK(resolve_client_ip(f, peer, trusted) == make_address(c.expect));
  }
}

TEST_CASE("set_forwarding_headers: untrusted peer", "[http][forwarded]") {
  auto f = make({{"Host", "example.com"},
                 {"X-Forwarded-For", "1.2.3.4"},
                 {"X-Forwarded-Proto", "https"},
                 {"X-Forwarded-Host", "evil.example"},
                 {"X-Real-IP", "1.2.3.4"},
                 {"Forwarded", "for=1.2.3.4"},
                 {"Via", "1.1 client-made"}});
  const auto peer = make_address("203.0.113.5");
  const ForwardedContext c{peer, false, "example.com", "bawwab", 1};
  set_forwarding_headers(f, c, peer, false);
  CHECK(value(f, "X-Forwarded-For") == "203.0.113.5");
  CHECK(value(f, "X-Real-IP") == "203.0.113.5");
  CHECK(value(f, "X-Forwarded-Proto") == "http");
  CHECK(value(f, "X-Forwarded-Host") == "example.com");
  CHECK(value(f, "Forwarded") == "for=203.0.113.5;proto=http;host=example.com");
  CHECK(value(f, "Via") == "1.1 client-made, 1.1 bawwab");
  CHECK(value(f, "Host") == "example.com");
}

TEST_CASE("set_forwarding_headers: trusted peer", "[http][forwarded]") {
  const auto trusted = trusted_list();
  auto f = make({{"X-Forwarded-For", "198.51.100.7"},
                 {"X-Forwarded-For", "10.0.0.2"},
                 {"X-Forwarded-Proto", "HTTPS"},
                 {"X-Forwarded-Host", "news.example"},
                 {"X-Real-IP", "6.6.6.6"},
                 {"Forwarded", "for=198.51.100.7;proto=https"}});
  const auto peer = make_address("10.0.0.9");
  const auto client = resolve_client_ip(f, peer, trusted);
  REQUIRE(client == make_address("198.51.100.7"));
  const ForwardedContext c{peer, true, "news.example:8443", "", 0};
  set_forwarding_headers(f, c, client, true);
  CHECK(value(f, "X-Forwarded-For") == "198.51.100.7, 10.0.0.2, 10.0.0.9");
  CHECK(value(f, "X-Real-IP") == "198.51.100.7");
  CHECK(value(f, "X-Forwarded-Proto") == "HTTPS");
  CHECK(value(f, "X-Forwarded-Host") == "news.example");
  CHECK(value(f, "Forwarded") ==
        "for=198.51.100.7;proto=https, for=10.0.0.9;proto=https;host=\"news.example:8443\"");
  CHECK(value(f, "Via") == "1.0 bawwab");

  SECTION("a malformed Forwarded from a trusted peer is not kept: it would swallow ours") {
    auto g = make({{"Forwarded", "for=198.51.100.7, for=\"10.0.0.2"}});
    set_forwarding_headers(g, ForwardedContext{peer, false, "a.example", "bawwab", 1}, peer,
                           true);
    CHECK(value(g, "Forwarded") == "for=10.0.0.9;proto=http;host=a.example");
  }
  SECTION("bad X-Forwarded-Proto and -Host from a trusted peer are replaced") {
    auto g = make({{"X-Forwarded-Proto", "gopher"}, {"X-Forwarded-Host", "a b"}});
    set_forwarding_headers(g, ForwardedContext{peer, true, "example.com", "edge", 1}, peer, true);
    CHECK(value(g, "X-Forwarded-Proto") == "https");
    CHECK(value(g, "X-Forwarded-Host") == "example.com");
    CHECK(value(g, "X-Forwarded-For") == "10.0.0.9");
    CHECK(value(g, "Via") == "1.1 edge");
  }
}

TEST_CASE("set_forwarding_headers: IPv6 and mapped peers", "[http][forwarded]") {
  SECTION("IPv6 peer is quoted and bracketed in Forwarded") {
    bh::fields f;
    const auto peer = make_address("2001:db8::1");
    set_forwarding_headers(f, ForwardedContext{peer, true, "example.com", "bawwab", 1}, peer,
                           false);
    CHECK(value(f, "X-Forwarded-For") == "2001:db8::1");
    CHECK(value(f, "Forwarded") == "for=\"[2001:db8::1]\";proto=https;host=example.com");
  }
  SECTION("IPv4-mapped peer is written as IPv4") {
    bh::fields f;
    const auto peer = make_address("::ffff:192.0.2.1");
    set_forwarding_headers(f, ForwardedContext{peer, false, "", "bawwab", 1}, peer, false);
    CHECK(value(f, "X-Forwarded-For") == "192.0.2.1");
    CHECK(value(f, "X-Real-IP") == "192.0.2.1");
    CHECK(value(f, "Forwarded") == "for=192.0.2.1;proto=http");
    CHECK(f.count("X-Forwarded-Host") == 0);
  }
}

TEST_CASE("prepare_response_fields", "[http][forwarded]") {
  auto f = make({{"Content-Type", "text/html"},
                 {"Content-Length", "12"},
                 {"Connection", "keep-alive, X-Internal"},
                 {"X-Internal", "secret"},
                 {"Keep-Alive", "timeout=5"},
                 {"Transfer-Encoding", "chunked"},
                 {"Proxy-Authenticate", "Basic"},
                 {"Via", "1.1 origin-cache"}});
  prepare_response_fields(f, "bawwab", 1);
  CHECK(f.count("Connection") == 0);
  CHECK(f.count("X-Internal") == 0);
  CHECK(f.count("Keep-Alive") == 0);
  CHECK(f.count("Transfer-Encoding") == 0);
  CHECK(f.count("Proxy-Authenticate") == 0);
  CHECK(value(f, "Content-Length") == "12");
  CHECK(value(f, "Via") == "1.1 origin-cache, 1.1 bawwab");

  bh::fields g;
  prepare_response_fields(g, "", 0);
  CHECK(value(g, "Via") == "1.0 bawwab");
}
