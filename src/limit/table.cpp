#include "bawwab/limit/table.hpp"

#include <bit>
#include <cstdio>
#include <cstdlib>

namespace bawwab::limit {
namespace detail {
namespace {

constexpr std::uint64_t slot_of(std::uint64_t key, std::uint32_t i) noexcept {
  return (key << 32) | (static_cast<std::uint64_t>(i) + 1);
}
constexpr std::uint32_t slot_index(std::uint64_t slot) noexcept {
  return static_cast<std::uint32_t>(slot & 0xFFFF'FFFFu) - 1;
}
constexpr std::uint32_t slot_hash(std::uint64_t slot) noexcept {
  return static_cast<std::uint32_t>(slot >> 32);
}

}  // namespace

std::uint32_t Shard::lookup(std::uint64_t key) const noexcept {
  if (slots_.empty()) return nil;
  const std::size_t mask = slots_.size() - 1;
  const auto low = static_cast<std::uint32_t>(key);
  for (std::size_t pos = low & mask;; pos = (pos + 1) & mask) {
    const std::uint64_t slot = slots_[pos];
    if (slot == 0) return nil;
    if (slot_hash(slot) == low && at(slot_index(slot)).key == key) return slot_index(slot);
  }
}

void Shard::index_insert(std::uint64_t key, std::uint32_t i) {
  // At most 3/4 full keeps linear probing short.
  if ((static_cast<std::size_t>(count_) + 1) * 4 > slots_.size() * 3) grow_index();
  const std::size_t mask = slots_.size() - 1;
  std::size_t pos = static_cast<std::uint32_t>(key) & mask;
  while (slots_[pos] != 0) pos = (pos + 1) & mask;
  slots_[pos] = slot_of(key, i);
}

// Backward-shift deletion: no tombstones, so probe lengths stay short under constant churn.
void Shard::index_erase(std::uint64_t key, std::uint32_t i) noexcept {
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = static_cast<std::uint32_t>(key) & mask;
  while (slots_[hole] != slot_of(key, i)) hole = (hole + 1) & mask;
  for (std::size_t pos = (hole + 1) & mask; slots_[pos] != 0; pos = (pos + 1) & mask) {
    const std::size_t home = slot_hash(slots_[pos]) & mask;
    // The entry at pos may move into the hole only if its home is not cyclically in (hole, pos].
    const bool stays = hole <= pos ? (hole < home && home <= pos) : (hole < home || home <= pos);
    if (stays) continue;
    slots_[hole] = slots_[pos];
    hole = pos;
  }
  slots_[hole] = 0;
}

void Shard::grow_index() {
  std::vector<std::uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
  const std::size_t mask = slots_.size() - 1;
  for (const std::uint64_t slot : old) {
    if (slot == 0) continue;
    std::size_t pos = slot_hash(slot) & mask;
    while (slots_[pos] != 0) pos = (pos + 1) & mask;
    slots_[pos] = slot;
  }
}

void Shard::unlink(std::uint32_t i) noexcept {
  Entry& e = at(i);
  if (e.prev != nil) at(e.prev).next = e.next; else head_ = e.next;
  if (e.next != nil) at(e.next).prev = e.prev; else tail_ = e.prev;
}

void Shard::push_front(std::uint32_t i) noexcept {
  Entry& e = at(i);
  e.prev = nil;
  e.next = head_;
  e.moved = ++moves_;
  if (head_ != nil) at(head_).prev = i; else tail_ = i;
  head_ = i;
}

Shard::Entry& Shard::acquire(std::uint64_t key, std::int64_t now_ns, Table& owner) {
  std::uint32_t i = lookup(key);
  if (i != nil) {
    Entry& e = at(i);
    const std::uint32_t window = exact_lru_ ? 0 : count_ / 8;
    if (i != head_ && moves_ - e.moved >= window) {
      unlink(i);
      push_front(i);
    }
    return e;
  }
  const bool room = owner.reserve_key();
  if (!room && count_ > 0) {
    // Full: reuse this shard's least recently used entry.
    i = tail_;
    Entry& old = at(i);
    const bool live = old.tat_ns > now_ns || old.ban_until_ns > now_ns;
    owner.stats_.evictions.fetch_add(1, std::memory_order_relaxed);
    if (live) owner.stats_.evictions_live.fetch_add(1, std::memory_order_relaxed);
    index_erase(old.key, i);
    unlink(i);
    --count_;
  } else {
    // An empty shard takes a key even when the table is full (it has nothing to evict). That
    // exceeds max_keys by at most one key per shard, and only when keys are few per shard.
    if (!room) {
      owner.size_.fetch_add(1, std::memory_order_relaxed);
      owner.stats_.keys.fetch_add(1, std::memory_order_relaxed);
    }
    if (count_ == 0xFFFF'FFFEu) {
      std::fputs("bawwab: limit table shard over 2^32 keys\n", stderr);
      std::abort();
    }
    i = count_;  // entries are only ever appended or reused, so [0, count_) is dense
    if (i / chunk_entries == chunks_.size()) {
      chunks_.push_back(std::make_unique_for_overwrite<Entry[]>(chunk_entries));
    }
  }
  Entry& e = at(i);
  e.key = key;
  store(e, KeyState{});
  index_insert(key, i);
  ++count_;
  push_front(i);
  return e;
}

std::optional<KeyState> Shard::find(std::uint64_t key) const {
  const std::uint32_t i = lookup(key);
  if (i == nil) return std::nullopt;
  const Entry& e = at(i);
  return KeyState{e.tat_ns, e.ban_until_ns, e.ban_count};
}

std::vector<std::uint64_t> Shard::lru_order() const {
  std::vector<std::uint64_t> keys;
  for (std::uint32_t i = head_; i != nil; i = at(i).next) keys.push_back(at(i).key);
  return keys;
}

std::size_t Shard::memory_bytes() const noexcept {
  return chunks_.size() * chunk_entries * sizeof(Entry) + slots_.capacity() * sizeof(std::uint64_t);
}

}  // namespace detail

Table::Table(TableConfig config, TableStats& stats)
    : max_keys_(config.max_keys == 0 ? 1 : config.max_keys), stats_(stats) {
  std::size_t shards = config.shards == 0 ? 1 : std::bit_floor(config.shards);
  while (shards > 1 && shards > max_keys_) shards /= 2;
  shard_count_ = shards;
  shard_shift_ = 64 - static_cast<unsigned>(std::countr_zero(shards));  // 64 for one shard
  shards_ = std::make_unique<detail::Shard[]>(shards);
  for (std::size_t i = 0; i < shards; ++i) shards_[i].set_exact_lru(config.exact_lru);
}

Table::~Table() {
  stats_.keys.fetch_sub(size_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

bool Table::reserve_key() noexcept {
  // A full table is the steady state under a key flood: look before the read-modify-write.
  if (size_.load(std::memory_order_relaxed) >= max_keys_) return false;
  if (size_.fetch_add(1, std::memory_order_relaxed) >= max_keys_) {
    size_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  stats_.keys.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::optional<KeyState> Table::find(std::uint64_t key) const {
  const detail::Shard& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  return s.find(key);
}

std::vector<std::uint64_t> Table::lru_order(std::uint64_t key_in_shard) const {
  const detail::Shard& s = shard_for(key_in_shard);
  std::lock_guard lock(s.mutex);
  return s.lru_order();
}

std::size_t Table::memory_bytes() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].memory_bytes();
  }
  return total;
}

}  // namespace bawwab::limit
