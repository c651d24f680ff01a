#pragma once
// The status listener: a small HTTP/1.1 server for operators and Prometheus, meant for a loopback
// address and never for the public listener. GET/HEAD /status (JSON), /metrics (Prometheus text),
// /healthz (200 "ok" / 503 with a reason); anything else 404, other methods 405.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "bawwab/status/metrics.hpp"

namespace bawwab::status {

// What the server shows. The functions run on the status server's io_context thread, so they
// must be safe to call from there (read atomics, snapshots). A provider that throws yields a 500.
struct StatusProviders {
  std::function<boost::json::object()> status;  // the /status document; empty: {}
  const Registry* registry = nullptr;           // for /metrics; null: an empty exposition
  std::function<bool()> healthy;                // for /healthz; empty: always healthy
  std::function<std::string()> unhealthy_reason;  // the 503 body ("draining"); empty: "not ready"
};

// Limits; the defaults are what production uses, tests shorten the timeouts.
struct StatusServerLimits {
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};  // keep-alive and header read
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 4 * 1024;
  std::size_t max_connections = 64;  // further connections are accepted and closed at once
};

// Not thread-safe: construct, start() and stop() on one thread (stop() may also be called from
// another thread: it is dispatched to the server's strand). Must be destroyed before its
// io_context; connections still open then are closed by stop() in the destructor.
class StatusServer {
 public:
  StatusServer(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& listen,
               StatusProviders p, StatusServerLimits limits = {});
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds, listens and starts accepting. An error (address in use, permission) is returned as a
  // value and nothing is left open; the caller logs it and exits 1.
  boost::system::error_code start();
  // The bound address (port 0 resolved); valid after a successful start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting and closes every open status connection. Idempotent.
  void stop();

  // Connections refused because max_connections were open (since start). Thread-safe.
  std::uint64_t rejected_connections() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the coroutines, which may outlive a stop()
};

}  // namespace bawwab::status
