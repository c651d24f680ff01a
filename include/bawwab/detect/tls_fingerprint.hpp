#pragma once
// TLS client fingerprints of a parsed ClientHello, for rules and for lookups in public lists.
//
// JA4 (FoxIO, BSD-3; research §2.2, FoxIO technical_details/JA4.md): "a_b_c", e.g.
//   t13d1516h2_8daaf6152771_e5627efa2ab1
//   a: transport, TLS version (highest non-GREASE supported_versions, else legacy_version),
//      d/i (SNI extension present or not), cipher count, extension count (GREASE excluded, SNI and
//      ALPN included, both capped at 99), first and last character of the first ALPN value
//      ("00" when none; the hex digits rule when either end is not ASCII alphanumeric);
//   b: sha256 of the sorted 4-hex cipher list, first 12 hex ("000000000000" when empty);
//   c: sha256 of the sorted extension list without SNI and ALPN, then "_" and the signature
//      algorithms in wire order (no "_" when there are none); "000000000000" when no extension.
// JA3 (Salesforce, BSD-3; research §2.1): md5 of
//   "legacy_version,ciphers,extensions,supported_groups,ec_point_formats", decimal values
//   joined by "-", GREASE removed, wire order. JA3N is the same with the extensions sorted
//   (numerically), which makes it stable under Chrome's extension permutation.
// JA4H and the rest of JA4+ are under the FoxIO License (no monetization): not implemented here.
//
// All functions are pure and thread-safe. The digests use OpenSSL EVP; when the provider lacks
// the algorithm (MD5 under a FIPS-only configuration) the hashed forms return "", so a missing
// fingerprint is a missing signal, never a crash.
#include <string>

#include "bawwab/detect/tls_hello.hpp"

namespace bawwab::detect {

// transport: 't' TLS over TCP, 'q' QUIC, 'd' DTLS.
std::string ja4(const ClientHello& hello, char transport = 't');
// JA4_r: the sorted lists themselves, unhashed (what to read when two implementations disagree).
std::string ja4_r(const ClientHello& hello, char transport = 't');
// JA4_o / JA4_ro: original wire order (GREASE removed), SNI and ALPN kept in the extension list.
std::string ja4_o(const ClientHello& hello, char transport = 't');
std::string ja4_ro(const ClientHello& hello, char transport = 't');

std::string ja3_string(const ClientHello& hello);
std::string ja3(const ClientHello& hello);  // 32 lowercase hex
std::string ja3n_string(const ClientHello& hello);
std::string ja3n(const ClientHello& hello);

// What challenge passes are bound to: JA4 without the extensions a resumed or padded hello adds
// or drops (padding 0x0015, pre_shared_key 0x0029, early_data 0x002a), so one browser keeps one
// value across session resumption while another TLS stack still gets another. Pure.
std::string tls_binding(const ClientHello& hello);

}  // namespace bawwab::detect
