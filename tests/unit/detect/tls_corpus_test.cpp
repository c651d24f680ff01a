// Writes the seed corpus of tests/fuzz/tls_hello_fuzz.cpp from the golden vectors, the recorded
// clients and malformed variants. Hidden (not run by default); regenerate with
//   unit_detect "[.write_tls_corpus]"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "tls_hello_builder.hpp"

using tls_test::Bytes;
using tls_test::HelloBuilder;

namespace {

void write(const std::filesystem::path& dir, const std::string& name, const Bytes& b) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(out.good());
}

Bytes cut(Bytes b, std::size_t n) {
  b.resize(std::min(n, b.size()));
  return b;
}

}  // namespace

TEST_CASE("write the tls_hello fuzz corpus", "[.write_tls_corpus]") {
  const std::filesystem::path dir = std::string(BAWWAB_SOURCE_DIR) + "/tests/fuzz/corpus/tls_hello";
  std::filesystem::create_directories(dir);

  const auto foxio = tls_test::foxio_example();
  const auto chrome = tls_test::chrome143_browserleaks();
  write(dir, "golden_foxio.msg", foxio.message());
  write(dir, "golden_foxio_no_sigalgs.msg", tls_test::foxio_example(false).message());
  write(dir, "golden_foxio_records64.rec", foxio.records(64));
  write(dir, "golden_chrome143.rec", chrome.records());
  write(dir, "golden_chrome143_records1.rec", chrome.records(1));

  for (const char* f : {"chromium156_sni.bin", "chromium156_ip.bin", "firefox_esr153.bin",
                        "curl7.88_openssl3.bin", "wget1.21_gnutls.bin", "python3.11_urllib.bin",
                        "python3_requests.bin", "node20.bin", "openssl3_s_client.bin"})
    write(dir, std::string("rec_") + f, tls_test::fixture(f));

  write(dir, "no_extensions.msg",
        HelloBuilder()
            .legacy_version(0x0301)
            .ciphers({4, 5, 10})
            .session_id(0)
            .no_extensions()
            .message());
  HelloBuilder empty;
  empty.compression({});
  write(dir, "empty_lists.msg", empty.message());
  write(dir, "alpn_non_alnum.msg",
        HelloBuilder().ciphers({1}).alpn_raw({{0x30, 0xab}, {}}).ext(0x0000).message());
  write(dir, "duplicate_ext.msg",
        HelloBuilder()
            .ciphers({0x1302})
            .alpn({"h2"})
            .alpn({"x"})
            .ec_point_formats({0, 1, 2})
            .message());

  // Malformed: each must be an error, never a crash.
  write(dir, "trunc_chrome143_half.rec", cut(chrome.records(), 900));
  write(dir, "trunc_foxio_100.msg", cut(foxio.message(), 100));
  write(dir, "trunc_record_header.rec", cut(chrome.records(), 3));
  Bytes bad_alpn = HelloBuilder().ciphers({1}).ext(0x0010, {0x00, 0x03, 0x02, 'h'}).message();
  write(dir, "bad_ext_alpn.msg", bad_alpn);
  write(dir, "bad_session_id.msg", HelloBuilder().ciphers({1}).session_id(33).message());
  Bytes bad_version = chrome.records();
  bad_version[1] = 2;
  write(dir, "bad_record_version.rec", bad_version);
  Bytes bad_ext_len = foxio.message();
  bad_ext_len[112] ^= 0xff;  // the first extension's length (low byte)
  write(dir, "bad_ext_len.msg", bad_ext_len);
  write(dir, "alert.rec", {21, 3, 3, 0, 2, 2, 40});
  write(dir, "sslv2.bin", {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10});
  write(dir, "http_get.bin",
        {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'});
  write(dir, "oversized_record.rec", {22, 3, 1, 0x40, 0x01, 1, 0, 0, 0});
}
