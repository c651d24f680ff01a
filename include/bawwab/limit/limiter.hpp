#pragma once
// What a limit says about one request, and the in-process limiter that says it.
//
//   reject  over the limit: answer spec.status (429) with Retry-After
//   delay   within the burst but ahead of the steady rate: hold the request `wait`, then pass it
//           (nginx limit_req without `nodelay`); beyond the burst (or max_delay): reject
//   ban     over the limit with on_exceed: ban, or any request while the key is banned; the
//           first ban lasts ban_duration, each repeat offence ban_escalation times longer, up to
//           ban_max; the offence count is forgotten once the key stayed unbanned for ban_max
//   shadow  any of the above flagged shadow: the caller counts and logs it and lets the request
//           through (the state is updated as if enforced, so shadow counts what enforcing would)
//
// The proxy wires it as: key_hash / make_key (limit/key.hpp) for each limit of a rate_limit
// action, then LocalLimiter::check (synchronous, on the request path) or, in fleet mode,
// co_await RedisStore::check (limit/redis_store.hpp); then strictest() of the verdicts, and
// headers from limit/headers.hpp on a 429.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/limit/spec.hpp"
#include "bawwab/limit/table.hpp"

namespace bawwab::limit {

struct Verdict {
  enum class Kind { pass, delay, reject, ban };
  Kind kind = Kind::pass;
  std::chrono::nanoseconds wait{0};         // delay: how long to hold the request
  std::chrono::nanoseconds retry_after{0};  // reject, ban: time until a request may pass
  std::uint64_t remaining = 0;              // requests the key may still send right now
  std::chrono::nanoseconds reset{0};        // time until the key has its full burst again
  const LimitSpec* spec = nullptr;          // the limit that decided (null: no limit applied)
  bool shadow = false;                      // from a limit in shadow mode: log, do not enforce
  // The Redis store failed and the store's on_failure policy decided (local limits or reject).
  bool fallback = false;
};

// "pass", "delay", "reject", "ban".
std::string_view kind_name(Verdict::Kind kind) noexcept;

// The verdict to act on among several limits' verdicts: ban > reject > delay (the longest) >
// pass; among bans and rejects the longest retry_after. Shadow verdicts never override an
// enforced one, but when every enforced verdict is a pass and some shadow verdict is stricter,
// that shadow verdict is returned (flagged shadow: the caller lets the request through and logs
// what would have happened). Empty: a pass with no spec. Pure.
Verdict strictest(const std::vector<Verdict>& verdicts) noexcept;

// One limit's decision for one request at `now`, updating the key's state (the GCRA TAT, the
// ban). The whole semantics above, with no table and no lock: what LocalLimiter runs under a
// shard lock and what the Redis script mirrors. Pure.
Verdict decide(const LimitSpec& spec, KeyState& state, TimePoint now) noexcept;

// The length of a key's n-th ban (n = 0 for the first): ban_duration * ban_escalation^n, capped
// at ban_max. Pure.
std::chrono::nanoseconds ban_length(const LimitSpec& spec, std::uint32_t n) noexcept;

struct LimiterConfig {
  std::size_t max_keys = 1'000'000;  // per limit name
  std::size_t shards = 64;
};

// Counters; read by the status page. Thread-safe (relaxed atomics).
struct LimiterStats : TableStats {  // + keys, evictions, evictions_live (all limits together)
  std::atomic<std::uint64_t> checks{0};
  std::atomic<std::uint64_t> passes{0};
  std::atomic<std::uint64_t> delays{0};
  std::atomic<std::uint64_t> rejects{0};  // reject verdicts, shadow ones included
  std::atomic<std::uint64_t> bans{0};     // ban verdicts (new bans and requests while banned)
  std::atomic<std::uint64_t> shadowed{0};  // verdicts other than pass from shadow limits
  std::atomic<std::uint64_t> limits{0};    // state tables (limit names seen)
};

// Thread-safe; one per process, shared by every worker. Keeps one Table per limit NAME, created
// on first use and kept for the limiter's life, so counters and bans survive rule reloads: a
// reloaded LimitSpec with the same name finds its keys, and a changed rate applies from then on.
class LocalLimiter {
 public:
  explicit LocalLimiter(LimiterConfig config = {});
  ~LocalLimiter();
  LocalLimiter(const LocalLimiter&) = delete;
  LocalLimiter& operator=(const LocalLimiter&) = delete;

  // The verdict of `spec` for the request whose key (limit/key.hpp) is `key`. `spec` must
  // outlive the returned verdict (it points to it). Lock-free except for the key's shard mutex.
  Verdict check(const LimitSpec& spec, std::uint64_t key, TimePoint now);

  // The key's state in limit `name`, if any (tests, `explain`); does not touch LRU order.
  std::optional<KeyState> peek(std::string_view name, std::uint64_t key) const;
  // The table of limit `name`, or null if no request met it yet (tests, benchmarks).
  const Table* table(std::string_view name) const noexcept;

  const LimiterStats& stats() const noexcept { return stats_; }
  const LimiterConfig& config() const noexcept { return config_; }

 private:
  struct Node;
  Table& table_for(std::string_view name);
  Node* find(std::string_view name, std::size_t hash) const noexcept;

  static constexpr std::size_t bucket_count = 64;
  LimiterConfig config_;
  LimiterStats stats_;
  // Name -> table: buckets of immutable nodes, pushed under add_mutex_ and read without a lock
  // (a check only loads pointers), never removed before the destructor.
  std::unique_ptr<std::atomic<Node*>[]> buckets_;
  std::mutex add_mutex_;
};

}  // namespace bawwab::limit
