// Golden tests: every published vector of research §2.1/§2.2 (and the FoxIO and browserleaks
// decodes they come from), then the JA4 rules one by one, then real recorded clients.
#include "bawwab/detect/tls_fingerprint.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "bawwab/detect/tls_hello.hpp"
#include "tls_hello_builder.hpp"

using bawwab::detect::ClientHello;
using bawwab::detect::ja3;
using bawwab::detect::ja3_string;
using bawwab::detect::ja3n;
using bawwab::detect::ja3n_string;
using bawwab::detect::ja4;
using bawwab::detect::ja4_o;
using bawwab::detect::ja4_r;
using bawwab::detect::ja4_ro;
using tls_test::Bytes;
using tls_test::HelloBuilder;

namespace {

ClientHello parsed(const Bytes& b) {
  auto r = bawwab::detect::parse_client_hello(tls_test::view(b));
  if (!r) FAIL("parse failed: " << r.error().message());
  return *r;
}

ClientHello parsed(const HelloBuilder& b) { return parsed(b.message()); }

std::string ja4_a(const HelloBuilder& b) { return ja4(parsed(b)).substr(0, 10); }

}  // namespace

TEST_CASE("JA4 golden: FoxIO's worked example (research §2.2)", "[detect][tls_fingerprint]") {
  const auto h = parsed(tls_test::foxio_example());
  CHECK(ja4(h) == "t13d1516h2_8daaf6152771_e5627efa2ab1");
  CHECK(ja4_r(h) ==
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
        "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
        "0403,0804,0401,0503,0805,0501,0806,0601");
  CHECK(ja4_o(h) == "t13d1516h2_acb858a92679_18f69afefd3d");
  CHECK(ja4_ro(h) ==
        "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"
        "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_"
        "0403,0804,0401,0503,0805,0501,0806,0601");
  CHECK(ja4(h, 'q') == "q13d1516h2_8daaf6152771_e5627efa2ab1");

  SECTION("without signature algorithms the underscore goes: 6d807ffa2a79") {
    const auto n = parsed(tls_test::foxio_example(false));
    CHECK(ja4(n) == "t13d1516h2_8daaf6152771_6d807ffa2a79");
  }
  SECTION("the same hello in records of 64 bytes") {
    CHECK(ja4(parsed(tls_test::foxio_example().records(64))) ==
          "t13d1516h2_8daaf6152771_e5627efa2ab1");
  }
}

TEST_CASE("JA3/JA3N/JA4 golden: Chrome 143 from browserleaks (research §2.1)",
          "[detect][tls_fingerprint]") {
  const auto h = parsed(tls_test::chrome143_browserleaks());
  CHECK(ja3_string(h) ==
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0");
  CHECK(ja3(h) == "98487aa16281980e7d1120d399efb6a4");
  CHECK(ja3n_string(h) ==
        "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
        "0-5-10-11-13-16-18-23-27-35-43-45-51-17613-65037-65281,4588-29-23-24,0");
  CHECK(ja3n(h) == "8e19337e7524d2573be54efb2b0784c9");
  // The same page publishes the JA4 forms of that hello.
  CHECK(ja4(h) == "t13d1516h2_8daaf6152771_d8a2da3f94cd");
  CHECK(ja4_r(h) ==
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
        "0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_"
        "0403,0804,0401,0503,0805,0501,0806,0601");
  CHECK(ja4_o(h) == "t13d1516h2_acb858a92679_f96a17c57971");
  CHECK(ja4_ro(h) ==
        "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"
        "002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b_"
        "0403,0804,0401,0503,0805,0501,0806,0601");
}

TEST_CASE("JA3: absent fields stay empty (research §2.1: 769,4-5-10,,,)",
          "[detect][tls_fingerprint]") {
  const auto h = parsed(HelloBuilder().legacy_version(0x0301).ciphers({4, 5, 10}).no_extensions());
  CHECK(ja3_string(h) == "769,4-5-10,,,");
  CHECK(ja3(h).size() == 32);
  CHECK(ja3n_string(h) == "769,4-5-10,,,");
}

TEST_CASE("JA4 a: version", "[detect][tls_fingerprint]") {
  auto with_versions = [](std::initializer_list<unsigned> v) {
    HelloBuilder b;
    b.ciphers({0x1301}).supported_versions(v);
    return ja4_a(b).substr(1, 2);
  };
  CHECK(with_versions({0x0304, 0x0303}) == "13");
  CHECK(with_versions({0x0303, 0x0304}) == "13");  // highest, not first
  CHECK(with_versions({0x2a2a, 0x0303}) == "12");  // GREASE ignored
  CHECK(with_versions({0x0302}) == "11");
  CHECK(with_versions({0x0301}) == "10");
  CHECK(with_versions({0x0300}) == "s3");
  CHECK(with_versions({0x0002}) == "s2");
  CHECK(with_versions({0xfeff}) == "d1");
  CHECK(with_versions({0xfefd}) == "d2");
  CHECK(with_versions({0xfefc}) == "d3");
  CHECK(with_versions({0x0305}) == "00");  // unknown
  // Without supported_versions (or with only GREASE in it): legacy_version.
  CHECK(with_versions({0x3a3a}) == "12");
  CHECK(ja4_a(HelloBuilder().legacy_version(0x0301).ciphers({1})).substr(1, 2) == "10");
  CHECK(ja4_a(HelloBuilder().legacy_version(0x0303).ciphers({1})).substr(1, 2) == "12");
  CHECK(ja4_a(HelloBuilder().legacy_version(0x1234).ciphers({1})).substr(1, 2) == "00");
}

TEST_CASE("JA4 a: SNI, counts", "[detect][tls_fingerprint]") {
  CHECK(ja4_a(HelloBuilder().ciphers({1})) == "t12i010000");
  CHECK(ja4_a(HelloBuilder().ciphers({1}).sni("x")) == "t12d010100");
  SECTION("GREASE is not counted; SCSV and reserved values are") {
    CHECK(ja4_a(HelloBuilder()
                    .ciphers({0x0a0a, 0x1301, 0x00ff, 0x5600, 0xfe00})
                    .ext(0xdada)
                    .ext(0x0017)) == "t12i040100");
  }
  SECTION("counts are capped at 99") {
    HelloBuilder b;
    Bytes many;
    for (unsigned i = 1; i <= 150; ++i) tls_test::put16(many, i);
    b.raw_ciphers(many);
    for (unsigned i = 1; i <= 120; ++i) b.ext(0x1000 + i);
    CHECK(ja4_a(b) == "t12i999900");
  }
}

TEST_CASE("JA4 a: ALPN characters (the spec's examples)", "[detect][tls_fingerprint]") {
  auto alpn = [](std::initializer_list<Bytes> values) {
    HelloBuilder b;
    b.ciphers({1}).alpn_raw(values);
    return ja4_a(b).substr(8, 2);
  };
  CHECK(alpn({{'h', '2'}, {'h', 't', 't', 'p', '/', '1', '.', '1'}}) == "h2");
  CHECK(alpn({{'h', 't', 't', 'p', '/', '1', '.', '1'}}) == "h1");
  CHECK(alpn({{'h'}}) == "hh");  // a single character twice
  CHECK(alpn({{0xab}}) == "ab");
  CHECK(alpn({{0xab, 0xcd}}) == "ad");
  CHECK(alpn({{0x30, 0xab}}) == "3b");
  CHECK(alpn({{0x30, 0x31, 0xab, 0xcd}}) == "3d");
  CHECK(alpn({{0x30, 0xab, 0xcd, 0x31}}) == "01");
  CHECK(alpn({{'h', '/'}}) == "6f");      // '/' is not alphanumeric: hex of "h/" is 682f
  CHECK(alpn({{}, {'h', '2'}}) == "00");  // the first value is empty
  CHECK(alpn({}) == "00");                // an empty list
  CHECK(ja4_a(HelloBuilder().ciphers({1})).substr(8, 2) == "00");  // no ALPN extension
}

TEST_CASE("JA4 b and c: empty lists", "[detect][tls_fingerprint]") {
  SECTION("no ciphers, no extensions") {
    HelloBuilder b;
    b.compression({0});
    CHECK(ja4(parsed(b)) == "t12i000000_000000000000_000000000000");
    CHECK(ja4_o(parsed(b)) == "t12i000000_000000000000_000000000000");
    CHECK(ja4_r(parsed(b)) == "t12i000000__");
  }
  SECTION("only SNI and ALPN: counted in a, not hashed in c") {
    const auto h = parsed(HelloBuilder().ciphers({0x1301}).sni("x").alpn({"h2"}));
    const auto fp = ja4(h);
    CHECK(fp.substr(0, 10) == "t12d0102h2");
    CHECK(fp.substr(24) == "000000000000");
    CHECK(ja4_o(h).substr(24) != "000000000000");  // the original form keeps them
  }
  SECTION("only GREASE extensions") {
    CHECK(ja4(parsed(HelloBuilder().ciphers({1}).ext(0x0a0a))).substr(24) == "000000000000");
  }
}

TEST_CASE("JA4 is the same for Chrome's permuted extension orders", "[detect][tls_fingerprint]") {
  // Two recorded connections of one Chromium: different extension order (and one without SNI),
  // so different JA3; JA4's c part sorts and drops SNI, so it is the same.
  const auto a = parsed(tls_test::fixture("chromium156_sni.bin"));
  const auto b = parsed(tls_test::fixture("chromium156_ip.bin"));
  CHECK(a.extensions != b.extensions);
  CHECK(ja3(a) != ja3(b));
  CHECK(ja4(a) == "t13d1517h2_8daaf6152771_cb7bf5808d99");
  CHECK(ja4(b) == "t13i1516h2_8daaf6152771_cb7bf5808d99");
}

TEST_CASE("fingerprints of recorded clients", "[detect][tls_fingerprint]") {
  struct Case {
    const char* file;
    const char* ja4;
    const char* ja3;
  };
  // curl's two values are published for curl/OpenSSL 3 in several public projects; the others
  // were cross-checked with an independent Python implementation (see the fixtures' README).
  const Case cases[] = {
      {"curl7.88_openssl3.bin", "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
       "0149f47eabf9a20d0893e2a44e5a6323"},
      {"chromium156_sni.bin", "t13d1517h2_8daaf6152771_cb7bf5808d99",
       "bc0b792f387a1ac4a7cdf846eb378eaa"},
      {"firefox_esr153.bin", "t13d1617h2_86a278354501_3cbfd9057e0d",
       "6447ab086255d194909d4013b1a89e87"},
      {"wget1.21_gnutls.bin", "t13d291300_723694b0fccc_899037bd0b8c",
       "bb4f9fef542ff6b4b29aa653bf0c1d31"},
      {"python3.11_urllib.bin", "t13d311100_e8f1e7e78f70_d41ae481755e",
       "d39e1be3241d516b1f714bd47c2bc968"},
      {"python3_requests.bin", "t13d4312h1_c7886603b240_b26ce05bbdd6",
       "07ff1e545ef8ab3fcf8a4dc9272221c2"},
      {"node20.bin", "t13d591000_a33745022dd6_1f22a2ca17c4", "0cce74b0d9b7f8528fb2181588d23793"},
      {"openssl3_s_client.bin", "t13d311000_e8f1e7e78f70_1f22a2ca17c4",
       "a3afc2c46ba4a7d7fbe1cfb7a3031c2f"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    const auto bytes = tls_test::fixture(c.file);
    REQUIRE(!bytes.empty());
    const auto h = parsed(bytes);
    CHECK(ja4(h) == c.ja4);
    CHECK(ja3(h) == c.ja3);
  }
}

TEST_CASE("tls_binding: JA4 that ignores padding, pre_shared_key and early_data",
          "[detect][tls_fingerprint]") {
  auto h = parsed(tls_test::foxio_example());
  const std::string bound = tls_binding(h);
  CHECK(bound.starts_with("t13d"));
  // A resumed hello of the same browser: the PSK and early-data extensions come and go, padding
  // changes; the binding stays.
  auto resumed = h;
  resumed.extensions.push_back(0x0029);
  resumed.extensions.push_back(0x002a);
  std::erase(resumed.extensions, std::uint16_t{0x0015});
  CHECK(ja4(resumed) != ja4(h));
  CHECK(tls_binding(resumed) == bound);
  // Another stack: one more real extension changes it.
  auto other = h;
  other.extensions.push_back(0x001c);  // record_size_limit
  CHECK(tls_binding(other) != bound);
}
