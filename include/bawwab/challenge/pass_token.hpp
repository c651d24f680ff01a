#pragma once
// The pass cookie a client gets for solving a challenge. It is an HMAC-SHA256 over
//   (version, key id, expiry, client IP prefix (/24 IPv4, /64 IPv6), SHA-256 of the User-Agent,
//    TLS fingerprint)
// but carries only "version.keyid.expiry.mac" (decimal, decimal unix seconds, base64url); the rest
// is recomputed from the request. Verification is one SHA-256 and one HMAC: no state per client.
// A cookie copied to another network, another browser or another TLS stack fails.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/core/net.hpp"

namespace bawwab::challenge {

// The request facts a pass (and a challenge) is bound to. Views: valid for the call only.
struct PassContext {
  net::Address client_ip;            // after trusted proxies; IPv4-mapped IPv6 counts as IPv4
  std::string_view user_agent;       // the raw header value ("" when absent)
  std::string_view tls_fingerprint;  // JA4 on TLS listeners; "" on plain HTTP
};

enum class PassCheck { valid, absent, expired, bad_mac, malformed, unknown_key };

// "valid", "absent", ... for logs and metrics labels.
std::string_view to_string(PassCheck check) noexcept;

// A pass valid until `expiry` (whole seconds, rounded down), signed with the ring's newest key.
// Pure, thread-safe.
std::string issue_pass(const KeyRing& keys, const PassContext& context, WallTime expiry);

// Checks one cookie value: shape, key, MAC (constant-time), then expiry. "" is `absent`.
// Pure, thread-safe.
PassCheck verify_pass(const KeyRing& keys, std::string_view cookie_value,
                      const PassContext& context, WallTime now);

// Looks for cookie `cookie_name` in the request's Cookie header values (HTTP/2 may split them)
// and verifies it. Several cookies of that name (a stale one from another path or domain) are
// each tried: `valid` if any is, else the first one's failure; `absent` when there is none.
// Pure, thread-safe.
PassCheck check_pass_cookie(const KeyRing& keys, std::span<const std::string_view> cookie_headers,
                            std::string_view cookie_name, const PassContext& context, WallTime now);

}  // namespace bawwab::challenge
