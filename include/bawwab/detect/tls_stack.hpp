#pragma once
// "The TLS stack contradicts the User-Agent": a Chrome UA over curl's, python's or Go's TLS.
//
// This is a HEURISTIC over structural features of one ClientHello, not an identification:
//   GREASE (RFC 8701) is sent by BoringSSL (Chromium) and Apple's stack, never by OpenSSL, GnuTLS,
//   Go, Java or NSS (Firefox); ALPS (0x4469/0x44cd) only by Chromium; delegated_credentials plus
//   record_size_limit by NSS; a non-browser library shows itself, without GREASE, by TLS 1.3
//   suites with AES-256 first (OpenSSL, GnuTLS, Java, rustls defaults), compressed EC point
//   formats (OpenSSL) or TLS 1.3 suites after the TLS 1.2 ones (Go). Anyone can forge all of it
//   (uTLS, curl-impersonate): a browser-like stack proves nothing, a library stack under a browser
//   UA is evidence.
//
// False positives are the worst failure, so the mismatch is deliberately narrow:
// - It fires only when the stack is a non-browser library (TlsStack::openssl_like). A browser
//   stack under another browser's UA is a real browser with a UA switcher: never reported.
// - It trusts only the plain UA shapes of detect::parse_browser_claim (chrome, edge, opera,
//   samsung, firefox, safari); WebViews, in-app and unknown browsers are never checked. A Safari
//   claim counts only on Apple platforms: WebKitGTK browsers (GNOME Web) send Safari's UA over
//   GnuTLS.
// - Known remaining false positives: a real browser behind a TLS-intercepting middlebox
//   (corporate proxy, antivirus "HTTPS scanning") arrives with the middlebox's stack, often
//   OpenSSL. Weight the signal accordingly; do not block on it alone.
#include <optional>
#include <string>
#include <string_view>

#include "bawwab/detect/tls_hello.hpp"

namespace bawwab::detect {

enum class TlsStack { unknown, chromium, firefox, safari, openssl_like };

struct TlsStackGuess {
  TlsStack stack = TlsStack::unknown;
  std::string_view evidence;  // static text for the log and `bawwab explain`
};

// "unknown", "chromium", "firefox", "safari", "openssl" (static strings). "openssl" stands for
// every non-browser library: OpenSSL (curl, python, node, wget built with OpenSSL), GnuTLS
// (Debian's wget), Go, Java, rustls.
std::string_view tls_stack_name(TlsStack stack) noexcept;

// Pure, thread-safe, no allocation.
TlsStackGuess classify_tls_stack(const ClientHello& hello) noexcept;

// The stack's name when `user_agent` claims a browser (Chrome, Edge, Opera, Samsung Internet,
// Firefox, Safari) and the ClientHello comes from a non-browser TLS library; nullopt otherwise
// (also when the stack is unknown or another browser's). Pure, thread-safe.
std::optional<std::string> tls_ua_mismatch(const ClientHello& hello, std::string_view user_agent);

}  // namespace bawwab::detect
