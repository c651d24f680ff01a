#pragma once
// The running proxy: loads the configuration into a Generation, binds the listeners and the
// status listener, runs the worker threads, and handles the signals operators send:
//   SIGTERM/SIGINT  stop accepting, let in-flight requests finish (up to timeouts.drain), exit 0
//   SIGHUP          reload: parse -> validate -> compile -> swap; on any error keep the old one
//   SIGUSR1         reopen the access log (after logrotate)
// Talks to systemd (Type=notify): READY, RELOADING, STOPPING, WATCHDOG.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "bawwab/config/loader.hpp"
#include "bawwab/core/net.hpp"

namespace bawwab::server {

class Server {
 public:
  // Produces the configuration, on start and on every reload (reads the file again).
  using ConfigSource = std::function<config::LoadResult()>;

  explicit Server(ConfigSource source);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the config and binds every listener. Logs every problem and returns false on any.
  bool start();
  // Runs until stopped and drained. Returns the process exit code. Call once, after start().
  int run();
  // Thread-safe: begins a graceful stop, as SIGTERM does.
  void stop();
  // Thread-safe: re-reads the configuration, as SIGHUP does. Returns whether it was applied.
  bool reload();

  // Bound addresses (after start()), e.g. when the config asked for port 0.
  std::vector<net::Endpoint> listening() const;
  std::optional<net::Endpoint> status_endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bawwab::server
