#include "text.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "bawwab/core/net.hpp"

namespace bawwab::rules::detail {

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(s.size(), max);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string quote(std::string_view s, std::size_t max) { return "'" + printable(s, max) + "'"; }

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool valid_name(std::string_view s, std::size_t max) noexcept {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool valid_token(std::string_view s) noexcept {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

bool valid_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool parse_int(std::string_view s, std::int64_t& out) noexcept {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  const std::string_view digits = s.front() == '-' ? s.substr(1) : s;
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string explain_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const auto a = net::parse_address(text.substr(0, slash));
  if (!a) return "expected an address or a network like 10.0.0.0/8 or 2001:db8::/32";
  const unsigned max_len = a->is_v4() ? 32 : 128;
  std::int64_t len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view prefix = text.substr(slash + 1);
    if (prefix.size() > 3 || prefix.empty() || prefix.front() < '0' || prefix.front() > '9' ||
        !parse_int(prefix, len)) {
      return "bad prefix length " + quote(prefix);
    }
    if (len > max_len) {
      return "prefix length " + std::string(prefix) + " is out of range for " +
             (a->is_v4() ? "IPv4 (0-32)" : "IPv6 (0-128)");
    }
  }
  // The remaining failure is host bits below the prefix: suggest the network the operator meant.
  auto clear = [len](auto bytes) {
    for (std::size_t bit = static_cast<std::size_t>(len); bit < bytes.size() * 8; ++bit) {
      bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    return bytes;
  };
  net::Address network;
  if (a->is_v4()) {
    network = boost::asio::ip::address_v4(clear(a->to_v4().to_bytes()));
  } else {
    network = boost::asio::ip::address_v6(clear(a->to_v6().to_bytes()));
  }
  return "host bits are set (did you mean " + network.to_string() + "/" + std::to_string(len) +
         "?)";
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) noexcept {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace bawwab::rules::detail
