#pragma once
// Signals: named facts about a request produced by the detection phase (detect/) for the rules
// phase. The set of names is closed (the catalogue below) so that a rule naming a signal that can
// never be produced is a load error, not a silent never-match.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab::rules {

struct SignalInfo {
  std::string_view name;         // "ua.ai_crawler"
  int default_weight = 0;        // contribution to the score (0..100) unless `weights:` says else
  bool has_value = false;        // carries a value (the operator's name, the JA4 string, ...)
  std::string_view description;  // one line, for `explain` and the docs
};

// Every signal the detection phase can produce. Stable names: operators write them in rules.
std::span<const SignalInfo> signal_catalog() noexcept;
const SignalInfo* find_signal(std::string_view name) noexcept;

struct Signal {
  std::string_view name;  // points into signal_catalog() (static storage)
  std::string value;      // "" when the signal has no value
  int weight = 0;         // what it added to the score (after `weights:`)
  std::size_t index = 0;  // its position in signal_catalog() (per-signal counters)
};

// The signals of one request and the score they add up to. Small (a handful of entries): linear
// lookups beat any index here.
struct Signals {
  std::vector<Signal> list;
  int score = 0;  // sum of weights, clamped to 0..100

  bool has(std::string_view name) const noexcept;
  const Signal* find(std::string_view name) const noexcept;
  // Adds a signal with its weight; the score is clamped to 0..100.
  void add(std::string_view catalog_name, std::string value, int weight);
};

}  // namespace bawwab::rules
