// The per-response state stays small whatever the input: hold-back <= kMaxHoldBack, and the
// rewriter object plus what it owns well under 16 KB.
#include <catch2/catch.hpp>
#include <string>

#include "rewrite_test_util.hpp"

using namespace bawwab::rewrite;
using namespace bawwab::rewrite::test;

namespace {

constexpr std::size_t kBudget = 16 * 1024;

struct Bound {
  std::size_t max_held = 0;
  std::size_t max_memory = 0;
  std::size_t out_bytes = 0;
};

// Feeds pieces produced by `next(i)` (empty: the end) in `piece_size`-byte steps.
template <class Next>
Bound drive(const std::shared_ptr<const RewriteSpec>& spec, Next next) {
  HtmlRewriter r(spec);
  Bound b;
  std::string out;
  for (std::size_t i = 0;; ++i) {
    const std::string piece = next(i);
    out.clear();
    r.on_data(piece, out, piece.empty());
    b.out_bytes += out.size();
    b.max_held = std::max(b.max_held, r.held_bytes());
    b.max_memory = std::max(b.max_memory, r.memory_bytes());
    if (piece.empty() || r.finished()) break;
  }
  return b;
}

std::shared_ptr<const RewriteSpec> busy_spec() {
  RewriteConfig c;
  c.end_after_head = true;
  c.insertions = {{"head", Position::before_end, "<script></script>"},
                  {"div p", Position::after_start, "x", true},
                  {"#deep", Position::before_end, "y"}};
  c.text_rules.push_back({"div", upper_factory()});
  return compile_or_throw(std::move(c));
}

}  // namespace

TEST_CASE("memory: the object itself is small", "[memory]") {
  CHECK(sizeof(HtmlRewriter) < 6 * 1024);
  HtmlRewriter r(busy_spec());
  CHECK(r.memory_bytes() < kBudget);
}

TEST_CASE("memory: an endless unterminated tag", "[memory]") {
  const std::string chunk(16 * 1024, 'a');
  const Bound b = drive(busy_spec(), [&](std::size_t i) -> std::string {
    if (i == 0) return "<html><head><div title=\"";
    return i < 200 ? chunk : std::string();  // 3 MB of attribute value, then the end
  });
  CHECK(b.max_held <= kMaxHoldBack);
  CHECK(b.max_memory < kBudget);
  CHECK(b.out_bytes == 24 + 199 * chunk.size());
}

TEST_CASE("memory: 100k nested divs", "[memory]") {
  std::string open;
  for (int i = 0; i < 1000; ++i) open += "<div><p>t";
  std::string close;
  for (int i = 0; i < 1000; ++i) close += "</p></div>";
  const Bound b = drive(busy_spec(), [&](std::size_t i) -> std::string {
    if (i < 100) return open;
    if (i < 200) return close;
    return {};
  });
  CHECK(b.max_held <= kMaxHoldBack);
  CHECK(b.max_memory < kBudget);
}

TEST_CASE("memory: a 2 MB comment, a 2 MB line, binary junk", "[memory]") {
  const std::string line(16 * 1024, 'z');
  std::string junk;
  std::uint32_t x = 12345;
  for (int i = 0; i < 16 * 1024; ++i) {
    x = x * 1103515245u + 12345u;
    junk.push_back(static_cast<char>(x >> 24));
  }
  for (const std::string& start :
       {std::string("<html><!--"), std::string("<p>"), std::string("<script>"),
        std::string("<![CDATA["), std::string("<!DOCTYPE"), std::string("")}) {
    for (const std::string* body : {&line, static_cast<const std::string*>(&junk)}) {
      const Bound b = drive(busy_spec(), [&](std::size_t i) -> std::string {
        if (i == 0) return start;
        return i <= 128 ? *body : std::string();
      });
      CHECK(b.max_held <= kMaxHoldBack);
      CHECK(b.max_memory < kBudget);
    }
  }
  // Many tags each just under the limit, cut in the middle.
  const std::string tag = "<p a='" + std::string(kMaxHoldBack - 8, 'q') + "'>";
  const Bound b = drive(busy_spec(), [&](std::size_t i) -> std::string {
    if (i >= 200) return {};
    return i % 2 == 0 ? tag.substr(0, 100) : tag.substr(100);
  });
  CHECK(b.max_held <= kMaxHoldBack);
  CHECK(b.max_memory < kBudget);
}
