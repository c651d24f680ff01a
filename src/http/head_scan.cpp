#include "bawwab/http/head_scan.hpp"

#include "text.hpp"

namespace bawwab::http {
namespace {

// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line (some
// old clients send CRLF after a POST body). A handful is plenty; an endless stream is not a
// request.
constexpr std::size_t kMaxLeadingEmptyLines = 4;

HeadScan reject(unsigned status, std::string_view reason) {
  HeadScan s;
  s.state = HeadScan::State::reject;
  s.status = status;
  s.reason = reason;
  return s;
}

enum class St {
  leading,        // at the start of a line before the request line
  leading_cr,     // after CR of a leading empty line
  method,
  target,
  version,        // inside "HTTP/d.d"
  line_cr,        // request line complete, expecting CR
  line_lf,        // expecting LF of the request line
  field_start,    // at the start of a field line or of the blank line
  name,
  value,
  value_lf,       // after CR at the end of a field line
  blank_lf,       // after CR of the blank line
};

constexpr std::string_view kHttpSlash = "HTTP/";

}  // namespace

HeadScan scan_request_head(std::string_view b, const HeadLimits& lim) {
  St st = St::leading;
  std::size_t empty_lines = 0;
  std::size_t line_begin = 0;  // offset of the request line
  std::size_t method_end = 0, target_begin = 0, target_end = 0, version_begin = 0;
  std::size_t fields = 0;
  bool first_field = true;

  for (std::size_t i = 0; i < b.size(); ++i) {
    const char c = b[i];
    const auto u = static_cast<unsigned char>(c);

    // The request line's own limit first (its bytes exclude the CRLF, which come in line_cr and
    // line_lf states), then the whole head's.
    if ((st == St::method || st == St::target || st == St::version) &&
        i - line_begin >= lim.max_request_line)
      return reject(414, "request line too long");
    if (i >= lim.max_header_bytes) return reject(431, "header too large");

    switch (st) {
      case St::leading:
        if (c == '\r') {
          st = St::leading_cr;
        } else if (c == '\n') {
          return reject(400, "bare LF");
        } else if (text::is_tchar(c)) {
          line_begin = i;
          st = St::method;
          if (lim.max_request_line == 0) return reject(414, "request line too long");
        } else {
          return reject(400, "bad request line");
        }
        break;

      case St::leading_cr:
        if (c != '\n') return reject(400, "bare CR");
        if (++empty_lines > kMaxLeadingEmptyLines) return reject(400, "too many empty lines");
        st = St::leading;
        break;

      case St::method:
        if (c == ' ') {
          method_end = i;
          target_begin = i + 1;
          st = St::target;
        } else if (!text::is_tchar(c)) {
          return reject(400, "bad request line");
        }
        break;

      case St::target:
        if (c == ' ') {
          if (i == target_begin) return reject(400, "bad request line");  // two spaces
          target_end = i;
          version_begin = i + 1;
          st = St::version;
        } else if (u >= 0x80) {
          return reject(400, "non-ASCII in target");
        } else if (u <= 0x20 || u == 0x7f) {
          // CR here is a missing version (HTTP/0.9 style), the rest CTLs.
          return reject(400, "bad request line");
        }
        break;

      case St::version: {
        const std::size_t k = i - version_begin;
        if (k < kHttpSlash.size()) {
          if (c != kHttpSlash[k]) return reject(400, "bad HTTP version");
        } else if (k == 5 || k == 7) {
          if (!text::is_digit(c)) return reject(400, "bad HTTP version");
          if (k == 7) st = St::line_cr;
        } else if (c != '.') {  // k == 6
          return reject(400, "bad HTTP version");
        }
        break;
      }

      case St::line_cr: {
        if (c != '\r') return reject(400, c == '\n' ? "bare LF" : "bad HTTP version");
        const char major = b[version_begin + 5];
        const char minor = b[version_begin + 7];
        if (major != '1' || (minor != '0' && minor != '1')) {
          const auto method = b.substr(line_begin, method_end - line_begin);
          const auto target = b.substr(target_begin, target_end - target_begin);
          if (method == "PRI" && target == "*") return reject(400, "HTTP/2 preface");
          return reject(505, "HTTP version not supported");
        }
        st = St::line_lf;
        break;
      }

      case St::line_lf:
        if (c != '\n') return reject(400, "bare CR");
        st = St::field_start;
        break;

      case St::field_start:
        if (c == '\r') {
          st = St::blank_lf;
        } else if (c == '\n') {
          return reject(400, "bare LF");
        } else if (text::is_ows(c)) {
          // RFC 9112 §2.2 (before the first field) and §5.2 (obs-fold): both may hide a field
          // from one parser and show it to another.
          return reject(400, first_field ? "whitespace before first field" : "obs-fold");
        } else if (fields >= lim.max_header_count) {
          return reject(431, "too many fields");
        } else if (c == ':') {
          return reject(400, "empty field name");
        } else if (text::is_tchar(c)) {
          ++fields;
          first_field = false;
          st = St::name;
        } else {
          return reject(400, "bad field name");
        }
        break;

      case St::name:
        if (c == ':') {
          st = St::value;
        } else if (text::is_ows(c)) {
          return reject(400, "whitespace before colon");
        } else if (c == '\r' || c == '\n') {
          return reject(400, "field without colon");
        } else if (!text::is_tchar(c)) {
          return reject(400, "bad field name");
        }
        break;

      case St::value:
        if (c == '\r') {
          st = St::value_lf;
        } else if (c == '\n') {
          return reject(400, "bare LF");
        } else if (!text::is_value_char(c)) {
          return reject(400, "control character in field");
        }
        break;

      case St::value_lf:
        if (c != '\n') return reject(400, "bare CR");
        st = St::field_start;
        break;

      case St::blank_lf: {
        if (c != '\n') return reject(400, "bare CR");
        HeadScan s;
        s.state = HeadScan::State::complete;
        s.head_size = i + 1;
        s.start = line_begin;
        return s;
      }
    }
  }
  return HeadScan{};
}

}  // namespace bawwab::http
