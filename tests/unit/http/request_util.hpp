#pragma once
// Test helpers: raw request text -> the verdict of the whole "request head" phase, as the
// session runs it (scan_request_head, Beast's header parse, validate_request_head).
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <optional>
#include <string_view>

#include "bawwab/http/head_scan.hpp"
#include "bawwab/http/validate.hpp"

namespace bawwab::http::test {

namespace bh = boost::beast::http;

inline const HeadLimits kLimits{8192, 16384, 100};

// Beast's view of a complete head (request line to blank line), or nullopt when Beast refuses it.
inline std::optional<bh::request_header<>> beast_parse(std::string_view head) {
  bh::request_parser<bh::empty_body> p;
  p.header_limit(static_cast<std::uint32_t>(kLimits.max_header_bytes));
  p.eager(false);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec || !p.is_header_done()) return std::nullopt;
  return p.get().base();
}

// 0: the head may be forwarded; 1: incomplete; else the status of the refusal.
inline unsigned verdict(std::string_view raw, const HeadLimits& limits = kLimits) {
  const auto s = scan_request_head(raw, limits);
  if (s.state == HeadScan::State::incomplete) return 1;
  if (s.state == HeadScan::State::reject) return s.status;
  const auto h = beast_parse(raw.substr(s.start, s.head_size - s.start));
  if (!h) return 400;
  return validate_request_head(*h).status;
}

// A head built field by field, bypassing Beast's parser (to test what it would refuse itself).
inline bh::request_header<> head(bh::verb method, std::string_view target, unsigned version,
                                 std::initializer_list<std::pair<std::string_view,
                                                                 std::string_view>> fields) {
  bh::request_header<> h;
  h.method(method);
  h.target(target);
  h.version(version);
  for (const auto& [n, v] : fields) h.insert(n, v);
  return h;
}

}  // namespace bawwab::http::test
