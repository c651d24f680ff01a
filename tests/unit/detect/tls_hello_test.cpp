#include "bawwab/detect/tls_hello.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bawwab/detect/tls_fingerprint.hpp"
#include "tls_hello_builder.hpp"

using bawwab::detect::ClientHello;
using bawwab::detect::parse_client_hello;
using bawwab::detect::TlsHelloErrc;
using tls_test::Bytes;
using tls_test::HelloBuilder;

namespace {

boost::system::error_code error_of(const Bytes& b) {
  const auto r = parse_client_hello(tls_test::view(b));
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

ClientHello parsed(const Bytes& b) {
  auto r = parse_client_hello(tls_test::view(b));
  if (!r) FAIL("parse failed: " << r.error().message());
  return *r;
}

HelloBuilder small_hello() {
  HelloBuilder b;
  b.ciphers({0x1301, 0xc02b}).sni("a.example").alpn({"h2"}).supported_versions({0x0304});
  return b;
}

}  // namespace

TEST_CASE("tls_hello: fields of the Chrome 143 vector, in wire order with GREASE",
          "[detect][tls_hello]") {
  const auto h = parsed(tls_test::chrome143_browserleaks().message());
  CHECK(h.legacy_version == 0x0303);
  CHECK(h.session_id_size == 32);
  CHECK(h.cipher_suites.size() == 16);
  CHECK(h.cipher_suites.front() == 43690);  // GREASE kept
  CHECK(h.compression_methods == std::vector<std::uint8_t>{0});
  CHECK(h.extensions == std::vector<std::uint16_t>{19018, 45, 51, 16, 65037, 23, 17613, 0, 11, 10,
                                                   43, 65281, 35, 18, 5, 13, 27, 27242});
  CHECK(h.sni == "tls-outer.browserleaks.com");
  CHECK(h.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(h.supported_versions == std::vector<std::uint16_t>{27242, 772, 771});
  CHECK(h.supported_groups == std::vector<std::uint16_t>{14906, 4588, 29, 23, 24});
  CHECK(h.ec_point_formats == std::vector<std::uint8_t>{0});
  CHECK(h.signature_algorithms ==
        std::vector<std::uint16_t>{1027, 2052, 1025, 1283, 2053, 1281, 2054, 1537});
  CHECK(h.key_share_groups == std::vector<std::uint16_t>{14906, 4588, 29});
  CHECK(h.psk_key_exchange_modes == std::vector<std::uint8_t>{1});
  CHECK(h.cert_compression_algorithms == std::vector<std::uint16_t>{2});
  CHECK(h.has_extension(0xfe0d));
  CHECK_FALSE(h.has_extension(0x0015));
  CHECK(h.message_size == tls_test::chrome143_browserleaks().message().size());
}

TEST_CASE("tls_hello: records and the bare message give the same hello", "[detect][tls_hello]") {
  const auto b = tls_test::chrome143_browserleaks();
  const auto msg = b.message();
  const auto ref = bawwab::detect::ja4_ro(parsed(msg));
  SECTION("one record") { CHECK(bawwab::detect::ja4_ro(parsed(b.records())) == ref); }
  SECTION("fragmented over records of 100 bytes") {
    CHECK(bawwab::detect::ja4_ro(parsed(b.records(100))) == ref);
  }
  SECTION("one byte a record (the header split too)") {
    CHECK(bawwab::detect::ja4_ro(parsed(b.records(1))) == ref);
  }
  SECTION("bytes after the message are not looked at") {
    Bytes more = msg;
    more.insert(more.end(), {0xde, 0xad, 0xbe, 0xef});
    CHECK(bawwab::detect::ja4_ro(parsed(more)) == ref);
    Bytes recs = b.records(700);
    recs.insert(recs.end(), {23, 3, 3, 0, 2, 0xaa, 0xbb});  // early data after the hello
    CHECK(bawwab::detect::ja4_ro(parsed(recs)) == ref);
  }
}

TEST_CASE("tls_hello: every prefix of a hello is truncated", "[detect][tls_hello]") {
  const auto b = small_hello();
  for (const Bytes& whole : {b.message(), b.records(), b.records(7)}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      CAPTURE(whole.size(), n);
      const Bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
      CHECK(error_of(prefix) == TlsHelloErrc::truncated);
    }
    CHECK(parse_client_hello(tls_test::view(whole)).has_value());
  }
}

TEST_CASE("tls_hello: lenient content", "[detect][tls_hello]") {
  SECTION("no extensions block at all") {
    const auto h =
        parsed(HelloBuilder().ciphers({4, 5, 10}).session_id(0).no_extensions().message());
    CHECK(h.extensions.empty());
    CHECK(h.cipher_suites == std::vector<std::uint16_t>{4, 5, 10});
    CHECK(h.session_id_size == 0);
  }
  SECTION("an empty extensions block, no ciphers, no compression methods") {
    HelloBuilder b;
    b.compression({});
    const auto h = parsed(b.message());
    CHECK(h.extensions.empty());
    CHECK(h.cipher_suites.empty());
  }
  SECTION("unknown extensions are listed, their bodies skipped") {
    const auto h = parsed(HelloBuilder().ciphers({1}).ext(0x1234, {1, 2, 3}).ext(0xfafa).message());
    CHECK(h.extensions == std::vector<std::uint16_t>{0x1234, 0xfafa});
  }
  SECTION("empty ALPN names and empty SNI / ALPN bodies") {
    auto h = parsed(HelloBuilder().ciphers({1}).alpn({"", "h2"}).message());
    CHECK(h.alpn == std::vector<std::string>{"", "h2"});
    h = parsed(HelloBuilder().ciphers({1}).ext(0x0000).ext(0x0010).message());
    CHECK(h.has_extension(0x0000));
    CHECK(h.sni.empty());
    CHECK(h.alpn.empty());
  }
  SECTION("a duplicated extension is listed twice, its first body counts") {
    const auto h = parsed(HelloBuilder().ciphers({1}).alpn({"h2"}).alpn({"http/1.1"}).message());
    CHECK(h.extensions == std::vector<std::uint16_t>{0x0010, 0x0010});
    CHECK(h.alpn == std::vector<std::string>{"h2"});
  }
  SECTION("SNI: the first host_name entry") {
    Bytes list;
    tls_test::put8(list, 7);  // an unknown name type first
    tls_test::append(list, tls_test::prefixed(2, {'x'}));
    tls_test::put8(list, 0);
    tls_test::append(list, tls_test::prefixed(2, {'a', '.', 'b'}));
    tls_test::put8(list, 0);
    tls_test::append(list, tls_test::prefixed(2, {'c'}));
    const auto h =
        parsed(HelloBuilder().ciphers({1}).ext(0, tls_test::prefixed(2, list)).message());
    CHECK(h.sni == "a.b");
  }
  SECTION("record_size_limit, delegated_credentials, padding") {
    const auto h = parsed(HelloBuilder()
                              .ciphers({1})
                              .ext(0x001c, {0x40, 0x01})
                              .ext(0x0022, tls_test::prefixed(2, tls_test::u16s({0x0403})))
                              .ext(0x0015, tls_test::filled(17, 0))
                              .message());
    REQUIRE(h.record_size_limit.has_value());
    CHECK(*h.record_size_limit == 0x4001);
    CHECK(h.delegated_credential_algorithms == std::vector<std::uint16_t>{0x0403});
    CHECK(h.padding_size == 17);
  }
}

TEST_CASE("tls_hello: malformed input is an error value", "[detect][tls_hello]") {
  const auto good = small_hello();
  const Bytes msg = good.message();

  SECTION("empty input") { CHECK(error_of({}) == TlsHelloErrc::truncated); }
  SECTION("not a handshake record") {
    CHECK(error_of({21, 3, 3, 0, 2, 2, 40}) == TlsHelloErrc::not_handshake);  // an alert
    CHECK(error_of({23, 3, 3, 0, 1, 0}) == TlsHelloErrc::not_handshake);
  }
  SECTION("a handshake message that is not a ClientHello") {
    CHECK(error_of({2, 0, 0, 0}) == TlsHelloErrc::not_client_hello);
    CHECK(error_of({22, 3, 3, 0, 4, 2, 0, 0, 0}) == TlsHelloErrc::not_client_hello);
    CHECK(error_of({22, 3, 3, 0, 1, 11}) == TlsHelloErrc::not_client_hello);  // first byte only
    CHECK(error_of({'G', 'E', 'T', ' ', '/'}) == TlsHelloErrc::not_client_hello);
  }
  SECTION("an SSLv2-format hello") {
    CHECK(error_of({0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}) == TlsHelloErrc::sslv2_hello);
  }
  SECTION("bad record headers") {
    Bytes r = good.records();
    r[1] = 2;  // SSL 2 major version
    CHECK(error_of(r) == TlsHelloErrc::bad_record);
    CHECK(error_of({22, 3, 1, 0, 0}) == TlsHelloErrc::bad_record);           // empty record
    CHECK(error_of({22, 3, 1, 0x40, 0x01, 1}) == TlsHelloErrc::bad_record);  // over 2^14
    Bytes split = good.records(10);
    split[15] = 23;  // second record is application data
    CHECK(error_of(split) == TlsHelloErrc::bad_record);
  }
  SECTION("session id over 32 bytes") {
    CHECK(error_of(HelloBuilder().ciphers({1}).session_id(33).message()) ==
          TlsHelloErrc::malformed);
  }
  SECTION("odd cipher suites length") {
    CHECK(error_of(HelloBuilder().raw_ciphers({0x13, 0x01, 0x13}).message()) ==
          TlsHelloErrc::malformed);
  }
  SECTION("the message length claims less than its parts") {
    Bytes m = msg;
    m.push_back(0);  // one byte past the extensions, inside the message
    m[3] = static_cast<std::uint8_t>(m[3] + 1);
    CHECK(error_of(m) == TlsHelloErrc::malformed);
  }
  SECTION("extension block longer or shorter than the rest of the message") {
    // legacy_version 2 + random 32 + session id 1+32 + ciphers 2+4 + compression 1+1 = 75.
    const std::size_t at = 4 + 75;
    Bytes m = msg;
    m[at + 1] = static_cast<std::uint8_t>(m[at + 1] + 1);
    CHECK(error_of(m) == TlsHelloErrc::malformed);
    m = msg;
    m[at + 1] = static_cast<std::uint8_t>(m[at + 1] - 1);
    CHECK(error_of(m) == TlsHelloErrc::malformed);
  }
  SECTION("an extension longer than the block") {
    Bytes m = HelloBuilder().ciphers({1}).ext(0x1234, {1, 2}).message();
    m[m.size() - 3] = 3;  // the extension claims 3 bytes of body, 2 follow
    CHECK(error_of(m) == TlsHelloErrc::malformed);
  }
  SECTION("decoded extensions whose inner lengths do not add up") {
    const std::vector<std::pair<unsigned, Bytes>> bad = {
        {0x0010, {0x00, 0x03, 0x02, 'h'}},                     // ALPN name past its list
        {0x0010, {0x00, 0x02, 0x01, 'h', 0x00}},               // ALPN list shorter than body
        {0x0000, {0x00, 0x05, 0x00, 0x00, 0x09, 'a', 'b'}},    // SNI name past its list
        {0x002b, {0x03, 0x03, 0x04, 0x03}},                    // supported_versions odd
        {0x000d, {0x00, 0x04, 0x04, 0x03}},                    // sigalgs list past body
        {0x000a, {0x00, 0x01, 0x00}},                          // groups odd
        {0x000b, {0x02, 0x00}},                                // point formats past body
        {0x0033, {0x00, 0x06, 0x00, 0x1d, 0x00, 0x20, 1, 2}},  // key share past its list
        {0x001c, {0x40, 0x00, 0x00}},                          // record_size_limit: 3 bytes
        {0x001b, {0x03, 0x00, 0x02, 0x00}},                    // compress_certificate odd
    };
    for (const auto& [type, body] : bad) {
      CAPTURE(type);
      CHECK(error_of(HelloBuilder().ciphers({1}).ext(type, body).message()) ==
            TlsHelloErrc::bad_extension);
    }
  }
  SECTION("errors have messages in their own category") {
    const auto ec = make_error_code(TlsHelloErrc::bad_extension);
    CHECK(std::string(ec.category().name()) == "bawwab.tls_hello");
    CHECK(ec.message() == "malformed ClientHello extension");
  }
}

TEST_CASE("tls_hello: GREASE values", "[detect][tls_hello]") {
  int n = 0;
  for (unsigned v = 0; v <= 0xffff; ++v) {
    if (!bawwab::detect::is_grease(static_cast<std::uint16_t>(v))) continue;
    ++n;
    CHECK(((v >> 8) & 0x0f) == 0x0a);
  }
  CHECK(n == 16);
  CHECK(bawwab::detect::is_grease(0x0a0a));
  CHECK(bawwab::detect::is_grease(0xfafa));
  CHECK_FALSE(bawwab::detect::is_grease(0x0a1a));
  CHECK_FALSE(bawwab::detect::is_grease(0x1301));
}
