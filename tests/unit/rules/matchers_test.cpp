// The indexes behind the conditions (private to the rules module): the CIDR prefix tree checked
// against net::Cidr::contains on random data, the prefix trie, glob translation.
#include "../../../src/rules/matchers.hpp"

#include <re2/re2.h>

#include <catch2/catch.hpp>
#include <random>
#include <set>

using namespace bawwab;
using namespace bawwab::rules::detail;

namespace {

std::set<std::uint32_t> lookup(const CidrTrie& t, const std::string& ip) {
  std::set<std::uint32_t> out;
  t.lookup(boost::asio::ip::make_address(ip), [&](std::uint32_t id) { out.insert(id); });
  return out;
}

net::Cidr cidr(const std::string& s) { return *net::parse_cidr(s); }

bool glob(std::string_view pattern, std::string_view path) {
  RE2 re(glob_to_regex(pattern));
  REQUIRE(re.ok());
  return RE2::FullMatch(path, re);
}

}  // namespace

TEST_CASE("CidrTrie: nested networks, both families, mapped addresses") {
  CidrTrie t;
  t.insert(cidr("10.0.0.0/8"), 1);
  t.insert(cidr("10.1.0.0/16"), 2);
  t.insert(cidr("10.1.2.3"), 3);
  t.insert(cidr("0.0.0.0/0"), 4);
  t.insert(cidr("2001:db8::/32"), 5);
  t.insert(cidr("::/0"), 6);
  t.insert(cidr("10.0.0.0/8"), 7);  // the same network in another set
  t.insert(cidr("10.0.0.0/8"), 1);  // the same network twice in a set: one id
  using S = std::set<std::uint32_t>;
  CHECK(lookup(t, "10.1.2.3") == S{1, 2, 3, 4, 7});
  CHECK(lookup(t, "10.1.2.4") == S{1, 2, 4, 7});
  CHECK(lookup(t, "10.2.0.0") == S{1, 4, 7});
  CHECK(lookup(t, "11.0.0.0") == S{4});
  CHECK(lookup(t, "::ffff:10.1.2.3") == S{1, 2, 3, 4, 7});  // IPv4-mapped: IPv4
  CHECK(lookup(t, "2001:db8:ffff::1") == S{5, 6});
  CHECK(lookup(t, "2001:db9::1") == S{6});
  std::size_t calls = 0;
  t.lookup(boost::asio::ip::make_address("10.1.2.3"), [&](std::uint32_t) { ++calls; });
  CHECK(calls == 5);
}

TEST_CASE("CidrTrie agrees with Cidr::contains on random networks and addresses") {
  std::mt19937 rng(12345);
  std::vector<std::pair<net::Cidr, std::uint32_t>> cidrs;
  CidrTrie t;
  auto random_v4 = [&] {
    return boost::asio::ip::address_v4(rng() % 2 ? rng() : (0x0A000000u | (rng() & 0xFFFF)));
  };
  auto random_v6 = [&] {
    boost::asio::ip::address_v6::bytes_type b{};
    b[0] = 0x20;
    b[1] = 0x01;
    b[2] = 0x0d;
    b[3] = static_cast<unsigned char>(rng() % 4 == 0 ? 0xb9 : 0xb8);
    for (std::size_t i = 4; i < 16; ++i)
      b[i] = static_cast<unsigned char>(rng() % 3 == 0 ? rng() : 0);
    return boost::asio::ip::address_v6(b);
  };
  auto clear_host = [](auto bytes, unsigned len) {
    for (std::size_t bit = len; bit < bytes.size() * 8; ++bit) {
      bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    return bytes;
  };
  for (std::uint32_t i = 0; i < 2000; ++i) {
    net::Cidr c;
    if (i % 2 == 0) {
      c.prefix_len = 8 + rng() % 25;
      c.network = boost::asio::ip::address_v4(clear_host(random_v4().to_bytes(), c.prefix_len));
    } else {
      c.prefix_len = 16 + rng() % 113;
      c.network = boost::asio::ip::address_v6(clear_host(random_v6().to_bytes(), c.prefix_len));
    }
    const std::uint32_t id = i % 50;
    cidrs.emplace_back(c, id);
    t.insert(c, id);
  }
  for (int i = 0; i < 5000; ++i) {
    const net::Address a = i % 2 ? net::Address(random_v4()) : net::Address(random_v6());
    std::set<std::uint32_t> want;
    for (const auto& [c, id] : cidrs) {
      if (c.contains(a)) want.insert(id);
    }
    std::set<std::uint32_t> got;
    t.lookup(a, [&](std::uint32_t id) { got.insert(id); });
    INFO(a.to_string());
    REQUIRE(got == want);
  }
}

TEST_CASE("PrefixTrie reports every prefix of the input") {
  PrefixTrie t;
  CHECK(t.empty());
  t.insert("/a", 1);
  t.insert("/a/b", 2);
  t.insert("/a/b", 3);
  t.insert("/c", 4);
  t.insert("", 5);
  CHECK_FALSE(t.empty());
  auto find = [&](std::string_view s) {
    std::set<std::uint32_t> out;
    t.lookup(s, [&](std::uint32_t id) { out.insert(id); });
    return out;
  };
  using S = std::set<std::uint32_t>;
  CHECK(find("/a/b/c") == S{1, 2, 3, 5});
  CHECK(find("/ab") == S{1, 5});
  CHECK(find("/") == S{5});
  CHECK(find("/c") == S{4, 5});
  CHECK(find("") == S{5});
}

TEST_CASE("glob_to_regex: *, **, ? and literals") {
  CHECK(glob("/a/*", "/a/b"));
  CHECK_FALSE(glob("/a/*", "/a/b/c"));
  CHECK(glob("/a/*", "/a/"));
  CHECK(glob("/a/**", "/a/b/c"));
  CHECK(glob("/**/x.pdf", "/x.pdf"));
  CHECK(glob("/**/x.pdf", "/a/b/x.pdf"));
  CHECK_FALSE(glob("/**/x.pdf", "/a/bx.pdf"));
  CHECK(glob("/a**", "/ab/c"));
  CHECK(glob("**.html", "/a/b.html"));
  CHECK(glob("/?.html", "/a.html"));
  CHECK_FALSE(glob("/?.html", "/ab.html"));
  CHECK_FALSE(glob("/?.html", "//.html"));
  // Regex metacharacters are literal.
  CHECK(glob("/a.b+(c)[d]$", "/a.b+(c)[d]$"));
  CHECK_FALSE(glob("/a.b", "/aXb"));
  CHECK(glob_to_regex("/a/*.pdf") == "\\/a\\/[^/]*\\.pdf");
}
