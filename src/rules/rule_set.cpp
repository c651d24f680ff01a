#include "bawwab/rules/rule_set.hpp"

namespace bawwab::rules {

RuleSetPtr empty_rule_set() {
  static const RuleSetPtr empty = std::make_shared<const RuleSet>();
  return empty;
}

}  // namespace bawwab::rules
