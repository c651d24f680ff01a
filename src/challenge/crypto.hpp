#pragma once
// The few cryptographic and encoding primitives the challenge module needs, on OpenSSL 3.
// Private to src/challenge. All functions are pure (except random_bytes) and thread-safe.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bawwab::challenge::crypto {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data) noexcept;
Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept;

// Constant-time comparison (CRYPTO_memcmp): a MAC check must not leak how many bytes matched.
bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

// Fills `out` from OpenSSL's CSPRNG. A failure there means the process cannot make keys or nonces
// safely; it aborts with a message (systemd restarts us) rather than hand out guessable values.
void random_bytes(std::span<std::uint8_t> out) noexcept;

// Base64 (RFC 4648 §4, with padding) for the key file; base64url (§5, no padding) for tokens,
// which travel in cookies and query strings. Decoders are strict: no whitespace, no stray padding,
// no non-zero trailing bits (one value has one encoding, so a token cannot be re-spelt).
std::string base64_encode(std::span<const std::uint8_t> data);
bool base64_decode(std::string_view text, std::string& out);
std::string base64url_encode(std::span<const std::uint8_t> data);
bool base64url_decode(std::string_view text, std::string& out);

// Appends integers big-endian: the MAC input is a fixed binary layout, never a formatted string
// whose fields could be shifted into one another.
void append_u8(std::string& out, std::uint8_t v);
void append_u16(std::string& out, std::uint16_t v);
void append_u32(std::string& out, std::uint32_t v);
void append_u64(std::string& out, std::uint64_t v);

inline std::span<const std::uint8_t> bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace bawwab::challenge::crypto
