// The detector over the shipped rule files (rules/default.yaml and its includes), through the
// real rules compiler: the UA classes and crawler verification as a deployment sees them.
#include <catch2/catch.hpp>

#include "bawwab/core/clock.hpp"
#include "bawwab/detect/detector.hpp"
#include "bawwab/rules/loader.hpp"
#include "fixture.hpp"

using namespace bawwab;
using namespace bawwab::detect;
namespace bh = boost::beast::http;

namespace {

net::Address ip(const char* s) { return boost::asio::ip::make_address(s); }

const rules::RuleSet& shipped_rules() {
  static const rules::RuleSetPtr rs = [] {
    auto r = rules::load_rules({std::string(BAWWAB_SOURCE_DIR) + "/rules/default.yaml"});
    for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.message);
    return r.rules;
  }();
  REQUIRE(rs != nullptr);
  return *rs;
}

rules::Signals collect(const test::Fixture& f, const net::Address& from,
                       CrawlerVerifier* verifier = nullptr) {
  DetectInput in;
  in.headers = &f.head;
  in.http_version = f.head.version();
  in.method = f.head.method_string();
  in.host = f.meta.at("host");
  in.path = f.head.target();
  in.ip = from;
  in.tls = f.get("tls") == "true";
  return collect_signals(in, shipped_rules(), verifier, nullptr, ManualClock{}.now());
}

}  // namespace

TEST_CASE("shipped rules: recorded clients get their classes", "[detector][rules]") {
  const auto from = ip("203.0.113.7");
  CHECK(collect(test::fixture("curl_default"), from).has("ua.http_library"));
  CHECK(collect(test::fixture("wget_default"), from).has("ua.http_library"));
  CHECK(collect(test::fixture("python_requests_default"), from).has("ua.http_library"));
  CHECK(collect(test::fixture("scrapy_default"), from).has("ua.scraping_framework"));
  CHECK(collect(test::fixture("chromium156_headless_https_nav"), from).has("ua.headless"));
  const auto spoof = collect(test::fixture("curl_chrome_ua"), from);
  CHECK(spoof.has("headers.inconsistent"));
  CHECK_FALSE(spoof.has("ua.http_library"));

  for (const char* name :
       {"chrome120_windows_https_nav", "chrome120_android_https_nav", "edge120_windows_https_nav",
        "firefox128_linux_https_nav", "firefox128_linux_http_nav", "firefox115_windows_https_link",
        "safari17_macos_https_nav", "safari17_iphone_https_nav", "safari15_macos_https_nav"}) {
    INFO(name);
    const auto s = collect(test::fixture(name), from);
    for (const auto& sig : s.list) UNSCOPED_INFO(sig.name << "=" << sig.value);
    CHECK(s.score == 0);
  }
}

TEST_CASE("shipped rules: an AI crawler and claimed Googlebots", "[detector][rules]") {
  bh::fields f;
  f.insert(bh::field::host, "news.example");
  f.insert(bh::field::user_agent,
           "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
           "+https://openai.com/gptbot");
  f.insert(bh::field::accept, "*/*");
  DetectInput in;
  in.headers = &f;
  in.method = "GET";
  in.path = "/article/1";
  in.ip = ip("203.0.113.7");
  const auto now = ManualClock{}.now();
  const auto gpt = collect_signals(in, shipped_rules(), nullptr, nullptr, now);
  REQUIRE(gpt.has("ua.ai_crawler"));
  CHECK(gpt.find("ua.ai_crawler")->value == "OpenAI");

  f.set(bh::field::user_agent,
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
  const rules::CrawlerSpec* g = shipped_rules().claimed_crawler(f[bh::field::user_agent]);
  REQUIRE(g != nullptr);
  in.ip = ip("127.0.0.1");
  CHECK(verify_by_network(shipped_rules(), *g, in.ip) == Verification::not_in_network);
  auto s = collect_signals(in, shipped_rules(), nullptr, nullptr, now);
  CHECK(s.has("crawler.unverified"));
  in.ip = ip("34.22.85.1");  // first range of rules/networks/googlebot.txt
  s = collect_signals(in, shipped_rules(), nullptr, nullptr, now);
  CHECK(s.find("crawler.verified")->value == g->name);
  CHECK_FALSE(s.has("headers.inconsistent"));
}

TEST_CASE("shipped rules: the signal names the crawler that was verified", "[detector][rules]") {
  // The value of crawler.verified / crawler.unverified is the crawlers: name: what a rule uses to
  // treat a verified SEO crawler or link previewer otherwise than a verified search engine.
  const auto now = ManualClock{}.now();
  struct Case {
    const char* ua;
    const char* in_range;
    const char* name;
    const char* list_signal;
  };
  for (const Case& c : {
           Case{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
                "54.36.148.17", "ahrefsbot", "ua.seo_tool"},
           Case{"Mozilla/5.0 (compatible; SeznamBot/4.0; +http://napoveda.seznam.cz/"
                "seznambot-intro/)",
                "77.75.78.160", "seznambot", "ua.search_engine"},
           Case{"Mozilla/5.0 (compatible; Qwantbot/1.0_12345; +https://help.qwant.com/bot/)",
                "194.187.171.1", "qwantbot", "ua.search_engine"},
           // Telegram's fetcher says "like TwitterBot": it is checked as Telegram.
           Case{"TelegramBot (like TwitterBot)", "149.154.167.99", "telegrambot",
                "ua.link_preview"},
           Case{"Twitterbot/1.0", "199.59.150.1", "twitterbot", "ua.link_preview"},
       }) {
    INFO(c.ua);
    bh::fields f;
    f.insert(bh::field::host, "news.example");
    f.insert(bh::field::user_agent, c.ua);
    f.insert(bh::field::accept, "*/*");
    DetectInput in;
    in.headers = &f;
    in.method = "GET";
    in.path = "/article/1";
    in.ip = ip(c.in_range);
    auto s = collect_signals(in, shipped_rules(), nullptr, nullptr, now);
    REQUIRE(s.has("crawler.verified"));
    CHECK(s.find("crawler.verified")->value == c.name);
    CHECK(s.has(c.list_signal));
    in.ip = ip("203.0.113.7");
    s = collect_signals(in, shipped_rules(), nullptr, nullptr, now);
    REQUIRE(s.has("crawler.unverified"));
    CHECK(s.find("crawler.unverified")->value == c.name);
  }
}
