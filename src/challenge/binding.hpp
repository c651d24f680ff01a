#pragma once
// What ties a pass or a challenge to one client, appended to a MAC input, and the small text
// helpers shared by this module's sources. Private to src/challenge. Pure, thread-safe.
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bawwab/challenge/pass_token.hpp"
#include "crypto.hpp"

namespace bawwab::challenge::detail {

// The client's network (/24 IPv4, /64 IPv6, host bits dropped), the User-Agent's SHA-256 and the
// TLS fingerprint, each in a fixed-size or length-prefixed field.
inline void append_context(std::string& out, const PassContext& context) {
  const auto ip = net::canonical(context.client_ip);
  if (ip.is_v4()) {
    const auto b = ip.to_v4().to_bytes();
    crypto::append_u8(out, 4);
    out.append(reinterpret_cast<const char*>(b.data()), 3);
  } else {
    const auto b = ip.to_v6().to_bytes();
    crypto::append_u8(out, 6);
    out.append(reinterpret_cast<const char*>(b.data()), 8);
  }
  const auto ua = crypto::sha256(context.user_agent);
  out.append(reinterpret_cast<const char*>(ua.data()), ua.size());
  crypto::append_u32(out, static_cast<std::uint32_t>(context.tls_fingerprint.size()));
  out.append(context.tls_fingerprint);
}

inline std::int64_t to_unix(WallTime t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A canonical decimal: digits only, no sign, no leading zero (one value, one spelling: a token
// cannot be re-spelt into another that verifies), at most `max_digits`.
template <class Int>
bool parse_decimal(std::string_view s, Int& out, std::size_t max_digits) noexcept {
  if (s.empty() || s.size() > max_digits || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// Splits `s` at '.' into exactly N parts; false when the count differs.
template <std::size_t N>
bool split_dots(std::string_view s, std::string_view (&parts)[N]) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    const auto dot = s.find('.');
    if (i + 1 == N) {
      if (dot != std::string_view::npos) return false;
      parts[i] = s;
      return true;
    }
    if (dot == std::string_view::npos) return false;
    parts[i] = s.substr(0, dot);
    s.remove_prefix(dot + 1);
  }
  return false;
}

}  // namespace bawwab::challenge::detail
