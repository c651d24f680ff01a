#pragma once
// The signals phase: everything the detection module knows about one request, as catalogue
// signals (rules/signals.hpp) with their weights and the score. Synchronous and pure apart from
// the two bounded tables it is handed (crawler verification cache, behaviour per client).
#include <boost/beast/http/fields.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/crawler_verifier.hpp"
#include "bawwab/rules/rule_set.hpp"
#include "bawwab/rules/signals.hpp"

namespace bawwab::detect {

// Everything configurable in detection, with defaults; the server config maps YAML into it.
struct DetectConfig {
  BehaviourConfig behaviour;
  VerifierConfig verifier;
};

// One request, as the pipeline knows it after the request-head phase. Views only: they must
// outlive the call.
struct DetectInput {
  const boost::beast::http::fields* headers = nullptr;  // null = none
  unsigned http_version = 11;                           // 10 or 11
  std::string_view method, host, path;  // host lower-case without port; path without query
  net::Address ip;                      // the client (after trusted proxies)
  bool tls = false;
  std::string_view ja4, ja3, ja3n;          // "" on plain HTTP
  std::optional<std::string> tls_mismatch;  // detect::tls_ua_mismatch's answer (the stack)
  bool has_pass_cookie = false;             // a challenge pass that verified
  bool pass_cookie_invalid = false;         // a challenge pass that failed verification
  // Additions beyond the first draft of this struct:
  bool via_proxy = false;       // reached us through a trusted proxy (HTTP version and header
                                // order are the proxy's, not the client's)
  bool has_our_cookie = false;  // carries another cookie bawwab set (for cookie_ignored)
};

// What the detector needs from the rule set. RuleSet provides it (collect_signals below); tests
// give a fake, so most detector tests need no rules compiler.
class RuleLookup {
 public:
  virtual ~RuleLookup() = default;
  virtual void match_user_agent(std::string_view ua, std::vector<rules::UaMatch>& out) const = 0;
  virtual const rules::CrawlerSpec* claimed_crawler(std::string_view ua) const = 0;
  virtual bool in_network(std::string_view network, const net::Address& ip) const = 0;
  virtual int weight(std::string_view signal) const = 0;
};

// Same as verify_by_network(RuleSet...), through the lookup interface. Pure.
Verification verify_by_network(const RuleLookup& rules, const rules::CrawlerSpec& crawler,
                               const net::Address& ip);

// The signals of one request, each weighted by `rules.weight(name)`, and their score:
//   ua.empty / ua.malformed; every UA-list match with a `signal:` (value: the entry's label,
//   once per signal); ua.browser (value: family); headers.order (value: 16 hex digits);
//   headers.inconsistent (value: the reasons, "; "-joined) and headers.order_mismatch (value:
//   family) for a UA that claims a known browser and did not declare itself a bot (no bot-class
//   list match, no crawler claim); tls.ja4 / tls.ja3 / tls.ja3n / tls.ua_mismatch;
//   crawler.verified or crawler.unverified (value: crawler name) for a claimed crawler: its
//   network first, then the DNS verifier (pending counts as unverified); behaviour.* from the
//   tracker (for a verified crawler only honeypot and robots_violation: fetching HTML only,
//   ignoring cookies and regular timing are what a verified crawler does); challenge.passed /
//   challenge.invalid; proof.grace / proof.refused and behaviour.honeypot from the tracker's
//   client-key half (address, User-Agent, header order).
// `verifier` and `tracker` may be null (that part is skipped). Thread-safe if they are (they
// are). Allocates the signal list and the values that are not short.
rules::Signals collect_signals(const DetectInput& input, const RuleLookup& rules,
                               CrawlerVerifier* verifier, BehaviourTracker* tracker, TimePoint now);
rules::Signals collect_signals(const DetectInput& input, const rules::RuleSet& rules,
                               CrawlerVerifier* verifier, BehaviourTracker* tracker, TimePoint now);

// RuleLookup over a compiled RuleSet (borrowed: must outlive the adapter).
class RuleSetLookup final : public RuleLookup {
 public:
  explicit RuleSetLookup(const rules::RuleSet& rules) noexcept : rules_(rules) {}
  void match_user_agent(std::string_view ua, std::vector<rules::UaMatch>& out) const override;
  const rules::CrawlerSpec* claimed_crawler(std::string_view ua) const override;
  bool in_network(std::string_view network, const net::Address& ip) const override;
  int weight(std::string_view signal) const override;

 private:
  const rules::RuleSet& rules_;
};

}  // namespace bawwab::detect
