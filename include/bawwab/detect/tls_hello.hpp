#pragma once
// A TLS ClientHello as the fingerprints (JA3, JA4) and the stack heuristic read it, parsed from
// the raw bytes. OpenSSL 3.0's client-hello API drops GREASE values and every extension it does
// not know (ALPS, compress_certificate, ECH...), which makes Chrome's fingerprint wrong
// (research §2.4), so we parse the bytes captured by detect/tls_capture ourselves.
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bawwab/core/error.hpp"

namespace bawwab::detect {

// Extension types the parser decodes or the heuristics look for (IANA TLS ExtensionType).
namespace tls_ext {
inline constexpr std::uint16_t server_name = 0x0000;
inline constexpr std::uint16_t status_request = 0x0005;
inline constexpr std::uint16_t supported_groups = 0x000a;
inline constexpr std::uint16_t ec_point_formats = 0x000b;
inline constexpr std::uint16_t signature_algorithms = 0x000d;
inline constexpr std::uint16_t alpn = 0x0010;
inline constexpr std::uint16_t padding = 0x0015;
inline constexpr std::uint16_t encrypt_then_mac = 0x0016;
inline constexpr std::uint16_t compress_certificate = 0x001b;
inline constexpr std::uint16_t record_size_limit = 0x001c;
inline constexpr std::uint16_t delegated_credentials = 0x0022;
inline constexpr std::uint16_t supported_versions = 0x002b;
inline constexpr std::uint16_t psk_key_exchange_modes = 0x002d;
inline constexpr std::uint16_t key_share = 0x0033;
inline constexpr std::uint16_t alps_old = 0x4469;  // application_settings, Chrome < 131
inline constexpr std::uint16_t alps = 0x44cd;      // application_settings, new codepoint
inline constexpr std::uint16_t encrypted_client_hello = 0xfe0d;
inline constexpr std::uint16_t renegotiation_info = 0xff01;
}  // namespace tls_ext

// RFC 8701 GREASE: the 16 values 0x0a0a, 0x1a1a, ... 0xfafa (cipher suites, extension types,
// groups, versions, signature algorithms all use the same set).
constexpr bool is_grease(std::uint16_t v) noexcept {
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

// Everything is kept as sent: wire order, GREASE included, duplicates included in `extensions`.
// The fingerprint functions do the filtering their specs ask for.
struct ClientHello {
  std::uint16_t legacy_version = 0;  // 0x0303 for TLS 1.2 and 1.3 clients
  std::size_t session_id_size = 0;   // 32 from TLS 1.3 clients in middlebox-compat mode
  std::vector<std::uint16_t> cipher_suites;
  std::vector<std::uint8_t> compression_methods;
  std::vector<std::uint16_t> extensions;  // types only
  // Decoded extension bodies; empty when the extension is absent. A type sent twice (which
  // RFC 8446 forbids and OpenSSL refuses) is listed twice in `extensions`; its first body counts.
  std::string sni;                // the first host_name entry, bytes as sent (not lowercased)
  std::vector<std::string> alpn;  // protocol names, in order; bytes as sent
  std::vector<std::uint16_t> supported_versions;
  std::vector<std::uint16_t> signature_algorithms;
  std::vector<std::uint16_t> supported_groups;
  std::vector<std::uint8_t> ec_point_formats;
  std::vector<std::uint16_t> key_share_groups;  // the groups of the offered key shares
  std::vector<std::uint8_t> psk_key_exchange_modes;
  std::vector<std::uint16_t> cert_compression_algorithms;      // 1 zlib, 2 brotli, 3 zstd
  std::vector<std::uint16_t> delegated_credential_algorithms;  // Firefox sends this one
  std::optional<std::uint16_t> record_size_limit;
  std::size_t padding_size = 0;  // body size of the padding extension
  std::size_t message_size = 0;  // the handshake message, its 4-byte header included

  bool has_extension(std::uint16_t type) const noexcept;
};

// Why a ClientHello could not be read. Values are stable: they appear in logs and metrics.
enum class TlsHelloErrc {
  ok = 0,
  truncated = 1,     // the bytes end before a length says they should (more may be coming)
  not_handshake,     // a TLS record of another content type (alert, application data...)
  not_client_hello,  // a handshake message, but not a ClientHello
  sslv2_hello,       // the SSLv2-compatible format: no extensions, nothing to fingerprint
  bad_record,        // record header: not TLS 1.x, empty or over 2^14 bytes, type change
  malformed,         // lengths inside the ClientHello do not add up
  bad_extension,     // a decoded extension's body does not add up
};

const boost::system::error_category& tls_hello_category() noexcept;
boost::system::error_code make_error_code(TlsHelloErrc e) noexcept;

// Parses a ClientHello from `bytes`: either the handshake message itself (starts with 0x01, as
// tls_capture stores it) or TLS records (starts with 0x16, as read from the socket) carrying it,
// possibly split over several records; the records are reassembled. Bytes after the message are
// not looked at. Framing is strict (every length must fit and fill its container, like OpenSSL's
// own checks); content is lenient (empty ALPN names or lists, unknown values, no extensions at
// all) so that odd clients still get a fingerprint. Pure, thread-safe, bounds-checked, linear in
// the input; never reads past `bytes`.
Result<ClientHello> parse_client_hello(std::span<const std::uint8_t> bytes);
Result<ClientHello> parse_client_hello(std::string_view bytes);

}  // namespace bawwab::detect

namespace boost::system {
template <>
struct is_error_code_enum<bawwab::detect::TlsHelloErrc> : std::true_type {};
}  // namespace boost::system
