// The capture for real: OpenSSL client and server SSLs handshaking over memory BIOs; what the
// server-side message callback kept must be exactly the ClientHello the client wrote.
#include "bawwab/detect/tls_capture.hpp"

#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>

#include "bawwab/detect/tls_fingerprint.hpp"
#include "bawwab/detect/tls_hello.hpp"
#include "tls_memory_handshake.hpp"

using bawwab::detect::captured_client_hello;
using bawwab::detect::enable_client_hello_capture;
using bawwab::detect::parse_client_hello;

namespace {

const unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// Like curl: SNI and ALPN h2, http/1.1 on top of OpenSSL's defaults.
void curl_like(SSL* ssl) {
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn);
}

// The handshake message inside records (the first flight here is small: one record).
std::string_view first_record_payload(const std::string& records) {
  REQUIRE(records.size() > 5);
  return std::string_view(records).substr(5);
}

}  // namespace

TEST_CASE("tls_capture: the server keeps the client's ClientHello", "[detect][tls_capture]") {
  auto server = tls_test::server_ctx();
  enable_client_hello_capture(server.get());
  auto client = tls_test::client_ctx();
  auto hs = tls_test::run_handshake(client.get(), server.get(), curl_like);
  REQUIRE(hs.done);

  const auto captured = captured_client_hello(hs.server.get());
  REQUIRE(!captured.empty());
  CHECK(static_cast<unsigned char>(captured[0]) == 1);
  // Byte for byte what the client wrote, without the record header.
  CHECK(captured == first_record_payload(hs.client_first_flight));

  const auto from_capture = parse_client_hello(captured);
  const auto from_wire = parse_client_hello(hs.client_first_flight);
  REQUIRE(from_capture.has_value());
  REQUIRE(from_wire.has_value());
  CHECK(from_capture->sni == "localhost");
  CHECK(from_capture->alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(from_capture->message_size == captured.size());
  const auto fp = bawwab::detect::ja4(*from_capture);
  CHECK(fp == bawwab::detect::ja4(*from_wire));
  CHECK(bawwab::detect::ja3(*from_capture) == bawwab::detect::ja3(*from_wire));
  // OpenSSL 3's default client: TLS 1.3, SNI, no GREASE, and ALPN h2.
  CHECK(fp.substr(0, 4) == "t13d");
  CHECK(fp.substr(8, 2) == "h2");

  SECTION("the client side keeps nothing") {
    CHECK(captured_client_hello(hs.client.get()).empty());
  }
  SECTION("clear frees the copy early") {
    bawwab::detect::clear_captured_client_hello(hs.server.get());
    CHECK(captured_client_hello(hs.server.get()).empty());
  }
  SECTION("each connection has its own copy") {
    auto other = tls_test::run_handshake(client.get(), server.get(), [](SSL* ssl) {
      SSL_set_tlsext_host_name(ssl, "other.example");
    });
    REQUIRE(other.done);
    const auto h2 = parse_client_hello(captured_client_hello(other.server.get()));
    REQUIRE(h2.has_value());
    CHECK(h2->sni == "other.example");
    CHECK(parse_client_hello(captured_client_hello(hs.server.get()))->sni == "localhost");
  }
}

TEST_CASE("tls_capture: nothing without enable_client_hello_capture", "[detect][tls_capture]") {
  auto server = tls_test::server_ctx();
  auto client = tls_test::client_ctx();
  auto hs = tls_test::run_handshake(client.get(), server.get());
  REQUIRE(hs.done);
  CHECK(captured_client_hello(hs.server.get()).empty());
}

TEST_CASE("tls_capture: only the first ClientHello (HelloRetryRequest)", "[detect][tls_capture]") {
  // The client offers a key share for X25519 only; the server accepts P-256 only, so it asks for
  // a retry and the client sends a second ClientHello with a P-256 share.
  auto server = tls_test::server_ctx();
  REQUIRE(SSL_CTX_set1_groups_list(server.get(), "P-256") == 1);
  enable_client_hello_capture(server.get());
  auto client = tls_test::client_ctx();
  auto hs = tls_test::run_handshake(client.get(), server.get(), [](SSL* ssl) {
    REQUIRE(SSL_set1_groups_list(ssl, "X25519:P-256") == 1);
  });
  REQUIRE(hs.done);
  const auto captured = captured_client_hello(hs.server.get());
  CHECK(captured == first_record_payload(hs.client_first_flight));
  const auto h = parse_client_hello(captured);
  REQUIRE(h.has_value());
  CHECK(h->key_share_groups == std::vector<std::uint16_t>{0x001d});  // the first hello's share
}

namespace {

// A 20000-byte extension of an unassigned type makes the ClientHello span two records.
constexpr unsigned kBigExtType = 0x4242;  // not GREASE, not assigned
const std::string kBigExt(20000, 'x');

int add_big_ext(SSL*, unsigned, unsigned, const unsigned char** out, std::size_t* outlen, X509*,
                std::size_t, int*, void*) {
  *out = reinterpret_cast<const unsigned char*>(kBigExt.data());
  *outlen = kBigExt.size();
  return 1;
}

}  // namespace

TEST_CASE("tls_capture: a ClientHello over 16 KB spans records and is capped",
          "[detect][tls_capture]") {
  auto server = tls_test::server_ctx();
  enable_client_hello_capture(server.get());
  auto client = tls_test::client_ctx();
  REQUIRE(SSL_CTX_add_custom_ext(client.get(), kBigExtType, SSL_EXT_CLIENT_HELLO, add_big_ext,
                                 nullptr, nullptr, nullptr, nullptr) == 1);
  auto hs = tls_test::run_handshake(client.get(), server.get(), curl_like);
  REQUIRE(hs.done);

  // From the wire: two records, reassembled by the parser.
  const auto wire = parse_client_hello(hs.client_first_flight);
  REQUIRE(wire.has_value());
  CHECK(wire->message_size > bawwab::detect::kMaxCapturedClientHello);
  CHECK(wire->has_extension(kBigExtType));
  CHECK(wire->sni == "localhost");

  // The capture keeps the first 16 KB of the message, which then parses as truncated.
  const auto captured = captured_client_hello(hs.server.get());
  CHECK(captured.size() == bawwab::detect::kMaxCapturedClientHello);
  const auto h = parse_client_hello(captured);
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error() == bawwab::detect::TlsHelloErrc::truncated);
}
