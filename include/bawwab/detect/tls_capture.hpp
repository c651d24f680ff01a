#pragma once
// Keeps the raw ClientHello of each server-side TLS connection, for detect/tls_hello.
//
// OpenSSL 3.0's client-hello callback API drops GREASE and every extension it does not know
// (research §2.4), so we take the bytes from the message callback instead, as HAProxy does:
// OpenSSL hands it the reassembled handshake message (however many records or TCP segments it
// came in) before it processes it. Only the first ClientHello of a connection is kept: a second
// one (after a HelloRetryRequest, or a TLS 1.2 renegotiation) is not the client's own first
// flight. The copy lives in the SSL's ex_data and is freed with the SSL.
#include <openssl/ssl.h>

#include <cstddef>
#include <string_view>

namespace bawwab::detect {

// Messages longer than this are cut to this size (and then parse as `truncated`): no real client
// sends a ClientHello near it (Chrome's with a post-quantum key share is about 2 KB).
inline constexpr std::size_t kMaxCapturedClientHello = 16 * 1024;

// Installs the capture on `ctx`: call at setup, before SSLs are created from it. It takes over
// the context's message callback (SSL_CTX_set_msg_callback and its argument); nothing else in
// bawwab uses them. Thread-safe for distinct contexts; calling it twice is harmless.
void enable_client_hello_capture(SSL_CTX* ctx);

// The ClientHello handshake message (type byte and 3-byte length included) received on `ssl`, or
// "" when none was captured (no capture on its context, a client-side SSL, no hello yet). The
// view is valid until the SSL is freed or clear_captured_client_hello is called. Call it from the
// thread that drives `ssl` (like any use of an SSL).
std::string_view captured_client_hello(const SSL* ssl);

// Frees the copy early (a session that has computed its fingerprints has no further use for it);
// a later ClientHello on the same connection is still not captured.
void clear_captured_client_hello(SSL* ssl);

}  // namespace bawwab::detect
