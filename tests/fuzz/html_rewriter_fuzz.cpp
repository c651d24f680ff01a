// The HTML rewriter on arbitrary bytes, cut at arbitrary points. Invariants (abort when broken):
// - the output for the input cut into pieces is the output for the input in one piece;
// - with an empty spec the output is the input, byte for byte;
// - the hold-back never exceeds kMaxHoldBack and the per-response memory stays under 16 KB.
// Input layout: byte 0 picks the spec, byte 1 the piece sizes, bytes 2-3 seed the cut points;
// the rest is the document.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/rewrite/html_rewriter.hpp"

namespace {

using namespace bawwab::rewrite;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "html_rewriter_fuzz: invariant broken: %s\n", what);
  std::abort();
}

// Upper-cases ASCII letters and marks the end of each text node: its output does not depend on
// where text chunks are cut, so split == whole must hold with it too.
class Upper final : public TextHandler {
 public:
  void on_text(std::string_view chunk, bool last, std::string& out) override {
    for (const char c : chunk) out.push_back((c >= 'a' && c <= 'z') ? char(c - 32) : c);
    if (last) out.push_back('|');
  }
};

std::shared_ptr<const RewriteSpec> make(RewriteConfig c) {
  SpecCompile r = RewriteSpec::compile(std::move(c));
  check(r.spec != nullptr, "a fuzz spec does not compile");
  return r.spec;
}

const std::vector<std::shared_ptr<const RewriteSpec>>& specs() {
  static const std::vector<std::shared_ptr<const RewriteSpec>> all = [] {
    std::vector<std::shared_ptr<const RewriteSpec>> v;
    v.push_back(make({}));
    RewriteConfig busy;
    busy.insertions = {{"head", Position::before_end, "<script src=/a.js></script>"},
                       {"body", Position::after_start, "<i id=b></i>"},
                       {"p", Position::before_start, "[", true},
                       {"div p", Position::before_end, "]", true},
                       {"#x", Position::after_end, "{x}"},
                       {".c", Position::after_start, "(c)", true},
                       {"a b c d", Position::after_end, "<deep>"},
                       {"img", Position::after_end, "<img2>", true}};
    busy.text_rules.push_back({"p", [] { return std::make_unique<Upper>(); }});
    busy.text_rules.push_back({"title", [] { return std::make_unique<Upper>(); }});
    v.push_back(make(busy));
    RewriteConfig head;
    head.end_after_head = true;
    head.insertions = {{"head", Position::before_end, "<meta name=robots content=noindex>"}};
    v.push_back(make(head));
    RewriteConfig every;
    every.insertions = {{"*", Position::before_start, "<", true},
                        {"*", Position::after_end, ">", true}};
    every.text_rules.push_back({"*", [] { return std::make_unique<Upper>(); }});
    v.push_back(make(every));
    return v;
  }();
  return all;
}

struct Run {
  std::string out;
  bool finished = false;
};

Run run(const std::shared_ptr<const RewriteSpec>& spec, std::string_view doc,
        const std::vector<std::size_t>& sizes) {
  HtmlRewriter r(spec);
  Run result;
  std::size_t at = 0;
  std::size_t k = 0;
  while (true) {
    std::size_t n = doc.size() - at;
    if (!sizes.empty()) n = std::min(n, sizes[k++ % sizes.size()]);
    const bool last = at + n == doc.size();
    r.on_data(doc.substr(at, n), result.out, last);
    at += n;
    check(r.held_bytes() <= kMaxHoldBack, "held_bytes above kMaxHoldBack");
    check(r.memory_bytes() < 16 * 1024, "per-response memory above 16 KB");
    if (r.finished() || last) break;
  }
  result.finished = r.finished();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const auto& all = specs();
  const auto& spec = all[data[0] % all.size()];
  const std::uint8_t mode = data[1];
  std::uint32_t seed = data[2] | (std::uint32_t{data[3]} << 8);
  const std::string_view doc(reinterpret_cast<const char*>(data) + 4, size - 4);

  std::vector<std::size_t> sizes;
  switch (mode % 4) {
    case 0:
      sizes = {1};
      break;
    case 1:
      sizes = {static_cast<std::size_t>(mode / 4 + 1)};
      break;
    default:  // pseudo-random sizes 1..64 (or up to 5000 for big inputs)
      for (int i = 0; i < 64; ++i) {
        seed = seed * 1103515245u + 12345u;
        const std::size_t span = mode % 4 == 2 ? 64 : 5000;
        sizes.push_back(1 + (seed >> 16) % span);
      }
      break;
  }

  const Run whole = run(spec, doc, {});
  const Run split = run(spec, doc, sizes);
  check(whole.out == split.out, "split output differs from whole output");
  check(whole.finished == split.finished, "split finished differs from whole finished");
  if (spec == all[0]) check(whole.out == doc, "empty spec changed the bytes");
  if (!whole.finished && spec != all[0] && spec != all[3]) {
    // Nothing is removed: the input is a subsequence of the output.
    std::size_t j = 0;
    for (const char c : whole.out) {
      if (j < doc.size() && (c == doc[j] || (doc[j] >= 'a' && doc[j] <= 'z' && c == doc[j] - 32)))
        ++j;
    }
    check(j == doc.size(), "input bytes missing from the output");
  }
  return 0;
}
