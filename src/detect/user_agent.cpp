#include "bawwab/detect/user_agent.hpp"

#include <array>

namespace bawwab::detect {
namespace {

constexpr std::string_view kMozilla = "Mozilla/5.0 (";
constexpr std::string_view kGecko = "(KHTML, like Gecko) ";

bool contains(std::string_view s, std::string_view what) noexcept {
  return s.find(what) != std::string_view::npos;
}

// Digits at s[i..] (at most 6, so no overflow); advances i. 0 when there are none.
int read_int(std::string_view s, std::size_t& i) noexcept {
  int v = 0;
  std::size_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n++ < 6) v = v * 10 + (s[i] - '0');
    ++i;
  }
  return v;
}

// Skips a version "120.0.6099.71" at s[i..].
void skip_version(std::string_view s, std::size_t& i) noexcept {
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
}

bool consume(std::string_view s, std::size_t& i, std::string_view what) noexcept {
  if (s.substr(i).starts_with(what)) {
    i += what.size();
    return true;
  }
  return false;
}

// "Chrome/120.0.0.0 [Mobile ]Safari/537.36[ Edg/120...| OPR/105...]" and what precedes it after
// "(KHTML, like Gecko) ": "" (Chrome, Brave, Vivaldi), "Headless" (HeadlessChrome),
// "SamsungBrowser/23.0 ". Anything else is a Chromium we do not know: other.
BrowserClaim parse_chromium(std::string_view ua, std::size_t chrome_at, BrowserClaim c) noexcept {
  c.family = BrowserClaim::other;
  std::size_t i = chrome_at + 7;  // after "Chrome/"
  const int chromium = read_int(ua, i);
  skip_version(ua, i);
  if (!consume(ua, i, " Safari/") && !consume(ua, i, " Mobile Safari/")) return c;
  skip_version(ua, i);

  const std::size_t gecko = ua.find(kGecko);
  if (gecko == std::string_view::npos || gecko + kGecko.size() > chrome_at) return c;
  const std::string_view before =
      ua.substr(gecko + kGecko.size(), chrome_at - gecko - kGecko.size());
  BrowserClaim::Family family = BrowserClaim::chrome;
  int major = chromium;
  if (before.starts_with("SamsungBrowser/")) {
    std::size_t j = 15;
    major = read_int(before, j);
    skip_version(before, j);
    if (j + 1 != before.size() || before[j] != ' ') return c;
    family = BrowserClaim::samsung;
  } else if (!before.empty() && before != "Headless") {
    return c;
  }

  const std::string_view tail = ua.substr(i);
  if (!tail.empty()) {
    if (family != BrowserClaim::chrome) return c;
    std::size_t j = 0;
    if (consume(tail, j, " Edg/") || consume(tail, j, " EdgA/")) {
      major = read_int(tail, j);
      skip_version(tail, j);
      if (j != tail.size()) return c;
      family = BrowserClaim::edge;
    } else if (consume(tail, j, " OPR/")) {
      // Opera may append an edition in parentheses ("(Edition std-1)"); its own version is enough.
      major = read_int(tail, j);
      family = BrowserClaim::opera;
    } else {
      return c;  // YaBrowser, Electron, UCBrowser...: Chromium, but not a profile we know
    }
  }
  if (chromium <= 0 || major <= 0) return c;
  c.family = family;
  c.major = major;
  c.chromium_major = chromium;
  return c;
}

// "... rv:128.0) Gecko/20100101 Firefox/128.0" with nothing after the version.
BrowserClaim parse_firefox(std::string_view ua, std::size_t at, BrowserClaim c) noexcept {
  c.family = BrowserClaim::other;
  if (!contains(ua, "Gecko/") || contains(ua, "Goanna/")) return c;  // Pale Moon, Basilisk
  std::size_t i = at + 8;                                            // after "Firefox/"
  const int major = read_int(ua, i);
  skip_version(ua, i);
  if (i != ua.size() || major <= 0) return c;
  c.family = BrowserClaim::firefox;
  c.major = major;
  return c;
}

// "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15" or
// "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", nothing after.
BrowserClaim parse_safari(std::string_view ua, BrowserClaim c) noexcept {
  c.family = BrowserClaim::other;
  if (contains(ua, "Android")) return c;  // the old Android stock browser
  const std::size_t gecko = ua.find(kGecko);
  if (gecko == std::string_view::npos) return c;
  std::size_t i = gecko + kGecko.size();
  if (!consume(ua, i, "Version/")) return c;
  const int major = read_int(ua, i);
  int minor = 0;
  if (i < ua.size() && ua[i] == '.') {
    ++i;
    minor = read_int(ua, i);
  }
  skip_version(ua, i);
  if (consume(ua, i, " Mobile/")) {
    while (i < ua.size() && ua[i] != ' ') ++i;
  }
  if (!consume(ua, i, " Safari/")) return c;
  skip_version(ua, i);
  if (i != ua.size() || major <= 0) return c;
  c.family = BrowserClaim::safari;
  c.major = major;
  c.minor = minor;
  return c;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Values scripts and misconfigured tools send when they fill the field with something.
constexpr std::array<std::string_view, 16> kPlaceholders{
    "mozilla",   "mozilla/5.0", "mozilla/4.0", "mozilla/5.0 ()",
    "-",         "--",          "null",        "nil",
    "undefined", "none",        "unknown",     "user-agent",
    "useragent", "user_agent",  "*",           "ua"};

}  // namespace

BrowserClaim parse_browser_claim(std::string_view ua) noexcept {
  BrowserClaim c;
  if (!ua.starts_with(kMozilla)) return c;
  // Crawlers that borrow a browser UA say so ("(compatible; Googlebot/2.1; +http://...)",
  // bingbot's "compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116"). They are
  // not lying about being a browser, so there is nothing to check against a browser profile.
  if (contains(ua, "compatible;") || contains(ua, "+http") || contains(ua, "http://") ||
      contains(ua, "https://"))
    return c;
  c.family = BrowserClaim::other;
  c.mobile = contains(ua, "Mobi");
  // Android WebView and iOS browsers other than Safari (all WebKit, none with Chromium's or
  // Gecko's network stack): no profile.
  if (contains(ua, "; wv)") || contains(ua, "CriOS/") || contains(ua, "FxiOS/") ||
      contains(ua, "EdgiOS/") || contains(ua, "OPiOS/") || contains(ua, "Edge/") ||
      contains(ua, "Opera Mini"))
    return c;
  if (const auto at = ua.find("Chrome/"); at != std::string_view::npos)
    return parse_chromium(ua, at, c);
  if (contains(ua, "Chromium/")) return c;
  if (const auto at = ua.find("Firefox/"); at != std::string_view::npos)
    return parse_firefox(ua, at, c);
  if (contains(ua, "AppleWebKit/") && contains(ua, "Version/")) return parse_safari(ua, c);
  return c;
}

std::string_view family_name(BrowserClaim::Family family) noexcept {
  switch (family) {
    case BrowserClaim::none: return "none";
    case BrowserClaim::chrome: return "chrome";
    case BrowserClaim::edge: return "edge";
    case BrowserClaim::firefox: return "firefox";
    case BrowserClaim::safari: return "safari";
    case BrowserClaim::opera: return "opera";
    case BrowserClaim::samsung: return "samsung";
    case BrowserClaim::other: return "other";
  }
  return "none";
}

UaCheck check_user_agent(std::string_view ua, bool present) noexcept {
  if (!present) return {UaProblem::empty, "no User-Agent"};
  while (!ua.empty() && (ua.front() == ' ' || ua.front() == '\t')) ua.remove_prefix(1);
  while (!ua.empty() && (ua.back() == ' ' || ua.back() == '\t')) ua.remove_suffix(1);
  if (ua.empty()) return {UaProblem::empty, "empty User-Agent"};
  if (ua.size() > kMaxUserAgentBytes) return {UaProblem::malformed, "User-Agent over 1 KB"};
  for (const char ch : ua) {
    const auto u = static_cast<unsigned char>(ch);
    if ((u < 0x20 && u != '\t') || u == 0x7f)
      return {UaProblem::malformed, "control bytes in User-Agent"};
  }
  for (const auto p : kPlaceholders)
    if (iequals(ua, p)) return {UaProblem::malformed, "placeholder User-Agent"};
  if (ua.starts_with("Mozilla/")) {
    int depth = 0;
    for (const char ch : ua) {
      if (ch == '(') ++depth;
      if (ch == ')' && --depth < 0) break;
    }
    if (depth != 0) return {UaProblem::malformed, "unbalanced parentheses in User-Agent"};
  }
  return {};
}

}  // namespace bawwab::detect
