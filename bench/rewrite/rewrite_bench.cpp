// HTML rewriting throughput: the demo article (~10 KB) and a 2 MB page (the article's body
// repeated), fed in 16 KB pieces, as the relay does, through
// - BM_Passthrough: an empty FilterChain (the cost of the chain alone),
// - BM_NoMatch:     the rewriter with a spec that matches nothing (pure scanning),
// - BM_Insert:      one insertion in the head (before </head>) and one at the start of the body,
// - BM_TextHandler: the insertions plus a text handler on `article p` (a copying handler).
// Figures: MB/s (bytes_per_second), max_held (largest hold-back seen, bytes), and, per
// response, sizeof(HtmlRewriter) and the heap bytes allocated by the filter (counted with a
// replaced global operator new; the output buffer is reserved outside the count). Nothing here
// asserts a time.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>

#include "bawwab/core/body_filter.hpp"
#include "bawwab/rewrite/html_rewriter.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocated{0};
std::atomic<std::size_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocated.fetch_add(n, std::memory_order_relaxed);
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace bawwab;
using namespace bawwab::rewrite;

constexpr std::size_t kPiece = 16 * 1024;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const std::string& article() {
  static const std::string s = read_file(
      BAWWAB_SOURCE_DIR "/demo/site/articles/hammouchi-moroccan-security-partnerships-europe.html");
  return s;
}

// The article's head and <body> tag, its body content repeated to 2 MB, then the end.
const std::string& big_page() {
  static const std::string s = [] {
    const std::string& a = article();
    const std::size_t body_start = a.find('>', a.find("<body")) + 1;
    const std::size_t body_end = a.rfind("</body>");
    const std::string content = a.substr(body_start, body_end - body_start);
    std::string out = a.substr(0, body_start);
    while (out.size() < 2 * 1024 * 1024) out += content;
    out += a.substr(body_end);
    return out;
  }();
  return s;
}

const std::string& page(int which) { return which == 0 ? article() : big_page(); }

class Copy final : public TextHandler {
 public:
  void on_text(std::string_view chunk, bool, std::string& out) override { out.append(chunk); }
};

std::shared_ptr<const RewriteSpec> spec(int kind) {
  RewriteConfig c;
  if (kind == 0) {
    c.insertions = {{"#no-such-id", Position::before_start, "<x>"},
                    {"div.absent p", Position::after_start, "<y>"}};
  } else {
    c.insertions = {{"head", Position::before_end, "<script src=/bawwab/b.js defer></script>"},
                    {"body", Position::after_start, "<div id=bawwab-mark></div>"}};
    if (kind == 2) c.text_rules.push_back({"article p", [] { return std::make_unique<Copy>(); }});
  }
  SpecCompile r = RewriteSpec::compile(std::move(c));
  if (!r.spec) std::abort();
  return r.spec;
}

// One response through a chain; returns the largest hold-back seen.
std::size_t one_response(const std::shared_ptr<const RewriteSpec>& s, const std::string& doc,
                         std::string& out) {
  FilterChain chain;
  if (s) chain.add(std::make_unique<HtmlRewriter>(s));
  std::size_t max_held = 0;
  for (std::size_t at = 0; at < doc.size(); at += kPiece) {
    const std::size_t n = std::min(kPiece, doc.size() - at);
    out.clear();
    chain.on_data(std::string_view(doc).substr(at, n), out, at + n == doc.size());
    benchmark::DoNotOptimize(out.data());
    max_held = std::max(max_held, chain.held_bytes());
  }
  return max_held;
}

void run(benchmark::State& state, const std::shared_ptr<const RewriteSpec>& s) {
  const std::string& doc = page(static_cast<int>(state.range(0)));
  std::string out;
  out.reserve(2 * kPiece);
  std::size_t max_held = 0;
  for (auto _ : state) max_held = std::max(max_held, one_response(s, doc, out));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
  state.counters["max_held"] = static_cast<double>(max_held);
  // Heap allocated by one response's filter (the output buffer is already reserved).
  g_allocated = 0;
  g_allocations = 0;
  g_counting = true;
  one_response(s, doc, out);
  g_counting = false;
  state.counters["heap_per_response"] = static_cast<double>(g_allocated.load());
  state.counters["allocs_per_response"] = static_cast<double>(g_allocations.load());
  state.counters["sizeof_rewriter"] = static_cast<double>(s ? sizeof(HtmlRewriter) : 0);
}

void BM_Passthrough(benchmark::State& state) { run(state, nullptr); }
void BM_NoMatch(benchmark::State& state) { run(state, spec(0)); }
void BM_Insert(benchmark::State& state) { run(state, spec(1)); }
void BM_TextHandler(benchmark::State& state) { run(state, spec(2)); }

// Arg 0: the demo article; 1: the 2 MB page.
BENCHMARK(BM_Passthrough)->Arg(0)->Arg(1);
BENCHMARK(BM_NoMatch)->Arg(0)->Arg(1);
BENCHMARK(BM_Insert)->Arg(0)->Arg(1);
BENCHMARK(BM_TextHandler)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
