// Page templates (`pages:` + `block: {page: NAME}`): compiling the text, escaping per type,
// rendering, and loading them with a rule set. The error messages are in the errors fixture
// (tests/fixtures/rules/errors/pages.yaml).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "bawwab/rules/page_template.hpp"
#include "rules_test_util.hpp"

using namespace bawwab;
using namespace bawwab::rules;
namespace fs = std::filesystem;

namespace {

PageTemplate compiled(std::string_view text, PageEscape escape = PageEscape::html) {
  std::vector<PageProblem> problems;
  PageTemplate t = compile_page_template(text, problems);
  INFO((problems.empty() ? std::string() : problems.front().message));
  REQUIRE(problems.empty());
  t.escape = escape;
  return t;
}

PageValues sample() {
  PageValues v;
  v.status = 451;
  v.rule = "geo-block";
  v.request_id = 4711;
  v.client_ip = "203.0.113.7";
  v.host = "news.example";
  v.path = "/articles/x";
  v.method = "GET";
  v.time = std::chrono::system_clock::time_point(std::chrono::seconds(1'796'000'000));
  v.contact = "readers@news.example";
  v.site_name = "أخبار";
  return v;
}

}  // namespace

TEST_CASE("page templates: every placeholder, with or without spaces") {
  const PageTemplate t = compiled(
      "{{status}} {{ reason }} {{rule}} {{ request_id }} {{client_ip}} {{host}}{{path}} "
      "{{method}} {{time}} {{contact}} {{  site_name  }}");
  CHECK(render_page(t, sample()) ==
        "451 Unavailable For Legal Reasons geo-block 4711 203.0.113.7 news.example/articles/x GET "
        "2026-11-30T00:53:20Z readers@news.example أخبار");
}

TEST_CASE("page templates: text that is not a placeholder stays as it is") {
  const std::string css = "p {{ color: red }} {{}} {{ } {{-x}} {{ a b }} {x} }}{{";
  const PageTemplate t = compiled(css);
  CHECK(render_page(t, sample()) == css);
  REQUIRE(t.parts.size() == 1);
  CHECK(t.literal_bytes == css.size());
}

TEST_CASE("page templates: unknown names are errors at their line and column") {
  std::vector<PageProblem> problems;
  compile_page_template("<p>\n  x {{ reqest_id }} {{Status}}\n{{ ip }}", problems);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].line == 2);
  CHECK(problems[0].column == 5);
  CHECK_THAT(problems[0].message, Catch::Contains("'reqest_id' (did you mean 'request_id'?)"));
  CHECK(problems[1].line == 2);
  CHECK(problems[1].column == 21);
  CHECK_THAT(problems[1].message, Catch::Contains("(did you mean 'status'?)"));
  CHECK(problems[2].line == 3);
  CHECK(problems[2].column == 1);
}

TEST_CASE("page templates: values from the request are escaped for the page's type") {
  PageValues v = sample();
  v.path = "/<script>alert('x')</script>&\"";
  v.host = "a\"b\\c\n\x01";
  const std::string text = "{{path}}|{{host}}";
  CHECK(render_page(compiled(text, PageEscape::html), v) ==
        "/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;|a&quot;b\\c\n\x01");
  CHECK(render_page(compiled(text, PageEscape::json), v) ==
        "/<script>alert('x')</script>&\\\"|a\\\"b\\\\c\\n\\u0001");
  CHECK(render_page(compiled(text, PageEscape::none), v) == std::string(v.path) + "|" +
                                                                std::string(v.host));
}

TEST_CASE("page templates: type from the extension or the Content-Type") {
  CHECK(page_type_for_extension(".html")->content_type == "text/html; charset=utf-8");
  CHECK(page_type_for_extension(".HTM")->escape == PageEscape::html);
  CHECK(page_type_for_extension(".txt")->escape == PageEscape::none);
  CHECK(page_type_for_extension(".json")->escape == PageEscape::json);
  CHECK(page_type_for_extension(".xml")->escape == PageEscape::html);
  CHECK_FALSE(page_type_for_extension(".bin"));
  CHECK_FALSE(page_type_for_extension(""));
  CHECK(page_escape_for("text/html; charset=utf-8") == PageEscape::html);
  CHECK(page_escape_for("application/problem+json") == PageEscape::json);
  CHECK(page_escape_for("application/xhtml+xml") == PageEscape::html);
  CHECK(page_escape_for("text/plain") == PageEscape::none);
}

TEST_CASE("pages load with the rule set; block names them") {
  const auto rs = test::compile(R"(
pages:
  legal: pages/legal.html
  json: pages/refused.json
  text: { file: pages/refused.txt, content_type: "text/plain; charset=utf-8" }
rules:
  - { id: legal, when: { path: /x }, then: { block: { status: 451, page: legal } } }
)");
  const PageTemplate* legal = rs->find_page("legal");
  REQUIRE(legal != nullptr);
  CHECK(legal->content_type == "text/html; charset=utf-8");
  CHECK(legal->file == BAWWAB_FIXTURES "/rules/pages/legal.html");
  const std::string page = render_page(*legal, sample());
  CHECK_THAT(page, Catch::Contains("<title>451 Unavailable For Legal Reasons</title>"));
  CHECK_THAT(page, Catch::Contains("p {{ margin: 0 }}"));
  CHECK_THAT(page, Catch::Contains("Request: 4711"));
  CHECK_THAT(page, Catch::Contains("هذه الصفحة غير متاحة في بلدك."));
  REQUIRE(rs->find_page("json") != nullptr);
  CHECK(rs->find_page("json")->escape == PageEscape::json);
  CHECK(render_page(*rs->find_page("json"), sample()) ==
        "{\"error\": 451, \"reason\": \"Unavailable For Legal Reasons\", \"path\": "
        "\"/articles/x\", \"request\": 4711}\n");
  CHECK(rs->find_page("text")->escape == PageEscape::none);
  CHECK(rs->find_page("nope") == nullptr);
  const Decision d = test::Request().target("/x").evaluate(*rs);
  REQUIRE(std::holds_alternative<Block>(d.action));
  CHECK(std::get<Block>(d.action).page == "legal");
}

TEST_CASE("watch_paths: every file the set was read from, and the patterns new files join") {
  const std::string dir = BAWWAB_FIXTURES "/rules/include/";
  LoadResult r = load_rules({dir + "order_first.yaml"});
  REQUIRE(r.rules != nullptr);
  const auto& paths = r.rules->watch_paths();
  CHECK(std::find(paths.begin(), paths.end(), fs::path(dir + "order_first.yaml").lexically_normal()
                                                   .string()) != paths.end());
  for (const auto& p : paths) CHECK(fs::path(p).is_absolute());
  CHECK(paths.size() >= 2);  // the file and what it includes

  const auto shipped = load_rules({BAWWAB_SOURCE_DIR "/rules"});
  REQUIRE(shipped.rules != nullptr);
  const auto& sp = shipped.rules->watch_paths();
  const std::string rules_dir = fs::path(BAWWAB_SOURCE_DIR "/rules").lexically_normal().string();
  CHECK(std::find(sp.begin(), sp.end(), rules_dir + "/*.yaml") != sp.end());
  CHECK(std::find(sp.begin(), sp.end(), rules_dir + "/networks/googlebot.txt") != sp.end());
}
