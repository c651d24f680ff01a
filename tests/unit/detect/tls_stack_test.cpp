#include "bawwab/detect/tls_stack.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "bawwab/detect/tls_capture.hpp"
#include "bawwab/detect/tls_hello.hpp"
#include "tls_hello_builder.hpp"
#include "tls_memory_handshake.hpp"

using bawwab::detect::classify_tls_stack;
using bawwab::detect::ClientHello;
using bawwab::detect::tls_ua_mismatch;
using bawwab::detect::TlsStack;
using tls_test::HelloBuilder;

namespace {

constexpr std::string_view kChromeUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";
constexpr std::string_view kEdgeUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
constexpr std::string_view kFirefoxUa =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
constexpr std::string_view kSafariMacUa =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15";
constexpr std::string_view kSafariIphoneUa =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
// GNOME Web (WebKitGTK over GnuTLS) sends Safari's UA shape from Linux.
constexpr std::string_view kEpiphanyUa =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Safari/605.1.15";
// Legacy Edge (EdgeHTML) ran over Windows SChannel with a Chrome token in its UA.
constexpr std::string_view kEdgeLegacyUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582";

ClientHello parsed(const tls_test::Bytes& b) {
  auto r = bawwab::detect::parse_client_hello(tls_test::view(b));
  if (!r) FAIL("parse failed: " << r.error().message());
  return *r;
}

TlsStack stack_of(const ClientHello& h) { return classify_tls_stack(h).stack; }

// Safari 17/18's shape as public impersonation profiles give it (no recording available here):
// GREASE, 20 suites ending with the ECDHE-3DES ones, zlib certificate compression, no ALPS.
HelloBuilder safari_shaped() {
  HelloBuilder b;
  b.ciphers({0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9, 0xc030, 0xc02f, 0xcca8, 0xc00a,
             0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x0035, 0x002f, 0xc008, 0xc012, 0x000a});
  b.ext(0x5a5a)
      .sni("example.com")
      .ext(0x0017)
      .ext(0xff01, {0})
      .supported_groups({0x5a5a, 29, 23, 24, 25})
      .ec_point_formats({0})
      .alpn({"h2", "http/1.1"})
      .ext(0x0005, {1, 0, 0, 0, 0})
      .signature_algorithms({0x0403, 0x0804, 0x0401})
      .ext(0x0012)
      .key_share({{0x5a5a, 1}, {29, 32}})
      .psk_key_exchange_modes({1})
      .supported_versions({0x5a5a, 0x0304, 0x0303})
      .compress_certificate({1})
      .ext(0x0015, tls_test::filled(100, 0))
      .ext(0x2a2a, {0});
  return b;
}

// Go's crypto/tls: no GREASE, the TLS 1.3 suites appended after the TLS 1.2 ones.
HelloBuilder go_shaped() {
  HelloBuilder b;
  b.ciphers({0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014, 0x009c,
             0x009d, 0x002f, 0x0035, 0xc012, 0x000a, 0x1301, 0x1302, 0x1303});
  b.sni("example.com")
      .ext(0x0005, {1, 0, 0, 0, 0})
      .supported_groups({29, 23, 24, 25})
      .ec_point_formats({0})
      .signature_algorithms({0x0804, 0x0403})
      .ext(0xff01, {0})
      .alpn({"h2", "http/1.1"})
      .ext(0x0012)
      .supported_versions({0x0304, 0x0303})
      .key_share({{29, 32}});
  return b;
}

}  // namespace

TEST_CASE("tls_stack: recorded browsers", "[detect][tls_stack]") {
  for (const char* f : {"chromium156_sni.bin", "chromium156_ip.bin"}) {
    CAPTURE(f);
    CHECK(stack_of(parsed(tls_test::fixture(f))) == TlsStack::chromium);
  }
  CHECK(stack_of(parsed(tls_test::fixture("firefox_esr153.bin"))) == TlsStack::firefox);
  CHECK(stack_of(parsed(tls_test::chrome143_browserleaks().message())) == TlsStack::chromium);
  CHECK(stack_of(parsed(tls_test::foxio_example().message())) == TlsStack::chromium);
}

TEST_CASE("tls_stack: recorded libraries are openssl-like", "[detect][tls_stack]") {
  for (const char* f : {"curl7.88_openssl3.bin", "wget1.21_gnutls.bin", "python3.11_urllib.bin",
                        "python3_requests.bin", "node20.bin", "openssl3_s_client.bin"}) {
    CAPTURE(f);
    const auto guess = classify_tls_stack(parsed(tls_test::fixture(f)));
    CHECK(guess.stack == TlsStack::openssl_like);
    CHECK(!guess.evidence.empty());
  }
  CHECK(bawwab::detect::tls_stack_name(TlsStack::openssl_like) == "openssl");
}

TEST_CASE("tls_stack: shapes we have no recording of", "[detect][tls_stack]") {
  CHECK(stack_of(parsed(safari_shaped().message())) == TlsStack::safari);
  const auto go = classify_tls_stack(parsed(go_shaped().message()));
  CHECK(go.stack == TlsStack::openssl_like);
  CHECK(go.evidence.find("Go") != std::string_view::npos);
  SECTION("Firefox before delegated_credentials: NSS's suite order and record_size_limit") {
    HelloBuilder b;
    b.ciphers({0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f}).ext(0x001c, {0x40, 0x01});
    CHECK(stack_of(parsed(b.message())) == TlsStack::firefox);
  }
  SECTION("Chrome's cipher list without GREASE is no known shape") {
    HelloBuilder b;
    b.ciphers({0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
               0xc014, 0x009c, 0x009d, 0x002f, 0x0035})
        .ec_point_formats({0});
    CHECK(stack_of(parsed(b.message())) == TlsStack::unknown);
  }
  SECTION("GREASE with an unknown cipher list") {
    HelloBuilder b;
    b.ciphers({0x0a0a, 0x1301, 0xc02b});
    CHECK(stack_of(parsed(b.message())) == TlsStack::unknown);
  }
  SECTION("a TLS 1.2-only hello without any marker (old browsers look like this)") {
    HelloBuilder b;
    b.ciphers({0xc02c, 0xc02b, 0xc024, 0xc023, 0x00ff}).ec_point_formats({0});
    CHECK(stack_of(parsed(b.message())) == TlsStack::unknown);
  }
  SECTION("OpenSSL 1.0.2 (TLS 1.2 only): compressed point formats") {
    HelloBuilder b;
    b.ciphers({0xc030, 0xc02c, 0xc028}).ec_point_formats({0, 1, 2});
    CHECK(stack_of(parsed(b.message())) == TlsStack::openssl_like);
  }
}

TEST_CASE("tls_ua_mismatch: a browser UA over OpenSSL (the in-memory handshake's hello)",
          "[detect][tls_stack]") {
  // A default OpenSSL client, as curl and python use it, captured by the server.
  auto server = tls_test::server_ctx();
  bawwab::detect::enable_client_hello_capture(server.get());
  auto client = tls_test::client_ctx();
  auto hs = tls_test::run_handshake(client.get(), server.get(),
                                    [](SSL* ssl) { SSL_set_tlsext_host_name(ssl, "localhost"); });
  REQUIRE(hs.done);
  const auto r =
      bawwab::detect::parse_client_hello(bawwab::detect::captured_client_hello(hs.server.get()));
  REQUIRE(r.has_value());
  const ClientHello& h = *r;

  CHECK(tls_ua_mismatch(h, kChromeUa) == std::optional<std::string>("openssl"));
  CHECK(tls_ua_mismatch(h, kEdgeUa) == std::optional<std::string>("openssl"));
  CHECK(tls_ua_mismatch(h, kFirefoxUa) == std::optional<std::string>("openssl"));
  CHECK(tls_ua_mismatch(h, kSafariMacUa) == std::optional<std::string>("openssl"));
  CHECK(tls_ua_mismatch(h, kSafariIphoneUa) == std::optional<std::string>("openssl"));
  CHECK(tls_ua_mismatch(h, tls_test::kChrome143AndroidUa) == std::optional<std::string>("openssl"));
  // What curl and python say about themselves is no contradiction.
  CHECK_FALSE(tls_ua_mismatch(h, "curl/7.88.1").has_value());
  CHECK_FALSE(tls_ua_mismatch(h, "python-requests/2.28.1").has_value());
  CHECK_FALSE(tls_ua_mismatch(h, "").has_value());
  // Real browsers whose stack is a library: never flagged.
  CHECK_FALSE(tls_ua_mismatch(h, kEpiphanyUa).has_value());
  CHECK_FALSE(tls_ua_mismatch(h, kEdgeLegacyUa).has_value());
}

TEST_CASE("tls_ua_mismatch: real browsers are never flagged", "[detect][tls_stack]") {
  SECTION("the research file's Chrome vector with its own (Chrome) UA") {
    const auto h = parsed(tls_test::chrome143_browserleaks().message());
    CHECK_FALSE(tls_ua_mismatch(h, tls_test::kChrome143AndroidUa).has_value());
    CHECK_FALSE(tls_ua_mismatch(h, kChromeUa).has_value());
    CHECK_FALSE(tls_ua_mismatch(h, kEdgeUa).has_value());
  }
  SECTION("recorded Chromium and Firefox with their UAs") {
    CHECK_FALSE(
        tls_ua_mismatch(parsed(tls_test::fixture("chromium156_sni.bin")), kChromeUa).has_value());
    CHECK_FALSE(
        tls_ua_mismatch(parsed(tls_test::fixture("firefox_esr153.bin")), kFirefoxUa).has_value());
  }
  SECTION("Safari's shape with Safari UAs") {
    const auto h = parsed(safari_shaped().message());
    CHECK_FALSE(tls_ua_mismatch(h, kSafariMacUa).has_value());
    CHECK_FALSE(tls_ua_mismatch(h, kSafariIphoneUa).has_value());
  }
  SECTION("a browser with a UA switcher: another browser's stack is not reported") {
    CHECK_FALSE(
        tls_ua_mismatch(parsed(tls_test::fixture("firefox_esr153.bin")), kChromeUa).has_value());
    CHECK_FALSE(
        tls_ua_mismatch(parsed(tls_test::fixture("chromium156_sni.bin")), kFirefoxUa).has_value());
    CHECK_FALSE(tls_ua_mismatch(parsed(tls_test::fixture("chromium156_sni.bin")), kSafariMacUa)
                    .has_value());
  }
}

TEST_CASE("tls_ua_mismatch: recorded libraries with a Chrome UA", "[detect][tls_stack]") {
  for (const char* f :
       {"curl7.88_openssl3.bin", "wget1.21_gnutls.bin", "python3_requests.bin", "node20.bin"}) {
    CAPTURE(f);
    CHECK(tls_ua_mismatch(parsed(tls_test::fixture(f)), kChromeUa) ==
          std::optional<std::string>("openssl"));
  }
  CHECK(tls_ua_mismatch(parsed(go_shaped().message()), kChromeUa) ==
        std::optional<std::string>("openssl"));
}
