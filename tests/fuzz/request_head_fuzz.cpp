// Fuzzes the "request head" phase: scan_request_head on raw bytes, then (when the head is
// complete) Beast's header parse and validate_request_head, then the field rewrites a forwarded
// request goes through. Asserts invariants, not just "no crash".
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "bawwab/core/net.hpp"
#include "bawwab/http/forwarded.hpp"
#include "bawwab/http/head_scan.hpp"
#include "bawwab/http/hop_by_hop.hpp"
#include "bawwab/http/validate.hpp"

namespace {

namespace bh = boost::beast::http;
using bawwab::http::HeadLimits;
using bawwab::http::HeadScan;

// Always on, also in release builds: a fuzzer that cannot fail finds nothing.
#define FUZZ_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

bool same(const HeadScan& a, const HeadScan& b) {
  return a.state == b.state && a.head_size == b.head_size && a.start == b.start &&
         a.status == b.status && a.reason == b.reason;
}

const bawwab::net::CidrList& trusted() {
  static const bawwab::net::CidrList list = [] {
    std::vector<bawwab::net::Cidr> v;
    for (const char* c : {"10.0.0.0/8", "2001:db8::/32", "127.0.0.1"}) {
      auto r = bawwab::net::parse_cidr(c);
      FUZZ_CHECK(r.has_value());
      v.push_back(*r);
    }
    return bawwab::net::CidrList(std::move(v));
  }();
  return list;
}

void check_forwarding(const bh::request_header<>& h) {
  bh::fields f = h;  // a copy: the rewrites mutate
  const auto peer = boost::asio::ip::make_address("10.1.2.3");
  const auto client = bawwab::http::resolve_client_ip(f, peer, trusted());
  (void)client;
  const auto untrusted_peer = boost::asio::ip::make_address("192.0.2.7");
  FUZZ_CHECK(bawwab::http::resolve_client_ip(f, untrusted_peer, trusted()) == untrusted_peer);

  const auto hosts = f.count(bh::field::host);
  const auto lengths = f.count(bh::field::content_length);
  bawwab::http::remove_hop_by_hop(f);
  FUZZ_CHECK(f.count(bh::field::connection) == 0);
  FUZZ_CHECK(f.count(bh::field::transfer_encoding) == 0);
  FUZZ_CHECK(f.count(bh::field::upgrade) == 0);
  FUZZ_CHECK(f.count(bh::field::host) == hosts);
  FUZZ_CHECK(f.count(bh::field::content_length) == lengths);

  const auto authority = bawwab::http::request_authority(h);
  bawwab::http::ForwardedContext ctx{peer, false, authority, "bawwab", h.version() % 10};
  bawwab::http::set_forwarding_headers(f, ctx, client, true);
  FUZZ_CHECK(f.count("X-Forwarded-For") == 1);
  FUZZ_CHECK(f.count(bh::field::via) == 1);
  FUZZ_CHECK(f.count(bh::field::forwarded) == 1);
}

void check_parsed(std::string_view head, const HeadLimits& limits) {
  bh::request_parser<bh::empty_body> p;
  p.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  p.eager(false);
  boost::system::error_code ec;
  const auto used = p.put(boost::asio::buffer(head.data(), head.size()), ec);
  // Our scan counts exactly what Beast's limit counts, or less: Beast must never be the one to
  // refuse a head for its size, nor wait for more of a head we found complete.
  FUZZ_CHECK(ec != bh::error::header_limit);
  FUZZ_CHECK(ec != bh::error::need_more);
  if (ec) return;  // Beast refuses a few heads we pass on to it (e.g. a bad Content-Length): 400
  FUZZ_CHECK(p.is_header_done());
  FUZZ_CHECK(used == head.size());

  const auto& h = p.get().base();
  const auto v = bawwab::http::validate_request_head(h);
  FUZZ_CHECK(v.status == 0 || v.status == 400 || v.status == 405 || v.status == 417 ||
             v.status == 501 || v.status == 505);
  FUZZ_CHECK(v.ok() == v.reason.empty());
  if (!v.ok()) return;

  const auto target = bawwab::http::origin_form_target(h.target());
  FUZZ_CHECK(!target.empty() && (target.front() == '/' || target == "*"));
  const auto authority = bawwab::http::request_authority(h);
  FUZZ_CHECK(authority.empty() || bawwab::http::is_valid_authority(authority));
  const auto host = bawwab::http::host_without_port(authority);
  FUZZ_CHECK(host.find(':') == std::string::npos || host.front() == '[');
  check_forwarding(h);
}

void check(std::string_view in, const HeadLimits& limits) {
  const auto s = bawwab::http::scan_request_head(in, limits);
  switch (s.state) {
    case HeadScan::State::incomplete:
      FUZZ_CHECK(s.status == 0 && s.head_size == 0);
      break;
    case HeadScan::State::reject:
      FUZZ_CHECK(s.status == 400 || s.status == 414 || s.status == 431 || s.status == 505);
      FUZZ_CHECK(!s.reason.empty());
      break;
    case HeadScan::State::complete: {
      FUZZ_CHECK(s.head_size <= in.size());
      FUZZ_CHECK(s.head_size <= limits.max_header_bytes);
      FUZZ_CHECK(s.start < s.head_size);
      FUZZ_CHECK(in.substr(0, s.head_size).ends_with("\r\n\r\n"));
      // The head alone gives the same verdict, and one byte less is not complete yet.
      FUZZ_CHECK(same(bawwab::http::scan_request_head(in.substr(0, s.head_size), limits), s));
      FUZZ_CHECK(bawwab::http::scan_request_head(in.substr(0, s.head_size - 1), limits).state ==
                 HeadScan::State::incomplete);
      break;
    }
  }
  // A verdict never changes as bytes arrive: any prefix is undecided or already says the same.
  for (std::size_t cut : {in.size() / 2, in.size() / 3, in.size() ? in.size() - 1 : 0}) {
    const auto early = bawwab::http::scan_request_head(in.substr(0, cut), limits);
    FUZZ_CHECK(early.state == HeadScan::State::incomplete || same(early, s));
  }
  if (s.state == HeadScan::State::complete)
    check_parsed(in.substr(s.start, s.head_size - s.start), limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, HeadLimits{8192, 16384, 100});
  // Tight limits reach the 414 and 431 paths with small inputs.
  check(in, HeadLimits{32, 200, 4});
  return 0;
}
