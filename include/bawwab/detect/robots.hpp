#pragma once
// A small robots.txt reader (RFC 9309): groups of user-agent lines with their allow/disallow
// rules, longest match wins, allow wins a tie, `*` and a final `$` in paths. Enough to tell that
// a client which read robots.txt then asked for a path the file disallows for it.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab::detect {

struct RobotsRule {
  bool allow = false;
  std::string pattern;  // path pattern as written ("/private/", "/*.pdf$")
};

struct RobotsGroup {
  std::vector<std::string> agents;  // lower-cased product tokens; "*" for the default group
  std::vector<RobotsRule> rules;
};

struct RobotsRules {
  std::vector<RobotsGroup> groups;
};

// Files are read up to this size (RFC 9309 §2.5 asks parsers to read at least 500 KiB).
inline constexpr std::size_t kMaxRobotsBytes = 512 * 1024;

// Never fails: lines it does not understand are ignored, as crawlers do. Pure, thread-safe.
RobotsRules parse_robots(std::string_view body);

// True when `path` is disallowed for `user_agent`: the groups whose agent token occurs in the UA
// (case-insensitive) apply, merged; when none does, the `*` groups. /robots.txt itself is never
// disallowed. `path` is compared as given (with its query when the caller includes one). Pure.
bool disallowed(const RobotsRules& rules, std::string_view user_agent, std::string_view path);

// RFC 9309 path pattern match: prefix match, `*` matches any run, a final `$` anchors the end.
bool robots_pattern_matches(std::string_view pattern, std::string_view path) noexcept;

}  // namespace bawwab::detect
