// The detector's view of a compiled RuleSet. Kept apart from detector.cpp so that the unit tests
// that use a fake RuleLookup link without the rules compiler.
#include "bawwab/detect/detector.hpp"

namespace bawwab::detect {

void RuleSetLookup::match_user_agent(std::string_view ua, std::vector<rules::UaMatch>& out) const {
  rules_.match_user_agent(ua, out);
}

const rules::CrawlerSpec* RuleSetLookup::claimed_crawler(std::string_view ua) const {
  return rules_.claimed_crawler(ua);
}

bool RuleSetLookup::in_network(std::string_view network, const net::Address& ip) const {
  return rules_.in_network(network, ip);
}

int RuleSetLookup::weight(std::string_view signal) const { return rules_.weight(signal); }

Verification verify_by_network(const rules::RuleSet& rules, const rules::CrawlerSpec& crawler,
                               const net::Address& ip) {
  return verify_by_network(RuleSetLookup(rules), crawler, ip);
}

rules::Signals collect_signals(const DetectInput& input, const rules::RuleSet& rules,
                               CrawlerVerifier* verifier, BehaviourTracker* tracker,
                               TimePoint now) {
  return collect_signals(input, RuleSetLookup(rules), verifier, tracker, now);
}

}  // namespace bawwab::detect
