#include "bawwab/rules/normalize.hpp"

namespace bawwab::rules {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3: the only characters whose escapes may be decoded without changing what the
// origin sees. Decoding anything else ("%2F", "%3F") would change the path's structure.
bool unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The path part of an origin-form or absolute-form target, without query.
std::string_view path_part(std::string_view target) noexcept {
  if (!target.empty() && target.front() != '/') {
    // Absolute-form ("http://host/x"): the path starts at the first '/' after the authority.
    if (const auto scheme = target.find("://"); scheme != std::string_view::npos) {
      const auto slash = target.find_first_of("/?", scheme + 3);
      target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
    }
  }
  return target.substr(0, target.find('?'));
}

}  // namespace

std::string normalize_path(std::string_view target) {
  const std::string_view in = path_part(target);

  // Pass 1: percent-decoding of unreserved characters (other escapes upper-cased), and runs of '/'
  // folded, as nginx's merge_slashes does before it resolves dot-segments.
  std::string decoded;
  decoded.reserve(in.size() + 1);
  if (in.empty() || in.front() != '/') decoded.push_back('/');
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        const auto byte = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
        if (unreserved(byte)) {
          c = static_cast<char>(byte);
        } else {
          constexpr char kHex[] = "0123456789ABCDEF";
          decoded.push_back('%');
          decoded.push_back(kHex[byte >> 4]);
          decoded.push_back(kHex[byte & 15]);
          continue;
        }
      }
      // A '%' without two hex digits stays as it is: the origin will refuse or keep it too.
    }
    if (c == '/' && !decoded.empty() && decoded.back() == '/') continue;
    decoded.push_back(c);
  }

  // Pass 2: RFC 3986 §5.2.4 remove_dot_segments, segment by segment. Every segment starts with
  // the '/' before it; "." is dropped, ".." drops the previous output segment too. A final "." or
  // ".." leaves the path ending in '/', as the RFC's algorithm does.
  std::string out;
  out.reserve(decoded.size());
  std::size_t pos = 0;
  while (pos < decoded.size()) {
    // decoded[pos] == '/' always: the path starts with '/' and segments are '/'-separated.
    std::size_t end = decoded.find('/', pos + 1);
    if (end == std::string::npos) end = decoded.size();
    const std::string_view segment(decoded.data() + pos + 1, end - pos - 1);
    const bool last = end == decoded.size();
    if (segment == ".") {
      if (last) out.push_back('/');
    } else if (segment == "..") {
      const auto previous = out.rfind('/');
      out.erase(previous == std::string::npos ? 0 : previous);
      if (last) out.push_back('/');
    } else {
      out.push_back('/');
      out.append(segment);
    }
    pos = end;
  }
  if (out.empty()) out.push_back('/');
  return out;
}

}  // namespace bawwab::rules
