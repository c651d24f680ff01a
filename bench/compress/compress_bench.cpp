// Response compression: what the gzip and br body filters cost and produce, per page and piece
// size, against what the origin would send (one-shot `gzip -6`, and `gzip -1`, nginx's default
// gzip_comp_level).
//
// Figures per benchmark: bytes_per_second (input MB/s, encoder setup included: a response
// creates one), out_bytes, vs_gzip6 and vs_gzip1 (output / one-shot output of the whole page),
// mem_bytes (what zlib / libbrotli hold for the instance at the end). Variants: the module's
// defaults, nginx's gzip 6 with zlib's default window and memLevel, and libbrotli's own
// defaults (quality 11, lgwin 22) for the memory they would take. Nothing here asserts.
//
//   ./bench/bench_compress --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "bawwab/compress/encoder.hpp"

namespace {

using namespace bawwab::compress;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string& article() {
  static const std::string a =
      slurp(BAWWAB_SOURCE_DIR "/demo/site/articles/hammouchi-spain-counter-terrorism.html");
  return a;
}

const std::string& seed_text() {
  static const std::string s = slurp(BAWWAB_SOURCE_DIR "/tests/fixtures/compress/seed_article.txt");
  return s;
}

// The 2 MB page: the article's <article> element repeated between its head and its footer.
const std::string& big_page() {
  static const std::string page = [] {
    const std::string& a = article();
    const std::size_t b = a.find("<article");
    const std::size_t e = a.find("</article>") + 10;
    std::string p = a.substr(0, b);
    while (p.size() < 2'000'000) p += a.substr(b, e - b);
    return p + a.substr(e);
  }();
  return page;
}

// A less repetitive 2 MB page: the <article> elements of all ten demo articles and the seed text,
// in turn (a cycle of ~50 KB, longer than gzip's 32 KB window).
const std::string& big_mixed_page() {
  static const std::string page = [] {
    std::string cycle;
    for (const char* name :
         {"bilateral-efforts-against-cybercrime", "european-capitals-praise-moroccan-security",
          "hammouchi-moroccan-security-partnerships-europe", "hammouchi-spain-counter-terrorism",
          "interpol-general-assembly-marrakech-2025", "morocco-germany-sports-security",
          "morocco-stability-in-troubled-region", "morocco-us-periodic-security-meetings",
          "paris-2024-olympics-moroccan-expertise", "world-cup-2030-security-readiness"}) {
      const std::string a =
          slurp(std::string(BAWWAB_SOURCE_DIR "/demo/site/articles/") + name + ".html");
      const std::size_t b = a.find("<article");
      const std::size_t e = a.find("</article>") + 10;
      cycle += a.substr(b, e - b);
    }
    cycle += "<p>" + seed_text() + "</p>";
    const std::string& a = article();
    std::string p = a.substr(0, a.find("<article"));
    while (p.size() < 2'000'000) p += cycle;
    return p + a.substr(a.find("</article>") + 10);
  }();
  return page;
}

std::size_t gzip_one_shot(const std::string& in, int level) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, in.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  const std::size_t n = s.total_out;
  deflateEnd(&s);
  return n;
}

using Make = std::function<std::unique_ptr<bawwab::BodyFilter>()>;
using Memory = std::function<std::size_t(const bawwab::BodyFilter&)>;

void run(benchmark::State& state, const std::string& page, std::size_t piece, const Make& make,
         const Memory& memory) {
  std::string out;
  std::size_t mem = 0;
  for (auto _ : state) {
    auto f = make();
    out.clear();
    for (std::size_t off = 0; off < page.size(); off += piece) {
      const bool last = off + piece >= page.size();
      f->on_data(std::string_view(page).substr(off, piece), out, last);
    }
    mem = memory(*f);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * page.size()));
  state.counters["out_bytes"] = static_cast<double>(out.size());
  state.counters["vs_gzip6"] =
      static_cast<double>(out.size()) / static_cast<double>(gzip_one_shot(page, 6));
  state.counters["vs_gzip1"] =
      static_cast<double>(out.size()) / static_cast<double>(gzip_one_shot(page, 1));
  state.counters["mem_bytes"] = static_cast<double>(mem);
}

void one_shot(benchmark::State& state, const std::string& page, int level) {
  std::size_t n = 0;
  for (auto _ : state) n = gzip_one_shot(page, level);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * page.size()));
  state.counters["out_bytes"] = static_cast<double>(n);
}

std::size_t gzip_memory(const bawwab::BodyFilter& f) {
  return dynamic_cast<const GzipEncoder&>(f).memory_bytes();
}
std::size_t br_memory(const bawwab::BodyFilter& f) {
  return dynamic_cast<const BrotliEncoder&>(f).memory_bytes();
}

void register_all() {
  struct Page {
    const char* name;
    const std::string* text;
  };
  const Page pages[] = {{"article", &article()},
                        {"seed", &seed_text()},
                        {"2MB", &big_page()},
                        {"2MB_mixed", &big_mixed_page()}};
  const GzipOptions nginx6{.level = 6, .window_bits = 15, .mem_level = 8};
  const BrotliOptions brotli_lib_default{.quality = 11, .window_bits = 22};
  for (const Page& p : pages) {
    const std::string& text = *p.text;
    const std::string n = p.name;
    benchmark::RegisterBenchmark(("oneshot_gzip6/" + n).c_str(),
                                 [&text](benchmark::State& s) { one_shot(s, text, 6); });
    benchmark::RegisterBenchmark(("oneshot_gzip1/" + n).c_str(),
                                 [&text](benchmark::State& s) { one_shot(s, text, 1); });
    for (std::size_t piece : {std::size_t{16384}, std::size_t{4096}}) {
      const std::string suffix = n + "/" + std::to_string(piece / 1024) + "K";
      benchmark::RegisterBenchmark(
          ("gzip_default/" + suffix).c_str(), [&text, piece](benchmark::State& s) {
            run(
                s, text, piece, [] { return std::make_unique<GzipEncoder>(); }, gzip_memory);
          });
      benchmark::RegisterBenchmark(
          ("br_default/" + suffix).c_str(), [&text, piece](benchmark::State& s) {
            run(
                s, text, piece, [] { return std::make_unique<BrotliEncoder>(); }, br_memory);
          });
      benchmark::RegisterBenchmark(
          ("gzip_l6_w15_m8/" + suffix).c_str(), [&text, piece, nginx6](benchmark::State& s) {
            run(
                s, text, piece, [nginx6] { return std::make_unique<GzipEncoder>(nginx6); },
                gzip_memory);
          });
      if (piece == 16384) {
        benchmark::RegisterBenchmark(("br_q11_w22/" + suffix).c_str(), [&text, piece,
                                                                        brotli_lib_default](
                                                                           benchmark::State& s) {
          run(
              s, text, piece,
              [brotli_lib_default] { return std::make_unique<BrotliEncoder>(brotli_lib_default); },
              br_memory);
        })->Iterations(text.size() > 100'000 ? 1 : 20);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
