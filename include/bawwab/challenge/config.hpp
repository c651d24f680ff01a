#pragma once
// Settings of the challenge pages, the pass cookie and the proof-of-work difficulty. The config
// module reads them from YAML (`challenge:` section) and maps them onto this struct; this module
// depends on core only. Plain data, shared read-only.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab::challenge {

// The most leading zero bits a challenge may ask for. 2^30 hashes is minutes on a phone already;
// anything above is a typo, not a policy.
inline constexpr unsigned kMaxDifficulty = 30;

struct ChallengeConfig {
  std::string lang = "ar";  // the pages' language: "ar" texts, or "en" texts for lang "en*"
  std::string dir = "rtl";  // "rtl" | "ltr" | "auto"
  std::string site_name;    // shown as the pages' heading; may be empty
  std::string contact;      // email or http(s) URL, shown on every page; may be empty (not advised)
  std::string cookie_name = "bawwab_pass";
  std::chrono::seconds pass_ttl{86'400};
  std::string key_file;  // "" = KeyRing::generate (in memory, passes lost on restart)
  std::chrono::seconds key_rotation{7 * 86'400};  // a new signing key this often

  // Proof of work, in leading zero bits of SHA-256: expected 2^bits hashes. A phone's browser does
  // roughly 0.5-2 million hashes a second with the page's plain-JS SHA-256 over 2-4 workers, so
  // 20 bits (~1M hashes) is about 1 s there on average, and 3x that for the unlucky 5%.
  unsigned min_difficulty = 14;  // at score <= score_for_min (and for rules saying "from score")
  unsigned max_difficulty = 20;  // at score >= score_for_max; also when a failed challenge's own
                                 // difficulty cannot be trusted (the retry page)
  int score_for_min = 30;
  int score_for_max = 100;

  std::string verify_path = "/.well-known/bawwab/verify";
  std::chrono::seconds challenge_ttl{300};  // how long an issued challenge can be redeemed
  // No-JS level: the meta refresh waits this long and the verifier refuses an earlier redemption,
  // so a client pays at least this much wall time per pass.
  std::chrono::seconds nojs_delay{3};
  // The no-JS level can be turned off (then its pages and redemptions get the js page), and its
  // pass is short: a client that keeps cookies and waits passes it, so it buys minutes, not a day.
  bool nojs_enabled = true;
  std::chrono::seconds nojs_pass_ttl{600};
  // The silent proof (challenge/proof.hpp): work in a Web Worker after the page has loaded. Low:
  // it proves that the page's scripts ran in a browser, not that the client paid much.
  unsigned proof_difficulty = 12;
  unsigned page_status = 403;  // status of the challenge pages (never cached: no-store)
};

// Levels of the challenge, from strongest to most forgiving.
enum class Level {
  js,          // proof of work in a Web Worker
  nojs,        // meta refresh + a check cookie + a minimum delay (weaker: any cookie-keeping
               // client that waits passes; it stops clients that ignore cookies)
  accessible,  // a plain text page explaining the check, with a link into the no-JS check
};

// "js" | "nojs" | "accessible" (as rules write them).
std::optional<Level> parse_level(std::string_view text) noexcept;
std::string_view to_string(Level level) noexcept;

// Problems with `config`, one sentence each (empty when valid), for the config loader to report
// at the section's location. Pure.
std::vector<std::string> check_config(const ChallengeConfig& config);

// The difficulty for a challenge: the rule's own `difficulty` when non-zero (clamped to
// 1..kMaxDifficulty), else a linear mapping of the score from (score_for_min -> min_difficulty)
// to (score_for_max -> max_difficulty), clamped at both ends. Pure.
unsigned difficulty_for(const ChallengeConfig& config, unsigned rule_difficulty,
                        int score) noexcept;

}  // namespace bawwab::challenge
