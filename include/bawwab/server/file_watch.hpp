#pragma once
// The optional file watch (`reload: {watch: true}`): reload when the configuration, a rule file,
// or a list, network, page or certificate file it names changes, as if SIGHUP had been sent.
//
// It watches directories, not files (inotify on the parent directory of each path): editors and
// deployment tools replace a file by writing a new one and renaming it over the old, which ends
// a watch on the old file; a directory watch sees the rename. Kubernetes ConfigMap volumes swap
// a "..data" symlink in the directory: a change of a name beginning with ".." counts too.
// Changes are debounced (an editor writes, renames and chmods in a burst): the reload runs once
// the directory has been quiet for `debounce`.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab::config {
struct ServerConfig;
}
namespace bawwab::rules {
class RuleSet;
}

namespace bawwab::server {

// What to watch: per directory, the names (or fnmatch(3) patterns, like "*.yaml") whose
// changes matter. Pure value.
struct WatchPlan {
  std::map<std::string, std::vector<std::string>> directories;  // absolute dir -> names/patterns

  // Whether a change of `name` in `directory` matters.
  bool matches(std::string_view directory, std::string_view name) const;
  std::size_t names() const;
  bool empty() const noexcept { return directories.empty(); }
  bool operator==(const WatchPlan&) const = default;
};

// The plan for absolute paths (files, or patterns with glob characters in the last component
// only, as RuleSet::watch_paths gives them). A pattern whose directory part has glob characters
// cannot be watched: it is skipped. Pure.
WatchPlan plan_watches(const std::vector<std::string>& paths);

// Everything a configuration depends on: the config file itself (unless it came from the command
// line only), the TLS certificate and key files, and the rule set's watch_paths. Pure.
std::vector<std::string> config_watch_paths(const config::ServerConfig& cfg,
                                            const rules::RuleSet& rules);

// The inotify watch, driven by an io_context (the server's main loop). Not thread-safe: use it
// from the io_context's thread.
class FileWatch {
 public:
  // `on_change(path)` runs on the io_context, once per burst of changes, with the first changed
  // path of the burst.
  using Callback = std::function<void(const std::string& changed)>;

  FileWatch(boost::asio::io_context& ioc, Callback on_change);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Replaces what is watched (an empty plan watches nothing). Returns one message per directory
  // that could not be watched (missing, permissions, the inotify watch limit); the others are
  // watched all the same.
  std::vector<std::string> watch(const WatchPlan& plan, std::chrono::milliseconds debounce);

  // Directories being watched now.
  std::size_t watched_directories() const;

  // Stops watching and cancels a pending callback.
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bawwab::server
