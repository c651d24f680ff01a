#include "bawwab/detect/behaviour.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "bawwab/core/clock.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;

namespace {

BehaviourEvent page(std::string_view path = "/article/1") {
  BehaviourEvent e;
  e.host = "news.example";
  e.path = path;
  e.user_agent = "curl/7.88.1";
  e.kind = RequestKind::page;
  return e;
}

BehaviourEvent asset(std::string_view path = "/static/site.css") {
  BehaviourEvent e = page(path);
  e.kind = RequestKind::asset;
  return e;
}

}  // namespace

TEST_CASE("request classification", "[behaviour]") {
  using K = RequestKind;
  const char* html = "text/html,application/xhtml+xml,*/*;q=0.8";
  CHECK(classify_request("GET", "/", html, "document") == K::page);
  CHECK(classify_request("GET", "/article/1", "*/*", "") == K::page);  // curl, requests
  CHECK(classify_request("GET", "/article/1", "", "") == K::page);
  CHECK(classify_request("GET", "/a/index.html", html, "") == K::page);
  CHECK(classify_request("HEAD", "/a.php", html, "") == K::page);
  CHECK(classify_request("GET", "/api/x", "*/*", "empty") == K::other);  // fetch()
  CHECK(classify_request("GET", "/feed", "application/rss+xml", "") == K::other);
  CHECK(classify_request("GET", "/data.json", "*/*", "") == K::other);
  CHECK(classify_request("POST", "/article/1", html, "document") == K::other);
  CHECK(classify_request("GET", "/s.css", "text/css,*/*;q=0.1", "style") == K::asset);
  CHECK(classify_request("GET", "/a.js", "*/*", "script") == K::asset);
  CHECK(classify_request("GET", "/favicon.ico", "image/*", "image") == K::asset);
  CHECK(classify_request("GET", "/img/photo.JPG", "*/*", "") == K::asset);
  CHECK(classify_request("GET", "/fonts/a.woff2", "*/*", "") == K::asset);
  CHECK(classify_request("GET", "/images/x", "image/avif", "image") == K::asset);
  CHECK(classify_request("GET", "/v.1/article", "*/*", "") == K::page);  // dot in a directory
}

TEST_CASE("html_only: pages without assets", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.html_only_pages = 8;
  BehaviourTracker t(cfg);
  ManualClock clock;
  BehaviourFlags f;
  for (int i = 0; i < 7; ++i) f = t.record(1, page(), clock.now());
  CHECK_FALSE(f.html_only);
  f = t.record(1, page(), clock.now());
  CHECK(f.html_only);

  // A reader: page, then its assets.
  for (int i = 0; i < 20; ++i) {
    f = t.record(2, page(), clock.now());
    if (i == 0) f = t.record(2, asset(), clock.now());
  }
  CHECK_FALSE(f.html_only);

  // A new window starts over.
  clock.advance(11min);
  CHECK_FALSE(t.record(1, page(), clock.now()).html_only);
}

TEST_CASE("honeypot paths flag the client for a while", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.honeypot_paths = {"/.trap/", "/wp-admin/"};
  cfg.flag_duration = 1h;
  BehaviourTracker t(cfg);
  ManualClock clock;
  const auto at = [](std::string_view path) {
    ClientEvent e;
    e.path = path;
    return e;
  };
  CHECK_FALSE(t.record_client(1, at("/article/1"), clock.now()).honeypot);
  CHECK(t.record_client(1, at("/.trap/a1b2"), clock.now()).honeypot);
  clock.advance(59min);
  CHECK(t.record_client(1, at("/article/2"), clock.now()).honeypot);
  clock.advance(2min);
  CHECK_FALSE(t.record_client(1, at("/article/3"), clock.now()).honeypot);
  CHECK_FALSE(t.record_client(2, at("/.trapdoor"), clock.now()).honeypot);
}

TEST_CASE("robots.txt read, then a disallowed path requested", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.html_only_pages = 0;
  BehaviourTracker t(cfg);
  ManualClock clock;
  t.set_robots("news.example",
               "User-agent: *\nDisallow: /private/\n\nUser-agent: GPTBot\n"
               "Disallow: /\n");
  // Without having read robots.txt: no violation (it may not know the rules).
  CHECK_FALSE(t.record(1, page("/private/x"), clock.now()).robots_violation);
  CHECK_FALSE(t.record(1, page("/robots.txt"), clock.now()).robots_violation);
  CHECK_FALSE(t.record(1, page("/article/1"), clock.now()).robots_violation);
  CHECK(t.record(1, page("/private/x"), clock.now()).robots_violation);
  CHECK(t.record(1, page("/article/2"), clock.now()).robots_violation);  // stays flagged
  clock.advance(61min);
  CHECK_FALSE(t.record(1, page("/article/3"), clock.now()).robots_violation);

  // Its UA's own group.
  BehaviourEvent gpt = page("/robots.txt");
  gpt.user_agent = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2";
  t.record(2, gpt, clock.now());
  gpt.path = "/article/1";
  CHECK(t.record(2, gpt, clock.now()).robots_violation);

  // Another site without a robots.txt on file: nothing to violate.
  BehaviourEvent other = page("/private/x");
  other.host = "other.example";
  t.record(3, page("/robots.txt"), clock.now());
  CHECK_FALSE(t.record(3, other, clock.now()).robots_violation);
}

TEST_CASE("robots.txt sites are bounded", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.max_robots_sites = 1;
  BehaviourTracker t(cfg);
  t.set_robots("a.example", "User-agent: *\nDisallow: /\n");
  t.set_robots("a.example", "User-agent: *\nDisallow: /x\n");  // replaces
  t.set_robots("b.example", "User-agent: *\nDisallow: /\n");
  CHECK(t.stats().robots_ignored == 1);
}

TEST_CASE("cookie set and never returned", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.cookie_ignored_requests = 4;
  cfg.cookie_grace = 2s;
  cfg.html_only_pages = 0;
  BehaviourTracker t(cfg);
  ManualClock clock;

  // A scraper: the cookie is set on its first response and never comes back.
  t.record(1, page(), clock.now());
  t.cookie_set(1, clock.now());
  BehaviourFlags f;
  for (int i = 0; i < 3; ++i) f = t.record(1, page(), clock.now());  // within the grace: free
  CHECK_FALSE(f.cookie_ignored);
  clock.advance(3s);
  for (int i = 0; i < 3; ++i) f = t.record(1, page(), clock.now());
  CHECK_FALSE(f.cookie_ignored);
  f = t.record(1, page(), clock.now());
  CHECK(f.cookie_ignored);

  // A browser: returns it, even after some misses.
  t.cookie_set(2, clock.now());
  clock.advance(3s);
  t.record(2, page(), clock.now());
  BehaviourEvent with = page();
  with.had_our_cookie = true;
  CHECK_FALSE(t.record(2, with, clock.now()).cookie_ignored);
  t.cookie_set(2, clock.now());  // set again later: it returned one before, never flagged
  clock.advance(3s);
  for (int i = 0; i < 10; ++i) f = t.record(2, page(), clock.now());
  CHECK_FALSE(f.cookie_ignored);

  // Nothing set: nothing ignored.
  for (int i = 0; i < 10; ++i) f = t.record(3, page(), clock.now());
  CHECK_FALSE(f.cookie_ignored);
}

TEST_CASE("regular request intervals", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.regular_min_intervals = 10;
  cfg.html_only_pages = 0;
  BehaviourTracker t(cfg);
  ManualClock clock;

  SECTION("a fixed delay is regular") {
    BehaviourFlags f;
    for (int i = 0; i < 10; ++i) {
      f = t.record(1, page(), clock.now());
      clock.advance(2s);
    }
    CHECK_FALSE(f.regular_interval);  // 9 intervals
    f = t.record(1, page(), clock.now());
    CHECK(f.regular_interval);
    // Assets in between do not count as intervals (and keep the flag).
    CHECK(t.record(1, asset(), clock.now()).regular_interval);
  }
  SECTION("small jitter is still regular, a reader is not") {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> jitter(-50, 50);
    BehaviourFlags f;
    for (int i = 0; i < 16; ++i) {
      f = t.record(1, page(), clock.now());
      clock.advance(std::chrono::milliseconds(2000 + jitter(rng)));
    }
    CHECK(f.regular_interval);
    // Reading times between 5 s and 3 min.
    std::uniform_int_distribution<int> reading(5'000, 180'000);
    for (int i = 0; i < 16; ++i) {
      f = t.record(2, page(), clock.now());
      clock.advance(std::chrono::milliseconds(reading(rng)));
    }
    CHECK_FALSE(f.regular_interval);
  }
  SECTION("a page that reloads itself every 5 minutes is not a robot") {
    BehaviourFlags f;
    for (int i = 0; i < 16; ++i) {
      f = t.record(1, page(), clock.now());
      clock.advance(5min);
    }
    CHECK_FALSE(f.regular_interval);
  }
  SECTION("a burst of requests at the same instant is not regular") {
    BehaviourFlags f;
    for (int i = 0; i < 16; ++i) f = t.record(1, page(), clock.now());
    CHECK_FALSE(f.regular_interval);
  }
}

TEST_CASE("bounded table: least recently seen clients evicted, counted", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.max_clients = 4;
  cfg.shards = 1;
  cfg.honeypot_paths = {"/trap"};
  BehaviourTracker t(cfg);
  ManualClock clock;
  const auto trap = [](std::string_view path) {
    ClientEvent e;
    e.path = path;
    return e;
  };
  t.record_client(1, trap("/trap"), clock.now());
  for (std::uint64_t k = 2; k <= 4; ++k) t.record(k, page(), clock.now());
  CHECK(t.stats().clients == 4);
  CHECK(t.record_client(1, trap("/"), clock.now()).honeypot);  // 1 is now the most recent
  t.record(5, page(), clock.now());                  // evicts 2
  CHECK(t.stats().clients == 4);
  CHECK(t.stats().evictions == 1);
  CHECK(t.record_client(1, trap("/"), clock.now()).honeypot);  // 1 survived
  for (std::uint64_t k = 6; k <= 9; ++k) t.record(k, page(), clock.now());
  CHECK_FALSE(t.record_client(1, trap("/"), clock.now()).honeypot);  // evicted, starts over
  CHECK(t.stats().evictions == 6);
  CHECK(t.stats().records == 8);  // record() calls only (record_client is the other half)
}

TEST_CASE("client keys", "[behaviour]") {
  auto key = [](const char* s) {
    return BehaviourTracker::key_for(boost::asio::ip::make_address(s));
  };
  CHECK(key("192.0.2.1") == key("::ffff:192.0.2.1"));
  CHECK(key("192.0.2.1") != key("192.0.2.2"));
  CHECK(key("2001:db8:1:2::1") == key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));  // same /64
  CHECK(key("2001:db8:1:2::1") != key("2001:db8:1:3::1"));
}

TEST_CASE("concurrent records from several threads", "[behaviour]") {
  BehaviourConfig cfg;
  cfg.max_clients = 256;
  BehaviourTracker t(cfg);
  const TimePoint now = ManualClock{}.now();
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&t, th, now] {
      for (int i = 0; i < 5000; ++i)
        t.record(static_cast<std::uint64_t>((i * 7 + th) % 1000), page(), now);
    });
  for (auto& th : threads) th.join();
  const auto s = t.stats();
  CHECK(s.records == 20000);
  CHECK(s.clients <= 256);
  CHECK(s.evictions > 0);
}
