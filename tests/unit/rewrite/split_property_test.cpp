// Property tests on real pages: cut anywhere (fixed seeds, many cut sets, 1-byte pieces), the
// output is the one of the page in one piece; with nothing to do it is the page itself.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "rewrite_test_util.hpp"

using namespace bawwab::rewrite;
using namespace bawwab::rewrite::test;

namespace {

const std::vector<std::string>& pages() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (const char* name :
         {"demo_index.html", "demo_article.html", "seed_article.html", "tricky_head.html",
          "unclosed.html", "no_head_end.html", "uppercase_attrs.html"}) {
      v.push_back(fixture(name));
    }
    v.push_back(fixture("seed_article.txt"));  // not HTML at all
    return v;
  }();
  return all;
}

std::vector<std::shared_ptr<const RewriteSpec>> specs() {
  std::vector<std::shared_ptr<const RewriteSpec>> v;
  v.push_back(compile_or_throw({}));
  RewriteConfig busy;
  busy.insertions = {
      {"head", Position::before_end, "<script src=/x.js></script>"},
      {"body", Position::after_start, "<div id=banner></div>"},
      {"p", Position::before_start, "<!--p-->", true},
      {"article p", Position::before_end, "<i>.</i>", true},
      {"#the-post", Position::after_end, "<hr>"},
      {"li", Position::after_end, "]", true},
      {".entry-content", Position::before_end, "<em>end</em>"},
  };
  busy.text_rules.push_back({"article p", upper_factory()});
  busy.text_rules.push_back({"a", upper_factory()});
  v.push_back(compile_or_throw(busy));
  RewriteConfig cut;
  cut.end_after_head = true;
  cut.insertions = {{"head", Position::before_end, "<meta name=robots content=noindex>"}};
  v.push_back(compile_or_throw(cut));
  return v;
}

}  // namespace

TEST_CASE("tokenizer: random cuts give the same tokens and bytes", "[property]") {
  std::mt19937 rng(20251203);
  for (const std::string& page : pages()) {
    const Recorder whole = tokenize(page);
    REQUIRE(whole.bytes == page);
    REQUIRE(whole.errors.empty());
    for (int round = 0; round < 40; ++round) {
      const auto cuts = random_cuts(page.size(), rng, 1 + round * 5);
      const Recorder r = tokenize(page, cuts);
      CHECK(r.tokens == whole.tokens);
      CHECK(r.bytes == page);
      CHECK(r.errors.empty());
    }
  }
}

TEST_CASE("rewriter: random cuts and 1-byte pieces give the one-piece output", "[property]") {
  std::mt19937 rng(7);
  const auto all_specs = specs();
  for (std::size_t s = 0; s < all_specs.size(); ++s) {
    for (const std::string& page : pages()) {
      const std::string whole = rewrite(all_specs[s], page);
      if (s == 0) CHECK(whole == page);  // nothing to do: byte-exact
      for (int round = 0; round < 30; ++round) {
        const auto cuts = random_cuts(page.size(), rng, 1 + round * 7);
        INFO("spec " << s << " round " << round);
        CHECK(rewrite(all_specs[s], page, cuts) == whole);
      }
      std::vector<std::size_t> every;
      for (std::size_t i = 1; i < page.size(); ++i) every.push_back(i);
      CHECK(rewrite(all_specs[s], page, every) == whole);
    }
  }
}

TEST_CASE("rewriter: the busy spec does change the demo pages", "[property]") {
  const auto spec = specs()[1];
  const std::string page = fixture("demo_article.html");
  const std::string out = rewrite(spec, page);
  CHECK(out.find("<script src=/x.js></script></head>") != std::string::npos);
  CHECK(out.find("<div id=banner></div>") != std::string::npos);
  CHECK(out.find("<!--p--><p") != std::string::npos);
}
