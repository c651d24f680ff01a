#pragma once
// Loads and compiles rule files into a RuleSet: parse -> validate -> compile. Never throws;
// every problem of every file is collected as "file:line:column: rule 'id': message" (warnings
// too, e.g. unreachable rules). A result with any error has no rule set: the caller keeps the old.
#include <string>
#include <vector>

#include "bawwab/core/diagnostic.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::rules {

struct LoadResult {
  RuleSetPtr rules;  // null when diagnostics hold an error
  Diagnostics diagnostics;
};

// `sources`: files, directories (every *.yaml / *.yml inside, sorted) or globs, as in the server
// config's `rules:` list (already resolved against the config's directory). An empty list gives
// the empty rule set.
LoadResult load_rules(const std::vector<std::string>& sources);

// One document given as text (tests, fuzzing); `name` is used as the file name in diagnostics;
// `include:` paths resolve against `base_dir`.
LoadResult load_rules_text(std::string_view text, std::string_view name,
                           std::string_view base_dir = ".");

}  // namespace bawwab::rules
