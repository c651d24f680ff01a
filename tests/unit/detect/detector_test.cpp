#include "bawwab/detect/detector.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <map>

#include "bawwab/core/clock.hpp"
#include "bawwab/rules/signals.hpp"
#include "fixture.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;
namespace bh = boost::beast::http;

namespace {

net::Address ip(const char* s) { return boost::asio::ip::make_address(s); }

// What the shipped rule files give the detector, without the rules compiler: UA substrings to
// (list, signal, label), one crawler with a network and DNS suffixes, catalogue weights.
class FakeRules final : public RuleLookup {
 public:
  FakeRules() {
    googlebot_.name = "googlebot";
    googlebot_.user_agent = "Googlebot";
    googlebot_.network = "googlebot";
    googlebot_.dns_suffixes = {".googlebot.com", ".google.com"};
  }
  void match_user_agent(std::string_view ua, std::vector<rules::UaMatch>& out) const override {
    struct Entry {
      std::string_view needle, list, signal, label;
    };
    static constexpr Entry kLists[] = {
        {"GPTBot", "ai-crawlers", "ua.ai_crawler", "OpenAI"},
        {"curl/", "http-libraries", "ua.http_library", "curl"},
        {"python-requests", "http-libraries", "ua.http_library", "python-requests"},
        {"Wget/", "http-libraries", "ua.http_library", "wget"},
        {"Scrapy", "scraping-frameworks", "ua.scraping_framework", "Scrapy"},
        {"HeadlessChrome", "headless", "ua.headless", "HeadlessChrome"},
        {"Googlebot", "search-engines", "ua.search_engine", "Google"},
    };
    for (const auto& e : kLists)
      if (ua.find(e.needle) != std::string_view::npos) out.push_back({e.list, e.signal, e.label});
  }
  const rules::CrawlerSpec* claimed_crawler(std::string_view ua) const override {
    return ua.find("Googlebot") != std::string_view::npos ? &googlebot_ : nullptr;
  }
  bool in_network(std::string_view network, const net::Address& a) const override {
    return network == "googlebot" && a == ip("66.249.66.1");
  }
  int weight(std::string_view signal) const override {
    if (const auto it = overrides.find(std::string(signal)); it != overrides.end())
      return it->second;
    const auto* info = rules::find_signal(signal);
    return info ? info->default_weight : 0;
  }
  std::map<std::string, int> overrides;

 private:
  rules::CrawlerSpec googlebot_;
};

DetectInput input_of(const test::Fixture& f, const net::Address& from) {
  DetectInput in;
  in.headers = &f.head;
  in.http_version = f.head.version();
  in.method = f.head.method_string();
  in.host = f.meta.at("host");
  in.path = f.head.target();
  in.ip = from;
  in.tls = f.get("tls") == "true";
  return in;
}

std::vector<std::string_view> names(const rules::Signals& s) {
  std::vector<std::string_view> out;
  for (const auto& x : s.list) out.push_back(x.name);
  return out;
}

}  // namespace

TEST_CASE("every signal emitted is in the catalogue", "[detector]") {
  // Signals::add drops unknown names silently: make sure we never rely on that.
  FakeRules rules;
  BehaviourConfig bc;
  bc.honeypot_paths = {"/article"};
  BehaviourTracker tracker(bc);
  const auto now = ManualClock{}.now();
  for (const auto& f : test::load_all_fixtures()) {
    DetectInput in = input_of(f, ip("203.0.113.7"));
    in.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
    in.tls_mismatch = "openssl";
    in.has_pass_cookie = true;
    const auto s = collect_signals(in, rules, nullptr, &tracker, now);
    for (const auto& sig : s.list) CHECK(rules::find_signal(sig.name) != nullptr);
  }
}

TEST_CASE("a real browser collects no weight", "[detector]") {
  FakeRules rules;
  BehaviourTracker tracker(BehaviourConfig{});
  ManualClock clock;
  for (const char* name :
       {"chrome120_windows_https_nav", "firefox128_linux_https_nav", "safari17_macos_https_nav",
        "edge120_windows_https_nav", "chromium156_headless_http_nav"}) {
    INFO(name);
    const auto f = test::fixture(name);
    const auto s =
        collect_signals(input_of(f, ip("198.51.100.1")), rules, nullptr, &tracker, clock.now());
    CHECK(s.has("ua.browser"));
    CHECK(s.has("headers.order"));
    CHECK_FALSE(s.has("headers.inconsistent"));
    CHECK_FALSE(s.has("headers.order_mismatch"));
    if (std::string_view(name).starts_with("chromium"))
      CHECK(s.has("ua.headless"));
    else
      CHECK(s.score == 0);
  }
}

TEST_CASE("curl, python-requests and Scrapy: declared, and spoofing is inconsistent",
          "[detector]") {
  FakeRules rules;
  const auto now = ManualClock{}.now();
  auto collect = [&](const char* name) {
    const auto f = test::fixture(name);
    return collect_signals(input_of(f, ip("203.0.113.7")), rules, nullptr, nullptr, now);
  };
  const auto curl = collect("curl_default");
  CHECK(curl.find("ua.http_library")->value == "curl");
  CHECK(curl.score == 50);
  CHECK_FALSE(curl.has("ua.browser"));

  CHECK(collect("scrapy_default").has("ua.scraping_framework"));
  CHECK(collect("wget_default").has("ua.http_library"));

  const auto spoof = collect("curl_chrome_ua");
  CHECK(spoof.find("ua.browser")->value == "chrome");
  REQUIRE(spoof.has("headers.inconsistent"));
  CHECK(spoof.find("headers.inconsistent")->value ==
        "no Accept-Language; Accept-Encoding without gzip or br");
  CHECK(spoof.score == 40);

  const auto requests = collect("python_requests_chrome_ua");
  CHECK(requests.has("headers.inconsistent"));
  CHECK(requests.find("headers.order_mismatch")->value == "chrome");
  CHECK(requests.score == 55);
}

TEST_CASE("empty and malformed UAs", "[detector]") {
  FakeRules rules;
  const auto now = ManualClock{}.now();
  bh::fields none;
  none.insert(bh::field::host, "news.example");
  DetectInput in;
  in.headers = &none;
  in.method = "GET";
  in.path = "/";
  in.ip = ip("203.0.113.7");
  auto s = collect_signals(in, rules, nullptr, nullptr, now);
  CHECK(names(s) == std::vector<std::string_view>{"ua.empty", "headers.order", "request.content"});
  CHECK(s.score == 40);

  bh::fields moz = none;
  moz.insert(bh::field::user_agent, "Mozilla/5.0");
  in.headers = &moz;
  s = collect_signals(in, rules, nullptr, nullptr, now);
  CHECK(s.has("ua.malformed"));
  CHECK_FALSE(s.has("ua.browser"));

  in.headers = nullptr;  // no fields at all (explain from a bare log line)
  s = collect_signals(in, rules, nullptr, nullptr, now);
  CHECK(names(s) == std::vector<std::string_view>{"ua.empty", "request.content"});
}

TEST_CASE("claimed crawlers: network, DNS, pending", "[detector]") {
  FakeRules rules;
  ManualClock clock;
  bh::fields g;
  g.insert(bh::field::host, "news.example");
  g.insert(bh::field::user_agent,
           "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
           "like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
           "+http://www.google.com/bot.html)");
  g.insert(bh::field::accept, "*/*");
  DetectInput in;
  in.headers = &g;
  in.method = "GET";
  in.path = "/article/1";

  // Queries wait here until the test answers them.
  std::deque<std::function<void()>> jobs;
  DnsResolver dns;
  dns.reverse = [&](const net::Address& a, TimePoint, ReverseHandler done) {
    jobs.push_back([a, done] {
      done(a == ip("66.249.70.1") ? ReverseAnswer{DnsStatus::ok, "crawl-66-249-70-1.googlebot.com"}
                                  : ReverseAnswer{DnsStatus::no_name, {}});
    });
  };
  dns.forward = [](const std::string&, TimePoint, ForwardHandler done) {
    done(ForwardAnswer{DnsStatus::ok, {ip("66.249.70.1")}});
  };
  CrawlerVerifier verifier(VerifierConfig{}, dns);
  BehaviourTracker tracker(BehaviourConfig{});

  SECTION("in the published network: verified at once, no DNS") {
    in.ip = ip("66.249.66.1");
    const auto s = collect_signals(in, rules, &verifier, &tracker, clock.now());
    CHECK(s.find("crawler.verified")->value == "googlebot");
    CHECK(s.has("ua.search_engine"));
    CHECK_FALSE(s.has("headers.inconsistent"));  // it said what it is
    CHECK(jobs.empty());
    CHECK(s.score == 0);
  }
  SECTION("by DNS: unverified while pending, verified after") {
    in.ip = ip("66.249.70.1");
    auto s = collect_signals(in, rules, &verifier, &tracker, clock.now());
    CHECK(s.find("crawler.unverified")->value == "googlebot");
    CHECK(s.score == 70);
    REQUIRE(jobs.size() == 1);
    jobs.front()();
    s = collect_signals(in, rules, &verifier, &tracker, clock.now());
    CHECK(s.has("crawler.verified"));
    // A verified crawler fetches HTML only: that costs it nothing.
    for (int i = 0; i < 10; ++i) s = collect_signals(in, rules, &verifier, &tracker, clock.now());
    CHECK_FALSE(s.has("behaviour.html_only"));
    CHECK(s.score == 0);
  }
  SECTION("from 127.0.0.1: unverified, no DNS") {
    in.ip = ip("127.0.0.1");
    const auto s = collect_signals(in, rules, &verifier, &tracker, clock.now());
    CHECK(s.has("crawler.unverified"));
    CHECK(jobs.empty());
  }
  SECTION("without a verifier: network only") {
    in.ip = ip("66.249.70.1");
    const auto s = collect_signals(in, rules, nullptr, nullptr, clock.now());
    CHECK(s.has("crawler.unverified"));
  }
}

TEST_CASE("TLS, challenge and behaviour signals; weights from the rules", "[detector]") {
  FakeRules rules;
  rules.overrides["tls.ua_mismatch"] = 35;
  ManualClock clock;
  BehaviourConfig bc;
  bc.honeypot_paths = {"/.well-known/trap/"};
  BehaviourTracker tracker(bc);
  const auto f = test::fixture("chrome120_windows_https_nav");
  DetectInput in = input_of(f, ip("198.51.100.9"));
  in.ja4 = "t13d1516h2_8daaf6152771_e5627efa2ab1";
  in.ja3 = "98487aa16281980e7d1120d399efb6a4";
  in.ja3n = "8e19337e7524d2573be54efb2b0784c9";
  in.tls_mismatch = "python";
  in.pass_cookie_invalid = true;
  auto s = collect_signals(in, rules, nullptr, &tracker, clock.now());
  CHECK(s.find("tls.ja4")->value == "t13d1516h2_8daaf6152771_e5627efa2ab1");
  CHECK(s.find("tls.ja3n")->weight == 0);
  CHECK(s.find("tls.ua_mismatch")->value == "python");
  CHECK(s.find("tls.ua_mismatch")->weight == 35);
  CHECK(s.has("challenge.invalid"));
  CHECK(s.score == 55);

  in = input_of(f, ip("198.51.100.9"));
  in.path = "/.well-known/trap/x";
  s = collect_signals(in, rules, nullptr, &tracker, clock.now());
  CHECK(s.has("behaviour.honeypot"));
  CHECK(s.score == 80);
  in.path = "/";
  in.has_pass_cookie = true;
  s = collect_signals(in, rules, nullptr, &tracker, clock.now());
  CHECK(s.has("behaviour.honeypot"));
  CHECK(s.has("challenge.passed"));
}

TEST_CASE("behind a trusted proxy", "[detector]") {
  FakeRules rules;
  const auto f = test::fixture("spoof_chrome_http10");
  DetectInput in = input_of(f, ip("198.51.100.9"));
  CHECK(collect_signals(in, rules, nullptr, nullptr, ManualClock{}.now())
            .has("headers.inconsistent"));
  in.via_proxy = true;
  CHECK_FALSE(collect_signals(in, rules, nullptr, nullptr, ManualClock{}.now())
                  .has("headers.inconsistent"));
}
