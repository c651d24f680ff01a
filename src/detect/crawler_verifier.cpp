#include "bawwab/detect/crawler_verifier.hpp"

#include <array>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace bawwab::detect {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view strip_dot(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

using Key = std::array<unsigned char, 16>;

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 8, 8);
    std::uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x7f4a7c159e3779b9ull);
    h ^= h >> 31;
    return static_cast<std::size_t>(h * 0xbf58476d1ce4e5b9ull);
  }
};

Key key_of(const net::Address& ip) {
  const net::Address a = net::canonical(ip);
  Key k{};
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    k[10] = k[11] = 0xff;  // the IPv4-mapped form
    std::memcpy(k.data() + 12, b.data(), 4);
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(k.data(), b.data(), 16);
  }
  return k;
}

}  // namespace

bool dns_name_matches(std::string_view name, std::string_view suffix) noexcept {
  name = strip_dot(name);
  suffix = strip_dot(suffix);
  if (suffix.empty() || suffix == ".") return false;
  if (suffix.front() == '.') {
    // Subdomains only: the name must be longer than the suffix, which starts with the dot.
    return name.size() > suffix.size() && iequals(name.substr(name.size() - suffix.size()), suffix);
  }
  if (iequals(name, suffix)) return true;
  return name.size() > suffix.size() + 1 && name[name.size() - suffix.size() - 1] == '.' &&
         iequals(name.substr(name.size() - suffix.size()), suffix);
}

bool dns_name_matches_any(std::string_view name, std::span<const std::string> suffixes) noexcept {
  if (name.empty()) return false;
  for (const auto& s : suffixes)
    if (dns_name_matches(name, s)) return true;
  return false;
}

bool is_non_public(const net::Address& ip) noexcept {
  const net::Address a = net::canonical(ip);
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast()) return true;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] == 0;
  }
  const auto v6 = a.to_v6();
  const auto b = v6.to_bytes();
  return v6.is_link_local() || v6.is_site_local() || (b[0] & 0xfe) == 0xfc;
}

ConfirmedName confirm_name(const net::Address& ip, std::string_view name,
                           const ForwardAnswer& forward) {
  if (forward.status == DnsStatus::failure || forward.status == DnsStatus::timeout)
    return {forward.status, {}};
  const net::Address want = net::canonical(ip);
  for (const auto& a : forward.addresses)
    if (net::canonical(a) == want) return {DnsStatus::ok, std::string(name)};
  return {DnsStatus::no_name, {}};
}

void forward_confirmed_name(const net::Address& ip, TimePoint deadline, const DnsResolver& dns,
                            std::function<void(ConfirmedName)> done) {
  const net::Address a = net::canonical(ip);
  dns.reverse(a, deadline, [a, deadline, &dns, done = std::move(done)](ReverseAnswer ptr) mutable {
    if (ptr.status != DnsStatus::ok) return done({ptr.status, {}});
    std::string name(strip_dot(ptr.name));
    if (name.empty()) return done({DnsStatus::no_name, {}});
    const std::string query = name;
    dns.forward(query, deadline,
                [a, name = std::move(name), done = std::move(done)](ForwardAnswer fwd) {
                  done(confirm_name(a, name, fwd));
                });
  });
}

// --- CrawlerVerifier ----------------------------------------------------------------------------

struct CrawlerVerifier::State {
  struct Entry {
    bool has_value = false;  // a finished lookup's answer is here (maybe expired)
    std::string name;        // forward-confirmed name, "" when none
    TimePoint expires{};
    bool in_flight = false;
    std::uint64_t generation = 0;  // which lookup may write this entry
    std::list<Key>::iterator lru;
  };
  // A lookup holding an in-flight slot. Keyed by generation, which grows with time: the first is
  // the oldest, so expiring overdue lookups costs nothing while none is overdue.
  struct Running {
    Key key;
    TimePoint started;
  };

  VerifierConfig config;
  DnsResolver dns;

  mutable std::mutex mu;
  std::unordered_map<Key, Entry, KeyHash> entries;
  std::list<Key> lru;  // front: most recently used
  std::map<std::uint64_t, Running> running;
  std::uint64_t next_generation = 0;
  Stats stats;

  Status status_of(const Entry& e, std::span<const std::string> suffixes) const {
    return dns_name_matches_any(e.name, suffixes) ? Status::verified : Status::unverified;
  }

  std::chrono::seconds ttl_for(DnsStatus s) const {
    switch (s) {
      case DnsStatus::ok: return config.positive_ttl;
      case DnsStatus::no_name: return config.negative_ttl;
      case DnsStatus::failure:
      case DnsStatus::timeout:
        return config.failure_ttl;
    }
    return config.failure_ttl;
  }

  // With `mu` held: counts a lookup that ends (answered or overdue) and frees its slot. False when
  // it had already ended (a late answer after the timeout).
  bool finish(std::uint64_t generation, DnsStatus status) {
    const auto it = running.find(generation);
    if (it == running.end()) return false;
    running.erase(it);
    --stats.in_flight;
    ++stats.completed;
    if (status == DnsStatus::failure || status == DnsStatus::timeout) ++stats.failures;
    if (status == DnsStatus::timeout) ++stats.timeouts;
    return true;
  }

  // With `mu` held: the resolver should have answered these by their deadline; whatever it does,
  // they stop holding a slot and their IP is unverified for failure_ttl. Their answer may still
  // come and fill the entry (complete()).
  void expire_overdue(TimePoint now) {
    while (!running.empty() && now - running.begin()->second.started > config.timeout) {
      const auto [generation, r] = *running.begin();
      finish(generation, DnsStatus::timeout);
      const auto it = entries.find(r.key);
      if (it == entries.end() || it->second.generation != generation) continue;
      Entry& e = it->second;
      e.in_flight = false;
      if (!e.has_value || now >= e.expires) {
        e.has_value = true;
        e.name.clear();
        e.expires = now + config.failure_ttl;
      }
    }
  }

  // With `mu` held: marks the entry in flight; the caller starts the lookup after unlocking (a
  // resolver may answer inline, and the answer takes `mu`).
  std::optional<std::uint64_t> begin(const Key& key, Entry& e, TimePoint now) {
    if (stats.in_flight >= config.max_in_flight) {
      ++stats.not_started;
      return std::nullopt;
    }
    e.in_flight = true;
    e.generation = ++next_generation;
    running.emplace(e.generation, Running{key, now});
    ++stats.in_flight;
    ++stats.started;
    return e.generation;
  }

  void complete(const Key& key, std::uint64_t generation, const ConfirmedName& result,
                TimePoint started) {
    const std::lock_guard lock(mu);
    finish(generation, result.status);
    const auto it = entries.find(key);
    if (it == entries.end() || it->second.generation != generation) return;  // evicted/replaced
    Entry& e = it->second;
    e.has_value = true;
    e.name = result.status == DnsStatus::ok ? result.name : std::string{};
    e.expires = started + ttl_for(result.status);
    e.in_flight = false;
  }
};

CrawlerVerifier::CrawlerVerifier(VerifierConfig config, DnsResolver dns)
    : state_(std::make_shared<State>()) {
  state_->config = config;
  state_->dns = std::move(dns);
}

CrawlerVerifier::~CrawlerVerifier() = default;

CrawlerVerifier::Status CrawlerVerifier::lookup(std::span<const std::string> suffixes,
                                                const net::Address& ip, TimePoint now) {
  State& s = *state_;
  if (suffixes.empty() || is_non_public(ip)) return Status::unverified;
  const Key key = key_of(ip);
  std::optional<std::uint64_t> job;
  Status status = Status::unverified;
  {
    const std::lock_guard lock(s.mu);
    ++s.stats.lookups;
    s.expire_overdue(now);

    auto it = s.entries.find(key);
    if (it != s.entries.end()) {
      State::Entry& e = it->second;
      s.lru.splice(s.lru.begin(), s.lru, e.lru);
      if (e.has_value && now < e.expires) {
        ++s.stats.hits;
        return s.status_of(e, suffixes);
      }
      if (!e.in_flight) job = s.begin(key, e, now);
      // Stale while revalidating: a verified crawler stays verified while its entry refreshes.
      if (e.has_value)
        status = s.status_of(e, suffixes);
      else
        status = e.in_flight ? Status::pending : Status::unverified;
    } else {
      if (s.stats.in_flight >= s.config.max_in_flight) {
        ++s.stats.not_started;
        return Status::unverified;
      }
      if (s.config.max_entries == 0) return Status::unverified;
      while (s.entries.size() >= s.config.max_entries) {
        s.entries.erase(s.lru.back());
        s.lru.pop_back();
        ++s.stats.evictions;
      }
      s.lru.push_front(key);
      State::Entry& e = s.entries[key];
      e.lru = s.lru.begin();
      job = s.begin(key, e, now);
      status = Status::pending;
    }
    s.stats.entries = s.entries.size();
  }
  if (job) {
    // The handler holds the state (the verifier may go first); `s.dns` lives in it.
    forward_confirmed_name(ip, now + s.config.timeout, s.dns,
                           [state = state_, key, generation = *job, now](ConfirmedName r) {
                             state->complete(key, generation, r, now);
                           });
  }
  return status;
}

CrawlerVerifier::Stats CrawlerVerifier::stats() const {
  const std::lock_guard lock(state_->mu);
  Stats out = state_->stats;
  out.entries = state_->entries.size();
  return out;
}

}  // namespace bawwab::detect
