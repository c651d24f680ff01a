#include "bawwab/detect/tls_stack.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "bawwab/detect/user_agent.hpp"

namespace bawwab::detect {
namespace {

template <class C>
bool any_grease(const C& values) noexcept {
  return std::any_of(values.begin(), values.end(), [](auto v) { return is_grease(v); });
}

bool contains(const std::vector<std::uint16_t>& v, std::uint16_t x) noexcept {
  return std::find(v.begin(), v.end(), x) != v.end();
}

constexpr bool is_tls13_suite(std::uint16_t c) noexcept { return c >= 0x1301 && c <= 0x1305; }

// Chrome's cipher list since Chrome 93 (after it dropped 3DES), GREASE removed: the research
// file's Chrome vector and our Chromium 156 recording both send exactly this.
constexpr std::array<std::uint16_t, 15> kChromeCiphers = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                                          0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                                          0xc014, 0x009c, 0x009d, 0x002f, 0x0035};

bool chrome_cipher_list(const ClientHello& h) noexcept {
  std::size_t i = 0;
  for (const auto c : h.cipher_suites) {
    if (is_grease(c)) continue;
    if (i == kChromeCiphers.size() || kChromeCiphers[i] != c) return false;
    ++i;
  }
  return i == kChromeCiphers.size();
}

// Apple's stack still offers ECDHE with 3DES; Chromium and NSS dropped it years ago.
bool apple_3des(const ClientHello& h) noexcept {
  return contains(h.cipher_suites, 0xc008) || contains(h.cipher_suites, 0xc012);
}

TlsStackGuess classify_grease(const ClientHello& h) noexcept {
  if (h.has_extension(tls_ext::alps) || h.has_extension(tls_ext::alps_old))
    return {TlsStack::chromium, "GREASE and ALPS (Chromium's BoringSSL)"};
  if (chrome_cipher_list(h)) return {TlsStack::chromium, "GREASE and Chrome's cipher list"};
  if (apple_3des(h)) return {TlsStack::safari, "GREASE, ECDHE-3DES suites, no ALPS (Apple)"};
  return {TlsStack::unknown, "GREASE, but no known browser shape"};
}

TlsStackGuess classify_no_grease(const ClientHello& h) noexcept {
  const bool record_size_limit = h.has_extension(tls_ext::record_size_limit);
  if (record_size_limit && h.has_extension(tls_ext::delegated_credentials))
    return {TlsStack::firefox, "delegated_credentials and record_size_limit (NSS)"};

  // The first TLS 1.3 suite, and whether anything came before it.
  std::uint16_t first13 = 0;
  bool after_older = false;
  for (std::size_t i = 0; i < h.cipher_suites.size(); ++i) {
    if (is_tls13_suite(h.cipher_suites[i])) {
      first13 = h.cipher_suites[i];
      after_older = i != 0;
      break;
    }
  }
  if (first13 == 0x1301 && record_size_limit) {
    const auto& c = h.cipher_suites;
    if (c.size() >= 3 && c[0] == 0x1301 && c[1] == 0x1303 && c[2] == 0x1302)
      return {TlsStack::firefox, "NSS's TLS 1.3 suite order and record_size_limit"};
  }
  // Library markers. Each one is absent from every browser hello we know of, old ones included
  // (the renegotiation SCSV is not a marker: Apple's pre-GREASE stack sent it).
  if (first13 == 0x1302)
    return {TlsStack::openssl_like, "no GREASE, TLS 1.3 suites with AES-256 first (library)"};
  if (first13 != 0 && after_older)
    return {TlsStack::openssl_like, "no GREASE, TLS 1.3 suites after TLS 1.2 ones (Go)"};
  for (const auto f : h.ec_point_formats)
    if (f == 1 || f == 2)
      return {TlsStack::openssl_like, "no GREASE, compressed EC point formats (OpenSSL)"};
  return {TlsStack::unknown, "no GREASE, but no known library shape"};
}

bool apple_platform(std::string_view ua) noexcept {
  for (const std::string_view p : {"Macintosh", "iPhone", "iPad", "iPod"})
    if (ua.find(p) != std::string_view::npos) return true;
  return false;
}

}  // namespace

std::string_view tls_stack_name(TlsStack stack) noexcept {
  switch (stack) {
    case TlsStack::unknown: return "unknown";
    case TlsStack::chromium: return "chromium";
    case TlsStack::firefox: return "firefox";
    case TlsStack::safari: return "safari";
    case TlsStack::openssl_like: return "openssl";
  }
  return "unknown";
}

TlsStackGuess classify_tls_stack(const ClientHello& h) noexcept {
  // OpenSSL, GnuTLS, Go, Java and NSS never send GREASE; BoringSSL and Apple put it in several
  // lists, so one is enough.
  const bool grease = any_grease(h.cipher_suites) || any_grease(h.extensions) ||
                      any_grease(h.supported_groups) || any_grease(h.supported_versions);
  return grease ? classify_grease(h) : classify_no_grease(h);
}

std::optional<std::string> tls_ua_mismatch(const ClientHello& hello, std::string_view user_agent) {
  const BrowserClaim claim = parse_browser_claim(user_agent);
  if (!claim.known()) return std::nullopt;
  if (claim.family == BrowserClaim::safari && !apple_platform(user_agent)) return std::nullopt;
  const TlsStackGuess guess = classify_tls_stack(hello);
  if (guess.stack != TlsStack::openssl_like) return std::nullopt;
  return std::string(tls_stack_name(guess.stack));
}

}  // namespace bawwab::detect
