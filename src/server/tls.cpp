#include "bawwab/server/tls.hpp"

#include "bawwab/detect/tls_capture.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace bawwab::server {
namespace ssl = boost::asio::ssl;

namespace {

// The certificates of one listener. The default one is `contexts.front()`; the SNI callback moves
// a connection to another when its server name matches that certificate's names.
struct TlsBundle {
  std::vector<std::unique_ptr<ssl::context>> contexts;
  std::vector<std::vector<std::string>> names;  // DNS names per context, lower-case
};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::vector<std::string> certificate_names(SSL_CTX* ctx) {
  std::vector<std::string> names;
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_DNS) continue;
      const auto* s = gn->d.dNSName;
      std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      names.push_back(std::move(name));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {  // old certificates: the subject CN
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      std::string name(cn);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      names.push_back(std::move(name));
    }
  }
  return names;
}

bool name_matches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (pattern.size() > 2 && pattern.starts_with("*.")) {
    const auto dot = host.find('.');
    return dot != std::string_view::npos && host.substr(dot) == pattern.substr(1);
  }
  return false;
}

int on_server_name(SSL* ssl, int* /*alert*/, void* arg) {
  const auto* bundle = static_cast<const TlsBundle*>(arg);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni == nullptr) return SSL_TLSEXT_ERR_OK;  // default certificate
  std::string host(sni);
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  for (std::size_t i = 0; i < bundle->contexts.size(); ++i) {
    for (const auto& name : bundle->names[i]) {
      if (name_matches(name, host)) {
        if (i != 0) SSL_set_SSL_CTX(ssl, bundle->contexts[i]->native_handle());
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_OK;  // no match: the default certificate, as nginx does
}

// We speak HTTP/1.1 only: pick it when offered; otherwise no ALPN (clients then assume 1.1).
int on_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void* /*arg*/) {
  static const unsigned char http11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned int i = 0;
  while (i < inlen) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == sizeof http11 && std::memcmp(in + i + 1, http11, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::unique_ptr<ssl::context> load_one(const config::TlsCertificate& cert, std::string& error) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(native, cert.cert_file.c_str()) != 1) {
    error = "cannot load certificate '" + cert.cert_file + "': " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(native, cert.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "cannot load private key '" + cert.key_file + "': " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "private key '" + cert.key_file + "' does not match certificate '" + cert.cert_file + "'";
    ERR_clear_error();
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(native, on_alpn, nullptr);
  detect::enable_client_hello_capture(native);  // for the TLS fingerprint (detect/tls_capture)
  return ctx;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const config::ListenerConfig& listener,
                                               const std::string& source,
                                               Diagnostics& diagnostics) {
  auto bundle = std::make_shared<TlsBundle>();
  bool ok = true;
  for (const auto& cert : listener.certificates) {
    std::string error;
    auto ctx = load_one(cert, error);
    if (!ctx) {
      diagnostics.push_back(Diagnostic{source, 0, 0, "listener " + listener.address + ": " + error});
      ok = false;
      continue;
    }
    bundle->names.push_back(certificate_names(ctx->native_handle()));
    bundle->contexts.push_back(std::move(ctx));
  }
  if (!ok || bundle->contexts.empty()) return nullptr;
  SSL_CTX* main = bundle->contexts.front()->native_handle();
  SSL_CTX_set_tlsext_servername_callback(main, on_server_name);
  SSL_CTX_set_tlsext_servername_arg(main, bundle.get());
  // The aliasing constructor keeps the whole bundle (every certificate) alive with the context.
  return std::shared_ptr<ssl::context>(bundle, bundle->contexts.front().get());
}

}  // namespace bawwab::server
