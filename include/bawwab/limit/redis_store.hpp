#pragma once
// Fleet mode: limits and bans shared by every bawwab instance through one Redis.
//
// Each check runs one Lua script in Redis (EVALSHA, EVAL when Redis answers NOSCRIPT) that does
// the GCRA and ban arithmetic of limiter.hpp atomically, with Redis's own clock (TIME), so
// instances whose clocks disagree still agree on the limit. Keys are
//   <key_prefix>{<printable key>}       the TAT, in microseconds, expiring when drained
//   <key_prefix>{<printable key>}:ban   the ban {until, count}, expiring ban_max after the ban
// (the braces keep both in one Redis Cluster slot).
//
// One RedisStore per worker thread, on that worker's io_context, talking hiredis's async API
// through an Asio adapter: a check never blocks the thread. Each check has a deadline
// (config.timeout); a check that fails (no connection, timeout, error reply) is decided by
// on_failure: the process's LocalLimiter (`local`, default) or a reject (`reject`). The store
// logs once when Redis becomes unreachable or slow and once when it is back (one incident, not
// one line per request), counts every failure, and reconnects by itself with a backoff (at most
// one attempt per reconnect_min, default 1 s). A connection with commands outstanding and no
// reply for max(1 s, 4 x timeout) is dropped and reconnected.
//
// Known-limited keys skip the round trip: reject and ban answers are cached locally until their
// retry_after (at most banned_cache_ttl). That is exact for GCRA, whose next conforming time
// only moves later whatever other instances do; a ban lifted by hand in Redis is seen once the
// cache entry ends.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/core/error.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/store.hpp"
#include "bawwab/limit/spec.hpp"

struct redisAsyncContext;

namespace bawwab::limit {

struct StoreConfig {
  std::string url;  // redis://[[user]:password@]host[:port][/db]
  std::string key_prefix = "bawwab:";
  std::chrono::milliseconds timeout{50};  // per check, from sending to the answer
  enum class OnFailure { local, reject } on_failure = OnFailure::local;
  // Size for the process's LocalLimiter (LimiterConfig::max_keys), which on_failure: local falls
  // back to; the caller builds that limiter, the store only borrows it.
  std::size_t max_keys = 1'000'000;
  std::chrono::seconds banned_cache_ttl{10};  // longest a cached reject/ban is trusted; 0 = off
  std::size_t cache_max_keys = 65'536;        // cached rejects/bans per store (per worker)
  std::chrono::milliseconds reconnect_min{1'000};  // first backoff, and the least between tries
  std::chrono::milliseconds reconnect_max{8'000};  // backoff doubles up to this
  std::size_t max_in_flight = 4'096;  // outstanding commands per store; beyond, fail over at once
};

// A parsed store URL.
struct RedisUrl {
  std::string host;  // name, IPv4, or IPv6 without brackets
  std::uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user; empty = AUTH with the password only
  std::string password;  // empty = no AUTH
  unsigned db = 0;

  // "redis://host:port/db" without the credentials, for logs.
  std::string to_string() const;
};

// redis://[[user]:password@]host[:port][/db]: host a name, an IPv4 address or a bracketed IPv6
// address; port 1-65535 (default 6379); db 0-65535 (default 0); user and password
// percent-decoded. Anything else (rediss://, a query, a path after the db) is an error
// (Errc::config_invalid) with the reason in *why. Pure, thread-safe.
Result<RedisUrl> parse_redis_url(std::string_view url, std::string* why = nullptr);

// Counters of all the stores of a process (share one). Thread-safe.
struct StoreStats {
  std::atomic<std::uint64_t> checks{0};          // check() calls
  std::atomic<std::uint64_t> answered{0};        // decided by Redis
  std::atomic<std::uint64_t> cache_hits{0};      // decided by the cached reject/ban
  std::atomic<std::uint64_t> fallbacks{0};       // decided by on_failure
  std::atomic<std::uint64_t> timeouts{0};        // checks that hit the deadline
  std::atomic<std::uint64_t> errors{0};          // error replies, lost connections, send failures
  std::atomic<std::uint64_t> connects{0};        // connections established
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> disconnects{0};     // established connections lost or dropped
  std::atomic<std::uint64_t> incidents{0};       // times Redis went from answering to failing
  std::atomic<std::uint32_t> connected{0};       // stores connected now
  std::atomic<bool> degraded{false};             // in an incident now
};

// One per worker thread. Not thread-safe: construct it anywhere, then use it only from
// coroutines on `ioc`'s thread. It must outlive every check() it started; destroy it on that
// thread or after the io_context stopped. `fallback` and `stats` must outlive it.
class RedisStore final : public Store {
 public:
  // The first connection attempt is posted to `ioc` (no blocking connect, and a host name is
  // resolved by Asio's resolver). config.url must be valid (parse_redis_url); an invalid one
  // aborts with a message, since the config loader has already refused it.
  RedisStore(boost::asio::io_context& ioc, StoreConfig config, LocalLimiter& fallback,
             StoreStats& stats);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // The verdict of `spec` for the key (limit/key.hpp: printable form and hash). Completes
  // within config.timeout plus scheduling. `spec` and `printable_key` must stay valid until it
  // completes; `now` (the caller's steady clock) is for the cache and the local fallback.
  boost::asio::awaitable<Verdict> check(const LimitSpec& spec, const std::string& printable_key,
                                        std::uint64_t key_hash, TimePoint now);
  // Store: the key made from `in` (make_key), then the check above.
  boost::asio::awaitable<Verdict> check(const LimitSpec& spec, const KeyInput& in,
                                        TimePoint now) override;

  bool connected() const noexcept { return state_ == State::connected; }
  const StoreConfig& config() const noexcept { return config_; }
  const RedisUrl& url() const noexcept { return url_; }

 private:
  struct Pending;
  struct Reply;
  enum class State { idle, resolving, connecting, connected };
  struct Cached {
    TimePoint until;
    Verdict::Kind kind;
  };

  boost::asio::awaitable<Reply> call(const LimitSpec& spec, const std::string& printable_key,
                                     bool with_script, SteadyClock::time_point deadline);
  Verdict fail_over(const LimitSpec& spec, std::uint64_t key_hash, TimePoint now);
  std::optional<Verdict> cached(const LimitSpec& spec, std::uint64_t key_hash, TimePoint now);
  void remember(std::uint64_t key_hash, const Verdict& v, TimePoint now);

  void set_state(State s);  // keeps stats_.connected in step
  void start_connect();
  void connect_next();  // connects to the first of candidates_
  void connection_ready();
  void connect_failed(std::string_view why);
  void drop_connection(std::string_view why);
  void schedule_reconnect();
  void note_failure(std::string_view why);
  void note_success();

  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_setup_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& ioc_;
  const StoreConfig config_;
  RedisUrl url_;
  LocalLimiter& fallback_;
  StoreStats& stats_;

  redisAsyncContext* ac_ = nullptr;
  State state_ = State::idle;
  std::vector<std::string> candidates_;  // addresses of the host not tried yet
  unsigned setup_pending_ = 0;            // AUTH/SELECT replies still to come
  bool ever_connected_ = false;
  bool script_known_ = false;  // the script is in this connection's server cache
  bool reconnect_pending_ = false;
  bool stopping_ = false;
  unsigned attempts_ = 0;  // failed connection attempts since the last answer (backoff)
  std::size_t in_flight_ = 0;
  SteadyClock::time_point last_progress_{};  // last reply, or first send after a quiet spell
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::ip::tcp::resolver resolver_;
  std::unordered_map<std::uint64_t, Cached> cache_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // handlers hold a weak_ptr
};

}  // namespace bawwab::limit
