#include "bawwab/rewrite/tokenizer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "rewrite_test_util.hpp"

using namespace bawwab::rewrite;
using bawwab::rewrite::test::Recorder;
using bawwab::rewrite::test::tokenize;
using Tokens = std::vector<std::string>;

namespace {

// Tokens of `input` in one piece, checked against every split into two pieces and into 1-byte
// pieces: same tokens, bytes passed through unchanged, sink contract kept.
Tokens tokens_of(const std::string& input) {
  const Recorder whole = tokenize(input);
  INFO("input: " << input);
  CHECK(whole.bytes == input);
  CHECK(whole.errors.empty());
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    const Recorder r = tokenize(input, {cut});
    INFO("cut at " << cut);
    CHECK(r.tokens == whole.tokens);
    CHECK(r.bytes == input);
    CHECK(r.errors.empty());
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  const Recorder bytes = tokenize(input, every);
  CHECK(bytes.tokens == whole.tokens);
  CHECK(bytes.bytes == input);
  CHECK(bytes.errors.empty());
  return whole.tokens;
}

struct AttrSink final : TokenSink {
  std::vector<std::optional<std::string>> values;
  std::string want;
  void on_text(std::string_view, TextKind, bool) override {}
  void on_other(std::string_view, OtherKind, bool) override {}
  void on_tag(const Tag& t) override {
    const auto v = t.attribute(want);
    values.push_back(v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
  }
};

std::optional<std::string> attr(const std::string& tag, const std::string& name) {
  AttrSink s;
  s.want = name;
  Tokenizer t(s);
  t.feed(tag, true);
  REQUIRE(s.values.size() == 1);
  return s.values[0];
}

}  // namespace

TEST_CASE("tokenizer: text, start, end and self-closing tags", "[tokenizer]") {
  CHECK(tokens_of("a<b>c</b>d<br/>") ==
        Tokens{"#text:a", "<b>", "#text:c", "</b>", "#text:d", "<br/>"});
  CHECK(tokens_of("<DIV Class=x>T</DiV>") == Tokens{"<div>", "#text:T", "</div>"});
  CHECK(tokens_of("<img src=a.png />") == Tokens{"<img/>"});
  CHECK(tokens_of("<p\n\tid = 'x'\r\n  >") == Tokens{"<p>"});
  CHECK(tokens_of("") == Tokens{});
}

TEST_CASE("tokenizer: `<` that does not start a tag is text", "[tokenizer]") {
  CHECK(tokens_of("a < b <3 <= c <") == Tokens{"#text:a < b <3 <= c <"});
  CHECK(tokens_of("x</") == Tokens{"#text:x</"});
  CHECK(tokens_of("1<2>3") == Tokens{"#text:1<2>3"});
}

TEST_CASE("tokenizer: quoted attribute values may hold `>` and the other quote", "[tokenizer]") {
  CHECK(tokens_of("<a title=\"x>y\" data-q='a\"b>c'>t</a>") == Tokens{"<a>", "#text:t", "</a>"});
  CHECK(tokens_of("<a b=c>d>") == Tokens{"<a>", "#text:d>"});
  // A quote in a name or an unquoted value is an ordinary character: `>` ends the tag.
  CHECK(tokens_of("<a b\"c>d") == Tokens{"<a>", "#text:d"});
  CHECK(tokens_of("<a b=x\"y>d") == Tokens{"<a>", "#text:d"});
  CHECK(tokens_of("<a b='x'c>d") == Tokens{"<a>", "#text:d"});
}

TEST_CASE("tokenizer: attributes are found in the raw tag", "[tokenizer]") {
  CHECK(attr("<div id=main class='a b'>", "id") == "main");
  CHECK(attr("<div id=main class='a b'>", "CLASS") == "a b");
  CHECK(attr("<div ID = \"x>y\">", "id") == "x>y");
  CHECK(attr("<div id=a id=b>", "id") == "a");  // the first one wins, as in a browser
  CHECK(attr("<input disabled>", "disabled") == "");
  CHECK(attr("<div data-id=x>", "id") == std::nullopt);
  CHECK(attr("<div/id=x/>", "id") == "x/");
  CHECK(attr("<p =x id=y>", "id") == "y");
}

TEST_CASE("tokenizer: comments, bogus comments, doctype, CDATA", "[tokenizer]") {
  CHECK(tokens_of("<!-- a <b> -- c -->x") == Tokens{"!comment:<!-- a <b> -- c -->", "#text:x"});
  CHECK(tokens_of("<!---->x") == Tokens{"!comment:<!---->", "#text:x"});
  CHECK(tokens_of("<!-->x") == Tokens{"!comment:<!-->", "#text:x"});
  CHECK(tokens_of("<!--->x") == Tokens{"!comment:<!--->", "#text:x"});
  CHECK(tokens_of("<!-- a --!>x") == Tokens{"!comment:<!-- a --!>", "#text:x"});
  CHECK(tokens_of("<!-- a ---->x") == Tokens{"!comment:<!-- a ---->", "#text:x"});
  CHECK(tokens_of("<! x <p> >y") == Tokens{"!bogus:<! x <p>", "#text: >y"});
  CHECK(tokens_of("<?xml version='1.0'?>y") == Tokens{"!bogus:<?xml version='1.0'?>", "#text:y"});
  CHECK(tokens_of("</ x>y") == Tokens{"!bogus:</ x>", "#text:y"});
  CHECK(tokens_of("a</>b") == Tokens{"#text:a", "!bogus:</>", "#text:b"});
  CHECK(tokens_of("<!DOCTYPE html>\n<html>") ==
        Tokens{"!doctype:<!DOCTYPE html>", "#text:\n", "<html>"});
  CHECK(tokens_of("<!doctype HTML PUBLIC \"x\">") ==
        Tokens{"!doctype:<!doctype HTML PUBLIC \"x\">"});
  CHECK(tokens_of("<![CDATA[ <p> ]] > ]]>x") == Tokens{"!cdata:<![CDATA[ <p> ]] > ]]>", "#text:x"});
  CHECK(tokens_of("<![CDATA[]]]>") == Tokens{"!cdata:<![CDATA[]]]>"});
  CHECK(tokens_of("<![cdata[x]]>") == Tokens{"!bogus:<![cdata[x]]>"});
}

TEST_CASE("tokenizer: raw-text elements are not parsed", "[tokenizer]") {
  CHECK(tokens_of("<script>if (a<b) x='</head><body>';</script>z") ==
        Tokens{"<script>", "#script:if (a<b) x='</head><body>';", "</script>", "#text:z"});
  CHECK(tokens_of("<style>p>a{}</style >") == Tokens{"<style>", "#rawtext:p>a{}", "</style>"});
  CHECK(tokens_of("<title>a <b> c</TITLE>") == Tokens{"<title>", "#rcdata:a <b> c", "</title>"});
  CHECK(tokens_of("<textarea><p></textarea>") ==
        Tokens{"<textarea>", "#rcdata:<p>", "</textarea>"});
  for (const char* name : {"xmp", "iframe", "noembed", "noframes", "noscript"}) {
    CHECK(
        tokens_of(std::string("<") + name + "><p></p></" + name + ">") ==
        Tokens{std::string("<") + name + ">", "#rawtext:<p></p>", std::string("</") + name + ">"});
  }
  CHECK(tokens_of("<plaintext><p></plaintext>") ==
        Tokens{"<plaintext>", "#plaintext:<p></plaintext>"});
}

TEST_CASE("tokenizer: a raw-text element ends only at its own end tag", "[tokenizer]") {
  CHECK(tokens_of("<script></scripty></scrip></script\t>") ==
        Tokens{"<script>", "#script:</scripty></scrip>", "</script>"});
  CHECK(tokens_of("<SCRIPT>x</SCRIPT >") == Tokens{"<script>", "#script:x", "</script>"});
  CHECK(tokens_of("<style></script></style/>") ==
        Tokens{"<style>", "#rawtext:</script>", "</style/>"});
  CHECK(tokens_of("<script/>x</script>") == Tokens{"<script/>", "#script:x", "</script>"});
  CHECK(tokens_of("<script>x</script") == Tokens{"<script>", "#script:x</script"});
  CHECK(tokens_of("<title></title x=\"</title>\">t") == Tokens{"<title>", "</title>", "#text:t"});
}

TEST_CASE("tokenizer: script escaped and double-escaped states", "[tokenizer]") {
  // <!-- <script> inside a script: the first </script> does not end it.
  CHECK(tokens_of("<script><!--<script></script>--></script>x") ==
        Tokens{"<script>", "#script:<!--<script></script>-->", "</script>", "#text:x"});
  // Escaped but not double-escaped: </script> ends it.
  CHECK(tokens_of("<script><!-- a </script>x") ==
        Tokens{"<script>", "#script:<!-- a ", "</script>", "#text:x"});
  // The classic document.write of a script inside an HTML comment.
  CHECK(tokens_of("<script><!--\ndocument.write('<script src=a></script>');\n//--></script>b") ==
        Tokens{"<script>", "#script:<!--\ndocument.write('<script src=a></script>');\n//-->",
               "</script>", "#text:b"});
  CHECK(tokens_of("<script><!--<scripts></script>x") ==
        Tokens{"<script>", "#script:<!--<scripts>", "</script>", "#text:x"});
  CHECK(tokens_of("<script>a<!-b</script>") == Tokens{"<script>", "#script:a<!-b", "</script>"});
}

TEST_CASE("tokenizer: the end of the document inside a construct", "[tokenizer]") {
  CHECK(tokens_of("a<div class='x") == Tokens{"#text:a", "!unfinished:<div class='x"});
  CHECK(tokens_of("a<!-- b") == Tokens{"#text:a", "!comment:<!-- b"});
  CHECK(tokens_of("<!-") == Tokens{"!unfinished:<!-"});
  CHECK(tokens_of("<script>a</scr") == Tokens{"<script>", "#script:a</scr"});
}

TEST_CASE("tokenizer: NUL bytes, invalid UTF-8 and binary junk pass through", "[tokenizer]") {
  using namespace std::string_literals;
  const std::string junk = "a\0<b\0 x=\xff>\xc3<\x80/b>\xe2\x82"s;
  const Recorder r = tokenize(junk);
  CHECK(r.bytes == junk);
  tokens_of(junk);
  std::string bin;
  for (int i = 0; i < 256; ++i) bin.push_back(static_cast<char>(i));
  tokens_of(bin + bin);
}

TEST_CASE("tokenizer: a split UTF-8 sequence and a split `</he` + `ad>`", "[tokenizer]") {
  const std::string s = "<title>ب</title></head>";
  for (std::size_t cut = 1; cut < s.size(); ++cut) {
    CHECK(tokenize(s, {cut}).tokens == Tokens{"<title>", "#rcdata:ب", "</title>", "</head>"});
  }
}

TEST_CASE("tokenizer: a tag longer than the hold-back is given up, bytes intact", "[tokenizer]") {
  const std::string big = "<div data-x=\"" + std::string(10000, 'a') + ">\">t</div>";
  for (const std::vector<std::size_t>& cuts :
       {std::vector<std::size_t>{}, {3}, {100, 5000, 9000}, {4096}, {4097, 10012}}) {
    Recorder r;
    Tokenizer t(r);
    std::size_t max_held = 0;
    for (auto p : test::pieces(big, cuts)) {
      t.feed(p, false);
      max_held = std::max(max_held, t.held_bytes());
    }
    t.feed({}, true);
    CHECK(r.bytes == big);
    CHECK(max_held <= kMaxHoldBack);
    REQUIRE(r.tokens.size() == 4);
    CHECK(r.tokens[0].rfind("!oversized:<div", 0) == 0);
    CHECK(r.tokens[1] == "<div GIVEN_UP>");
    CHECK(r.tokens[2] == "#text:t");
    CHECK(r.tokens[3] == "</div>");
  }
  // Just under the limit: a tag.
  const std::string ok = "<p a=\"" + std::string(kMaxHoldBack - 8, 'b') + "\">";
  REQUIRE(ok.size() == kMaxHoldBack);
  CHECK(tokenize(ok, {10, 2000}).tokens == Tokens{"<p>"});
  // A given-up <script> still switches to script data.
  const std::string script = "<script x='" + std::string(5000, 'c') + "'><p></script><p>";
  CHECK(tokenize(script, {7}).tokens == Tokens{"!oversized:" + script.substr(0, 5013),
                                               "<script GIVEN_UP>", "#script:<p>", "</script>",
                                               "<p>"});
}

TEST_CASE("tokenizer: stop() ends the work at once", "[tokenizer]") {
  struct StopSink final : TokenSink {
    Tokenizer* t = nullptr;
    std::string seen;
    void on_text(std::string_view c, TextKind, bool) override { seen.append(c); }
    void on_other(std::string_view c, OtherKind, bool) override { seen.append(c); }
    void on_tag(const Tag& tag) override {
      seen.append(tag.raw);
      if (tag.name == "head" && tag.end) t->stop();
    }
  } sink;
  Tokenizer t(sink);
  sink.t = &t;
  t.feed("<head></head><body>", false);
  t.feed("more", true);
  CHECK(sink.seen == "<head></head>");
}
