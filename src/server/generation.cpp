#include "bawwab/server/generation.hpp"

#include "bawwab/rules/loader.hpp"
#include "bawwab/server/tls.hpp"

namespace bawwab::server {

BuildResult build_generation(std::shared_ptr<const config::ServerConfig> cfg,
                             proxy::UpstreamRegistry& registry, std::uint64_t number) {
  BuildResult out;
  auto gen = std::make_shared<Generation>();
  for (const auto& listener : cfg->listeners) {
    if (!listener.tls()) {
      gen->tls.emplace_back();
      continue;
    }
    auto ctx = make_tls_context(listener, cfg->source, out.diagnostics);
    gen->tls.push_back(std::move(ctx));
  }
  // Rules compile with the config: a reload that breaks either changes nothing.
  rules::LoadResult rules = rules::load_rules(cfg->rules);
  out.diagnostics.insert(out.diagnostics.end(), rules.diagnostics.begin(), rules.diagnostics.end());
  if (has_errors(out.diagnostics) || !rules.rules) return out;

  auto runtime = std::make_shared<pipeline::Runtime>();
  runtime->config = cfg;
  runtime->rules = std::move(rules.rules);
  runtime->challenge = pipeline::challenge_config_from(*cfg);
  pipeline::set_proof(*runtime);
  runtime->generation = number;
  runtime->loaded_at = std::chrono::system_clock::now();
  gen->upstreams = std::make_unique<proxy::UpstreamSet>(*cfg, registry);
  gen->runtime = std::move(runtime);
  out.generation = std::move(gen);
  return out;
}

}  // namespace bawwab::server
