// Loader errors: one fixture a kind of problem (tests/fixtures/rules/errors/*.yaml), each ending
// with the diagnostics it must give as "# expect: file:line:column: message" lines. Every
// diagnostic is compared (message, line and column), in order, and nothing else may be reported.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rules_test_util.hpp"

using namespace bawwab;
using namespace bawwab::rules;
namespace fs = std::filesystem;

namespace {

const std::string kErrors = BAWWAB_FIXTURES "/rules/errors/";

std::vector<std::string> expected(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  constexpr std::string_view kTag = "# expect: ";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(kTag)) out.push_back(line.substr(kTag.size()));
  }
  return out;
}

// Diagnostics with the fixture directory cut from file names, so expectations do not depend on
// where the checkout is.
std::vector<std::string> actual(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string s = d.format();
    for (auto at = s.find(kErrors); at != std::string::npos; at = s.find(kErrors)) {
      s.erase(at, kErrors.size());
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

TEST_CASE("every error fixture gives exactly the diagnostics it expects") {
  std::vector<fs::path> fixtures;
  for (const auto& e : fs::directory_iterator(kErrors)) {
    if (e.path().extension() == ".yaml") fixtures.push_back(e.path());
  }
  std::sort(fixtures.begin(), fixtures.end());
  REQUIRE(fixtures.size() >= 25);
  for (const fs::path& f : fixtures) {
    SECTION(f.filename().string()) {
      const auto want = expected(f);
      REQUIRE_FALSE(want.empty());
      const LoadResult r = load_rules({f.string()});
      CHECK(actual(r) == want);
      const bool errors = std::any_of(want.begin(), want.end(), [](const std::string& s) {
        return s.find(": warning: ") == std::string::npos;
      });
      // No rule set when anything is wrong; warnings alone do not stop a load.
      CHECK((r.rules == nullptr) == errors);
      CHECK(has_errors(r.diagnostics) == errors);
    }
  }
}

TEST_CASE("diagnostics inside a rule start with the rule id") {
  const LoadResult r = load_rules_text(R"(
rules:
  - id: feeds-never-challenged
    when: { path: { prefix: /feed } }
    then: { rate_limit: feed-per-ip }
)",
                                       "default.yaml");
  REQUIRE(r.diagnostics.size() == 1);
  const Diagnostic& d = r.diagnostics[0];
  CHECK(d.file == "default.yaml");
  CHECK(d.line == 5);
  CHECK(d.column == 25);
  CHECK(d.message == "rule 'feeds-never-challenged': then.rate_limit: unknown limit 'feed-per-ip'");
  CHECK(d.format() ==
        "default.yaml:5:25: rule 'feeds-never-challenged': then.rate_limit: "
        "unknown limit 'feed-per-ip'");
  CHECK(d.severity == Diagnostic::Severity::error);
}

TEST_CASE("all problems are reported, sorted by position, across rules") {
  const auto all = test::diagnostics(R"(
rules:
  - { id: a, when: { pth: /x }, then: block }
  - { id: b, when: { path: { regex: '(' } }, then: blok }
  - { id: a, then: [ allow, block ] }
)");
  CHECK(all ==
        std::vector<std::string>{
            "test.yaml:3:22: rule 'a': when: unknown condition 'pth' (did you mean 'path'?)",
            "test.yaml:4:37: rule 'b': when.path.regex: bad regex '(': missing ): (",
            "test.yaml:4:52: rule 'b': then: unknown action 'blok' (did you mean 'block'?)",
            "test.yaml:5:11: rule 'a': duplicate id (first defined at test.yaml:3:11)",
            "test.yaml:5:29: rule 'a': then[1]: more than one terminal action: 'block' here "
            "and 'allow' at line 5, column 22 (a rule ends with at most one of allow, block, "
            "challenge, rate_limit, tarpit)"});
}

TEST_CASE("the loader never throws: binary garbage and odd YAML are diagnostics") {
  const std::vector<std::string> inputs = {
      std::string("\0\x01\xff\xfe", 4),
      ",: }",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
      std::string(600, '[') + std::string(600, ']'),
      "rules: !!binary aGVsbG8=",
      "a: &x [*x]",
      "rules: [{id: a, when: &w {not: *w}, then: block}]",
      "rules:\n  - id: a\n    when: {all: [{all: [{all: [{all: [{all: [{all: [{all: [{all: "
      "[]}]}]}]}]}]}]}]}",
      "? [a]\n: b",
      "lists: {ai: {file: /dev/zero}}",
      "include: /dev/null",
      "include: /proc/self/fd/0/../../../..",
      "networks: {x: {file: /etc}}",
  };
  for (const std::string& in : inputs) {
    INFO(in);
    LoadResult r;
    CHECK_NOTHROW(r = load_rules_text(in, "odd.yaml"));
    CHECK((r.rules == nullptr) == has_errors(r.diagnostics));
  }
}

TEST_CASE("aliases cannot blow a small file up into a huge tree") {
  // Each rule's condition is any of 8 copies of the previous one: 8^9 = 134 million regexes
  // once the aliases are expanded, from a file of 2 KB.
  std::string yaml = "rules:\n  - { id: r0, when: &c0 { path: { regex: x } }, then: block }\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*c" + std::to_string(i - 1);
    yaml += "  - { id: r" + std::to_string(i) + ", when: &c" + std::to_string(i) + " { any: [" + p;
    for (int k = 1; k < 8; ++k) yaml += ", { all: [" + p + "] }";
    yaml += "] }, then: block }\n";
  }
  const LoadResult r = load_rules_text(yaml, "bomb.yaml");
  CHECK(r.rules == nullptr);
  bool budget = false;
  for (const auto& d : r.diagnostics) {
    budget = budget || d.message.find("once aliases are expanded") != std::string::npos;
  }
  CHECK(budget);
  CHECK(r.diagnostics.size() < 10);
}

TEST_CASE("a recursive alias is refused before anything walks it") {
  const auto d = test::diagnostic(R"(
rules:
  - { id: r0, when: &c0 { path: /x }, then: block }
  - { id: r1, when: &c1 { any: [*c1, *c0, *c1] }, then: block }
)");
  CHECK(d ==
        "test.yaml:4:33: this alias refers to a node that contains it: recursive YAML is "
        "not allowed");
}

TEST_CASE("past 500 diagnostics, the rest are summed up in one line") {
  std::string yaml = "rules:\n";
  for (int i = 0; i < 600; ++i) yaml += "  - { id: r" + std::to_string(i) + ", then: blok }\n";
  const LoadResult r = load_rules_text(yaml, "many.yaml");
  CHECK(r.rules == nullptr);
  REQUIRE(r.diagnostics.size() == 501);
  CHECK(r.diagnostics[499].format() ==
        "many.yaml:501:23: rule 'r499': then: unknown action 'blok' (did you mean 'block'?)");
  CHECK(r.diagnostics[500].format() == "many.yaml:0:0: 100 more problems not shown");
  CHECK(r.diagnostics[500].severity == Diagnostic::Severity::error);
}
