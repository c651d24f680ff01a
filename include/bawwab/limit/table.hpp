#pragma once
// The state of one limit's keys, bounded in memory: a 64-bit key hash -> KeyState map split into
// shards (a mutex each, so two workers rarely wait on each other and no lock is global), with a
// configured maximum number of keys. When the table is full, a new key takes the place of the
// least recently used key of its shard (counted): an abuser who keeps coming is always recent and
// stays limited, while a swarm of one-off keys pushes out only keys that have gone quiet.
//
// Memory: a key costs a 40-byte entry (hash, TAT, ban, LRU links) plus 8 to 16 bytes of open
// addressing index (kept at most 3/4 full), about 60 bytes, so 1,000,000 keys fit in ~60 MB.
// No key text is stored: two keys whose 64-bit hashes are equal share one state. With a strong
// hash and n keys that happens with probability about n^2 / 2^65 (1e-8 for a million keys), and
// then one client is limited with another's count, which is harmless.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace bawwab::limit {

// One key's state. Zero in every field is a key never seen.
struct KeyState {
  std::int64_t tat_ns = 0;        // GCRA theoretical arrival time (steady clock, ns)
  std::int64_t ban_until_ns = 0;  // banned while now < ban_until_ns (0: never banned)
  std::uint32_t ban_count = 0;    // bans so far, for escalation
};

struct TableConfig {
  std::size_t max_keys = 1'000'000;  // at least 1
  std::size_t shards = 64;           // rounded down to a power of two, at most max_keys
  // false: a key used again is moved to the front of the LRU list only if more than 1/8 of its
  // shard was used since it last moved (as memcached bumps an item at most once a minute).
  // That saves the writes to two random neighbours on most hits of busy keys, and a key still
  // survives as long as it comes back before 7/8 of its shard turned over. true: strict LRU.
  bool exact_lru = false;
};

// Counters a table updates; a limiter shares one set between all its tables. Thread-safe.
struct TableStats {
  std::atomic<std::uint64_t> keys{0};       // keys held now
  std::atomic<std::uint64_t> evictions{0};  // keys dropped to make room
  // Of those, keys still limited when dropped (TAT ahead of now, or banned): the table is too
  // small for the traffic if this grows.
  std::atomic<std::uint64_t> evictions_live{0};
};

class Table;

namespace detail {

// One shard: entries in fixed chunks (no reallocation, so RSS follows the key count), an open
// addressing index with linear probing, and an intrusive LRU list. Used only through Table.
class alignas(64) Shard {
 public:
  Shard() = default;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  mutable std::mutex mutex;

  // Under mutex: runs fn(KeyState&, now_ns) on the state of `key`, created if absent (evicting
  // this shard's least recently used key when the table is full), and makes it the most recently
  // used. The state is copied in and out: the entry keeps its fields flat, in 40 bytes.
  //
  // Time never goes backwards inside a shard: fn gets max(now_ns, the latest now_ns this shard
  // has seen). Callers read the clock before they take the lock, so two workers can enter in
  // the opposite order of their clock readings; without this, the later entrant would be judged
  // at an earlier time than a state that already holds a later one, and GCRA would refuse a
  // request that conforms (burst 1: two simultaneous requests, one refused). Clamping makes the
  // outcome exactly what reading the clock under the lock would give.
  template <class F>
  decltype(auto) update(std::uint64_t key, std::int64_t now_ns, Table& owner, F&& fn) {
    if (now_ns < latest_ns_) now_ns = latest_ns_;
    latest_ns_ = now_ns;
    Entry& e = acquire(key, now_ns, owner);
    KeyState state{e.tat_ns, e.ban_until_ns, e.ban_count};
    if constexpr (std::is_void_v<std::invoke_result_t<F&, KeyState&, std::int64_t>>) {
      fn(state, now_ns);
      store(e, state);
    } else {
      decltype(auto) result = fn(state, now_ns);
      store(e, state);
      return result;
    }
  }
  void set_exact_lru(bool exact) noexcept { exact_lru_ = exact; }
  // Under mutex: a copy of the state of `key`, if present; does not touch the LRU order.
  std::optional<KeyState> find(std::uint64_t key) const;
  // Under mutex: keys from most to least recently used (tests, `explain`).
  std::vector<std::uint64_t> lru_order() const;
  std::size_t size() const noexcept { return count_; }
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint32_t nil = 0xFFFF'FFFFu;
  static constexpr std::size_t chunk_entries = 256;  // 10 KB: little slack in small shards

  struct Entry {  // 40 bytes; trivial, so a fresh chunk is not touched until used
    std::uint64_t key;
    std::int64_t tat_ns;
    std::int64_t ban_until_ns;
    std::uint32_t ban_count;
    std::uint32_t prev;
    std::uint32_t next;
    std::uint32_t moved;  // moves_ when it last went to the front
  };
  static_assert(sizeof(Entry) == 40);

  static void store(Entry& e, const KeyState& s) noexcept {
    e.tat_ns = s.tat_ns;
    e.ban_until_ns = s.ban_until_ns;
    e.ban_count = s.ban_count;
  }
  Entry& acquire(std::uint64_t key, std::int64_t now_ns, Table& owner);

  Entry& at(std::uint32_t i) noexcept { return chunks_[i / chunk_entries][i % chunk_entries]; }
  const Entry& at(std::uint32_t i) const noexcept {
    return chunks_[i / chunk_entries][i % chunk_entries];
  }
  std::uint32_t lookup(std::uint64_t key) const noexcept;  // index or nil
  void index_insert(std::uint64_t key, std::uint32_t i);
  void index_erase(std::uint64_t key, std::uint32_t i) noexcept;
  void grow_index();
  void unlink(std::uint32_t i) noexcept;
  void push_front(std::uint32_t i) noexcept;

  std::vector<std::unique_ptr<Entry[]>> chunks_;
  // Slot: (low 32 bits of the key hash) << 32 | (entry index + 1); 0 is empty. The stored hash
  // bits give the home slot (for deletion) and skip most entry loads while probing.
  std::vector<std::uint64_t> slots_;
  std::uint32_t count_ = 0;
  std::uint32_t head_ = nil;  // most recently used
  std::uint32_t tail_ = nil;  // least recently used
  std::uint32_t moves_ = 0;   // moves to the front so far (wraps; only differences matter)
  bool exact_lru_ = false;
  std::int64_t latest_ns_ = INT64_MIN;  // the latest time an update ran at (see update)
};

}  // namespace detail

// Thread-safe. Lives as long as the limiter that owns it; `stats` must outlive it.
class Table {
 public:
  Table(TableConfig config, TableStats& stats);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // Runs fn(KeyState&, std::int64_t now_ns) under the key's shard lock, on the key's state
  // (created if absent) and marks the key most recently used; returns what fn returns. fn must be
  // short and not re-enter the table. fn's now_ns is `now_ns` raised to the latest time the
  // shard has seen (time never goes backwards for a key, whatever order threads lock in); it
  // also tells whether an evicted key was still limited.
  template <class F>
  decltype(auto) update(std::uint64_t key, std::int64_t now_ns, F&& fn) {
    detail::Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    return s.update(key, now_ns, *this, std::forward<F>(fn));
  }

  // A copy of the key's state, without touching the LRU order (tests, `explain`).
  std::optional<KeyState> find(std::uint64_t key) const;
  // Keys of the key's shard, most recently used first (tests).
  std::vector<std::uint64_t> lru_order(std::uint64_t key_in_shard) const;

  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  std::size_t max_keys() const noexcept { return max_keys_; }
  std::size_t shard_count() const noexcept { return shard_count_; }
  // Bytes held by entries and indexes (not counting allocator overhead).
  std::size_t memory_bytes() const;

 private:
  friend class detail::Shard;
  detail::Shard& shard_for(std::uint64_t key) noexcept {
    return shards_[shard_shift_ == 64 ? 0 : key >> shard_shift_];
  }
  const detail::Shard& shard_for(std::uint64_t key) const noexcept {
    return shards_[shard_shift_ == 64 ? 0 : key >> shard_shift_];
  }
  // Claims room for one more key; false when the table is full.
  bool reserve_key() noexcept;

  std::size_t max_keys_;
  std::size_t shard_count_;
  unsigned shard_shift_;  // shard = top bits of the hash (the index uses the low bits)
  std::unique_ptr<detail::Shard[]> shards_;
  std::atomic<std::size_t> size_{0};
  TableStats& stats_;
};

}  // namespace bawwab::limit
