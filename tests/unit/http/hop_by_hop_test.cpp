#include <catch2/catch.hpp>

#include "bawwab/http/hop_by_hop.hpp"

namespace bh = boost::beast::http;
using bawwab::http::remove_hop_by_hop;

namespace {

bh::fields make(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  bh::fields f;
  for (const auto& [n, v] : list) f.insert(n, v);
  return f;
}

}  // namespace

TEST_CASE("remove_hop_by_hop: the fixed list", "[http][hop_by_hop]") {
  auto f = make({{"Host", "example.com"},
                 {"Connection", "keep-alive"},
                 {"Keep-Alive", "timeout=5"},
                 {"Proxy-Connection", "keep-alive"},
                 {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                 {"Proxy-Authenticate", "Basic"},
                 {"TE", "trailers"},
                 {"Trailer", "X-Checksum"},
                 {"Transfer-Encoding", "chunked"},
                 {"Upgrade", "websocket"},
                 {"Accept", "*/*"},
                 {"Authorization", "Bearer x"},
                 {"Cookie", "a=b"}});
  remove_hop_by_hop(f);
  for (const char* gone : {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
                           "Proxy-Authenticate", "TE", "Trailer", "Transfer-Encoding",
                           "Upgrade"}) {
    CAPTURE(gone);
    CHECK(f.count(gone) == 0);
  }
  // End-to-end fields stay, in order.
  std::vector<std::string> left;
  for (const auto& e : f) left.emplace_back(e.name_string());
  CHECK(left == std::vector<std::string>{"Host", "Accept", "Authorization", "Cookie"});
}

TEST_CASE("remove_hop_by_hop: fields named by Connection", "[http][hop_by_hop]") {
  SECTION("Connection: close, X-Foo strips X-Foo") {
    auto f = make({{"Host", "a"}, {"Connection", "close, X-Foo"}, {"X-Foo", "1"}, {"X-Bar", "2"}});
    remove_hop_by_hop(f);
    CHECK(f.count("X-Foo") == 0);
    CHECK(f.count("X-Bar") == 1);
    CHECK(f.count("Connection") == 0);
  }
  SECTION("Connection: close alone") {
    auto f = make({{"Host", "a"}, {"Connection", "close"}});
    remove_hop_by_hop(f);
    CHECK(f.count("Connection") == 0);
    CHECK(f.count("Host") == 1);
  }
  SECTION("several Connection lines, odd case and spacing, every instance of a named field") {
    auto f = make({{"Connection", "x-one ,\tX-TWO"},
                   {"X-One", "1"},
                   {"connection", ",, X-Three,"},
                   {"x-two", "2"},
                   {"X-Three", "3"},
                   {"X-One", "again"},
                   {"X-Four", "4"}});
    remove_hop_by_hop(f);
    CHECK(f.count("X-One") == 0);
    CHECK(f.count("X-Two") == 0);
    CHECK(f.count("X-Three") == 0);
    CHECK(f.count("X-Four") == 1);
    CHECK(std::distance(f.begin(), f.end()) == 1);
  }
  SECTION("Connection naming Host or Content-Length is ignored (an attack, not a need)") {
    auto f = make({{"Host", "a"},
                   {"Content-Length", "5"},
                   {"Connection", "host, Content-Length, HOST, x-gone"},
                   {"X-Gone", "1"}});
    remove_hop_by_hop(f);
    CHECK(f.count("Host") == 1);
    CHECK(f.count("Content-Length") == 1);
    CHECK(f.count("X-Gone") == 0);
  }
  SECTION("tokens that are not tokens name nothing") {
    auto f = make({{"Connection", "x a, \"X-Quoted\", X-Ok"},
                   {"x a", "1"},
                   {"X-Quoted", "2"},
                   {"X-Ok", "3"}});
    remove_hop_by_hop(f);
    CHECK(f.count("X-Quoted") == 1);
    CHECK(f.count("X-Ok") == 0);
  }
  SECTION("a Connection header naming hop-by-hop fields changes nothing else") {
    auto f = make({{"Connection", "Upgrade, Keep-Alive"}, {"Upgrade", "h2c"}, {"Accept", "x"}});
    remove_hop_by_hop(f);
    CHECK(f.count("Upgrade") == 0);
    CHECK(f.count("Accept") == 1);
  }
  SECTION("no Connection at all") {
    auto f = make({{"Host", "a"}, {"Accept", "x"}});
    remove_hop_by_hop(f);
    CHECK(std::distance(f.begin(), f.end()) == 2);
  }
}
