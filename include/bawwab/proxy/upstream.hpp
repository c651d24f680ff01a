#pragma once
// Upstream servers: their shared health state (passive health checks), the per-generation groups
// with round-robin order, and the per-worker pool of idle keep-alive connections.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bawwab/config/config.hpp"
#include "bawwab/core/clock.hpp"
#include "bawwab/core/error.hpp"

namespace bawwab::proxy {

// One origin server as all workers see it. Thread-safe (atomics). Lives in the UpstreamRegistry,
// which keeps it across reloads so health and counters survive them (keyed by the server's url).
class ServerState {
 public:
  ServerState(std::string url, std::string host, std::uint16_t port);

  const std::string& url() const noexcept { return url_; }
  const std::string& host() const noexcept { return host_; }
  std::uint16_t port() const noexcept { return port_; }

  // Passive health: max_fails consecutive failures mark the server down for fail_timeout.
  bool available(TimePoint now) const noexcept;
  void record_success() noexcept;
  void record_failure(TimePoint now, unsigned max_fails, std::chrono::seconds fail_timeout) noexcept;

  unsigned consecutive_failures() const noexcept { return consecutive_failures_.load(std::memory_order_relaxed); }
  std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  std::uint64_t connects() const noexcept { return connects_.load(std::memory_order_relaxed); }
  std::int64_t active() const noexcept { return active_.load(std::memory_order_relaxed); }
  void count_request() noexcept { requests_.fetch_add(1, std::memory_order_relaxed); }
  void count_connect() noexcept { connects_.fetch_add(1, std::memory_order_relaxed); }
  void add_active(std::int64_t d) noexcept { active_.fetch_add(d, std::memory_order_relaxed); }

 private:
  std::string url_;
  std::string host_;
  std::uint16_t port_;
  std::atomic<unsigned> consecutive_failures_{0};
  std::atomic<std::int64_t> down_until_{0};  // steady-clock ticks
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::int64_t> active_{0};
};

// Owns every ServerState ever configured. Thread-safe; states are never freed while it lives.
class UpstreamRegistry {
 public:
  ServerState& get(const config::UpstreamServer& server);
  std::vector<const ServerState*> all() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<ServerState>> states_;
};

// A group of one generation: its config and its servers' states in configured order.
struct GroupState {
  const config::UpstreamGroup* config = nullptr;
  std::vector<ServerState*> servers;
  mutable std::atomic<unsigned> cursor{0};  // round robin
};

// The groups of one generation (built next to each Runtime). Immutable but for the cursors.
class UpstreamSet {
 public:
  UpstreamSet(const config::ServerConfig& cfg, UpstreamRegistry& registry);
  const GroupState* find(const std::string& group) const;
  const std::map<std::string, std::unique_ptr<GroupState>>& groups() const { return groups_; }

 private:
  std::map<std::string, std::unique_ptr<GroupState>> groups_;
};

// The order in which to try a group's servers for one request: round robin over the available
// ones, then those marked down (passive health is only a guess; trying them beats a sure 502).
std::vector<ServerState*> try_order(const GroupState& group, TimePoint now);

// Idle keep-alive connections to origin servers, for one worker thread. Not thread-safe: each
// worker has its own, so the hot path takes no lock.
class ConnectionPool {
 public:
  // A connection idle for less than idle_timeout whose peer has not closed it, if any.
  std::optional<boost::asio::ip::tcp::socket> take(const ServerState& server, TimePoint now,
                                               std::chrono::milliseconds idle_timeout);
  // Keeps the connection if the server has fewer than `capacity` idle ones; closes it otherwise.
  void put(const ServerState& server, boost::asio::ip::tcp::socket stream, TimePoint now,
           unsigned capacity);
  // Closes connections idle for longer than idle_timeout (run from a periodic timer).
  void sweep(TimePoint now, std::chrono::milliseconds idle_timeout);
  void close_all();
  std::size_t idle() const noexcept { return idle_; }

 private:
  struct Idle {
    std::unique_ptr<boost::asio::ip::tcp::socket> stream;  // stable address, cheap moves
    TimePoint since;
  };
  std::unordered_map<const ServerState*, std::vector<Idle>> idle_by_server_;
  std::size_t idle_ = 0;
};

// Opens a new connection to the server within timeout. Errors: upstream_connect_failed (refused,
// unreachable, name not found) or upstream_timeout.
boost::asio::awaitable<Result<boost::asio::ip::tcp::socket>> connect_upstream(
    boost::asio::any_io_executor ex, const ServerState& server, std::chrono::milliseconds timeout);

}  // namespace bawwab::proxy
