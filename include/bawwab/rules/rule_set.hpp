#pragma once
// The compiled rule set the "rules" phase evaluates (compiled by rules/loader.hpp from YAML).
// Immutable once built and held as std::shared_ptr<const RuleSet>: a reload compiles a new one and
// swaps it whole; each request pins the version it started with. evaluate() is pure and
// thread-safe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bawwab/limit/spec.hpp"
#include "bawwab/rules/page_template.hpp"
#include "bawwab/rules/request_view.hpp"

namespace bawwab::rewrite {
class RewriteSpec;
}

namespace bawwab::rules {

// Terminal actions. A closed set: std::visit makes the compiler check every phase handles each.
struct Allow {};
struct Block {
  unsigned status = 403;
  std::string page;   // name of a page template ("" = the built-in page for `status`)
  bool drop = false;  // close the connection without an answer
};
struct Challenge {
  std::string level = "js";  // "js" (proof of work), "nojs" (meta refresh + cookie), "accessible"
  unsigned difficulty = 0;   // leading zero bits; 0 = from the score (challenge settings)
};
struct RateLimit {
  // Indices into RuleSet::limits(); every one applies, the strictest verdict wins.
  std::vector<std::size_t> limits;
};
struct Tarpit {
  std::chrono::milliseconds delay{5'000};  // hold the request this long, then block
  unsigned status = 403;
};
using Action = std::variant<Allow, Block, Challenge, RateLimit, Tarpit>;

// "allow", "block", "challenge", "rate_limit", "tarpit".
std::string_view action_name(const Action& action) noexcept;

struct HeaderEdit {
  std::string name;   // as written (validated: a token)
  std::string value;  // validated: no CR, LF or NUL
};

// What a shadow rule (or a set in global shadow) would have done.
struct ShadowHit {
  std::string_view rule_id;
  Action action;
};

struct Decision {
  // What decided: no rule matched (the default allow), a rule's terminal action, a score
  // threshold, or the challenge verify endpoint (the answer passed or failed).
  enum class Source { default_, rule, threshold, challenge_passed, challenge_failed };

  Action action = Allow{};
  // The rule whose terminal action decided; "" when the score thresholds or the default decided.
  std::string rule_id;
  Source source = Source::default_;
  bool shadow = false;  // the deciding rule is in shadow: log it, let the request through
  int score = 0;        // signals' score + the rules' `score:` additions, clamped to 0..100
  std::vector<std::string_view> tags;                  // from `tag:` actions, in order
  std::vector<const HeaderEdit*> request_headers;      // `set_request_header:` (point into the set)
  std::vector<const HeaderEdit*> response_headers;     // `set_response_header:`
  // `insert_html:` of the matching rules, one compiled spec per rule (points into the set).
  std::vector<const rewrite::RewriteSpec*> html_rewrites;
  // `prove:` of a matching rule: the page carries the silent proof script, which earns a browser
  // its pass without an interstitial (pipeline::plan_response).
  bool prove = false;
  std::vector<ShadowHit> shadow_hits;                  // shadow rules that matched (terminal ones)
  std::vector<std::string_view> matched;               // ids of every rule that matched, in order
};

// "default", "rule", "threshold", "challenge_passed", "challenge_failed" (the access log's
// decided_by).
std::string_view source_name(Decision::Source source) noexcept;

// For `bawwab explain`: each rule looked at, whether it matched, and why.
struct TraceEntry {
  std::string_view rule_id;
  std::string_view file;
  int line = 0;
  bool matched = false;
  std::string why;  // "path prefix '/articles/' matched; user_agent list 'ai-crawlers' matched 'GPTBot'"
};
using Trace = std::vector<TraceEntry>;

// Score thresholds applied when no terminal rule fired (0 = off).
struct Thresholds {
  int challenge = 0;
  int block = 0;
};

// Where each rule came from (for explain, metrics labels and replay reports).
struct RuleInfo {
  std::string id;
  std::string description;
  std::string file;
  int line = 0;
  bool shadow = false;
  bool response_phase = false;  // has a content_type condition: evaluated on the response
};

// A named list of user-agent patterns (`lists:`); the detection phase classifies UAs with them.
struct UaListInfo {
  std::string name;
  std::string signal;  // the signal a match produces ("ua.ai_crawler"), "" for none
  std::size_t patterns = 0;
};

// One list whose patterns matched a User-Agent.
struct UaMatch {
  std::string_view list;    // list name ("ai-crawlers")
  std::string_view signal;  // the list's `signal:` ("ua.ai_crawler"), "" when it has none
  std::string_view label;   // the matching entry's `label:` ("OpenAI"), else the pattern itself
};

// A crawler that may be verified (`crawlers:`): what it claims in its UA, where its operator
// says it comes from (a `networks:` entry, from the published ranges), and the reverse-DNS
// domains that forward-confirm it.
struct CrawlerSpec {
  std::string name;                       // "googlebot"
  std::string user_agent;                 // RE2 pattern (case-insensitive) of the claim
  std::string network;                    // name of a `networks:` entry, "" when none
  std::vector<std::string> dns_suffixes;  // ".googlebot.com", ".google.com"
};

class RuleSetImpl;  // matchers, automata, prefix trees: private to the rules module

class RuleSet {
 public:
  explicit RuleSet(std::unique_ptr<const RuleSetImpl> impl);
  RuleSet();  // empty: allows everything
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Request phase. Rules in file order; non-terminal actions accumulate; the first terminal
  // action of an enforcing rule wins; then the thresholds; default allow. `trace` (optional)
  // receives one entry per rule looked at. Pure, thread-safe, no allocation beyond the Decision.
  Decision evaluate(const RequestView& request, Trace* trace = nullptr) const;

  // Response phase: header edits of the response-phase rules (those with `content_type`) that
  // match `request.content_type`, appended to `out`.
  void evaluate_response(const RequestView& request, std::vector<const HeaderEdit*>& out) const;

  // Every `lists:` entry whose patterns match `user_agent`, in list order, appended to `out`
  // (one RE2::Set pass over all patterns). Used by the detection phase for the UA classes.
  void match_user_agent(std::string_view user_agent, std::vector<UaMatch>& out) const;
  // True when `ip` is in the named `networks:` entry (false when there is no such entry).
  bool in_network(std::string_view network, const net::Address& ip) const;
  // The crawler whose `user_agent` claim matches, or null.
  const CrawlerSpec* claimed_crawler(std::string_view user_agent) const;
  const std::vector<CrawlerSpec>& crawlers() const noexcept;

  // The `pages:` template named `name`, or null.
  const PageTemplate* find_page(std::string_view name) const noexcept;

  const std::vector<limit::LimitSpec>& limits() const noexcept;
  const limit::LimitSpec* find_limit(std::string_view name) const noexcept;
  const std::vector<RuleInfo>& rules() const noexcept;
  std::vector<UaListInfo> ua_lists() const;
  // Weight of a signal (the `weights:` section, else the catalogue's default).
  int weight(std::string_view signal) const noexcept;
  Thresholds thresholds() const noexcept;
  bool global_shadow() const noexcept;

  std::size_t size() const noexcept;
  // Absolute paths the set was compiled from: rule files, list, network and page files, and
  // patterns like "/etc/bawwab/rules/*.yaml" (directories and globs a new file would join; only
  // the last component has glob characters). What a file watch must watch.
  const std::vector<std::string>& watch_paths() const noexcept;
  // A short hash of the compiled sources, shown in /status and the log ("empty" when empty).
  std::string_view version() const noexcept;

 private:
  std::unique_ptr<const RuleSetImpl> impl_;
};

using RuleSetPtr = std::shared_ptr<const RuleSet>;

// An empty rule set: the default when no rule files are configured.
RuleSetPtr empty_rule_set();

}  // namespace bawwab::rules
