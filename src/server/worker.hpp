#pragma once
// Internal to the server module: the per-thread worker and the state sessions share.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/core/snapshot.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/redis_store.hpp"
#include "bawwab/limit/store.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/proxy/upstream.hpp"
#include "bawwab/server/generation.hpp"
#include "bawwab/server/stats.hpp"

namespace bawwab::server {

// Counts open connections, in total and per client address, for the accept-time caps.
// Thread-safe (taken once per connection, not per request).
class ConnectionGate {
 public:
  enum class Verdict { admitted, over_total, over_per_ip };
  Verdict admit(const net::Address& ip, std::uint32_t max_total, std::uint32_t max_per_ip);
  void release(const net::Address& ip);
  std::size_t total() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::uint32_t> per_ip_;
  std::size_t total_ = 0;
};

// State shared by every worker and session. Thread-safe.
struct SharedState {
  explicit SharedState(GenerationPtr first, ServerStats& s) : generation(std::move(first)), stats(s) {}
  Snapshot<Generation> generation;
  ServerStats& stats;
  accesslog::AccessLog* access_log = nullptr;  // null: access log off
  ConnectionGate gate;
  std::atomic<std::uint64_t> next_request_id{1};
  // Long-lived detection and challenge state (owned by the server; see pipeline::Services).
  pipeline::Services services;
  limit::LocalLimiter* limiter = nullptr;  // never null once serving
};

// What a worker needs from a live session: graceful stop closes idle keep-alive connections at
// once and lets busy ones finish their request.
class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
  virtual void drain() = 0;        // close now if idle, else after the current response
  virtual void force_close() = 0;  // drain timeout reached: close whatever it is doing
};

// One event loop thread with its own upstream pool: a connection and its upstream sockets stay
// on one thread, so the request path takes no lock.
class Worker {
 public:
  explicit Worker(SharedState& shared) : shared_(shared) {}
  boost::asio::io_context& ioc() { return ioc_; }
  SharedState& shared() { return shared_; }
  proxy::ConnectionPool& pool() { return pool_; }
  // Where this worker's rate-limit checks go: the process's LocalLimiter, or in fleet mode the
  // worker's own Redis connection. Set once before serving; never null then.
  limit::Store& limit_store() { return *limit_store_; }
  void set_limit_store(std::unique_ptr<limit::Store> s) { limit_store_ = std::move(s); }

  // Runs on this worker's thread only.
  void add(SessionHandle* s) { sessions_.insert(s); }
  void remove(SessionHandle* s) { sessions_.erase(s); }
  bool draining() const { return draining_; }
  void begin_drain();   // posts to the worker's thread
  void force_close();   // posts to the worker's thread
  std::size_t session_count() const { return sessions_.size(); }

  // Starts a session for an accepted socket (thread-safe: posts to the worker's thread).
  void start_session(boost::asio::ip::tcp::socket socket, std::size_t listener,
                     std::shared_ptr<boost::asio::ssl::context> tls);

  // A heartbeat the watchdog checks: proves this loop still turns.
  std::atomic<std::int64_t> heartbeat{0};

 private:
  SharedState& shared_;
  boost::asio::io_context ioc_{1};
  proxy::ConnectionPool pool_;
  std::unique_ptr<limit::Store> limit_store_;
  std::unordered_set<SessionHandle*> sessions_;
  bool draining_ = false;
};

}  // namespace bawwab::server
