#include "bawwab/http/validate.hpp"

#include <boost/asio/ip/address_v6.hpp>

#include <cstdint>

#include "text.hpp"

namespace bawwab::http {
namespace {

namespace bh = boost::beast::http;

Verdict refuse(unsigned status, std::string_view reason) { return Verdict{status, reason}; }

// "http://" / "https://" (scheme case-insensitive): the length of the prefix, else 0.
std::size_t absolute_prefix(std::string_view target) noexcept {
  if (text::istarts_with(target, "http://")) return 7;
  if (text::istarts_with(target, "https://")) return 8;
  return 0;
}

// The authority of an absolute-form target: up to the first '/', '?' or '#'.
std::string_view absolute_authority(std::string_view target, std::size_t prefix) noexcept {
  const auto rest = target.substr(prefix);
  return rest.substr(0, rest.find_first_of("/?#"));
}

bool is_reg_name_char(char c) noexcept {
  return text::is_alpha(c) || text::is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_valid_port(std::string_view p) noexcept {
  if (p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  for (char c : p) {
    if (!text::is_digit(c)) return false;
    v = v * 10 + unsigned(c - '0');
  }
  return v <= 65535;
}

Verdict check_field_bytes(const bh::request_header<>& h) {
  for (const auto& f : h) {
    for (char c : f.name_string())
      if (!text::is_tchar(c)) return refuse(400, "bad field name");
    for (char c : f.value())
      if (!text::is_value_char(c)) return refuse(400, "control character in field");
  }
  return {};
}

// RFC 9112 §6: the framing must be unambiguous for every parser behind us, so anything odd is
// refused rather than repaired (research §3.3).
Verdict check_framing(const bh::request_header<>& h) {
  const auto te_count = h.count(bh::field::transfer_encoding);
  const auto cl_count = h.count(bh::field::content_length);
  if (te_count > 0) {
    if (cl_count > 0) return refuse(400, "Content-Length with Transfer-Encoding");
    if (h.version() < 11) return refuse(400, "Transfer-Encoding on HTTP/1.0");
    // The codings of every TE line, in order; the final one must be chunked and only it.
    std::size_t codings = 0, chunked = 0;
    bool last_chunked = false, empty = false, bad = false;
    for (const auto& f : text::as_range(h.equal_range(bh::field::transfer_encoding))) {
      text::for_each_element(f.value(), [&](std::string_view e) {
        if (e.empty()) {
          empty = true;
          return;
        }
        ++codings;
        // A coding may carry parameters (RFC 9112 §7); chunked never does.
        const auto name = text::trim_ows(e.substr(0, e.find(';')));
        if (!text::is_token(name)) bad = true;
        last_chunked = text::iequals(e, "chunked");
        if (text::iequals(name, "chunked")) ++chunked;
      });
    }
    if (bad || empty) return refuse(400, "bad Transfer-Encoding");
    if (chunked > 1) return refuse(400, "chunked twice");
    if (!last_chunked) return refuse(400, "final coding not chunked");
    if (codings > 1) return refuse(501, "unsupported transfer coding");
    return {};
  }
  if (cl_count > 1) return refuse(400, "several Content-Length");
  if (cl_count == 1) {
    const auto v = h[bh::field::content_length];
    if (v.empty() || v.size() > 20) return refuse(400, "bad Content-Length");
    std::uint64_t n = 0;
    for (char c : v) {
      if (!text::is_digit(c)) return refuse(400, "bad Content-Length");
      const auto d = std::uint64_t(c - '0');
      if (n > (UINT64_MAX - d) / 10) return refuse(400, "bad Content-Length");
      n = n * 10 + d;
    }
  }
  return {};
}

Verdict check_host(const bh::request_header<>& h) {
  const auto n = h.count(bh::field::host);
  if (n > 1) return refuse(400, "several Host");
  if (n == 0) {
    if (h.version() >= 11) return refuse(400, "missing Host");
    return {};
  }
  const auto v = h[bh::field::host];
  // RFC 9112 §3.2: an empty Host is what a client sends when the target has no authority.
  if (!v.empty() && !is_valid_authority(v)) return refuse(400, "bad Host");
  return {};
}

Verdict check_target(const bh::request_header<>& h) {
  const auto t = h.target();
  if (t.empty()) return refuse(400, "bad target");
  for (char c : t) {
    const auto u = static_cast<unsigned char>(c);
    // The fragment is never sent (RFC 9110 §7.1); bytes beyond ASCII are not a URI.
    if (u <= 0x20 || u >= 0x7f || c == '#') return refuse(400, "bad target");
  }
  if (t.front() == '/') return {};
  if (t == "*") {
    if (h.method() != bh::verb::options) return refuse(400, "asterisk-form without OPTIONS");
    return {};
  }
  if (const auto p = absolute_prefix(t); p != 0) {
    const auto authority = absolute_authority(t, p);
    if (authority.find('@') != std::string_view::npos) return refuse(400, "userinfo in target");
    if (!is_valid_authority(authority)) return refuse(400, "bad target authority");
    return {};
  }
  if (h.method() == bh::verb::connect) {
    // authority-form: host:port, the port required (RFC 9112 §3.2.3).
    if (t.front() != '[' && t.find(':') == std::string_view::npos)
      return refuse(400, "bad target");
    if (!is_valid_authority(t) || t.back() == ']') return refuse(400, "bad target");
    return {};
  }
  return refuse(400, "bad target");
}

Verdict check_expect(const bh::request_header<>& h) {
  const auto n = h.count(bh::field::expect);
  if (n == 0) return {};
  if (n > 1 || !text::iequals(h[bh::field::expect], "100-continue"))
    return refuse(417, "unknown expectation");
  return {};
}

}  // namespace

bool is_valid_authority(std::string_view a) noexcept {
  std::string_view port;
  bool has_port = false;
  if (!a.empty() && a.front() == '[') {
    const auto close = a.find(']');
    if (close == std::string_view::npos) return false;
    const auto literal = a.substr(1, close - 1);
    // Zone ids ("%25eth0") and IPvFuture have no business in a request to a website.
    if (literal.empty() || literal.size() > 45 ||
        literal.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      return false;
    char buf[46];
    literal.copy(buf, literal.size());
    buf[literal.size()] = '\0';
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(static_cast<const char*>(buf), ec);
    if (ec) return false;
    const auto rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    const auto colon = a.find(':');
    const auto host = a.substr(0, colon);
    if (host.empty() || host.size() > 255) return false;
    for (char c : host)
      if (!is_reg_name_char(c)) return false;
    if (colon != std::string_view::npos) {
      has_port = true;
      port = a.substr(colon + 1);
    }
  }
  return !has_port || is_valid_port(port);
}

Verdict validate_request_head(const bh::request_header<>& h) {
  if (h.version() != 10 && h.version() != 11) return refuse(505, "HTTP version not supported");
  if (auto v = check_field_bytes(h); !v.ok()) return v;
  if (auto v = check_framing(h); !v.ok()) return v;
  if (auto v = check_host(h); !v.ok()) return v;
  if (auto v = check_target(h); !v.ok()) return v;
  if (h.method() == bh::verb::connect) return refuse(405, "CONNECT not allowed");
  if (h.method() == bh::verb::trace) return refuse(405, "TRACE not allowed");
  return check_expect(h);
}

std::string_view request_authority(const bh::request_header<>& h) {
  const auto t = h.target();
  if (const auto p = absolute_prefix(t); p != 0) return absolute_authority(t, p);
  return h[bh::field::host];
}

std::string host_without_port(std::string_view a) {
  std::string_view host;
  if (!a.empty() && a.front() == '[') {
    const auto close = a.find(']');
    host = close == std::string_view::npos ? a : a.substr(0, close + 1);
  } else {
    host = a.substr(0, a.find(':'));
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  }
  std::string out(host);
  for (auto& c : out) c = text::to_lower(c);
  return out;
}

std::string origin_form_target(std::string_view target) {
  const auto p = absolute_prefix(target);
  if (p == 0) return std::string(target);
  const auto rest = target.substr(p + absolute_authority(target, p).size());
  if (rest.empty() || rest.front() != '/') return "/" + std::string(rest);
  return std::string(rest);
}

}  // namespace bawwab::http
