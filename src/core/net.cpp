#include "bawwab/core/net.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace bawwab::net {
namespace {

Result<Address> invalid() { return make_error_code(Errc::config_invalid); }

// Digits only (no sign, no spaces, no hex), at most max_digits of them.
bool parse_digits(std::string_view text, std::size_t max_digits, unsigned& out) {
  if (text.empty() || text.size() > max_digits) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_port(std::string_view text, std::uint16_t& out) {
  unsigned value = 0;
  if (!parse_digits(text, 5, value) || value > 65535) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

// True when the first prefix_len bits of a and b are equal.
template <std::size_t N>
bool same_prefix(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                 unsigned prefix_len) noexcept {
  const unsigned whole = prefix_len / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFFu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

template <std::size_t N>
bool host_bits_clear(const std::array<unsigned char, N>& bytes, unsigned prefix_len) noexcept {
  for (unsigned bit = prefix_len; bit < N * 8; ++bit) {
    if (bytes[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

Address canonical(const Address& a) noexcept {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

Result<Address> parse_address(std::string_view text) {
  // inet_pton (under make_address) stops at a NUL and would accept "1.2.3.4\0junk".
  if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) {
    return invalid();
  }
  boost::system::error_code ec;
  Address a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return invalid();
  return a;
}

Result<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  auto address = parse_address(text.substr(0, slash));
  if (!address) return address.error();
  Address a = *address;
  const unsigned max_len = a.is_v4() ? 32 : 128;
  unsigned prefix_len = max_len;
  if (slash != std::string_view::npos) {
    if (!parse_digits(text.substr(slash + 1), 3, prefix_len) || prefix_len > max_len) {
      return make_error_code(Errc::config_invalid);
    }
  }
  // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8; contains() compares addresses in their
  // canonical form, so store it that way.
  if (a.is_v6() && a.to_v6().is_v4_mapped() && prefix_len >= 96) {
    a = canonical(a);
    prefix_len -= 96;
  }
  const bool clear = a.is_v4() ? host_bits_clear(a.to_v4().to_bytes(), prefix_len)
                               : host_bits_clear(a.to_v6().to_bytes(), prefix_len);
  if (!clear) return make_error_code(Errc::config_invalid);
  return Cidr{a, prefix_len};
}

// IPv4 networks match IPv4 addresses and their IPv4-mapped IPv6 form; IPv6 networks match
// IPv6 addresses only (so "::/0" is "all of IPv6", not "everything"), as in Go's netip.
bool Cidr::contains(const Address& address) const noexcept {
  const Address a = canonical(address);
  if (network.is_v4() != a.is_v4()) return false;
  if (a.is_v4()) return same_prefix(network.to_v4().to_bytes(), a.to_v4().to_bytes(), prefix_len);
  // Scope ids (fe80::1%eth0) are ignored: a network is a set of addresses.
  return same_prefix(network.to_v6().to_bytes(), a.to_v6().to_bytes(), prefix_len);
}

std::string Cidr::to_string() const {
  return network.to_string() + '/' + std::to_string(prefix_len);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  const auto bad = [] { return Result<Endpoint>(make_error_code(Errc::config_invalid)); };
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    // An unbracketed IPv6 address is ambiguous ("::1:80"): require "[::1]:80".
    if (host.find(':') != std::string_view::npos) return bad();
  }
  std::uint16_t port = 0;
  if (!parse_port(port_text, port)) return bad();
  if (!bracketed && (host.empty() || host == "*")) {
    return Endpoint(boost::asio::ip::address_v4::any(), port);
  }
  auto address = parse_address(host);
  if (!address || address->is_v6() != bracketed) return bad();
  return Endpoint(*address, port);
}

bool CidrList::contains(const Address& a) const noexcept {
  return std::any_of(cidrs_.begin(), cidrs_.end(), [&](const Cidr& c) { return c.contains(a); });
}

std::string to_string(const Endpoint& e) {
  const Address& a = e.address();
  if (a.is_v6()) return '[' + a.to_string() + "]:" + std::to_string(e.port());
  return a.to_string() + ':' + std::to_string(e.port());
}

}  // namespace bawwab::net
