#pragma once
// Everything a request pins when it starts: the compiled runtime (config + rules), the upstream
// groups of that config and the TLS contexts of its listeners. Built whole on start and on each
// reload, then swapped in one atomic store; in-flight requests finish under the one they began with.
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <vector>

#include "bawwab/core/diagnostic.hpp"
#include "bawwab/pipeline/runtime.hpp"
#include "bawwab/proxy/upstream.hpp"

namespace bawwab::server {

struct Generation {
  pipeline::RuntimePtr runtime;
  std::unique_ptr<const proxy::UpstreamSet> upstreams;
  // One per listener (same index as config.listeners); null for plain listeners.
  std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;
};

using GenerationPtr = std::shared_ptr<const Generation>;

struct BuildResult {
  GenerationPtr generation;  // null when diagnostics has errors
  Diagnostics diagnostics;
};

// Compiles a loaded config into a generation: TLS contexts (certificates and keys are read and
// checked here: a PEM OpenSSL rejects is a diagnostic, not a crash), upstream groups, rules.
BuildResult build_generation(std::shared_ptr<const config::ServerConfig> cfg,
                             proxy::UpstreamRegistry& registry, std::uint64_t number);

}  // namespace bawwab::server
