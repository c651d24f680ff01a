#include "bawwab/challenge/config.hpp"

#include <algorithm>
#include <cmath>

#include "bawwab/challenge/return_path.hpp"

namespace bawwab::challenge {
namespace {

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool is_language_tag(std::string_view s) noexcept {
  if (s.empty() || s.size() > 35) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) noexcept {
  if (text == "js") return Level::js;
  if (text == "nojs") return Level::nojs;
  if (text == "accessible") return Level::accessible;
  return std::nullopt;
}

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::js: return "js";
    case Level::nojs: return "nojs";
    case Level::accessible: return "accessible";
  }
  return "js";
}

std::vector<std::string> check_config(const ChallengeConfig& c) {
  std::vector<std::string> problems;
  if (!is_language_tag(c.lang)) problems.push_back("lang must be a language tag like ar or en-GB");
  if (c.dir != "rtl" && c.dir != "ltr" && c.dir != "auto") {
    problems.push_back("dir must be rtl, ltr or auto");
  }
  // The name is followed by "_chk_" and 12 characters for the check cookies; keep it short.
  if (!is_token(c.cookie_name) || c.cookie_name.size() > 64) {
    problems.push_back(
        "cookie_name must be a token (letters, digits, - _ ...) of at most 64 chars");
  }
  if (c.pass_ttl.count() <= 0) problems.push_back("pass_ttl must be positive");
  if (c.key_rotation.count() <= 0) problems.push_back("key_rotation must be positive");
  if (c.min_difficulty < 1 || c.max_difficulty > kMaxDifficulty) {
    problems.push_back("difficulties must be from 1 to " + std::to_string(kMaxDifficulty));
  }
  if (c.min_difficulty > c.max_difficulty) {
    problems.push_back("min_difficulty must not exceed max_difficulty");
  }
  if (c.score_for_min >= c.score_for_max) {
    problems.push_back("score_for_min must be below score_for_max");
  }
  if (c.verify_path.size() < 2 || safe_return_path(c.verify_path) != c.verify_path ||
      c.verify_path.find_first_of("?#%;") != std::string::npos) {
    problems.push_back("verify_path must be a plain absolute path like /.well-known/bawwab/verify");
  }
  if (c.nojs_delay.count() < 1) problems.push_back("nojs_delay must be at least 1s");
  if (c.challenge_ttl < c.nojs_delay + std::chrono::seconds(30)) {
    problems.push_back("challenge_ttl must exceed nojs_delay by at least 30s");
  }
  if (c.page_status < 200 || c.page_status > 599) {
    problems.push_back("page_status must be an HTTP status from 200 to 599");
  }
  return problems;
}

unsigned difficulty_for(const ChallengeConfig& c, unsigned rule_difficulty, int score) noexcept {
  if (rule_difficulty != 0) return std::min(rule_difficulty, kMaxDifficulty);
  const unsigned lo = std::clamp(c.min_difficulty, 1u, kMaxDifficulty);
  const unsigned hi = std::clamp(c.max_difficulty, lo, kMaxDifficulty);
  if (score <= c.score_for_min || c.score_for_max <= c.score_for_min) return lo;
  if (score >= c.score_for_max) return hi;
  const double f = double(score - c.score_for_min) / double(c.score_for_max - c.score_for_min);
  return lo + static_cast<unsigned>(std::lround(f * double(hi - lo)));
}

}  // namespace bawwab::challenge
