#pragma once
// The User-Agent as the detection phase reads it: which browser it claims (so that the request's
// headers can be checked against what that browser always sends) and whether it is empty or
// malformed. The UA classes from the shipped lists (ua.ai_crawler, ...) come from the rule set's
// RE2 automaton instead (rules::RuleSet::match_user_agent).
#include <cstddef>
#include <string_view>

namespace bawwab::detect {

// The browser a User-Agent claims to be. Only the plain UA shapes of the big browsers get a
// family: anything with extra product tokens we do not know (WebViews, in-app browsers,
// Electron, iOS browsers other than Safari, Gecko forks) is `other`, and `other` is never checked
// against a header profile: a wrong guess there would block a reader.
struct BrowserClaim {
  enum Family { none, chrome, edge, firefox, safari, opera, samsung, other };
  Family family = none;    // none: not a browser UA (curl/..., "compatible;" bots, no Mozilla/5.0)
  int major = 0;           // the browser's own version: Edg/120 -> 120, OPR/105 -> 105
  int minor = 0;           // Safari only (16.4 is when it started sending Sec-Fetch-*), else 0
  int chromium_major = 0;  // Chromium-based families: the Chrome/ token's major, else 0
  bool mobile = false;     // "Mobi" in the UA (MDN's advice)

  // A family whose header profile we know (chrome, edge, firefox, safari, opera, samsung).
  bool known() const noexcept { return family != none && family != other; }
  bool chromium() const noexcept { return known() && chromium_major > 0; }
};

// Pure, thread-safe, no allocation.
BrowserClaim parse_browser_claim(std::string_view ua) noexcept;

// "chrome", "edge", "firefox", "safari", "opera", "samsung", "other", "none" (static strings).
std::string_view family_name(BrowserClaim::Family family) noexcept;

// A User-Agent no real client sends.
enum class UaProblem { none, empty, malformed };
struct UaCheck {
  UaProblem problem = UaProblem::none;
  std::string_view reason;  // static text for the log: "no User-Agent", "control bytes", ...
};

inline constexpr std::size_t kMaxUserAgentBytes = 1024;

// `present`: whether the request had a User-Agent field at all. Empty: absent, or only
// whitespace. Malformed: over kMaxUserAgentBytes, control bytes, a placeholder ("Mozilla/5.0"
// alone, "-", "null", ...), or a Mozilla/ UA with unbalanced parentheses. Bytes >= 0x80 are not
// malformed (some apps put UTF-8 in their UA). Pure, thread-safe, no allocation.
UaCheck check_user_agent(std::string_view ua, bool present) noexcept;

}  // namespace bawwab::detect
