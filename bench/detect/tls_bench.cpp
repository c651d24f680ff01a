// Cost of the TLS fingerprint per handshake: parsing the captured ClientHello (the handshake
// message, as detect/tls_capture keeps it) and computing JA4, then everything the detection
// phase computes from it (JA4, JA3, JA3N, the stack guess). Inputs: recorded real clients.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "bawwab/detect/tls_fingerprint.hpp"
#include "bawwab/detect/tls_hello.hpp"
#include "bawwab/detect/tls_stack.hpp"

namespace {

using namespace bawwab;

const char* const kClients[] = {"chromium156_sni.bin", "firefox_esr153.bin",
                                "curl7.88_openssl3.bin"};

// The handshake message inside the recorded first flight (one record each).
std::string load_message(int client) {
  const std::string path =
      std::string(BAWWAB_SOURCE_DIR) + "/tests/fixtures/detect/tls_hello/" + kClients[client];
  std::ifstream in(path, std::ios::binary);
  std::string rec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (rec.size() < 6) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  return rec.substr(5);
}

void label(benchmark::State& state) { state.SetLabel(kClients[state.range(0)]); }

// The per-handshake cost that matters: captured bytes in, JA4 out.
void BM_Ja4_ParseAndJa4(benchmark::State& state) {
  const std::string msg = load_message(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto h = detect::parse_client_hello(msg);
    std::string fp = detect::ja4(*h);
    benchmark::DoNotOptimize(fp);
  }
  label(state);
}
BENCHMARK(BM_Ja4_ParseAndJa4)->DenseRange(0, 2);

void BM_Ja4_ParseOnly(benchmark::State& state) {
  const std::string msg = load_message(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto h = detect::parse_client_hello(msg);
    benchmark::DoNotOptimize(h);
  }
  label(state);
}
BENCHMARK(BM_Ja4_ParseOnly)->DenseRange(0, 2);

void BM_Ja4_FromParsed(benchmark::State& state) {
  const auto h = detect::parse_client_hello(load_message(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    std::string fp = detect::ja4(*h);
    benchmark::DoNotOptimize(fp);
  }
  label(state);
}
BENCHMARK(BM_Ja4_FromParsed)->DenseRange(0, 2);

// Everything per handshake: parse, JA4, JA3, JA3N, stack guess and UA check.
void BM_Ja4_AllTlsSignals(benchmark::State& state) {
  const std::string msg = load_message(static_cast<int>(state.range(0)));
  constexpr std::string_view ua =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36";
  for (auto _ : state) {
    auto h = detect::parse_client_hello(msg);
    std::string a = detect::ja4(*h);
    std::string b = detect::ja3(*h);
    std::string c = detect::ja3n(*h);
    auto m = detect::tls_ua_mismatch(*h, ua);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(m);
  }
  label(state);
}
BENCHMARK(BM_Ja4_AllTlsSignals)->DenseRange(0, 2);

}  // namespace
