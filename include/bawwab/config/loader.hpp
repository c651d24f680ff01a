#pragma once
// Builds a ServerConfig from a YAML file and command-line flags. Like `nginx -t`, the loader
// reports every problem it finds (file:line:column, 1-based), not only the first, and never throws:
// any input, including binary garbage, ends in a LoadResult. The schema is documented, key by key,
// in config/bawwab.yaml.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/config/config.hpp"
#include "bawwab/core/diagnostic.hpp"
#include "bawwab/core/error.hpp"

namespace bawwab::config {

// Command-line flags. Each one replaces the matching part of the file; a replaced section of the
// file is not validated at all, so `--listen 127.0.0.1:8080` works with a production file whose
// certificates are not readable by the user trying it.
struct Overrides {
  // "127.0.0.1:8080": replaces all listeners with this one (plain HTTP).
  std::optional<std::string> listen;
  // "http://127.0.0.1:8081": replaces `upstreams` with the group "default" of that one server, and
  // `sites` with one site, hosts ["*"] -> "default".
  std::optional<std::string> upstream;
  // A rules file, directory or glob: replaces the `rules` list.
  std::optional<std::string> rules;
  // "127.0.0.1:9090": replaces the `status` section (must be loopback).
  std::optional<std::string> status;
  // "auto" or 1..256.
  std::optional<std::string> workers;
  // A path, "-" (stderr) or "off": replaces access_log.path (queue_lines still comes from the
  // file).
  std::optional<std::string> access_log;
};

struct LoadResult {
  std::shared_ptr<const ServerConfig> config;  // null iff diagnostics has an error
  Diagnostics diagnostics;                     // errors and warnings, sorted by position
};

// Reads and loads a file. Relative paths inside it (certificates, rules, access log) are relative
// to the file's directory. A missing or unreadable file is a diagnostic. Thread-safe.
LoadResult load_config_file(const std::string& path, const Overrides& overrides);

// Loads YAML text; source_name is used in diagnostics and as ServerConfig::source. Relative paths
// inside it are relative to the current directory. Thread-safe.
LoadResult load_config_text(std::string_view yaml, const std::string& source_name,
                            const Overrides& overrides);

// Quick start without a file: --listen and --upstream are required. Thread-safe.
LoadResult config_from_flags(const Overrides& overrides);

// The building blocks, shared with other loaders (rules). Pure and thread-safe.

// "10s", "500ms", "2m", "1h", or a bare integer meaning seconds. Errc::config_invalid for bad
// text, boost::system::errc::value_too_large when it does not fit.
Result<Millis> parse_duration(std::string_view text);

// "16k", "64m", "1g" (powers of 1024, either case), or a bare integer meaning bytes. Errors as for
// parse_duration.
Result<std::uint64_t> parse_size(std::string_view text);

// "10s" / "500ms" / "2m" / "1h": the largest unit that represents d exactly.
std::string format_duration(Millis d);
// "16k" / "64m" / "1g" / "100": the largest unit that represents bytes exactly.
std::string format_size(std::uint64_t bytes);

// The candidate closest to word (optimal string alignment distance <= 2, and less than the
// candidate's length), for "did you mean 'x'?" hints; empty when none is close enough.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace bawwab::config
