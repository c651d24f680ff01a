#include "bawwab/limit/limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "bawwab/limit/gcra.hpp"

namespace bawwab::limit {
namespace {

using std::chrono::nanoseconds;

int rank(Verdict::Kind k) noexcept {
  switch (k) {
    case Verdict::Kind::pass: return 0;
    case Verdict::Kind::delay: return 1;
    case Verdict::Kind::reject: return 2;
    case Verdict::Kind::ban: return 3;
  }
  return 0;
}

// a is stricter than b (same shadow-ness assumed).
bool stricter(const Verdict& a, const Verdict& b) noexcept {
  if (rank(a.kind) != rank(b.kind)) return rank(a.kind) > rank(b.kind);
  if (a.kind == Verdict::Kind::delay) return a.wait > b.wait;
  return a.retry_after > b.retry_after;
}

}  // namespace

std::string_view kind_name(Verdict::Kind kind) noexcept {
  switch (kind) {
    case Verdict::Kind::pass: return "pass";
    case Verdict::Kind::delay: return "delay";
    case Verdict::Kind::reject: return "reject";
    case Verdict::Kind::ban: return "ban";
  }
  return "pass";
}

Verdict strictest(const std::vector<Verdict>& verdicts) noexcept {
  const Verdict* enforced = nullptr;
  const Verdict* shadow = nullptr;
  for (const Verdict& v : verdicts) {
    const Verdict*& best = v.shadow ? shadow : enforced;
    if (best == nullptr || stricter(v, *best)) best = &v;
  }
  if (enforced != nullptr && enforced->kind != Verdict::Kind::pass) return *enforced;
  if (shadow != nullptr && shadow->kind != Verdict::Kind::pass) return *shadow;
  if (enforced != nullptr) return *enforced;
  if (shadow != nullptr) return *shadow;
  return Verdict{};
}

nanoseconds ban_length(const LimitSpec& spec, std::uint32_t n) noexcept {
  const nanoseconds first = spec.ban_duration;
  const nanoseconds max = spec.ban_max;
  if (first >= max) return max;
  if (n == 0 || spec.ban_escalation <= 1.0) return first;
  // In double: escalation^n overflows int64 quickly, and a cap is coming anyway.
  const double length = static_cast<double>(first.count()) * std::pow(spec.ban_escalation, n);
  if (!(length < static_cast<double>(max.count()))) return max;  // also catches inf and NaN
  return nanoseconds(static_cast<std::int64_t>(length));
}

Verdict decide(const LimitSpec& spec, KeyState& state, TimePoint now) noexcept {
  Verdict v;
  v.spec = &spec;
  v.shadow = spec.shadow;
  const std::int64_t now_ns = now.time_since_epoch().count();
  if (state.ban_until_ns > now_ns) {
    v.kind = Verdict::Kind::ban;
    v.retry_after = v.reset = nanoseconds(state.ban_until_ns - now_ns);
    return v;
  }
  const GcraResult r = gcra(TimePoint(nanoseconds(state.tat_ns)), now, gcra_params(spec));
  state.tat_ns = r.new_tat.time_since_epoch().count();
  if (r.allowed) {
    v.remaining = r.remaining;
    v.reset = r.reset;
    if (spec.on_exceed == OnExceed::delay && r.wait.count() > 0) {
      v.kind = Verdict::Kind::delay;
      v.wait = r.wait;
    }
    return v;
  }
  if (spec.on_exceed == OnExceed::ban) {
    std::uint32_t n = state.ban_count;
    // A key that stayed clean for ban_max after its last ban starts again from the first ban.
    if (state.ban_until_ns != 0 &&
        now_ns - state.ban_until_ns > nanoseconds(spec.ban_max).count()) {
      n = 0;
    }
    const nanoseconds length = ban_length(spec, n);
    state.ban_until_ns = now_ns + length.count();
    state.ban_count = n == UINT32_MAX ? n : n + 1;
    v.kind = Verdict::Kind::ban;
    v.retry_after = v.reset = length;
    return v;
  }
  v.kind = Verdict::Kind::reject;
  v.retry_after = r.retry_after;
  v.reset = r.reset;
  return v;
}

struct LocalLimiter::Node {
  Node(std::string n, std::size_t h, const LimiterConfig& c, TableStats& stats)
      : name(std::move(n)), hash(h), table(TableConfig{c.max_keys, c.shards}, stats) {}
  const std::string name;
  const std::size_t hash;
  Table table;
  Node* next = nullptr;
};

LocalLimiter::LocalLimiter(LimiterConfig config)
    : config_(config), buckets_(std::make_unique<std::atomic<Node*>[]>(bucket_count)) {
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i].store(nullptr);
}

LocalLimiter::~LocalLimiter() {
  for (std::size_t i = 0; i < bucket_count; ++i) {
    for (Node* n = buckets_[i].load(); n != nullptr;) delete std::exchange(n, n->next);
  }
}

LocalLimiter::Node* LocalLimiter::find(std::string_view name, std::size_t hash) const noexcept {
  for (Node* n = buckets_[hash % bucket_count].load(std::memory_order_acquire); n != nullptr;
       n = n->next) {
    if (n->hash == hash && n->name == name) return n;
  }
  return nullptr;
}

Table& LocalLimiter::table_for(std::string_view name) {
  const std::size_t hash = std::hash<std::string_view>{}(name);
  if (Node* n = find(name, hash)) return n->table;
  std::lock_guard lock(add_mutex_);
  if (Node* n = find(name, hash)) return n->table;  // another thread added it meanwhile
  auto* node = new Node(std::string(name), hash, config_, stats_);
  std::atomic<Node*>& head = buckets_[hash % bucket_count];
  node->next = head.load(std::memory_order_relaxed);
  head.store(node, std::memory_order_release);
  stats_.limits.fetch_add(1, std::memory_order_relaxed);
  return node->table;
}

Verdict LocalLimiter::check(const LimitSpec& spec, std::uint64_t key, TimePoint now) {
  Table& table = table_for(spec.name);
  // The table hands back `now` raised to the latest time the key's shard has seen, so requests
  // are judged in the order they take the lock, never against a state from their future.
  const Verdict v = table.update(key, now.time_since_epoch().count(),
                                 [&](KeyState& state, std::int64_t now_ns) {
                                   return decide(spec, state, TimePoint(nanoseconds(now_ns)));
                                 });
  constexpr auto relaxed = std::memory_order_relaxed;
  stats_.checks.fetch_add(1, relaxed);
  switch (v.kind) {
    case Verdict::Kind::pass: stats_.passes.fetch_add(1, relaxed); break;
    case Verdict::Kind::delay: stats_.delays.fetch_add(1, relaxed); break;
    case Verdict::Kind::reject: stats_.rejects.fetch_add(1, relaxed); break;
    case Verdict::Kind::ban: stats_.bans.fetch_add(1, relaxed); break;
  }
  if (v.shadow && v.kind != Verdict::Kind::pass) stats_.shadowed.fetch_add(1, relaxed);
  return v;
}

std::optional<KeyState> LocalLimiter::peek(std::string_view name, std::uint64_t key) const {
  const Table* t = table(name);
  return t == nullptr ? std::nullopt : t->find(key);
}

const Table* LocalLimiter::table(std::string_view name) const noexcept {
  const Node* n = find(name, std::hash<std::string_view>{}(name));
  return n == nullptr ? nullptr : &n->table;
}

}  // namespace bawwab::limit
