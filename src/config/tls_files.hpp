#pragma once
// Certificate and key files, checked at load time like `nginx -t` does, so that a typo or a wrong
// key fails the (re)load with a message instead of the first TLS handshake. Internal to config.
#include <string>

namespace bawwab::config::detail {

struct TlsCheck {
  std::string cert_error;  // empty when fine; a message fragment without the key path
  std::string key_error;
  std::string cert_warning;  // e.g. expired (the origin may still want to serve it)
};

// Reads both files: existence, readability, a PEM chain, an unencrypted PEM key, and that they
// match. Thread-safe (OpenSSL's error queue is per thread, and is left empty).
TlsCheck check_tls_files(const std::string& cert_file, const std::string& key_file);

}  // namespace bawwab::config::detail
