#include "bawwab/challenge/page.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "bawwab/challenge/proof_of_work.hpp"
#include "challenge_test_util.hpp"

using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

namespace {

ChallengeConfig site() {
  ChallengeConfig c;
  c.site_name = "أخبار الصباح";
  c.contact = "webmaster@news.example";
  return c;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

std::string header(const ChallengeReply& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

}  // namespace

TEST_CASE("page: the js level") {
  const auto ring = fixed_ring();
  const auto r =
      challenge_reply(site(), ring, Level::js, 16, context(), "/articles/7?x=1", false, kT0);
  const std::string& b = r.body;
  CHECK(r.status == 403);
  CHECK(b.starts_with("<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">"));
  CHECK(b.size() <= 8 * 1024);
  CHECK(contains(b, "<meta charset=\"utf-8\">"));
  CHECK(contains(b, "<title>التحقق من المتصفح | أخبار الصباح</title>"));
  CHECK(contains(b, "role=\"status\" aria-live=\"polite\""));
  CHECK(contains(b, "data-d=\"16\""));
  const auto c = attribute(b, "data-c");
  CHECK(c.starts_with("1.1.1767225900.16."));
  // The verifier URL, the return path percent-encoded inside it.
  CHECK(attribute(b, "data-u") ==
        "/.well-known/bawwab/verify?c=" + c + "&r=%2Farticles%2F7%3Fx%3D1");
  // The worker comes from a Blob URL of inline code; no external resource of any kind.
  CHECK(contains(b, "<script type=\"text/plain\" id=\"w\">"));
  CHECK(contains(b, "new Blob("));
  CHECK(contains(b, "new Worker("));
  CHECK_FALSE(contains(b, "src="));
  CHECK_FALSE(contains(b, "http://"));
  CHECK_FALSE(contains(b, "https://"));
  CHECK_FALSE(contains(b, "crypto.subtle"));
  // Without JS: the no-JS level, in <noscript> and always visible; the accessible page too.
  CHECK(contains(b, "<noscript><p role=\"alert\"><strong>جافاسكربت معطّلة في متصفحك"));
  CHECK(contains(
      b, "<a href=\"/.well-known/bawwab/verify?level=nojs&amp;r=%2Farticles%2F7%3Fx%3D1\">"));
  CHECK(contains(b, "?level=accessible&amp;r="));
  CHECK(contains(b, "<a href=\"mailto:webmaster@news.example\">webmaster@news.example</a>"));
}

TEST_CASE("page: every js page carries no-store, a CSP and its check cookie") {
  const auto ring = fixed_ring();
  const auto r = challenge_reply(site(), ring, Level::js, 16, context(), "/", false, kT0);
  CHECK(header(r, "Cache-Control") == "no-store");
  CHECK(header(r, "Content-Type") == "text/html; charset=utf-8");
  const auto csp = header(r, "Content-Security-Policy");
  CHECK(contains(csp, "default-src 'none'"));
  CHECK(contains(csp, "worker-src blob:"));
  CHECK(contains(csp, "frame-ancestors 'none'"));
  const auto c = attribute(r.body, "data-c");
  const std::string nonce = c.substr(c.rfind('.') - 22, 22);
  CHECK(header(r, "Set-Cookie") == "bawwab_pass_chk_" + nonce.substr(0, 12) +
                                       "=1; Path=/.well-known/bawwab/verify; Max-Age=300; "
                                       "HttpOnly; SameSite=Lax");
  const auto tls = challenge_reply(site(), ring, Level::js, 16, context(), "/", true, kT0);
  CHECK(header(tls, "Set-Cookie").ends_with("; Secure"));
}

TEST_CASE("page: difficulty for the js level is clamped, 0 means the configured minimum") {
  const auto ring = fixed_ring();
  CHECK(contains(challenge_reply(site(), ring, Level::js, 0, context(), "/", false, kT0).body,
                 "data-d=\"14\""));
  CHECK(contains(challenge_reply(site(), ring, Level::js, 64, context(), "/", false, kT0).body,
                 "data-d=\"30\""));
}

TEST_CASE("page: the nojs level") {
  const auto ring = fixed_ring();
  const auto r = challenge_reply(site(), ring, Level::nojs, 16, context(), "/a", false, kT0);
  const std::string& b = r.body;
  CHECK(b.size() <= 8 * 1024);
  CHECK_FALSE(contains(b, "<script"));
  CHECK(contains(b,
                 "<meta http-equiv=\"refresh\" content=\"3;url=/.well-known/bawwab/verify?"
                 "c=1.1.1767225900.0."));
  CHECK(contains(b, "&amp;nojs=1&amp;r=%2Fa\">"));
  CHECK(contains(b, "ملفات تعريف الارتباط"));
  CHECK(contains(b, "webmaster@news.example"));
  CHECK(header(r, "Set-Cookie").starts_with("bawwab_pass_chk_"));
  CHECK(header(r, "Cache-Control") == "no-store");
}

TEST_CASE("page: the accessible level") {
  const auto ring = fixed_ring();
  const auto r = challenge_reply(site(), ring, Level::accessible, 0, context(), "/a", false, kT0);
  const std::string& b = r.body;
  CHECK(b.size() <= 8 * 1024);
  CHECK_FALSE(contains(b, "<script"));
  CHECK_FALSE(contains(b, "refresh"));
  CHECK_FALSE(contains(b, "<img"));
  CHECK(contains(b, "<h2>لماذا أرى هذه الصفحة؟</h2>"));
  CHECK(contains(b,
                 "<a href=\"/.well-known/bawwab/verify?level=nojs&amp;r=%2Fa\" "
                 "class=\"btn\">متابعة التحقق</a>"));
  CHECK(contains(b, "mailto:webmaster@news.example"));
  CHECK_FALSE(contains(b, "role=\"alert\""));
  CHECK(header(r, "Set-Cookie").empty());  // nothing to redeem here
  CHECK(header(r, "Cache-Control") == "no-store");
  CHECK(contains(render_accessible_page(site(), "/a", true),
                 "<p role=\"alert\"><strong>لم يُعِد متصفحك"));
}

TEST_CASE("page: everything variable is escaped") {
  const auto ring = fixed_ring();
  ChallengeConfig cfg = site();
  cfg.site_name = "<script>alert(1)</script> & \"Co\" 'x'";
  cfg.contact = "javascript:alert(1)";
  cfg.lang = "ar\"><x";
  for (Level level : {Level::js, Level::nojs, Level::accessible}) {
    const auto b =
        challenge_reply(cfg, ring, level, 8, context(), "/a?q='\"><svg onload=x>", false, kT0).body;
    INFO(to_string(level));
    CHECK_FALSE(contains(b, "<script>alert"));
    CHECK(contains(b, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot; &#39;x&#39;"));
    CHECK_FALSE(contains(b, "href=\"javascript:"));
    CHECK(contains(b, "javascript:alert(1)"));  // shown as text
    CHECK_FALSE(contains(b, "<svg"));
    CHECK_FALSE(contains(b, "lang=\"ar\">"));
  }
  // A return path with quotes and ampersands (allowed in a URL) is percent-encoded in links.
  const auto b =
      challenge_reply(site(), ring, Level::accessible, 0, context(), "/a?x=1&y='z'", false, kT0)
          .body;
  CHECK(contains(b, "r=%2Fa%3Fx%3D1%26y%3D%27z%27\""));
}

TEST_CASE("page: English texts for an English site") {
  const auto ring = fixed_ring();
  ChallengeConfig cfg = site();
  cfg.lang = "en-GB";
  cfg.dir = "ltr";
  const auto b = challenge_reply(cfg, ring, Level::accessible, 0, context(), "/", false, kT0).body;
  CHECK(contains(b, "<html lang=\"en-GB\" dir=\"ltr\">"));
  CHECK(contains(b, "Why am I seeing this page?"));
}

TEST_CASE("page: contact as a URL, and no contact") {
  const auto ring = fixed_ring();
  ChallengeConfig cfg = site();
  cfg.contact = "https://news.example/contact?a=1&b=2";
  auto b = challenge_reply(cfg, ring, Level::accessible, 0, context(), "/", false, kT0).body;
  CHECK(contains(b, "<a href=\"https://news.example/contact?a=1&amp;b=2\">"));
  cfg.contact.clear();
  b = challenge_reply(cfg, ring, Level::accessible, 0, context(), "/", false, kT0).body;
  CHECK_FALSE(contains(b, "<small>"));
}
