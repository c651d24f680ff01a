#pragma once
// Addresses, endpoints and CIDR networks as written in config files and flags.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/error.hpp"

namespace bawwab::net {

using Address = boost::asio::ip::address;
using Endpoint = boost::asio::ip::tcp::endpoint;

// An IPv4 or IPv6 network. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks.
struct Cidr {
  Address network;          // host bits cleared
  unsigned prefix_len = 0;  // 0..32 or 0..128

  bool contains(const Address& a) const noexcept;
  std::string to_string() const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set is an error
// ("10.0.0.1/8"): it is almost always a typo, and nginx and HAProxy warn about it too.
Result<Cidr> parse_cidr(std::string_view text);

// "127.0.0.1:8080", "[::1]:8080", "*:80" / ":80" (all IPv4 interfaces), "[::]:80".
// The port is required and may be 0 (any free port).
Result<Endpoint> parse_endpoint(std::string_view text);

// "127.0.0.1", "::1": an IP literal (no brackets).
Result<Address> parse_address(std::string_view text);

// A small list of networks; linear search is fine for the handful of trusted proxies.
// The rules issue brings a prefix tree for the big lists.
class CidrList {
 public:
  CidrList() = default;
  explicit CidrList(std::vector<Cidr> cidrs) : cidrs_(std::move(cidrs)) {}
  bool contains(const Address& a) const noexcept;
  bool empty() const noexcept { return cidrs_.empty(); }
  const std::vector<Cidr>& entries() const noexcept { return cidrs_; }

 private:
  std::vector<Cidr> cidrs_;
};

// Unmaps ::ffff:a.b.c.d to a.b.c.d; other addresses unchanged.
Address canonical(const Address& a) noexcept;

// "1.2.3.4:80" / "[::1]:80"
std::string to_string(const Endpoint& e);

}  // namespace bawwab::net
