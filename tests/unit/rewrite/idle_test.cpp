// The rewriter's idle state: once every insertion is made and nothing else can match, the rest
// of the page may bypass it (the relay then streams at copy speed with no extra memory).
#include <catch2/catch.hpp>

#include <string>

#include "bawwab/rewrite/html_rewriter.hpp"

using namespace bawwab::rewrite;

namespace {

std::shared_ptr<const RewriteSpec> spec(bool every, bool end_insert) {
  RewriteConfig c;
  c.insertions.push_back({"head", Position::before_end, "<i>h</i>", false});
  c.insertions.push_back({"body", end_insert ? Position::before_end : Position::after_start,
                          "<i>b</i>", every});
  auto r = RewriteSpec::compile(std::move(c));
  REQUIRE(r.spec);
  return r.spec;
}

}  // namespace

TEST_CASE("HtmlRewriter: idle once its first-match insertions are made", "[rewrite][idle]") {
  HtmlRewriter rw(spec(false, false));
  std::string out;
  CHECK_FALSE(rw.idle());
  rw.on_data("<html><head><title>t</title></head><bo", out, false);
  CHECK_FALSE(rw.idle());  // the body insertion is still to come (and "<bo" is held)
  rw.on_data("dy class=x><p>text", out, false);
  CHECK(rw.idle());
  // Idle: what follows passes as it is, even what would have matched before.
  rw.on_data("<head></head><body>more</body></html>", out, true);
  CHECK(out ==
        "<html><head><title>t</title><i>h</i></head><body class=x><i>b</i><p>text"
        "<head></head><body>more</body></html>");
}

TEST_CASE("HtmlRewriter: never idle with an end insertion pending or an every-match rule",
          "[rewrite][idle]") {
  SECTION("append to body waits for </body>") {
    HtmlRewriter rw(spec(false, true));
    std::string out;
    rw.on_data("<html><head></head><body><p>x</p>", out, false);
    CHECK_FALSE(rw.idle());
    rw.on_data("</body></html>", out, true);
    CHECK(out == "<html><head><i>h</i></head><body><p>x</p><i>b</i></body></html>");
  }
  SECTION("every match") {
    HtmlRewriter rw(spec(true, false));
    std::string out;
    rw.on_data("<html><head></head><body><p>x</p>", out, false);
    CHECK_FALSE(rw.idle());
  }
}
