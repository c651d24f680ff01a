#include "bawwab/detect/header_consistency.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "fixture.hpp"

using namespace bawwab::detect;
using bawwab::detect::test::Fixture;
namespace bh = boost::beast::http;

namespace {

RequestFacts facts_of(const Fixture& f, bool via_proxy = false) {
  RequestFacts r;
  r.method = f.head.method_string();
  r.host = f.meta.at("host");
  r.http_version = f.head.version();
  r.tls = f.get("tls") == "true";
  r.via_proxy = via_proxy;
  return r;
}

HeaderCheck check(const Fixture& f, bool via_proxy = false) {
  const BrowserClaim claim = parse_browser_claim(f.head[bh::field::user_agent]);
  return check_headers(f.head, facts_of(f, via_proxy), claim);
}

bool has_reason(const HeaderCheck& c, std::string_view r) {
  return std::find(c.reasons.begin(), c.reasons.end(), r) != c.reasons.end();
}

bh::fields fields(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  bh::fields f;
  for (const auto& [n, v] : list) f.insert(n, v);
  return f;
}

}  // namespace

TEST_CASE("recorded heads: real browsers are consistent, spoofs are flagged", "[headers]") {
  const auto all = test::load_all_fixtures();
  REQUIRE(all.size() >= 25);
  int clean = 0, flagged = 0, no_claim = 0;
  for (const auto& f : all) {
    INFO(f.name << " (" << f.get("client") << ")");
    const BrowserClaim claim = parse_browser_claim(f.head[bh::field::user_agent]);
    const HeaderCheck c = check(f);
    for (const auto r : c.reasons) UNSCOPED_INFO("reason: " << r);
    const std::string expect = f.get("expect");
    if (expect == "clean") {
      // The worst failure is a false positive: nothing at all for a real browser.
      CHECK(claim.known());
      CHECK(c.reasons.empty());
      CHECK_FALSE(c.order_mismatch);
      ++clean;
    } else if (expect == "inconsistent") {
      CHECK(claim.known());
      CHECK_FALSE(c.reasons.empty());
      CHECK(c.order_mismatch == (f.get("order") == "mismatch"));
      ++flagged;
    } else {
      REQUIRE(expect == "no-claim");
      CHECK(claim.family == BrowserClaim::none);
      CHECK(c.reasons.empty());
      ++no_claim;
    }
  }
  CHECK(clean >= 15);
  CHECK(flagged >= 6);
  CHECK(no_claim >= 6);
}

TEST_CASE("the reasons given for each spoof", "[headers]") {
  const auto curl = check(test::fixture("curl_chrome_ua"));
  CHECK(has_reason(curl, "no Accept-Language"));
  CHECK(has_reason(curl, "Accept-Encoding without gzip or br"));
  CHECK(curl.reasons.size() == 2);

  const auto requests = check(test::fixture("python_requests_chrome_ua"));
  CHECK(requests.reasons == std::vector<std::string_view>{"no Accept-Language"});
  CHECK(requests.order_mismatch);  // Accept-Encoding before Accept, Connection last

  const auto scrapy = check(test::fixture("scrapy_chrome_ua"));
  CHECK(scrapy.order_mismatch);  // Host last
  // Plain HTTP to 127.0.0.1 is a secure context for Chromium: its navigations carry Sec-Fetch-*.
  CHECK(has_reason(scrapy, "no Sec-Fetch-* on a secure navigation"));

  const auto version = check(test::fixture("spoof_chrome_https_sec_ch_ua_version"));
  CHECK(version.reasons ==
        std::vector<std::string_view>{"sec-ch-ua Chromium version differs from the UA"});

  const auto firefox = check(test::fixture("spoof_firefox_ua_on_chromium"));
  CHECK(has_reason(firefox, "sec-ch-ua from a browser without client hints"));
  CHECK(firefox.order_mismatch);  // Accept-Encoding before Accept-Language: Chromium's order

  const auto bare = check(test::fixture("spoof_chrome_https_no_fetch_metadata"));
  CHECK(bare.reasons == std::vector<std::string_view>{"no Sec-Fetch-* on a secure navigation"});

  const auto http10 = check(test::fixture("spoof_chrome_http10"));
  CHECK(http10.reasons == std::vector<std::string_view>{"HTTP/1.0 from a modern browser"});
}

TEST_CASE("behind a trusted proxy, version and order are the proxy's", "[headers]") {
  CHECK(check(test::fixture("spoof_chrome_http10"), true).reasons.empty());
  CHECK_FALSE(check(test::fixture("python_requests_chrome_ua"), true).order_mismatch);
  // What the client did not send is still missing.
  CHECK_FALSE(check(test::fixture("curl_chrome_ua"), true).reasons.empty());
}

TEST_CASE("the same browser head over plain HTTP to a public name is not held to https rules",
          "[headers]") {
  // The recorded https navigation without its Sec-Fetch-*/sec-ch-ua (what Chromium sends over
  // plain HTTP) is fine on plain HTTP and flagged on https.
  const Fixture http = test::fixture("chromium156_headless_http_nav");
  const BrowserClaim claim = parse_browser_claim(http.head[bh::field::user_agent]);
  RequestFacts r = facts_of(http);
  CHECK(check_headers(http.head, r, claim).reasons.empty());
  r.tls = true;
  const auto over_tls = check_headers(http.head, r, claim);
  CHECK(has_reason(over_tls, "no Sec-Fetch-* on a secure navigation"));
  // "gzip, deflate" still has gzip.
  CHECK_FALSE(has_reason(over_tls, "Accept-Encoding without gzip or br"));
}

TEST_CASE("checks limited to what browsers always send", "[headers]") {
  const char* chrome =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 "
      "Safari/537.36";
  const BrowserClaim claim = parse_browser_claim(chrome);
  const RequestFacts https{"GET", "news.example", 11, true, false};

  SECTION("a subresource without sec-ch-ua (withheld by an embedder's Permissions-Policy)") {
    const auto f = fields({{"Host", "news.example"},
                           {"Connection", "keep-alive"},
                           {"User-Agent", chrome},
                           {"Accept", "image/avif,*/*;q=0.8"},
                           {"Sec-Fetch-Site", "cross-site"},
                           {"Sec-Fetch-Mode", "no-cors"},
                           {"Sec-Fetch-Dest", "image"},
                           {"Accept-Encoding", "gzip, deflate, br"},
                           {"Accept-Language", "en"}});
    CHECK(check_headers(f, https, claim).reasons.empty());
  }
  SECTION("a top-level navigation without sec-ch-ua is flagged") {
    const auto f = fields({{"Host", "news.example"},
                           {"Connection", "keep-alive"},
                           {"User-Agent", chrome},
                           {"Accept", "text/html,*/*;q=0.8"},
                           {"Sec-Fetch-Site", "none"},
                           {"Sec-Fetch-Mode", "navigate"},
                           {"Sec-Fetch-Dest", "document"},
                           {"Accept-Encoding", "gzip, br"},
                           {"Accept-Language", "en"}});
    CHECK(check_headers(f, https, claim).reasons ==
          std::vector<std::string_view>{"no sec-ch-ua on a secure navigation"});
  }
  SECTION("media range requests ask for identity") {
    const auto f = fields({{"Host", "news.example"},
                           {"Connection", "keep-alive"},
                           {"User-Agent", chrome},
                           {"Accept", "*/*"},
                           {"Accept-Encoding", "identity;q=1, *;q=0"},
                           {"Accept-Language", "en"},
                           {"Range", "bytes=0-"}});
    CHECK(check_headers(f, https, claim).reasons.empty());
  }
  SECTION("WebSocket handshakes, POSTs and other methods are not checked") {
    const auto ws = fields({{"Host", "news.example"},
                            {"User-Agent", chrome},
                            {"Upgrade", "websocket"},
                            {"Connection", "Upgrade"}});
    CHECK(check_headers(ws, https, claim).reasons.empty());
    const auto bare = fields({{"Host", "news.example"}, {"User-Agent", chrome}});
    CHECK(check_headers(bare, RequestFacts{"POST", "news.example", 11, true, false}, claim)
              .reasons.empty());
    CHECK(check_headers(bare, RequestFacts{"OPTIONS", "news.example", 11, true, false}, claim)
              .reasons.empty());
    CHECK(check_headers(bare, https, claim).reasons.size() >= 3);
  }
  SECTION("unknown browsers are never checked") {
    const auto bare = fields({{"Host", "news.example"}, {"User-Agent", "x"}});
    CHECK(check_headers(bare, https,
                        parse_browser_claim("Mozilla/5.0 (Linux; Android 13; Pixel 7; wv) "
                                            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
                                            "Chrome/120.0.0.0 Mobile Safari/537.36"))
              .reasons.empty());
  }
  SECTION("Firefox and Safari: Sec-Fetch-* from their first versions that send it, https only") {
    const auto f = fields({{"Host", "news.example"},
                           {"Accept", "text/html"},
                           {"Accept-Language", "en"},
                           {"Accept-Encoding", "gzip"}});
    auto claim_of = [](const char* ua) { return parse_browser_claim(ua); };
    const auto ff89 =
        claim_of("Mozilla/5.0 (X11; Linux x86_64; rv:89.0) Gecko/20100101 Firefox/89.0");
    const auto ff90 =
        claim_of("Mozilla/5.0 (X11; Linux x86_64; rv:90.0) Gecko/20100101 Firefox/90.0");
    const auto sf163 = claim_of(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.3 Safari/605.1.15");
    const auto sf164 = claim_of(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.4 Safari/605.1.15");
    CHECK(check_headers(f, https, ff89).reasons.empty());
    CHECK(check_headers(f, https, ff90).reasons.size() == 1);
    CHECK(check_headers(f, https, sf163).reasons.empty());
    CHECK(check_headers(f, https, sf164).reasons.size() == 1);
    const RequestFacts loopback{"GET", "localhost", 11, false, false};
    CHECK(check_headers(f, loopback, ff90).reasons.empty());
  }
}

TEST_CASE("header order hash", "[headers]") {
  const auto a = fields({{"Host", "x"}, {"User-Agent", "u"}, {"Accept", "*/*"}});
  const auto b = fields({{"host", "y"}, {"user-agent", "v"}, {"ACCEPT", "text/html"}});
  const auto c = fields({{"Host", "x"}, {"Accept", "*/*"}, {"User-Agent", "u"}});
  CHECK(header_order_hash(a) == header_order_hash(b));  // names only, case-insensitive
  CHECK(header_order_hash(a) != header_order_hash(c));  // order matters
  CHECK(summarize_headers(a).order_hash == header_order_hash(a));
  CHECK(header_order_hex(0x0123456789abcdefull) == "0123456789abcdef");
  CHECK(header_order_hex(header_order_hash(bh::fields{})) == "cbf29ce484222325");  // FNV offset
  // Recorded heads of different clients hash differently; the same client's navigations alike.
  std::set<std::uint64_t> seen;
  for (const char* n : {"chromium156_headless_https_nav", "curl_default", "wget_default",
                        "python_requests_default", "scrapy_default"})
    seen.insert(header_order_hash(test::fixture(n).head));
  CHECK(seen.size() == 5);
  CHECK(header_order_hash(test::fixture("chromium156_headless_https_nav").head) ==
        header_order_hash(test::fixture("chromium156_headless_http_loopback_nav").head));
}

TEST_CASE("sec-ch-ua brand parsing and loopback hosts", "[headers]") {
  CHECK(sec_ch_ua_chromium_major("\"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"") == 156);
  CHECK(sec_ch_ua_chromium_major(
            "\"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\"") == 120);
  CHECK(sec_ch_ua_chromium_major("\"Chromium\" ; v=\"99\"") == 99);
  CHECK(sec_ch_ua_chromium_major("\"Google Chrome\";v=\"120\"") == 0);
  CHECK(sec_ch_ua_chromium_major("\"Chromium\"") == 0);
  CHECK(sec_ch_ua_chromium_major("") == 0);
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("news.localhost"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("[::1]"));
  CHECK_FALSE(is_loopback_host("127.0.0.1.example.com"));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
  CHECK_FALSE(is_loopback_host("news.test"));
  CHECK_FALSE(is_loopback_host("10.0.0.1"));
}
