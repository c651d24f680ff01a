#pragma once
// The compiled form of a rule set, private to the rules module: built by the loader
// (loader.cpp), evaluated by rule_set.cpp. Immutable once built.
//
// Matching works in two steps. First, per request and only when a rule needs it, each "atom
// space" is matched in one pass: every user-agent pattern of every list and rule in one RE2::Set,
// the path against one hash of exact paths + one trie of prefixes + one RE2::Set of globs + one of
// regexes, the client IP against one CIDR trie. Each pass sets bits (one per atom) in per-thread
// scratch storage. Then the rules' condition trees are walked in order; a user_agent, path or ip
// condition is only a test of a few bits.
#include <re2/re2.h>
#include <re2/set.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bawwab/rewrite/html_rewriter.hpp"
#include "bawwab/rules/page_template.hpp"
#include "bawwab/rules/rule_set.hpp"
#include "matchers.hpp"

namespace bawwab::rules {

namespace detail {

enum class CondKind : std::uint8_t {
  all,           // children
  any,           // children
  negate,        // children[0]
  always,        // `when: {}` or an empty all
  method,        // strings (exact)
  host,          // strings (lower-case; ".x" = any subdomain of x)
  path,          // atoms (path atoms)
  query,         // index into query_tests
  header,        // index into header_tests
  user_agent,    // atoms (ua atoms)
  ua_empty,      // flag: true = UA absent or empty, false = present and non-empty
  ip,            // atoms (ip atoms)
  cookie,        // index into cookie_tests
  signal,        // index into signal_tests
  score,         // op + number
  content_type,  // strings (lower-case media-type prefixes)
};

enum class ScoreOp : std::uint8_t { ge, gt, le, lt, eq };

struct Cond {
  CondKind kind = CondKind::always;
  std::vector<Cond> children;
  std::vector<std::uint32_t> atoms;  // any of them set = match
  std::vector<std::string> strings;
  std::uint32_t index = 0;
  ScoreOp op = ScoreOp::ge;
  int number = 0;
  bool flag = false;
};

enum class TestMode : std::uint8_t { present, absent, equals, contains, regex };

struct QueryTest {
  std::string param;  // compared with the percent-decoded parameter name
  TestMode mode = TestMode::present;
  std::string value;  // equals: compared with the percent-decoded value
  std::unique_ptr<RE2> regex;
};

struct HeaderTest {
  std::string name;   // lower-case
  std::string shown;  // as written, for `why`
  TestMode mode = TestMode::present;
  std::string value;
  std::unique_ptr<RE2> regex;
};

struct CookieTest {
  std::string name;  // case-sensitive, as cookie names are
  TestMode mode = TestMode::present;
  std::unique_ptr<RE2> regex;
};

struct SignalTest {
  std::vector<std::string_view> names;  // any of them present (catalogue names: static storage)
  // With a value test: names has exactly one entry.
  enum class Value : std::uint8_t { none, equals, in } value = Value::none;
  std::vector<std::string> values;  // equals: one; in: sorted
};

// What a path atom is, for `why`.
struct PathAtom {
  std::string_view kind;  // "exact", "prefix", "glob", "regex"
  std::string text;
};

// One user-agent pattern of the UA set.
struct UaPattern {
  std::uint32_t atom = 0;      // the list's atom, or the rule regex's own atom
  std::uint32_t list = kNone;  // index into lists, kNone for a rule's own regex
  std::string text;
  std::string label;  // "" = none
};

struct UaList {
  std::string name;
  std::string signal;  // "" = none
  std::size_t patterns = 0;
};

struct Network {
  std::string name;   // "" for a rule's inline list or file
  std::string shown;  // for `why`: "network 'office'" or "10.0.0.0/8, 192.0.2.0/24"
};

// Hash of std::string keys that also takes string_views: no allocation to look a path up.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct CompiledRule {
  std::size_t info = 0;  // index into RuleSetImpl::infos
  // Copies of RuleInfo's flags: the evaluation loop reads only this struct.
  bool shadow = false;
  bool response_phase = false;
  bool has_when = false;
  Cond when;
  std::optional<Action> terminal;
  bool has_score = false;
  int score = 0;
  std::vector<std::string> tags;
  std::vector<HeaderEdit> request_headers;
  std::vector<HeaderEdit> response_headers;
  std::shared_ptr<const rewrite::RewriteSpec> html;  // insert_html and metadata_only, or null
  bool prove = false;                                // `prove`: the silent proof script
};

}  // namespace detail

class RuleSetImpl {
 public:
  std::string version = "empty";
  bool global_shadow = false;
  Thresholds thresholds;
  std::vector<std::pair<std::string_view, int>> weights;  // catalogue name -> weight

  std::vector<RuleInfo> infos;              // enabled rules, file order
  std::vector<detail::CompiledRule> rules;  // parallel to infos
  std::vector<limit::LimitSpec> limits;
  std::vector<CrawlerSpec> crawlers;
  std::vector<std::unique_ptr<RE2>> crawler_regexes;  // parallel to crawlers

  // User agents: every pattern in one set (case-insensitive, unanchored).
  std::unique_ptr<RE2::Set> ua_set;
  std::vector<detail::UaPattern> ua_patterns;  // by set index
  std::vector<detail::UaList> ua_lists;
  std::vector<std::string> ua_atom_shown;  // "list 'ai-crawlers'", "regex 'x'"

  // Candidate rules. A request-phase rule whose condition requires one of a few atoms of one
  // space (a path condition, a user_agent list, an ip network, directly or under `all`) is
  // "gated": it can only match when one of those atoms did, so the evaluation looks at it only
  // then. Ungated rules are looked at always. With hundreds of path rules a request looks at a
  // handful. Indexed by atom; values are indices into `rules`.
  enum Space { kPath, kUa, kIp, kSpaces };
  std::array<std::vector<std::vector<std::uint32_t>>, kSpaces> atom_rules;
  std::array<bool, kSpaces> gates{};   // some rule is gated by this space
  std::vector<std::uint64_t> ungated;  // bit per rule: request-phase rules without a gate

  // Paths.
  std::unordered_map<std::string, std::vector<std::uint32_t>, detail::StringHash, std::equal_to<>>
      path_exact;
  detail::PrefixTrie path_prefixes;
  std::unique_ptr<RE2::Set> path_globs;         // anchored at both ends
  std::vector<std::uint32_t> path_glob_atoms;   // by set index
  std::unique_ptr<RE2::Set> path_regexes;       // unanchored
  std::vector<std::uint32_t> path_regex_atoms;  // by set index
  std::vector<detail::PathAtom> path_atoms;

  // Client IPs.
  detail::CidrTrie cidrs;
  std::vector<detail::Network> networks;  // ip atoms: named networks first, then inline ones

  std::vector<detail::QueryTest> query_tests;
  std::vector<detail::HeaderTest> header_tests;
  std::vector<detail::CookieTest> cookie_tests;
  std::vector<detail::SignalTest> signal_tests;

  std::vector<PageTemplate> pages;  // `pages:`, by name (few: a linear search)
  std::vector<std::string> watch_paths;
};

}  // namespace bawwab::rules
