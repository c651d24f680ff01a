#pragma once
// Test helpers for the pipeline phases: a request head and a RequestContext in one line each,
// and a Runtime around a config built in code. Header-only; not thread-safe (tests only).
//
//   auto req = test::request("GET /a HTTP/1.1", {{"Host", "news.example"}});
//   auto ctx = test::context(req, {.peer = "10.0.0.1", .tls = true});
//   auto rt = test::runtime(cfg);
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/config/config.hpp"
#include "bawwab/core/clock.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/pipeline/request_context.hpp"
#include "bawwab/pipeline/runtime.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::test {

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A head from a request line ("GET /a HTTP/1.1") and fields, built field by field without
// Beast's parser, so a test can make heads the parser would refuse (CL with TE, no Host...).
// Unknown methods are kept as written. Throws std::invalid_argument on a malformed line (a bug
// in the test, not a case under test).
inline boost::beast::http::request_header<> request(std::string_view request_line,
                                                    Fields fields = {}) {
  namespace bh = boost::beast::http;
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    throw std::invalid_argument("request line needs 'METHOD target HTTP/1.x'");
  }
  const auto method = request_line.substr(0, sp1);
  const auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = request_line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.') {
    throw std::invalid_argument("bad HTTP version in request line");
  }
  bh::request_header<> h;
  if (const auto verb = bh::string_to_verb(method); verb != bh::verb::unknown) {
    h.method(verb);
  } else {
    h.method_string(method);
  }
  h.target(target);
  h.version(unsigned(version[5] - '0') * 10 + unsigned(version[7] - '0'));
  for (const auto& [name, value] : fields) h.insert(name, value);
  return h;
}

// What the accept phase knows about the connection.
struct Client {
  std::string_view peer = "203.0.113.5";
  std::uint16_t port = 40000;
  std::size_t listener = 0;
  bool tls = false;
};

// A context as the session makes it before the deciding phases: the client filled (ip = peer,
// as the accept phase sets it), `request` pointing at `req`, which must outlive the context.
inline pipeline::RequestContext context(const boost::beast::http::request_header<>& req,
                                        const Client& client = {},
                                        TimePoint started = ManualClock{}.now()) {
  pipeline::RequestContext ctx;
  ctx.id = 1;
  ctx.started = started;
  ctx.client.peer = boost::asio::ip::make_address(std::string(client.peer));
  ctx.client.peer_port = client.port;
  ctx.client.ip = ctx.client.peer;
  ctx.client.listener = client.listener;
  ctx.client.tls = client.tls;
  ctx.request = &req;
  return ctx;
}

// A Runtime around `cfg` with the empty rule set, as generation 1.
inline pipeline::Runtime runtime(config::ServerConfig cfg) {
  pipeline::Runtime rt;
  rt.config = std::make_shared<const config::ServerConfig>(std::move(cfg));
  rt.rules = rules::empty_rule_set();
  rt.generation = 1;
  return rt;
}

// "10.0.0.0/8", ... -> a CidrList; throws std::invalid_argument on a bad entry.
inline net::CidrList cidrs(std::initializer_list<std::string_view> list) {
  std::vector<net::Cidr> v;
  for (const auto text : list) {
    auto c = net::parse_cidr(text);
    if (!c) throw std::invalid_argument("bad CIDR in test: " + std::string(text));
    v.push_back(*c);
  }
  return net::CidrList(std::move(v));
}

}  // namespace bawwab::test
