#include "tls_files.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "bawwab/config/values.hpp"

namespace bawwab::config::detail {
namespace {

std::string errno_text(int e) { return std::generic_category().message(e); }

std::string file_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "cannot read " + quote_path(path) + ": " + errno_text(errno);
  }
  if (!S_ISREG(st.st_mode)) return "cannot read " + quote_path(path) + ": not a regular file";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read " + quote_path(path) + ": " + errno_text(errno);
  ::close(fd);
  return {};
}

// The first error in the queue is the cause ("no start line"); later ones are the callers
// giving up ("PEM lib").
std::string openssl_reason() {
  const unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  std::string out = reason != nullptr ? reason : "unknown OpenSSL error";
  ERR_clear_error();
  if (out == "no start line") return "no PEM block found";
  if (out == "unsupported") return "no supported PEM block found";
  return out;
}

// PEM marks encrypted keys either way: "BEGIN ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED".
bool pem_is_encrypted(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!f) return false;
  std::string text(64 * 1024, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f.get()));
  return text.find("ENCRYPTED") != std::string::npos;
}

}  // namespace

TlsCheck check_tls_files(const std::string& cert, const std::string& key) {
  TlsCheck out;
  out.cert_error = file_problem(cert);
  out.key_error = file_problem(key);
  if (!out.cert_error.empty() || !out.key_error.empty()) return out;

  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  if (!ctx) {
    out.cert_error = "cannot check " + quote_path(cert) + ": " + openssl_reason();
    return out;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    out.cert_error =
        quote_path(cert) + " is not a PEM certificate chain (" + openssl_reason() + ")";
  }
  // An encrypted key would make OpenSSL prompt on the terminal: refuse to give a passphrase.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(key.c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!pkey) {
    const std::string reason = openssl_reason();
    out.key_error = pem_is_encrypted(key)
                        ? quote_path(key) +
                              " is encrypted, and bawwab cannot ask for a passphrase "
                              "(decrypt it with: openssl pkey -in <key> -out <plain key>)"
                        : quote_path(key) + " is not a PEM private key (" + reason + ")";
  }
  X509* x509 = SSL_CTX_get0_certificate(ctx.get());
  if (out.cert_error.empty() && out.key_error.empty() && x509 != nullptr) {
    if (X509_check_private_key(x509, pkey.get()) != 1) {
      out.key_error = "the key in " + quote_path(key) + " does not match the certificate in " +
                      quote_path(cert);
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x509)) < 0) {
      out.cert_warning = "the certificate in " + quote_path(cert) + " has expired";
    }
  }
  ERR_clear_error();
  return out;
}

}  // namespace bawwab::config::detail
