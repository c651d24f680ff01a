#include "bawwab/detect/tls_fingerprint.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace bawwab::detect {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kEmptyHash = "000000000000";

// Fetched once: an implicit fetch (EVP_sha256()) costs a provider lookup on every digest in
// OpenSSL 3.0. Fetched EVP_MD objects are immutable and safe to share between threads. Never
// freed: they live as long as the process.
const EVP_MD* fetch_md(const char* name) noexcept { return EVP_MD_fetch(nullptr, name, nullptr); }

const EVP_MD* sha256_md() noexcept {
  static const EVP_MD* md = fetch_md("SHA256");
  return md;
}

const EVP_MD* md5_md() noexcept {
  static const EVP_MD* md = fetch_md("MD5");
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// One digest context per thread, reused: EVP_Digest would allocate and free one per call.
EVP_MD_CTX* thread_ctx() noexcept {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// Lowercase hex of the digest of `data`, truncated to `hex_chars`; "" when unavailable.
std::string digest_hex(const EVP_MD* md, std::string_view data, std::size_t hex_chars) {
  EVP_MD_CTX* ctx = thread_ctx();
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int n = 0;
  if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &n) != 1)
    return {};
  std::string hex;
  hex.resize(std::min<std::size_t>(hex_chars, 2 * std::size_t{n}));
  for (std::size_t i = 0; i < hex.size(); ++i)
    hex[i] = kHex[(i % 2 == 0) ? out[i / 2] >> 4 : out[i / 2] & 0x0f];
  return hex;
}

std::string sha256_12(std::string_view data) { return digest_hex(sha256_md(), data, 12); }

void append_hex4(std::string& s, std::uint16_t v) {
  const char buf[4] = {kHex[v >> 12], kHex[(v >> 8) & 0xf], kHex[(v >> 4) & 0xf], kHex[v & 0xf]};
  s.append(buf, 4);
}

void append_dec(std::string& s, unsigned v) {
  char buf[8];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  s.append(p, buf + sizeof buf);
}

template <class T>
std::vector<std::uint16_t> without_grease(const std::vector<T>& in) {
  std::vector<std::uint16_t> out;
  out.reserve(in.size());
  for (const T v : in)
    if (!is_grease(v)) out.push_back(v);
  return out;
}

void append_hex_list(std::string& s, const std::vector<std::uint16_t>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) s.push_back(',');
    append_hex4(s, values[i]);
  }
}

template <class T>
void append_dec_list(std::string& s, const std::vector<T>& values) {
  bool first = true;
  for (const T v : values) {
    if (is_grease(v)) continue;
    if (!first) s.push_back('-');
    first = false;
    append_dec(s, v);
  }
}

bool alnum(std::uint8_t c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// ---- JA4 part a ----

std::string_view version_code(std::uint16_t v) noexcept {
  switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

std::uint16_t ja4_version(const ClientHello& h) noexcept {
  // The spec's "highest value": numerically, as FoxIO's reference does. A supported_versions
  // with nothing but GREASE falls back to legacy_version (the spec does not say; an error there
  // would cost the client its fingerprint).
  std::uint16_t best = 0;
  bool any = false;
  if (h.has_extension(tls_ext::supported_versions)) {
    for (const auto v : h.supported_versions) {
      if (is_grease(v)) continue;
      best = any ? std::max(best, v) : v;
      any = true;
    }
  }
  return any ? best : h.legacy_version;
}

void append_count(std::string& s, std::size_t n) {
  n = std::min<std::size_t>(n, 99);
  s.push_back(static_cast<char>('0' + n / 10));
  s.push_back(static_cast<char>('0' + n % 10));
}

void append_alpn(std::string& s, const ClientHello& h) {
  if (h.alpn.empty() || h.alpn.front().empty()) {
    s.append("00");
    return;
  }
  const auto& v = h.alpn.front();
  const auto first = static_cast<std::uint8_t>(v.front());
  const auto last = static_cast<std::uint8_t>(v.back());
  if (alnum(first) && alnum(last)) {
    s.push_back(static_cast<char>(first));
    s.push_back(static_cast<char>(last));
  } else {
    // First and last digit of the value's hex form: 0x30 0xAB -> "3b".
    s.push_back(kHex[first >> 4]);
    s.push_back(kHex[last & 0x0f]);
  }
}

struct Ja4Lists {
  std::vector<std::uint16_t> ciphers;     // GREASE removed
  std::vector<std::uint16_t> extensions;  // GREASE removed, SNI/ALPN removed when sorted
  std::vector<std::uint16_t> sigalgs;     // GREASE removed, wire order
};

std::string ja4_a(const ClientHello& h, char transport, std::size_t ciphers, std::size_t exts) {
  std::string a;
  a.reserve(10);
  a.push_back(transport);
  a.append(version_code(ja4_version(h)));
  a.push_back(h.has_extension(tls_ext::server_name) ? 'd' : 'i');
  append_count(a, ciphers);
  append_count(a, exts);
  append_alpn(a, h);
  return a;
}

enum class Order { sorted, original };
enum class Form { hashed, raw };

std::string ja4_impl(const ClientHello& h, char transport, Order order, Form form) {
  Ja4Lists l{without_grease(h.cipher_suites), without_grease(h.extensions),
             without_grease(h.signature_algorithms)};
  std::string out = ja4_a(h, transport, l.ciphers.size(), l.extensions.size());
  if (order == Order::sorted) {
    std::sort(l.ciphers.begin(), l.ciphers.end());
    std::erase_if(l.extensions,
                  [](std::uint16_t t) { return t == tls_ext::server_name || t == tls_ext::alpn; });
    std::sort(l.extensions.begin(), l.extensions.end());
  }

  std::string b;
  b.reserve(l.ciphers.size() * 5);
  append_hex_list(b, l.ciphers);
  std::string c;
  c.reserve(l.extensions.size() * 5 + 1 + l.sigalgs.size() * 5);
  append_hex_list(c, l.extensions);
  // The signature algorithms only follow a non-empty extension list: without extensions there
  // is no signature_algorithms extension either.
  if (!l.extensions.empty() && !l.sigalgs.empty()) {
    c.push_back('_');
    append_hex_list(c, l.sigalgs);
  }

  out.push_back('_');
  if (form == Form::raw) {
    out.append(b);
    out.push_back('_');
    out.append(c);
    return out;
  }
  const std::string hb = l.ciphers.empty() ? std::string(kEmptyHash) : sha256_12(b);
  const std::string hc = l.extensions.empty() ? std::string(kEmptyHash) : sha256_12(c);
  if (hb.empty() || hc.empty()) return {};  // no SHA-256 in the provider: no fingerprint
  out.append(hb);
  out.push_back('_');
  out.append(hc);
  return out;
}

std::string ja3_impl(const ClientHello& h, bool sort_extensions) {
  std::string s;
  s.reserve(64 + 6 * (h.cipher_suites.size() + h.extensions.size() + h.supported_groups.size()));
  append_dec(s, h.legacy_version);
  s.push_back(',');
  append_dec_list(s, h.cipher_suites);
  s.push_back(',');
  if (sort_extensions) {
    auto sorted = h.extensions;
    std::sort(sorted.begin(), sorted.end());
    append_dec_list(s, sorted);
  } else {
    append_dec_list(s, h.extensions);
  }
  s.push_back(',');
  append_dec_list(s, h.supported_groups);
  s.push_back(',');
  append_dec_list(s, h.ec_point_formats);  // u8 values: never GREASE
  return s;
}

}  // namespace

std::string ja4(const ClientHello& hello, char transport) {
  return ja4_impl(hello, transport, Order::sorted, Form::hashed);
}
std::string ja4_r(const ClientHello& hello, char transport) {
  return ja4_impl(hello, transport, Order::sorted, Form::raw);
}
std::string ja4_o(const ClientHello& hello, char transport) {
  return ja4_impl(hello, transport, Order::original, Form::hashed);
}
std::string ja4_ro(const ClientHello& hello, char transport) {
  return ja4_impl(hello, transport, Order::original, Form::raw);
}

std::string ja3_string(const ClientHello& hello) { return ja3_impl(hello, false); }
std::string ja3n_string(const ClientHello& hello) { return ja3_impl(hello, true); }
std::string ja3(const ClientHello& hello) { return digest_hex(md5_md(), ja3_string(hello), 32); }
std::string ja3n(const ClientHello& hello) { return digest_hex(md5_md(), ja3n_string(hello), 32); }

std::string tls_binding(const ClientHello& hello) {
  ClientHello stable = hello;
  std::erase_if(stable.extensions, [](std::uint16_t t) {
    return t == 0x0015 || t == 0x0029 || t == 0x002a;  // padding, pre_shared_key, early_data
  });
  return ja4(stable);
}

}  // namespace bawwab::detect
