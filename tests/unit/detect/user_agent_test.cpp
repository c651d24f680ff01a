#include "bawwab/detect/user_agent.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace bawwab::detect;
using F = BrowserClaim::Family;

namespace {

struct Case {
  const char* ua;
  F family;
  int major;
  int chromium;
  bool mobile;
};

}  // namespace

TEST_CASE("browser claims of real User-Agents", "[user_agent]") {
  const Case cases[] = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36",
       F::chrome, 120, 120, false},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "HeadlessChrome/156.0.0.0 Safari/537.36",
       F::chrome, 156, 156, false},
      {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Mobile Safari/537.36",
       F::chrome, 120, 120, true},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
       F::edge, 120, 120, false},
      {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.0.0",
       F::edge, 120, 120, true},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
       F::opera, 105, 119, false},
      {"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
       "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
       F::samsung, 23, 115, true},
      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", F::firefox, 128, 0,
       false},
      {"Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0", F::firefox, 128, 0,
       true},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.4.1 Safari/605.1.15",
       F::safari, 17, 0, false},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
       "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
       F::safari, 17, 0, true},
  };
  for (const auto& c : cases) {
    INFO(c.ua);
    const BrowserClaim b = parse_browser_claim(c.ua);
    CHECK(b.family == c.family);
    CHECK(b.major == c.major);
    CHECK(b.chromium_major == c.chromium);
    CHECK(b.mobile == c.mobile);
    CHECK(b.known());
  }
  CHECK(parse_browser_claim("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                            "(KHTML, like Gecko) Version/16.4 Safari/605.1.15")
            .minor == 4);
}

TEST_CASE("browser-like UAs without a known profile are 'other'", "[user_agent]") {
  const char* others[] = {
      // Android WebView, iOS Chrome and Firefox (WebKit), Electron, Yandex, Pale Moon, old Edge
      "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "app/1.0.0 Chrome/120.0.6099.56 Electron/28.0.0 Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) Gecko/20100101 Goanna/6.5 "
      "Firefox/102.0 PaleMoon/33.0.0",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.0]",
  };
  for (const char* ua : others) {
    INFO(ua);
    const BrowserClaim b = parse_browser_claim(ua);
    CHECK(b.family == F::other);
    CHECK_FALSE(b.known());
  }
}

TEST_CASE("non-browser UAs and self-declared crawlers claim no browser", "[user_agent]") {
  const char* nones[] = {
      "curl/7.88.1",
      "Wget/1.21.3",
      "python-requests/2.28.1",
      "Scrapy/2.8.0 (+https://scrapy.org)",
      "",
      // Googlebot smartphone and bingbot carry a Chrome token but say what they are.
      "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)",
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
      "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
      "+https://openai.com/gptbot",
      "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)",
  };
  for (const char* ua : nones) {
    INFO(ua);
    CHECK(parse_browser_claim(ua).family == F::none);
  }
  CHECK(family_name(F::chrome) == "chrome");
  CHECK(family_name(F::samsung) == "samsung");
}

TEST_CASE("empty and malformed User-Agents", "[user_agent]") {
  CHECK(check_user_agent("", false).problem == UaProblem::empty);
  CHECK(check_user_agent("", true).problem == UaProblem::empty);
  CHECK(check_user_agent("  \t ", true).problem == UaProblem::empty);
  CHECK(check_user_agent(std::string(1025, 'a'), true).problem == UaProblem::malformed);
  CHECK(check_user_agent(std::string(1024, 'a'), true).problem == UaProblem::none);
  CHECK(check_user_agent(std::string("curl\x01/1"), true).problem == UaProblem::malformed);
  CHECK(check_user_agent(std::string("curl/1\x7f"), true).problem == UaProblem::malformed);
  CHECK(check_user_agent(std::string("a\0b", 3), true).problem == UaProblem::malformed);
  CHECK(check_user_agent("Mozilla/5.0", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("mozilla/5.0", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("Mozilla", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("-", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("null", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("undefined", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64", true).problem ==
        UaProblem::malformed);
  CHECK(check_user_agent("Mozilla/5.0 (Windows)) x (", true).problem == UaProblem::malformed);
  CHECK(check_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                         true)
            .problem == UaProblem::none);
  // Tabs are legal in field values; UTF-8 in app UAs happens.
  CHECK(check_user_agent("MyApp/1.0\t(x)", true).problem == UaProblem::none);
  CHECK(check_user_agent("تطبيق/1.0", true).problem == UaProblem::none);
  CHECK(check_user_agent("curl/7.88.1", true).reason.empty());
  CHECK(check_user_agent("", false).reason == "no User-Agent");
}
