#pragma once
// The compiled rule set the "rules" phase evaluates. The rules issue brings the YAML language, its
// compiler and the matchers; until then a RuleSet is empty and every request is allowed, but the
// phase, the decision type and the per-request pinning are already the real ones.
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace bawwab::rules {

// Terminal actions. A closed set: std::visit makes the compiler check every phase handles each.
struct Allow {};
struct Block {
  unsigned status = 403;
};
using Action = std::variant<Allow, Block>;

struct Decision {
  Action action = Allow{};
  std::string rule_id;  // "" when no rule decided (the default)
  bool shadow = false;  // the rule only logs what it would do
};

class RuleSet;
using RuleSetPtr = std::shared_ptr<const RuleSet>;

// Immutable once built; evaluate() is pure and thread-safe.
class RuleSet {
 public:
  RuleSet() = default;
  std::size_t size() const noexcept { return 0; }
  std::string_view version() const noexcept { return version_; }

 private:
  std::string version_ = "empty";
};

// An empty rule set: the default when no rule files are configured.
RuleSetPtr empty_rule_set();

}  // namespace bawwab::rules
