#pragma once
// A real TLS handshake between an OpenSSL client and server in one thread, over memory BIOs: no
// sockets, no files (the server's certificate is made here), a few milliseconds.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>

namespace tls_test {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// A P-256 key and a self-signed certificate for CN=localhost, valid for an hour.
inline void use_self_signed(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* cert = X509_new();
  REQUIRE(cert != nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  REQUIRE(SSL_CTX_use_certificate(ctx, cert) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx, key) == 1);
  X509_free(cert);
  EVP_PKEY_free(key);
}

inline CtxPtr server_ctx() {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  REQUIRE(ctx);
  use_self_signed(ctx.get());
  return ctx;
}

// OpenSSL's defaults, as curl and python use them (no verification: the certificate is ours).
inline CtxPtr client_ctx() {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  REQUIRE(ctx);
  return ctx;
}

inline std::string drain(BIO* bio) {
  std::string out;
  char buf[4096];
  int n = 0;
  while ((n = BIO_read(bio, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

struct Handshake {
  SslPtr client;
  SslPtr server;
  std::string client_first_flight;  // the client's first write: its ClientHello records
  bool done = false;                // both sides finished
};

// `setup_client` may set SNI, ALPN, groups... on the client SSL before it starts.
inline Handshake run_handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx,
                               const std::function<void(SSL*)>& setup_client = {}) {
  Handshake h;
  h.client.reset(SSL_new(client_ctx));
  h.server.reset(SSL_new(server_ctx));
  REQUIRE((h.client && h.server));
  BIO* c_in = BIO_new(BIO_s_mem());
  BIO* c_out = BIO_new(BIO_s_mem());
  BIO* s_in = BIO_new(BIO_s_mem());
  BIO* s_out = BIO_new(BIO_s_mem());
  for (BIO* b : {c_in, c_out, s_in, s_out}) BIO_set_mem_eof_return(b, -1);  // "retry", not EOF
  SSL_set_bio(h.client.get(), c_in, c_out);  // the SSLs own the BIOs from here
  SSL_set_bio(h.server.get(), s_in, s_out);
  SSL_set_connect_state(h.client.get());
  SSL_set_accept_state(h.server.get());
  if (setup_client) setup_client(h.client.get());

  for (int round = 0; round < 10 && !h.done; ++round) {
    SSL_do_handshake(h.client.get());
    const std::string to_server = drain(c_out);
    if (round == 0) h.client_first_flight = to_server;
    BIO_write(s_in, to_server.data(), static_cast<int>(to_server.size()));
    SSL_do_handshake(h.server.get());
    const std::string to_client = drain(s_out);
    BIO_write(c_in, to_client.data(), static_cast<int>(to_client.size()));
    h.done = SSL_is_init_finished(h.client.get()) && SSL_is_init_finished(h.server.get());
  }
  return h;
}

}  // namespace tls_test
