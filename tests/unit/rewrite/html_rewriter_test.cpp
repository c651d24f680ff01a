#include "bawwab/rewrite/html_rewriter.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "rewrite_test_util.hpp"

using namespace bawwab::rewrite;
using namespace bawwab::rewrite::test;

namespace {

std::shared_ptr<const RewriteSpec> insert(const std::string& selector, Position where,
                                          const std::string& html, bool every = false) {
  RewriteConfig c;
  c.insertions.push_back({selector, where, html, every});
  return compile_or_throw(std::move(c));
}

// The rewrite of `input`, checked to be the same in one piece, cut anywhere once, and in 1-byte
// pieces.
std::string rewritten(const std::shared_ptr<const RewriteSpec>& spec, const std::string& input) {
  const std::string whole = rewrite(spec, input);
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    INFO("cut at " << cut);
    CHECK(rewrite(spec, input, {cut}) == whole);
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  CHECK(rewrite(spec, input, every) == whole);
  return whole;
}

}  // namespace

TEST_CASE("spec: errors name the rule and the problem, all of them", "[spec]") {
  RewriteConfig c;
  c.insertions.push_back({"div..x", Position::after_start, "<i>"});
  c.insertions.push_back({"head", Position::before_end, "<s>"});
  c.insertions.push_back({"ul > li", Position::after_start, "<i>"});
  c.text_rules.push_back({"#", upper_factory()});
  c.text_rules.push_back({"p", nullptr});
  const SpecCompile r = RewriteSpec::compile(std::move(c));
  CHECK(r.spec == nullptr);
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0] == "insertion 1: bad selector 'div..x': empty class name");
  CHECK(r.errors[1] ==
        "insertion 3: bad selector 'ul > li': combinator '>' at column 4 is not supported "
        "(only descendant: 'A B')");
  CHECK(r.errors[2] == "text rule 1: bad selector '#': empty id");
  CHECK(r.errors[3] == "text rule 2 'p': no text handler");
}

TEST_CASE("spec: limits on rules and depth", "[spec]") {
  RewriteConfig c;
  for (int i = 0; i < 33; ++i) c.insertions.push_back({"p", Position::after_start, "x"});
  CHECK(RewriteSpec::compile(c).errors.front() == "too many insertions: 33 (at most 32)");
  RewriteConfig d;
  for (int i = 0; i < 11; ++i) d.insertions.push_back({"a b c d", Position::after_start, "x"});
  CHECK(RewriteSpec::compile(d).errors.front() ==
        "selectors too deep: 33 ancestor levels in all (at most 32)");
  CHECK(RewriteSpec::compile({}).spec->empty());
}

TEST_CASE("rewriter: nothing matches -> byte-exact passthrough", "[rewriter]") {
  const auto spec = insert("#absent", Position::before_start, "<X>");
  for (const char* name : {"demo_index.html", "demo_article.html", "seed_article.html",
                           "tricky_head.html", "unclosed.html", "uppercase_attrs.html"}) {
    const std::string page = fixture(name);
    INFO(name);
    HtmlRewriter r(spec);
    CHECK(run_filter(r, page) == page);
    CHECK(r.report().insertions == 0);
    CHECK_FALSE(r.finished());
  }
}

TEST_CASE("rewriter: insertion in the head, before </head>", "[rewriter]") {
  const auto spec = insert("head", Position::before_end, "<script src=/b.js></script>");
  CHECK(rewritten(spec, "<html><head><title>t</title></head><body>x</body></html>") ==
        "<html><head><title>t</title><script src=/b.js></script></head><body>x</body></html>");
  // A </head> inside scripts, comments, CDATA, a title or a style is not the end of the head.
  const std::string page = fixture("tricky_head.html");
  const std::string out = rewrite(spec, page);
  const std::size_t at = page.find("</HEAD >");
  REQUIRE(at != std::string::npos);
  CHECK(out == page.substr(0, at) + "<script src=/b.js></script>" + page.substr(at));
}

TEST_CASE("rewriter: the four positions", "[rewriter]") {
  const std::string page = "<body><div id=a>x</div></body>";
  CHECK(rewritten(insert("#a", Position::before_start, "["), page) ==
        "<body>[<div id=a>x</div></body>");
  CHECK(rewritten(insert("#a", Position::after_start, "["), page) ==
        "<body><div id=a>[x</div></body>");
  CHECK(rewritten(insert("#a", Position::before_end, "]"), page) ==
        "<body><div id=a>x]</div></body>");
  CHECK(rewritten(insert("#a", Position::after_end, "]"), page) ==
        "<body><div id=a>x</div>]</body>");
  CHECK(rewritten(insert("body", Position::after_start, "<b>hi</b>"), "<BODY class=x>t</BODY>") ==
        "<BODY class=x><b>hi</b>t</BODY>");
}

TEST_CASE("rewriter: selectors: tag, #id, .class, tag.class, tag#id, descendants", "[rewriter]") {
  const std::string page =
      "<main><div class='post big'><p>a</p></div><article id=x><section><p>b</p></section>"
      "</article><p class=big>c</p></main>";
  const auto first = [&](const std::string& sel) {
    return rewritten(insert(sel, Position::after_start, "@"), page);
  };
  CHECK(first("p") ==
        "<main><div class='post big'><p>@a</p></div><article id=x><section><p>b"
        "</p></section></article><p class=big>c</p></main>");
  CHECK(first("article p").find("<p>@b") != std::string::npos);
  CHECK(first("#x p").find("<p>@b") != std::string::npos);
  CHECK(first("main article section p").find("<p>@b") != std::string::npos);
  CHECK(first("p.big").find("<p class=big>@c") != std::string::npos);
  CHECK(first(".post.big p").find("<p>@a") != std::string::npos);
  CHECK(first("div#x") == page);
  CHECK(first("article#x").find("<article id=x>@") != std::string::npos);
  CHECK(first("section article p") == page);
  CHECK(first("* p").find("<p>@a") != std::string::npos);
  // every match
  const std::string all = rewritten(insert("p", Position::after_start, "@", true), page);
  CHECK(all ==
        "<main><div class='post big'><p>@a</p></div><article id=x><section><p>@b</p></section>"
        "</article><p class=big>@c</p></main>");
}

TEST_CASE("rewriter: after a #id element, in a real page", "[rewriter]") {
  const std::string page = fixture("seed_article.html");
  const auto spec = insert("#the-post", Position::after_end, "<aside>mark</aside>");
  const std::string out = rewritten(spec, page.substr(0, 400) + page.substr(400));
  const std::size_t end = page.find("</article>") + std::string("</article>").size();
  CHECK(out == page.substr(0, end) + "<aside>mark</aside>" + page.substr(end));
}

TEST_CASE("rewriter: text handlers get the text inside chosen elements", "[rewriter]") {
  RewriteConfig c;
  c.text_rules.push_back({"article p", upper_factory()});
  const auto spec = compile_or_throw(std::move(c));
  CHECK(rewritten(spec,
                  "<p>out</p><article><h1>h</h1><p>in <a href=x>link</a> &amp; more<script>s"
                  "</script></p></article><p>out</p>") ==
        "<p>out</p><article><h1>h</h1><p>IN |<a href=x>LINK|</a> &AMP; MORE|<script>s</script>"
        "</p></article><p>out</p>");
  // The demo article: only the paragraphs' text changes.
  const std::string page = fixture("demo_article.html");
  const std::string out = rewrite(spec, page);
  CHECK(out != page);
  CHECK(out.find("<title>") != std::string::npos);
}

TEST_CASE("rewriter: handler factories run once per response, lazily", "[rewriter]") {
  int made = 0;
  RewriteConfig c;
  c.text_rules.push_back({"p", [&made] {
                            ++made;
                            return std::make_unique<UpperHandler>();
                          }});
  const auto spec = compile_or_throw(std::move(c));
  CHECK(rewrite(spec, "<div>no</div>") == "<div>no</div>");
  CHECK(made == 0);
  CHECK(rewrite(spec, "<p>a</p><p>b</p>") == "<p>A|</p><p>B|</p>");
  CHECK(made == 1);
}

TEST_CASE("rewriter: end_after_head", "[rewriter]") {
  RewriteConfig c;
  c.end_after_head = true;
  c.insertions.push_back({"head", Position::before_end, "<meta name=x>"});
  const auto spec = compile_or_throw(std::move(c));
  const std::string page = "<!DOCTYPE html><html><head><title>t</title></head><body>secret</body>";
  CHECK(rewritten(spec, page) ==
        "<!DOCTYPE html><html><head><title>t</title><meta name=x></head><body></body></html>");
  HtmlRewriter r(spec);
  std::string out;
  r.on_data("<head></head>", out, false);
  CHECK(r.finished());
  CHECK(r.report().truncated);
  r.on_data("more", out, true);
  CHECK(out == "<head><meta name=x></head><body></body></html>");

  // The demo article ends right after its </head>.
  const std::string article = fixture("demo_article.html");
  const std::size_t end = article.find("</head>") + 7;
  CHECK(rewritten(spec, article) ==
        article.substr(0, end - 7) + "<meta name=x></head><body></body></html>");
  // Tricky head: the real </HEAD >.
  const std::string tricky = fixture("tricky_head.html");
  const std::string t = rewrite(spec, tricky);
  CHECK(t.size() > 20);
  CHECK(t.substr(t.size() - 28) == "</HEAD ><body></body></html>");
  // An old page with document.write("</HEAD><BODY>") in an escaped script.
  const std::string old = fixture("uppercase_attrs.html");
  const std::string o = rewrite(spec, old);
  CHECK(o.find("BGCOLOR") == std::string::npos);
  CHECK(o.find("//--></SCRIPT>\n<meta name=x></HEAD><body></body></html>") != std::string::npos);
}

TEST_CASE("rewriter: end_after_head leaves the page alone when the head did not end",
          "[rewriter]") {
  RewriteConfig c;
  c.end_after_head = true;
  const auto spec = compile_or_throw(std::move(c));
  for (const std::string& page : {
           std::string("<html><head><title>t</title><body>b</body></html>"),  // no </head>
           std::string("<html><body>b</body></head>"),                        // body first
           std::string("<head><title>t</title>Some text</head><body>"),       // text in head
           fixture("no_head_end.html"),                                       // <p> in head
           std::string("<head><div>x</div></head>"),
           std::string("<head><template></head></template></head><body>"),
           fixture("unclosed.html"),
       }) {
    INFO(page);
    HtmlRewriter r(spec);
    CHECK(run_filter(r, page) == page);
    CHECK_FALSE(r.finished());
  }
}

TEST_CASE("rewriter: unclosed and misnested tags", "[rewriter]") {
  // An end tag closes up to the nearest open element of its name; the inner ones' end insertions
  // go just before it.
  CHECK(rewritten(insert("span", Position::before_end, "]"), "<div><span>x</div>y") ==
        "<div><span>x]</div>y");
  CHECK(rewritten(insert("span", Position::after_end, "]"), "<div><span>x</div>y") ==
        "<div><span>x]</div>y");
  // A stray end tag is ignored.
  CHECK(rewritten(insert("div", Position::before_end, "]"), "<div>a</span>b</div>") ==
        "<div>a</span>b]</div>");
  // <p><p>: the second closes the first.
  CHECK(rewritten(insert("p", Position::before_end, "]"), "<p>a<p>b</p>") == "<p>a]<p>b</p>");
  CHECK(rewritten(insert("li", Position::after_end, "]", true), "<ul><li>a<li>b</ul>") ==
        "<ul><li>a]<li>b]</ul>");
  CHECK(rewritten(insert("p", Position::before_end, "]"), "<p>a<div>b</div>") ==
        "<p>a]<div>b</div>");
  // Never closed: the end insertion has no place, the page is unchanged.
  const auto spec = insert("#main", Position::before_end, "]");
  const std::string page = fixture("unclosed.html");
  HtmlRewriter r(spec);
  CHECK(run_filter(r, page) == page);
  CHECK(r.report().unplaced == 1);
}

TEST_CASE("rewriter: void, self-closing and foreign elements", "[rewriter]") {
  CHECK(rewritten(insert("img", Position::after_end, "]"), "<p><img src=a>b</p>") ==
        "<p><img src=a>]b</p>");
  CHECK(rewritten(insert("img", Position::after_start, "]"), "<p><img src=a>b</p>") ==
        "<p><img src=a>b</p>");
  // <div/> opens a div in HTML; <path/> closes itself in svg.
  CHECK(rewritten(insert("div", Position::before_end, "]"), "<div/>a</div>") == "<div/>a]</div>");
  CHECK(rewritten(insert("svg", Position::before_end, "]"), "<svg><path/><g/></svg>") ==
        "<svg><path/><g/>]</svg>");
  CHECK(rewritten(insert("path", Position::after_end, "]"), "<svg><path/><g/></svg>") ==
        "<svg><path/>]<g/></svg>");
}

TEST_CASE("rewriter: a tag longer than the hold-back is not matched", "[rewriter]") {
  const auto spec = insert("div", Position::after_start, "@", true);
  const std::string page = "<div class=\"" + std::string(5000, 'x') + "\">a</div><div>b</div>";
  CHECK(rewritten(spec, page) == page.substr(0, page.size() - 12) + "<div>@b</div>");
  HtmlRewriter r(spec);
  run_filter(r, page, {1000, 3000});
  CHECK(r.report().tags_given_up == 1);
}

TEST_CASE("rewriter: works inside a FilterChain", "[rewriter]") {
  bawwab::FilterChain chain;
  chain.add(std::make_unique<HtmlRewriter>(insert("body", Position::after_start, "<b>")));
  std::string out;
  chain.on_data("<html><bo", out, false);
  chain.on_data("dy>text", out, false);
  CHECK(chain.held_bytes() == 0);
  chain.on_data("</body>", out, true);
  CHECK(out == "<html><body><b>text</body>");
}
