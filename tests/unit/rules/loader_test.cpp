// load_rules: sources (files, directories, globs), includes (in place, relative, read once),
// list files, the version hash.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rules_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace bawwab;
using namespace bawwab::rules;
namespace fs = std::filesystem;

namespace {

const std::string kInclude = BAWWAB_FIXTURES "/rules/include/";

RuleSetPtr load(const std::vector<std::string>& sources) {
  LoadResult r = load_rules(sources);
  INFO(test::joined(r.diagnostics));
  REQUIRE(r.rules != nullptr);
  CHECK(r.diagnostics.empty());
  return r.rules;
}

std::vector<std::string> ids(const RuleSet& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs.rules()) out.push_back(r.id);
  return out;
}

using Ids = std::vector<std::string>;

using bawwab::fixture::TempDir;

}  // namespace

TEST_CASE("includes expand in place, relative to the including file") {
  CHECK(ids(*load({kInclude + "order_first.yaml"})) == Ids{"included", "own"});
  CHECK(ids(*load({kInclude + "order_last.yaml"})) == Ids{"own", "included"});
  // The included file's `file:` is relative to its own directory.
  const auto rs = load({kInclude + "order_first.yaml"});
  const Decision d = test::Request().ua("ClaudeBot/1.0").evaluate(*rs);
  CHECK(std::vector<std::string>(d.tags.begin(), d.tags.end()) == Ids{"included", "own"});
  CHECK(rs->rules()[0].file == kInclude + "sub/included.yaml");
  CHECK(rs->rules()[0].line == 5);
}

TEST_CASE("a file reached twice is read once") {
  CHECK(ids(*load({kInclude + "diamond.yaml"})) == Ids{"common", "left", "right"});
  // A directory source and an include of a file in it: no duplicate definitions either.
  CHECK(ids(*load({kInclude + "order_first.yaml", kInclude + "sub/included.yaml"})) ==
        Ids{"included", "own"});
}

TEST_CASE("sources: a directory loads its *.yaml and *.yml files in name order") {
  CHECK(ids(*load({kInclude + "dir"})) == Ids{"a", "b", "c"});
  CHECK(ids(*load({kInclude + "dir/"})) == Ids{"a", "b", "c"});
}

TEST_CASE("sources and includes: globs, expanded in sorted order") {
  CHECK(ids(*load({kInclude + "dir/*.y*ml"})) == Ids{"a", "b", "c"});
  CHECK(ids(*load({kInclude + "globbed.yaml"})) == Ids{"a", "b"});
}

TEST_CASE("sources in the order given; rule ids unique across them") {
  CHECK(ids(*load({kInclude + "dir/10-b.yaml", kInclude + "dir/02-a.yaml"})) == Ids{"b", "a"});
  const LoadResult r = load_rules({kInclude + "dir", kInclude + "dir/02-a.yaml"});
  CHECK(r.rules != nullptr);  // the same file twice: read once
  TempDir tmp;
  tmp.write("x.yaml", "rules: [{id: a, then: allow}]\n");
  const LoadResult dup = load_rules({kInclude + "dir", tmp / "x.yaml"});
  REQUIRE(dup.diagnostics.size() == 1);
  CHECK(dup.diagnostics[0].format() == tmp / "x.yaml" +
                                           ":1:14: rule 'a': duplicate id (first defined at " +
                                           kInclude + "dir/02-a.yaml:2:11)");
}

TEST_CASE("sources that match nothing are errors") {
  TempDir tmp;
  fs::create_directories(tmp.path / "empty");
  const LoadResult r = load_rules({tmp / "missing.yaml", tmp / "*.yaml", tmp / "empty"});
  CHECK(r.rules == nullptr);
  REQUIRE(r.diagnostics.size() == 3);
  CHECK(r.diagnostics[0].format() == tmp / "missing.yaml" + ":0:0: no such file or directory");
  CHECK(r.diagnostics[1].format() == tmp / "*.yaml" + ":0:0: no file matches this pattern");
  CHECK(r.diagnostics[2].format() == tmp / "empty" + ":0:0: directory has no *.yaml or *.yml file");
}

TEST_CASE("an empty file, or one with comments only, defines nothing") {
  TempDir tmp;
  tmp.write("empty.yaml", "");
  tmp.write("comments.yaml", "# nothing yet\n");
  const auto rs = load({tmp / "empty.yaml", tmp / "comments.yaml"});
  CHECK(rs->size() == 0);
  CHECK(rs->version() != "empty");
  CHECK(test::is_allow(test::Request().evaluate(*rs)));
}

TEST_CASE("version: a hash of every file read, list files included") {
  TempDir tmp;
  tmp.write("a.yaml",
            "lists: { l: { file: l.txt } }\nrules: [{id: a, when: {user_agent: {list: l}}, then: "
            "block}]\n");
  tmp.write("l.txt", "GPTBot\n");
  const std::string v1(load({tmp / "a.yaml"})->version());
  CHECK(v1.size() == 12);
  CHECK(v1.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(load({tmp / "a.yaml"})->version() == v1);  // stable
  tmp.write("l.txt", "GPTBot\nClaudeBot\n");
  const std::string v2(load({tmp / "a.yaml"})->version());
  CHECK(v2 != v1);
  // Text: the same bytes give the same version whatever the name.
  const LoadResult t1 = load_rules_text("rules: []", "one.yaml");
  const LoadResult t2 = load_rules_text("rules: []", "two.yaml");
  const LoadResult t3 = load_rules_text("rules: [] ", "one.yaml");
  CHECK(t1.rules->version() == t2.rules->version());
  CHECK(t1.rules->version() != t3.rules->version());
}

TEST_CASE("load_rules_text: includes and files resolve against base_dir") {
  const LoadResult r = load_rules_text("include: sub/included.yaml", "inline", kInclude);
  INFO(test::joined(r.diagnostics));
  REQUIRE(r.rules != nullptr);
  CHECK(ids(*r.rules) == Ids{"included"});
  const LoadResult missing = load_rules_text("include: nope.yaml", "inline", kInclude);
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].format() ==
        "inline:1:10: include: no such file '" + kInclude + "nope.yaml'");
}

TEST_CASE("list files: one pattern a line, comments and blank lines skipped") {
  const auto rs = test::compile("lists: { ai: { file: lists/ai.txt, patterns: [Extra] } }");
  const auto lists = rs->ua_lists();
  REQUIRE(lists.size() == 1);
  CHECK(lists[0].patterns == 5);
  std::vector<UaMatch> m;
  rs->match_user_agent("bytespider", m);
  REQUIRE(m.size() == 1);
  CHECK(m[0].label == "Bytespider");
}

TEST_CASE("the shipped rules directory loads as a source, like the config's rules: entry") {
  const LoadResult r = load_rules({BAWWAB_SOURCE_DIR "/rules"});
  INFO(test::joined(r.diagnostics));
  REQUIRE(r.rules != nullptr);
  CHECK(r.rules->size() > 0);
}

TEST_CASE("thresholds and weights: a later file overrides an earlier one, key by key") {
  TempDir tmp;
  tmp.write("a.yaml",
            "thresholds: { challenge: 30, block: 70 }\n"
            "weights: { ua.ai_crawler: 10, ua.headless: 20 }\n");
  tmp.write("b.yaml", "thresholds: { block: 80 }\nweights: { ua.headless: 5 }\n");
  const auto rs = load({tmp / "a.yaml", tmp / "b.yaml"});
  CHECK(rs->thresholds().challenge == 30);
  CHECK(rs->thresholds().block == 80);
  CHECK(rs->weight("ua.ai_crawler") == 10);
  CHECK(rs->weight("ua.headless") == 5);
  CHECK_FALSE(rs->global_shadow());
}
