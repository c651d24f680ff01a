#pragma once
// A small robots.txt reader (RFC 9309): groups of user-agent lines with their allow/disallow
// rules, longest match wins, allow wins a tie, `*` and a final `$` in paths. Enough to tell that
// a client which read robots.txt then asked for a path the file disallows for it.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/body_filter.hpp"

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

// The one path where robots.txt lives (RFC 9309 §2.3): never disallowed, never challenged, and
// learnt from as it passes through.
inline constexpr std::string_view kRobotsPath = "/robots.txt";

// Files are read up to this size (RFC 9309 §2.5 asks parsers to read at least 500 KiB).
inline constexpr std::size_t kMaxRobotsBytes = 512 * 1024;

// Never fails: lines it does not understand are ignored, as crawlers do. Pure, thread-safe.
RobotsRules parse_robots(std::string_view body);

// True when `path` is disallowed for `user_agent`: the groups whose agent token occurs in the UA
// (case-insensitive) apply, merged; when none does, the `*` groups. /robots.txt itself is never
// disallowed. `path` is compared as given (with its query when the caller includes one). Pure.
bool disallowed(const RobotsRules& rules, std::string_view user_agent, std::string_view path);

// The body filter that learns a site's robots.txt as it passes through to a client (the signal
// behaviour.robots_violation needs it): an observer, its output is its input. It keeps the first
// kMaxRobotsBytes and, when the whole body went through, hands them to `learn` (which records
// them for the host); a body cut short teaches nothing. One per response; pure but for `learn`.
class RobotsLearner final : public BodyFilter {
 public:
  explicit RobotsLearner(std::function<void(std::string_view body)> learn)
      : learn_(std::move(learn)) {}
  void on_data(std::string_view in, std::string& out, bool last) override;
  bool changes_bytes() const noexcept override { return false; }
  std::size_t held_bytes() const noexcept override { return body_.size(); }
  std::string_view name() const noexcept override { return "robots"; }

 private:
  std::function<void(std::string_view)> learn_;
  std::string body_;
};

// RFC 9309 path pattern match: prefix match, `*` matches any run, a final `$` anchors the end.
bool robots_pattern_matches(std::string_view pattern, std::string_view path) noexcept;

}  // namespace bawwab::detect
