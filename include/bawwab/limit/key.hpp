#pragma once
// Which bucket of a limit a request falls into. A LimitSpec names the parts its key is made of
// (ip, ip_prefix, header:X, cookie:X, user_agent, tls.ja4, host, path_group, rule); this file
// turns a request's values into
//   - a 64-bit hash, the local table's key (no allocation: this is on every request), and
//   - a printable form for logs and Redis keys: "<limit name>:<part>|<part>...", e.g.
//     "article-per-ip:203.0.113.0/24" or "login:198.51.100.7|curl/8.0".
// The limit name goes into both, so two limits never share a key. Everything here is pure and
// thread-safe.
#include <boost/beast/http/fields.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "bawwab/core/net.hpp"
#include "bawwab/limit/spec.hpp"

namespace bawwab::limit {

// A request's values, borrowed for the duration of one call.
struct KeyInput {
  net::Address ip;              // the client (after trusted proxies)
  std::string_view user_agent;  // the User-Agent value
  std::string_view host;        // the request's host (lower-cased, without port)
  std::string_view path;        // the normalised path; a query after '?' is ignored
  std::string_view rule_id;     // the rule that applied the limit
  std::string_view ja4;         // TLS fingerprint, empty on plain HTTP
  const boost::beast::http::fields* headers = nullptr;  // header: and cookie: parts (null: none)
};

struct Key {
  std::uint64_t hash = 0;  // equal to key_hash() of the same input
  std::string printable;   // stable across processes and hosts (Redis keys are built from it)
};

// The key's hash. Seeded with a per-process secret, so that nobody can pick header values that
// collide in the table; equal within one process only (Redis uses the printable form).
std::uint64_t key_hash(const LimitSpec& spec, const KeyInput& in) noexcept;

// The hash and the printable form. Values are percent-escaped outside printable ASCII (and '%',
// '|', '{', '}', so a Redis Cluster hash tag around the key stays intact); a value longer than 96
// bytes becomes "~" + 16 hex digits of a fixed-seed hash of it.
Key make_key(const LimitSpec& spec, const KeyInput& in);

// The network of `ip` for ip_prefix: IPv4 /v4_prefix, IPv6 /v6_prefix (IPv4-mapped IPv6 counts as
// IPv4); prefixes beyond 32 / 128 are clamped. 203.0.113.7 /24 -> 203.0.113.0/24.
net::Cidr ip_prefix(const net::Address& ip, unsigned v4_prefix, unsigned v6_prefix) noexcept;

// The first path segment: "/articles/2024/x?y" -> "/articles", "/" and "" -> "/".
std::string_view path_group(std::string_view path) noexcept;

// The value of cookie `name` (case-sensitive, RFC 6265) in the first Cookie field that has it;
// empty when absent. Pairs are separated by ';', optional whitespace around them is ignored.
std::string_view cookie_value(const boost::beast::http::fields& headers,
                              std::string_view name) noexcept;

// A strong 64-bit hash of bytes (multiply-fold on 128-bit products, like wyhash). Deterministic:
// the same bytes and seed give the same value in every process.
std::uint64_t hash64(std::string_view bytes, std::uint64_t seed) noexcept;

}  // namespace bawwab::limit
