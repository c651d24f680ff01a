#include "crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace bawwab::challenge::crypto {
namespace {

constexpr std::string_view kStd =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

[[noreturn]] void die(const char* what) noexcept {
  std::fprintf(stderr, "bawwab: fatal: %s failed in OpenSSL\n", what);
  std::abort();
}

std::string encode(std::span<const std::uint8_t> in, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t(in[i]) << 16) | (std::uint32_t(in[i + 1]) << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t(in[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t(in[i]) << 16) | (std::uint32_t(in[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

int value_of(char c, std::string_view alphabet) noexcept {
  const auto p = alphabet.find(c);
  return p == std::string_view::npos ? -1 : static_cast<int>(p);
}

bool decode(std::string_view text, std::string_view alphabet, bool pad, std::string& out) {
  out.clear();
  if (pad) {
    if (text.size() % 4 != 0) return false;
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return false;  // 6 bits cannot make a byte
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value_of(c, alphabet);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, or two spellings would decode to the same bytes.
  return (acc & ((1u << bits) - 1)) == 0;
}

// OpenSSL 3 looks an algorithm up by name on every EVP_sha256()/HMAC() call, which cost more
// than the hashing itself (a pass check took 6.4 us, now 4): fetch once, one context per thread.
const EVP_MD* sha256_md() noexcept {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) die("EVP_MD_fetch(SHA256)");
  return md;
}

struct Contexts {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_MAC_CTX* mac = nullptr;
  Contexts() {
    static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr) die("EVP_MAC_fetch(HMAC)");
    mac = EVP_MAC_CTX_new(hmac);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (md == nullptr || mac == nullptr || EVP_MAC_CTX_set_params(mac, params) != 1) {
      die("EVP context setup");
    }
  }
  ~Contexts() {
    EVP_MAC_CTX_free(mac);
    EVP_MD_CTX_free(md);
  }
  Contexts(const Contexts&) = delete;
  Contexts& operator=(const Contexts&) = delete;
};

Contexts& contexts() noexcept {
  thread_local Contexts c;
  return c;
}

}  // namespace

Digest sha256(std::string_view data) noexcept {
  Digest d{};
  unsigned len = 0;
  EVP_MD_CTX* ctx = contexts().md;
  if (EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, d.data(), &len) != 1) {
    die("SHA-256");
  }
  return d;
}

Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept {
  Digest d{};
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = contexts().mac;
  // The digest was set once; init with a key only re-derives the pads.
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, d.data(), &len, d.size()) != 1) {
    die("HMAC-SHA256");
  }
  return d;
}

bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(std::span<std::uint8_t> out) noexcept {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) die("RAND_bytes");
}

std::string base64_encode(std::span<const std::uint8_t> data) { return encode(data, kStd, true); }
bool base64_decode(std::string_view text, std::string& out) {
  return decode(text, kStd, true, out);
}
std::string base64url_encode(std::span<const std::uint8_t> data) {
  return encode(data, kUrl, false);
}
bool base64url_decode(std::string_view text, std::string& out) {
  return decode(text, kUrl, false, out);
}

void append_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
void append_u16(std::string& out, std::uint16_t v) {
  append_u8(out, std::uint8_t(v >> 8));
  append_u8(out, std::uint8_t(v));
}
void append_u32(std::string& out, std::uint32_t v) {
  append_u16(out, std::uint16_t(v >> 16));
  append_u16(out, std::uint16_t(v));
}
void append_u64(std::string& out, std::uint64_t v) {
  append_u32(out, std::uint32_t(v >> 32));
  append_u32(out, std::uint32_t(v));
}

}  // namespace bawwab::challenge::crypto
