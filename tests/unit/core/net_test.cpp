#include "bawwab/core/net.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace bawwab;
using net::parse_address;
using net::parse_cidr;
using net::parse_endpoint;

namespace {

net::Address addr(const char* text) { return boost::asio::ip::make_address(text); }

std::string cidr_text(std::string_view text) {
  auto c = parse_cidr(text);
  REQUIRE(c.has_value());
  return c->to_string();
}

std::string endpoint_text(std::string_view text) {
  auto e = parse_endpoint(text);
  REQUIRE(e.has_value());
  return net::to_string(*e);
}

}  // namespace

TEST_CASE("parse_address accepts IP literals only", "[net]") {
  CHECK(parse_address("127.0.0.1").value() == addr("127.0.0.1"));
  CHECK(parse_address("::1").value() == addr("::1"));
  CHECK(parse_address("2001:db8::42").value().is_v6());
  for (std::string_view bad : {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "[::1]",
                               " 1.2.3.4", "1.2.3.4 ", "01.2.3.4x", "::g", "1.2.3.4/8"}) {
    INFO(bad);
    auto r = parse_address(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == make_error_code(Errc::config_invalid));
  }
  // inet_pton would stop at the NUL and accept the prefix.
  CHECK_FALSE(parse_address(std::string_view("1.2.3.4\0junk", 12)).has_value());
}

TEST_CASE("parse_cidr: IPv4 and IPv6 networks", "[net]") {
  CHECK(cidr_text("10.0.0.0/8") == "10.0.0.0/8");
  CHECK(cidr_text("192.168.1.0/24") == "192.168.1.0/24");
  CHECK(cidr_text("2001:db8::/32") == "2001:db8::/32");
  CHECK(cidr_text("0.0.0.0/0") == "0.0.0.0/0");
  CHECK(cidr_text("::/0") == "::/0");
  // A bare address is a host network.
  CHECK(cidr_text("10.1.2.3") == "10.1.2.3/32");
  CHECK(cidr_text("::1") == "::1/128");
  CHECK(cidr_text("10.1.2.3/32") == "10.1.2.3/32");
}

TEST_CASE("parse_cidr: IPv4-mapped networks become IPv4 networks", "[net]") {
  CHECK(cidr_text("::ffff:10.0.0.0/104") == "10.0.0.0/8");
  CHECK(cidr_text("::ffff:1.2.3.4") == "1.2.3.4/32");
  CHECK(cidr_text("::ffff:0.0.0.0/96") == "0.0.0.0/0");
  // Shorter than /96 the ffff marker itself falls into the host bits.
  CHECK_FALSE(parse_cidr("::ffff:0:0/95").has_value());
}

TEST_CASE("parse_cidr rejects host bits, bad prefixes and bad text", "[net]") {
  for (std::string_view bad :
       {"10.0.0.1/8", "192.168.1.1/24", "2001:db8::1/32", "::ffff:10.0.0.1/104", "10.0.0.0/33",
        "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8",
        "10.0.0.0/0x8", "10.0.0/8", "/8", "", "example.com/8", "10.0.0.0/0008"}) {
    INFO(bad);
    auto r = parse_cidr(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == make_error_code(Errc::config_invalid));
  }
}

TEST_CASE("Cidr::contains", "[net]") {
  const auto ten = parse_cidr("10.0.0.0/8").value();
  CHECK(ten.contains(addr("10.255.1.2")));
  CHECK_FALSE(ten.contains(addr("11.0.0.1")));
  CHECK(ten.contains(addr("::ffff:10.1.2.3")));  // v4-mapped matches the IPv4 network
  CHECK_FALSE(ten.contains(addr("::1")));

  const auto odd = parse_cidr("192.168.0.0/23").value();
  CHECK(odd.contains(addr("192.168.1.255")));
  CHECK_FALSE(odd.contains(addr("192.168.2.0")));

  const auto doc = parse_cidr("2001:db8::/32").value();
  CHECK(doc.contains(addr("2001:db8:ffff::1")));
  CHECK_FALSE(doc.contains(addr("2001:db9::1")));
  CHECK_FALSE(doc.contains(addr("10.0.0.1")));

  const auto all4 = parse_cidr("0.0.0.0/0").value();
  CHECK(all4.contains(addr("203.0.113.9")));
  CHECK(all4.contains(addr("::ffff:203.0.113.9")));
  CHECK_FALSE(all4.contains(addr("2001:db8::1")));

  const auto all6 = parse_cidr("::/0").value();
  CHECK(all6.contains(addr("2001:db8::1")));
  CHECK_FALSE(all6.contains(addr("203.0.113.9")));  // "all of IPv6", not "everything"

  const auto host = parse_cidr("::ffff:1.2.3.4").value();
  CHECK(host.contains(addr("1.2.3.4")));
  CHECK(host.contains(addr("::ffff:1.2.3.4")));
  CHECK_FALSE(host.contains(addr("1.2.3.5")));
}

TEST_CASE("CidrList", "[net]") {
  net::CidrList empty;
  CHECK(empty.empty());
  CHECK_FALSE(empty.contains(addr("10.0.0.1")));
  net::CidrList list({parse_cidr("10.0.0.0/8").value(), parse_cidr("2001:db8::/32").value()});
  CHECK_FALSE(list.empty());
  CHECK(list.entries().size() == 2);
  CHECK(list.contains(addr("10.0.0.1")));
  CHECK(list.contains(addr("2001:db8::5")));
  CHECK_FALSE(list.contains(addr("192.0.2.1")));
}

TEST_CASE("canonical unmaps IPv4-mapped addresses only", "[net]") {
  CHECK(net::canonical(addr("::ffff:1.2.3.4")) == addr("1.2.3.4"));
  CHECK(net::canonical(addr("1.2.3.4")) == addr("1.2.3.4"));
  CHECK(net::canonical(addr("::1")) == addr("::1"));
  CHECK(net::canonical(addr("::1.2.3.4")) == addr("::1.2.3.4"));  // v4-compatible is not mapped
}

TEST_CASE("parse_endpoint: accepted forms", "[net]") {
  CHECK(endpoint_text("127.0.0.1:8080") == "127.0.0.1:8080");
  CHECK(endpoint_text("[::1]:8080") == "[::1]:8080");
  CHECK(endpoint_text("[::]:443") == "[::]:443");
  CHECK(endpoint_text("*:80") == "0.0.0.0:80");
  CHECK(endpoint_text(":80") == "0.0.0.0:80");
  CHECK(endpoint_text("0.0.0.0:0") == "0.0.0.0:0");  // any free port
  CHECK(endpoint_text("1.2.3.4:65535") == "1.2.3.4:65535");
  CHECK(endpoint_text("[::ffff:127.0.0.1]:80") == "[::ffff:127.0.0.1]:80");
  const auto e = parse_endpoint("[2001:db8::1]:9090").value();
  CHECK(e.address() == addr("2001:db8::1"));
  CHECK(e.port() == 9090);
}

TEST_CASE("parse_endpoint: rejected forms", "[net]") {
  for (std::string_view bad : {
           "",                    // empty
           "127.0.0.1",           // missing port
           "127.0.0.1:",          // missing port
           "[::1]",               // missing port
           "[::1]:",              // missing port
           "::1:80",              // IPv6 without brackets
           "127.0.0.1:65536",     // port out of range
           "127.0.0.1:99999999",  // port out of range
           "127.0.0.1:-1",        // negative
           "127.0.0.1:+80",       // sign
           "127.0.0.1:8o",        // not a number
           "127.0.0.1: 80",       // space
           "localhost:80",        // names are not allowed: we bind, we do not resolve
           "[127.0.0.1]:80",      // brackets are for IPv6
           "[::1:80",             // unclosed
           "[::1]80",             // no colon after the bracket
           "[*]:80",              // wildcard is IPv4 only; IPv6 any is [::]
           "[]:80",               // empty brackets
           "*",                   // no port
           "1.2.3.4:80:80",       // two ports
       }) {
    INFO(bad);
    auto r = parse_endpoint(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == make_error_code(Errc::config_invalid));
  }
}

TEST_CASE("to_string brackets IPv6 endpoints", "[net]") {
  CHECK(net::to_string(net::Endpoint(addr("10.0.0.1"), 80)) == "10.0.0.1:80");
  CHECK(net::to_string(net::Endpoint(addr("::1"), 8080)) == "[::1]:8080");
}
