#pragma once
// One immutable generation of compiled configuration: what a request pins when it starts.
// A reload builds a new Runtime and swaps it whole (core/snapshot.hpp).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "bawwab/challenge/config.hpp"
#include "bawwab/config/config.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::rewrite {
class RewriteSpec;
}

namespace bawwab::pipeline {

struct Runtime {
  std::shared_ptr<const config::ServerConfig> config;
  rules::RuleSetPtr rules;
  challenge::ChallengeConfig challenge;  // from config.challenge (challenge_config_from)
  std::uint64_t generation = 0;  // 1 at start, +1 per successful reload
  std::chrono::system_clock::time_point loaded_at{};
  // The silent proof (challenge/proof.hpp), compiled for this generation's verify path: the
  // rewrite that appends its script to <body>, and the CSP source that allows that script. Null
  // (set_proof not called): the `prove` action injects nothing.
  std::shared_ptr<const rewrite::RewriteSpec> proof;
  std::string proof_csp_source;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// The challenge module's settings from the server config's `challenge:` section.
challenge::ChallengeConfig challenge_config_from(const config::ServerConfig& cfg);

// Compiles the silent proof for `rt.challenge` into rt.proof and rt.proof_csp_source.
void set_proof(Runtime& rt);

}  // namespace bawwab::pipeline
