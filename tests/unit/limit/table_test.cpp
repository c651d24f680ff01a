#include "bawwab/limit/table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <list>
#include <random>
#include <unordered_map>

#include "bawwab/limit/key.hpp"

using namespace bawwab::limit;

namespace {

// Keys spread like real hashes (the shard is taken from the top bits).
std::uint64_t k(std::uint64_t i) { return hash64(std::to_string(i), 99); }

void touch(Table& t, std::uint64_t key, std::int64_t now = 0) {
  t.update(key, now, [](KeyState& s, std::int64_t) { s.tat_ns += 1; });
}

}  // namespace

TEST_CASE("Table: LRU order, most recent first", "[table]") {
  TableStats stats;
  Table t({.max_keys = 100, .shards = 1, .exact_lru = true}, stats);
  for (std::uint64_t i = 1; i <= 4; ++i) touch(t, k(i));
  CHECK(t.lru_order(k(1)) == std::vector<std::uint64_t>{k(4), k(3), k(2), k(1)});
  touch(t, k(2));
  CHECK(t.lru_order(k(1)) == std::vector<std::uint64_t>{k(2), k(4), k(3), k(1)});
  touch(t, k(2));  // already the head
  CHECK(t.lru_order(k(1)) == std::vector<std::uint64_t>{k(2), k(4), k(3), k(1)});
  CHECK(t.find(k(2))->tat_ns == 3);
  CHECK(t.lru_order(k(1)) == std::vector<std::uint64_t>{k(2), k(4), k(3), k(1)});  // find: no touch
}

TEST_CASE("Table: full table evicts the least recently used, counted", "[table]") {
  TableStats stats;
  Table t({.max_keys = 3, .shards = 1}, stats);
  touch(t, k(1));
  touch(t, k(2));
  touch(t, k(3));
  touch(t, k(1));  // 2 is now the oldest
  touch(t, k(4));
  CHECK(t.size() == 3);
  CHECK(stats.evictions == 1);
  CHECK_FALSE(t.find(k(2)).has_value());
  CHECK(t.find(k(1)).has_value());
  touch(t, k(5));  // then 3
  CHECK_FALSE(t.find(k(3)).has_value());
  CHECK(stats.evictions == 2);
  CHECK(stats.keys == 3);
  // A re-inserted key starts from scratch.
  touch(t, k(2));
  CHECK(t.find(k(2))->tat_ns == 1);
}

TEST_CASE("Table: an active key survives a flood of one-off keys", "[table]") {
  TableStats stats;
  Table t({.max_keys = 100, .shards = 1}, stats);
  const std::uint64_t abuser = k(0);
  for (std::uint64_t i = 1; i <= 10'000; ++i) {
    touch(t, k(i));
    if (i % 50 == 0) touch(t, abuser);  // comes back more often than the table turns over
  }
  REQUIRE(t.find(abuser).has_value());
  CHECK(t.find(abuser)->tat_ns == 200);  // its state was never reset
  CHECK(t.size() == 100);
  CHECK(stats.evictions == 10'000 + 1 - 100);
}

TEST_CASE("Table: max_keys is respected across shards", "[table]") {
  TableStats stats;
  Table t({.max_keys = 1000, .shards = 8}, stats);
  CHECK(t.shard_count() == 8);
  for (std::uint64_t i = 0; i < 10'000; ++i) touch(t, k(i));
  CHECK(t.size() == 1000);
  CHECK(stats.keys == 1000);
  CHECK(stats.evictions == 9000);
  // The most recent keys are there (each shard keeps its most recent ones).
  int recent = 0;
  for (std::uint64_t i = 9'900; i < 10'000; ++i) recent += t.find(k(i)).has_value() ? 1 : 0;
  CHECK(recent == 100);
}

TEST_CASE("Table: shard count is a power of two and at most max_keys", "[table]") {
  TableStats stats;
  CHECK(Table({.max_keys = 1'000'000, .shards = 64}, stats).shard_count() == 64);
  CHECK(Table({.max_keys = 1'000'000, .shards = 100}, stats).shard_count() == 64);
  CHECK(Table({.max_keys = 5, .shards = 64}, stats).shard_count() == 4);
  CHECK(Table({.max_keys = 0, .shards = 0}, stats).max_keys() == 1);
}

TEST_CASE("Table: evictions of keys still limited are counted apart", "[table]") {
  TableStats stats;
  Table t({.max_keys = 2, .shards = 1}, stats);
  const std::int64_t now = 1'000;
  t.update(k(1), now, [](KeyState& s, std::int64_t) { s.tat_ns = 5'000; });  // TAT ahead: still limited
  t.update(k(2), now, [](KeyState& s, std::int64_t) { s.tat_ns = 500; });    // drained
  t.update(k(3), now, [](KeyState&, std::int64_t) {});                       // evicts 1 (live)
  t.update(k(4), now, [](KeyState&, std::int64_t) {});                       // evicts 2 (drained)
  CHECK(stats.evictions == 2);
  CHECK(stats.evictions_live == 1);
}

TEST_CASE("Table: index stays consistent under random churn (model check)", "[table]") {
  // A reference LRU (list + map) against the table, with deletions by eviction exercising the
  // backward-shift deletion of the open addressing index.
  TableStats stats;
  const std::size_t cap = 300;
  Table t({.max_keys = cap, .shards = 1, .exact_lru = true}, stats);
  std::list<std::uint64_t> model;  // front = most recent
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  std::unordered_map<std::uint64_t, std::int64_t> value;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 50'000; ++step) {
    // Few distinct low bits, so that keys pile up in the same probe runs.
    const std::uint64_t key = (rng() % 1'000) * 0x1'0000'0000ull + (rng() % 8);
    t.update(key, 0, [&](KeyState& s, std::int64_t) { s.tat_ns += 1; });
    if (auto it = where.find(key); it != where.end()) {
      model.erase(it->second);
    } else if (model.size() == cap) {
      where.erase(model.back());
      value.erase(model.back());
      model.pop_back();
    }
    model.push_front(key);
    where[key] = model.begin();
    value[key] += 1;
  }
  CHECK(t.size() == cap);
  CHECK(t.lru_order(0) == std::vector<std::uint64_t>(model.begin(), model.end()));
  for (const auto& [key, v] : value) {
    const auto s = t.find(key);
    REQUIRE(s.has_value());
    CHECK(s->tat_ns == v);
  }
}

TEST_CASE("Table: about 60 bytes a key", "[table]") {
  TableStats stats;
  Table t({.max_keys = 100'000, .shards = 64}, stats);
  for (std::uint64_t i = 0; i < 100'000; ++i) touch(t, k(i));
  const double per_key = static_cast<double>(t.memory_bytes()) / 100'000.0;
  INFO("bytes per key: " << per_key);
  CHECK(per_key < 80.0);
}

TEST_CASE("Table: lazy LRU still evicts idle keys first and keeps returning ones", "[table]") {
  TableStats stats;
  Table t({.max_keys = 800, .shards = 1}, stats);  // moves a key only after 100 others moved
  for (std::uint64_t i = 0; i < 800; ++i) touch(t, k(i));
  touch(t, k(0));    // the oldest: goes to the front
  touch(t, k(799));  // among the newest: stays where it is (no link writes)
  for (std::uint64_t i = 1000; i < 1700; ++i) {
    touch(t, k(i));
    if (i % 500 == 0) touch(t, k(0));  // comes back well within the turnover
  }
  CHECK(stats.evictions == 700);
  CHECK(t.find(k(0)).has_value());
  CHECK(t.find(k(799)).has_value());
  CHECK(t.find(k(0))->tat_ns == 4);  // fill, touch, i = 1000, i = 1500
  for (std::uint64_t i = 1; i <= 699; ++i) CHECK_FALSE(t.find(k(i)).has_value());
}
