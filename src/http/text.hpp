#pragma once
// Character classes and small list helpers shared by the http module's sources (RFC 9110 §5.6).
// Private to src/http: other modules see only the functions declared in include/bawwab/http/.
#include <array>
#include <cstddef>
#include <string_view>

namespace bawwab::http::text {

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA
inline constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

inline bool is_tchar(char c) noexcept { return kTchar[static_cast<unsigned char>(c)]; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
// field-vchar / SP / HTAB / obs-text: what a field value may hold (RFC 9110 §5.5).
inline bool is_value_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Beast's equal_range gives a pair of iterators; this makes it usable in a range-for.
template <class Pair>
struct IteratorRange {
  Pair p;
  auto begin() const { return p.first; }
  auto end() const { return p.second; }
};
template <class Pair>
IteratorRange<Pair> as_range(Pair p) {
  return {p};
}

inline char to_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

inline bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Calls f(element) for each element of a comma-separated list, trimmed of OWS; empty elements
// are passed too (callers decide: RFC 9110 §5.6.1 says to ignore them, framing code refuses
// them). Not for lists that may hold quoted strings.
template <class F>
void for_each_element(std::string_view list, F&& f) {
  for (;;) {
    const auto comma = list.find(',');
    f(trim_ows(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace bawwab::http::text
