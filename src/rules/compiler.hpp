#pragma once
// Phase 2 of the rules compiler (private to the rules module): the definitions read from every
// file (loader.cpp) compiled into a RuleSetImpl: rules in order, references resolved, automata
// built. Problems go into the ReadState's diagnostics.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/limit/spec.hpp"
#include "bawwab/rules/page_template.hpp"
#include "bawwab/rules/rule_set.hpp"
#include "reader.hpp"

namespace bawwab::rules {
class RuleSetImpl;
}

namespace bawwab::rules::detail {

struct PatternDef {
  std::string text;
  std::string label;
  At at;
};
struct ListDef {
  std::string name;
  At at;
  std::string signal;
  std::vector<PatternDef> patterns;
};
struct NetworkDef {
  std::string name;
  At at;
  std::vector<net::Cidr> cidrs;
};
struct CrawlerDef {
  CrawlerSpec spec;
  At at;
  At user_agent_at;
  At network_at;
};
struct RuleDef {
  YAML::Node node;
  At at;  // "rules[3]" in its file
};

// Everything phase 1 read from all files.
struct Definitions {
  bool global_shadow = false;                             // any file said shadow: true
  Thresholds thresholds;                                  // the last file's value of each
  At challenge_at;                                        // where thresholds.challenge was set
  std::vector<std::pair<std::string_view, int>> weights;  // catalogue name -> weight
  std::vector<ListDef> lists;
  std::vector<NetworkDef> networks;
  std::vector<CrawlerDef> crawlers;
  std::vector<limit::LimitSpec> limits;
  std::vector<RuleDef> rules;
  std::vector<PageTemplate> pages;
  // Where each name was defined (a name defined with errors is here but not in the vectors).
  std::map<std::string, At> list_names, network_names, crawler_names, limit_names, page_names;
};

// Compiles the definitions (moving the limits out of them). Always returns a rule set; it is
// only usable when `state` holds no error.
std::unique_ptr<RuleSetImpl> compile(ReadState& state, Definitions& defs);

}  // namespace bawwab::rules::detail
