#include "bawwab/detect/tls_capture.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bawwab::detect {
namespace {

// The per-SSL copy. It stays allocated (perhaps emptied by clear_captured_client_hello) until
// the SSL is freed: its presence is what says "the first ClientHello has been seen".
using Captured = std::string;

void free_captured(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                   void* /*argp*/) {
  delete static_cast<Captured*>(ptr);
}

// SSL_dup copies ex_data pointers unless a dup function says otherwise; the duplicate must not
// share (and later double-free) our copy, and it has seen no ClientHello of its own.
int dup_captured(CRYPTO_EX_DATA* /*to*/, const CRYPTO_EX_DATA* /*from*/, void** from_d, int /*idx*/,
                 long /*argl*/, void* /*argp*/) {
  *from_d = nullptr;
  return 1;
}

int ex_index() {
  // Function-local static: initialised once, thread-safe.
  static const int index = [] {
    const int i = SSL_get_ex_new_index(0, nullptr, nullptr, dup_captured, free_captured);
    if (i < 0) {
      // Cannot happen short of memory exhaustion at startup.
      std::fprintf(stderr, "bawwab: SSL_get_ex_new_index failed\n");
      std::abort();
    }
    return i;
  }();
  return index;
}

void on_message(int write_p, int /*version*/, int content_type, const void* buf, std::size_t len,
                SSL* ssl, void* /*arg*/) {
  // Incoming handshake messages only; the pseudo content types (256 record header, 257 inner
  // content type) and everything we send are not ClientHellos.
  if (write_p != 0 || content_type != SSL3_RT_HANDSHAKE || len == 0 || !SSL_is_server(ssl)) return;
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (bytes[0] != SSL3_MT_CLIENT_HELLO) return;
  const int idx = ex_index();
  if (SSL_get_ex_data(ssl, idx) != nullptr) return;  // not the first ClientHello
  auto* c =
      new Captured(reinterpret_cast<const char*>(bytes), std::min(len, kMaxCapturedClientHello));
  if (SSL_set_ex_data(ssl, idx, c) != 1) delete c;  // out of memory: no fingerprint, no leak
}

}  // namespace

void enable_client_hello_capture(SSL_CTX* ctx) {
  ex_index();  // allocate the index now, not on the first handshake
  SSL_CTX_set_msg_callback(ctx, on_message);
  SSL_CTX_set_msg_callback_arg(ctx, nullptr);
}

std::string_view captured_client_hello(const SSL* ssl) {
  const auto* c = static_cast<const Captured*>(SSL_get_ex_data(ssl, ex_index()));
  return c == nullptr ? std::string_view{} : std::string_view(*c);
}

void clear_captured_client_hello(SSL* ssl) {
  auto* c = static_cast<Captured*>(SSL_get_ex_data(ssl, ex_index()));
  if (c != nullptr) Captured().swap(*c);
}

}  // namespace bawwab::detect
