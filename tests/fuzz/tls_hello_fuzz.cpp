// Fuzzes detect/tls_hello and the fingerprints: parse arbitrary bytes; when they are a
// ClientHello, compute JA4/JA3 and the stack guess, and check invariants: the fingerprints'
// shapes, that the same message gives the same answer however it is split into records, and that
// every prefix is an error (never a different hello).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/detect/tls_fingerprint.hpp"
#include "bawwab/detect/tls_hello.hpp"
#include "bawwab/detect/tls_stack.hpp"

namespace {

using bawwab::detect::ClientHello;
using bawwab::detect::TlsHelloErrc;

// Always on, also in release builds: a fuzzer that cannot fail finds nothing.
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::vector<std::uint8_t> to_records(std::string_view msg, std::size_t fragment) {
  std::vector<std::uint8_t> out;
  for (std::size_t at = 0; at < msg.size(); at += fragment) {
    const std::size_t n = std::min(fragment, msg.size() - at);
    out.insert(out.end(),
               {22, 3, 1, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(at),
               msg.begin() + static_cast<std::ptrdiff_t>(at + n));
  }
  return out;
}

void check_fingerprints(const ClientHello& h) {
  const std::string fp = bawwab::detect::ja4(h);
  FUZZ_CHECK(fp.size() == 36);
  FUZZ_CHECK(fp[10] == '_' && fp[23] == '_');
  FUZZ_CHECK(fp[0] == 't');
  FUZZ_CHECK(fp[3] == 'd' || fp[3] == 'i');
  FUZZ_CHECK(fp[3] == (h.has_extension(bawwab::detect::tls_ext::server_name) ? 'd' : 'i'));
  FUZZ_CHECK(is_hex(fp.substr(11, 12)) && is_hex(fp.substr(24, 12)));
  const std::string o = bawwab::detect::ja4_o(h);
  FUZZ_CHECK(o.size() == 36 && o.substr(0, 10) == fp.substr(0, 10));
  const std::string r = bawwab::detect::ja4_r(h);
  FUZZ_CHECK(r.substr(0, 10) == fp.substr(0, 10));
  (void)bawwab::detect::ja4_ro(h);
  const std::string j = bawwab::detect::ja3(h);
  FUZZ_CHECK(j.size() == 32 && is_hex(j));
  FUZZ_CHECK(bawwab::detect::ja3n(h).size() == 32);
  FUZZ_CHECK(bawwab::detect::ja3_string(h).size() == bawwab::detect::ja3n_string(h).size());
  const auto guess = bawwab::detect::classify_tls_stack(h);
  FUZZ_CHECK(!guess.evidence.empty());
  (void)bawwab::detect::tls_ua_mismatch(
      h,
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = bawwab::detect::parse_client_hello(in);
  if (!r) {
    FUZZ_CHECK(r.error().category() == bawwab::detect::tls_hello_category());
    FUZZ_CHECK(r.error().value() != 0);
    return 0;
  }
  const ClientHello& h = *r;
  FUZZ_CHECK(h.message_size > 4 && h.message_size <= size);
  check_fingerprints(h);

  // The message alone, however it is cut into records, is the same hello.
  if (data[0] == 1) {
    const std::string_view msg = in.substr(0, h.message_size);
    const std::string ro = bawwab::detect::ja4_ro(h);
    for (std::size_t fragment : {std::size_t{1}, std::size_t{3} + size % 61, std::size_t{16384}}) {
      const auto recs = to_records(msg, fragment);
      const auto again = bawwab::detect::parse_client_hello(
          std::span<const std::uint8_t>(recs.data(), recs.size()));
      FUZZ_CHECK(again.has_value());
      FUZZ_CHECK(bawwab::detect::ja4_ro(*again) == ro);
      FUZZ_CHECK(again->message_size == h.message_size);
    }
    // Any strict prefix of the message is truncated, never a different hello.
    for (std::size_t cut : {msg.size() - 1, msg.size() / 2, std::size_t{4}}) {
      if (cut >= msg.size()) continue;
      const auto p = bawwab::detect::parse_client_hello(msg.substr(0, cut));
      FUZZ_CHECK(!p.has_value() && p.error() == TlsHelloErrc::truncated);
    }
  }
  return 0;
}
