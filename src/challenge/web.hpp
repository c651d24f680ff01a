#pragma once
// HTML, URL and cookie text helpers for the challenge pages and the verifier. Private to
// src/challenge. Pure.
#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "bawwab/http/replies.hpp"

namespace bawwab::challenge::detail {

// HTML escaping: http::append_html_escaped (bawwab/http/replies.hpp).
inline bool is_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes everything but RFC 3986 unreserved characters: a query parameter value.
inline void append_query_value(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
}

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX (and '+' as a space, as forms send it). false on a broken escape.
inline bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return false;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return true;
}

// Calls f(value) for each cookie named `name` in Cookie header values ("a=1; b=2"), values
// stripped of one pair of DQUOTEs (RFC 6265 §4.1.1); stops early when f returns true.
template <class F>
bool for_each_cookie(std::span<const std::string_view> headers, std::string_view name, F&& f) {
  for (std::string_view h : headers) {
    while (!h.empty()) {
      const auto semi = h.find(';');
      std::string_view pair = h.substr(0, semi);
      h.remove_prefix(semi == std::string_view::npos ? h.size() : semi + 1);
      while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
      while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
      std::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (f(value)) return true;
    }
  }
  return false;
}

// A Set-Cookie value. HttpOnly (scripts never need it) and SameSite=Lax (sent on the top-level
// navigations that bring a reader back from a link elsewhere); Secure on TLS listeners. Max-Age 0
// deletes. `name` and `value` are ours (token characters, base64url): nothing to escape.
inline std::string set_cookie(std::string_view name, std::string_view value, std::string_view path,
                              std::chrono::seconds max_age, bool secure) {
  std::string out;
  out.reserve(name.size() + value.size() + path.size() + 64);
  out.append(name).append("=").append(value);
  out.append("; Path=").append(path);
  out.append("; Max-Age=").append(std::to_string(max_age.count()));
  out.append("; HttpOnly; SameSite=Lax");
  if (secure) out.append("; Secure");
  return out;
}

}  // namespace bawwab::challenge::detail
