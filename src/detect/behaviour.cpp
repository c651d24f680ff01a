#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/robots.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace bawwab::detect {
namespace {

constexpr std::uint32_t kNil = 0xffffffffu;
constexpr std::size_t kRing = 16;  // page-request times kept per client

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool in(std::string_view s, std::initializer_list<std::string_view> set) noexcept {
  for (const auto x : set)
    if (iequals(s, x)) return true;
  return false;
}

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

RequestKind classify_request(std::string_view method, std::string_view path,
                             std::string_view accept, std::string_view dest) noexcept {
  if (method != "GET" && method != "HEAD") return RequestKind::other;
  if (!dest.empty() && in(dest, {"style", "script", "image", "font", "audio", "video", "track"}))
    return RequestKind::asset;

  const std::string_view last = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  const auto dot = last.rfind('.');
  const std::string_view ext =
      dot == std::string_view::npos ? std::string_view{} : last.substr(dot + 1);
  if (!ext.empty() && in(ext, {"css",  "js",  "mjs", "png",  "jpg", "jpeg", "gif",   "webp",
                               "avif", "jxl", "svg", "ico",  "bmp", "woff", "woff2", "ttf",
                               "otf",  "eot", "mp4", "webm", "mp3", "ogg",  "m4a",   "map"}))
    return RequestKind::asset;

  if (!dest.empty() && !in(dest, {"document", "iframe", "frame"})) return RequestKind::other;
  const bool page_path =
      ext.empty() || in(ext, {"html", "htm", "xhtml", "shtml", "php", "asp", "aspx"});
  const bool html_accept = accept.empty() || accept.find("text/html") != std::string_view::npos ||
                           accept.find("*/*") != std::string_view::npos;
  return page_path && html_accept ? RequestKind::page : RequestKind::other;
}

struct Client {
  std::uint64_t key = 0;
  std::uint32_t prev = kNil, next = kNil;  // LRU links between slots of one shard
  TimePoint base{};                        // ring times are milliseconds since `base`
  TimePoint window_start{};
  TimePoint cookie_set_at{};
  TimePoint honeypot_until{};
  TimePoint robots_until{};
  TimePoint grace_tat{};      // grace pages: GCRA theoretical arrival time
  TimePoint refused_until{};  // proof.refused until then
  TimePoint revoked_at{};     // the last pass revocation counted
  std::uint64_t revoked_pass = 0;  // which pass that was
  std::array<std::uint32_t, kRing> ring{};
  std::uint16_t pages = 0, assets = 0;  // in the current window
  std::uint16_t cookie_misses = 0;
  std::uint16_t unproved = 0;  // pages past the grace without a pass, since the last refusal
  std::uint8_t refusals = 0;   // repeats, for the escalation
  std::uint8_t revocations = 0;  // passes revoked (pass_revoked)
  std::uint8_t ring_head = 0, ring_count = 0;
  bool fetched_robots = false, cookie_pending = false, cookie_returned = false, regular = false;
};

struct BehaviourTracker::Shard {
  std::mutex mu;
  std::vector<Client> slots;  // grows up to `capacity`, then slots are reused (LRU)
  std::unordered_map<std::uint64_t, std::uint32_t> index;
  std::uint32_t head = kNil, tail = kNil;  // head: most recently seen
  std::size_t capacity = 1;
  std::uint64_t evictions = 0;

  void unlink(std::uint32_t i) noexcept {
    Client& c = slots[i];
    if (c.prev != kNil)
      slots[c.prev].next = c.next;
    else
      head = c.next;
    if (c.next != kNil)
      slots[c.next].prev = c.prev;
    else
      tail = c.prev;
    c.prev = c.next = kNil;
  }
  void push_front(std::uint32_t i) noexcept {
    Client& c = slots[i];
    c.prev = kNil;
    c.next = head;
    if (head != kNil) slots[head].prev = i;
    head = i;
    if (tail == kNil) tail = i;
  }

  Client& get(std::uint64_t key, TimePoint now) {
    if (const auto it = index.find(key); it != index.end()) {
      if (head != it->second) {
        unlink(it->second);
        push_front(it->second);
      }
      return slots[it->second];
    }
    std::uint32_t i;
    if (slots.size() < capacity) {
      i = static_cast<std::uint32_t>(slots.size());
      slots.emplace_back();
    } else {
      i = tail;
      unlink(i);
      index.erase(slots[i].key);
      slots[i] = Client{};
      ++evictions;
    }
    Client& c = slots[i];
    c.key = key;
    c.base = now;
    c.window_start = now;
    index.emplace(key, i);
    push_front(i);
    return c;
  }
};

BehaviourTracker::BehaviourTracker(BehaviourConfig config) : config_(std::move(config)) {
  if (config_.shards == 0) config_.shards = 1;
  if (config_.max_clients < config_.shards) config_.max_clients = config_.shards;
  if (config_.regular_min_intervals > kRing - 1)
    config_.regular_min_intervals = static_cast<unsigned>(kRing - 1);
  shards_.reserve(config_.shards);
  for (std::size_t i = 0; i < config_.shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->capacity = config_.max_clients / config_.shards;
  }
}

BehaviourTracker::~BehaviourTracker() = default;

BehaviourTracker::Shard& BehaviourTracker::shard_for(std::uint64_t key) noexcept {
  return *shards_[mix(key) % shards_.size()];
}

std::uint64_t BehaviourTracker::key_for(const net::Address& ip) noexcept {
  const net::Address a = net::canonical(ip);
  if (a.is_v4()) return mix(0x4000000000000000ull | a.to_v4().to_uint());
  const auto b = a.to_v6().to_bytes();
  std::uint64_t prefix;
  std::memcpy(&prefix, b.data(), 8);  // the /64
  return mix(prefix ^ 0x6000000000000000ull);
}

BehaviourFlags BehaviourTracker::record(std::uint64_t key, const BehaviourEvent& ev,
                                        TimePoint now) {
  records_.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const std::uint64_t evictions_before = shard.evictions;
  Client& c = shard.get(key, now);
  if (shard.evictions != evictions_before) evictions_.fetch_add(1, std::memory_order_relaxed);
  BehaviourFlags f;

  // Pages and assets in the current window.
  if (now - c.window_start >= config_.window) {
    c.window_start = now;
    c.pages = c.assets = 0;
  }
  if (ev.kind == RequestKind::page && c.pages < 0xffff) ++c.pages;
  if (ev.kind == RequestKind::asset && c.assets < 0xffff) ++c.assets;
  f.html_only = config_.html_only_pages > 0 && c.pages >= config_.html_only_pages && c.assets == 0;

  // robots.txt: fetched, then a path it disallows for this UA.
  if (ev.path == kRobotsPath) {
    c.fetched_robots = true;
  } else if (c.fetched_robots) {
    std::shared_ptr<const RobotsRules> rules;
    {
      const std::shared_lock rl(robots_mu_);
      if (const auto it = robots_.find(ev.host); it != robots_.end()) rules = it->second;
    }
    if (rules && disallowed(*rules, ev.user_agent, ev.path))
      c.robots_until = now + config_.flag_duration;
  }
  f.robots_violation = now < c.robots_until;

  // Our cookie: set, then not returned on N later requests.
  if (ev.had_our_cookie) {
    c.cookie_returned = true;
    c.cookie_pending = false;
    c.cookie_misses = 0;
  } else if (c.cookie_pending && now - c.cookie_set_at >= config_.cookie_grace &&
             c.cookie_misses < 0xffff) {
    ++c.cookie_misses;
  }
  f.cookie_ignored = config_.cookie_ignored_requests > 0 && c.cookie_pending &&
                     c.cookie_misses >= config_.cookie_ignored_requests;

  // Interval regularity between page requests.
  if (ev.kind == RequestKind::page && config_.regular_min_intervals > 0) {
    using std::chrono::milliseconds;
    auto since = std::chrono::duration_cast<milliseconds>(now - c.base).count();
    if (since < 0 || since > 0x7fffffff) {  // ~24 days: start over from here
      c.base = now;
      c.ring_count = 0;
      since = 0;
    }
    c.ring[c.ring_head] = static_cast<std::uint32_t>(since);
    c.ring_head = static_cast<std::uint8_t>((c.ring_head + 1) % kRing);
    if (c.ring_count < kRing) ++c.ring_count;
    c.regular = false;
    if (c.ring_count >= config_.regular_min_intervals + 1u) {
      const std::size_t n = c.ring_count - 1;  // intervals
      const std::size_t first = (c.ring_head + kRing - c.ring_count) % kRing;
      double sum = 0, sum2 = 0;
      for (std::size_t k = 0; k < n; ++k) {
        const double d = static_cast<double>(c.ring[(first + k + 1) % kRing]) -
                         static_cast<double>(c.ring[(first + k) % kRing]);
        sum += d;
        sum2 += d * d;
      }
      const double mean = sum / static_cast<double>(n);
      const double var = std::max(0.0, sum2 / static_cast<double>(n) - mean * mean);
      const double max_mean = static_cast<double>(
          std::chrono::duration_cast<milliseconds>(config_.regular_max_mean).count());
      c.regular = mean > 0 && mean <= max_mean && std::sqrt(var) / mean < config_.regular_max_cv;
    }
  }
  f.regular_interval = c.regular;
  return f;
}

std::uint64_t BehaviourTracker::client_key(const net::Address& ip, std::string_view user_agent,
                                          std::uint64_t header_order) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the User-Agent
  for (const char ch : user_agent) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;
  }
  // Never equal to an address key (those are mix() of a tagged value): a different mix.
  return mix(key_for(ip) ^ mix(h + 0x9e3779b97f4a7c15ull) ^ mix(header_order ^ 0x5bd1e995ull));
}

ClientFlags BehaviourTracker::record_client(std::uint64_t key, const ClientEvent& ev,
                                            TimePoint now) {
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const std::uint64_t evictions_before = shard.evictions;
  Client& c = shard.get(key, now);
  if (shard.evictions != evictions_before) evictions_.fetch_add(1, std::memory_order_relaxed);
  ClientFlags f;

  // Honeypot paths: flagged now and for flag_duration.
  for (const auto& trap : config_.honeypot_paths)
    if (!trap.empty() && ev.path.starts_with(trap)) c.honeypot_until = now + config_.flag_duration;
  f.honeypot = now < c.honeypot_until;

  if (!ev.content || ev.has_pass) return f;
  if (now < c.refused_until) {
    f.refused = true;
    return f;
  }
  // Grace pages: a GCRA of rate 1/grace_refill and burst grace_pages.
  if (config_.grace_pages > 0) {
    const auto refill = std::chrono::duration_cast<SteadyClock::duration>(config_.grace_refill);
    const TimePoint tat = std::max(c.grace_tat, now);
    if (tat - now <= refill * static_cast<int>(config_.grace_pages - 1)) {
      c.grace_tat = tat + refill;
      f.grace = true;
      return f;
    }
  }
  if (config_.unproved_pages == 0) return f;
  if (c.unproved < config_.unproved_pages) {
    ++c.unproved;
    return f;
  }
  // Past its challenges without earning a pass: refused, longer on every repeat.
  double factor = 1.0;
  for (unsigned i = 0; i < c.refusals; ++i) factor *= config_.refusal_escalation;
  const double secs = std::min(static_cast<double>(config_.refusal_max.count()),
                               static_cast<double>(config_.refusal.count()) * factor);
  c.refused_until = now + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(secs));
  if (c.refusals < 30) ++c.refusals;
  c.unproved = 0;
  f.refused = true;
  return f;
}

void BehaviourTracker::proof_earned(std::uint64_t key, TimePoint now) {
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const std::uint64_t evictions_before = shard.evictions;
  Client& c = shard.get(key, now);
  if (shard.evictions != evictions_before) evictions_.fetch_add(1, std::memory_order_relaxed);
  c.unproved = 0;
  c.refusals = 0;
  c.refused_until = TimePoint{};
}

unsigned BehaviourTracker::pass_revoked(std::uint64_t key, std::uint64_t pass_id,
                                        TimePoint now) {
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const std::uint64_t evictions_before = shard.evictions;
  Client& c = shard.get(key, now);
  if (shard.evictions != evictions_before) evictions_.fetch_add(1, std::memory_order_relaxed);
  if (c.revocations > 0 && now - c.revoked_at >= std::chrono::hours(24)) c.revocations = 0;
  if (c.revocations == 0 || pass_id != c.revoked_pass) {
    if (c.revocations < 255) ++c.revocations;
    c.revoked_pass = pass_id;
  }
  c.revoked_at = now;
  return c.revocations;
}

void BehaviourTracker::cookie_set(std::uint64_t key, TimePoint now) {
  Shard& shard = shard_for(key);
  const std::lock_guard lock(shard.mu);
  const std::uint64_t evictions_before = shard.evictions;
  Client& c = shard.get(key, now);
  if (shard.evictions != evictions_before) evictions_.fetch_add(1, std::memory_order_relaxed);
  if (c.cookie_returned || c.cookie_pending) return;
  c.cookie_pending = true;
  c.cookie_set_at = now;
  c.cookie_misses = 0;
}

void BehaviourTracker::set_robots(std::string_view host, std::string_view body) {
  auto rules = std::make_shared<const RobotsRules>(parse_robots(body));
  const std::unique_lock lock(robots_mu_);
  if (const auto it = robots_.find(host); it != robots_.end()) {
    it->second = std::move(rules);
    return;
  }
  if (robots_.size() >= config_.max_robots_sites) {
    robots_ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  robots_.emplace(std::string(host), std::move(rules));
}

BehaviourTracker::Stats BehaviourTracker::stats() const {
  Stats s;
  s.records = records_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.robots_ignored = robots_ignored_.load(std::memory_order_relaxed);
  for (const auto& sh : shards_) {
    const std::lock_guard lock(sh->mu);
    s.clients += sh->index.size();
  }
  return s;
}

}  // namespace bawwab::detect
