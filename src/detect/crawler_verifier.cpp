#include "bawwab/detect/crawler_verifier.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <list>
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

ConfirmedName forward_confirmed_name(const net::Address& ip, const DnsResolver& dns) {
  const ReverseAnswer ptr = dns.reverse(net::canonical(ip));
  if (ptr.status != DnsStatus::ok) return {ptr.status, {}};
  const std::string name(strip_dot(ptr.name));
  if (name.empty()) return {DnsStatus::no_name, {}};
  const ForwardAnswer fwd = dns.forward(name);
  if (fwd.status == DnsStatus::failure) return {DnsStatus::failure, {}};
  const net::Address want = net::canonical(ip);
  for (const auto& a : fwd.addresses)
    if (net::canonical(a) == want) return {DnsStatus::ok, name};
  return {DnsStatus::no_name, {}};
}

DnsResolver system_resolver() {
  DnsResolver r;
  r.reverse = [](const net::Address& ip) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const net::Address a = net::canonical(ip);
    if (a.is_v4()) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      const auto b = a.to_v4().to_bytes();
      std::memcpy(&sin->sin_addr, b.data(), 4);
      len = sizeof(sockaddr_in);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      const auto b = a.to_v6().to_bytes();
      std::memcpy(&sin6->sin6_addr, b.data(), 16);
      len = sizeof(sockaddr_in6);
    }
    std::array<char, NI_MAXHOST> host{};
    const int rc = ::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host.data(),
                                 host.size(), nullptr, 0, NI_NAMEREQD);
    if (rc == 0) return ReverseAnswer{DnsStatus::ok, host.data()};
    return ReverseAnswer{rc == EAI_NONAME ? DnsStatus::no_name : DnsStatus::failure, {}};
  };
  r.forward = [](const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    ForwardAnswer out;
    if (rc != 0) {
      out.status = (rc == EAI_NONAME
#ifdef EAI_NODATA
                    || rc == EAI_NODATA
#endif
                    )
                       ? DnsStatus::no_name
                       : DnsStatus::failure;
      return out;
    }
    out.status = DnsStatus::ok;
    for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
      if (p->ai_family == AF_INET) {
        boost::asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr, 4);
        out.addresses.emplace_back(boost::asio::ip::address_v4(b));
      } else if (p->ai_family == AF_INET6) {
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr, 16);
        out.addresses.emplace_back(boost::asio::ip::address_v6(b));
      }
    }
    ::freeaddrinfo(res);
    return out;
  };
  return r;
}

// --- CrawlerVerifier ----------------------------------------------------------------------------

struct CrawlerVerifier::State {
  struct Entry {
    bool has_value = false;  // a finished lookup's answer is here (maybe expired)
    std::string name;        // forward-confirmed name, "" when none
    TimePoint expires{};
    bool in_flight = false;
    TimePoint started{};
    std::uint64_t generation = 0;  // which lookup may write this entry
    std::list<Key>::iterator lru;
  };

  VerifierConfig config;
  DnsResolver dns;
  Executor executor;

  mutable std::mutex mu;
  std::unordered_map<Key, Entry, KeyHash> entries;
  std::list<Key> lru;  // front: most recently used
  std::uint64_t next_generation = 0;
  Stats stats;

  Status status_of(const Entry& e, std::span<const std::string> suffixes) const {
    return dns_name_matches_any(e.name, suffixes) ? Status::verified : Status::unverified;
  }

  std::chrono::seconds ttl_for(DnsStatus s) const {
    switch (s) {
      case DnsStatus::ok: return config.positive_ttl;
      case DnsStatus::no_name: return config.negative_ttl;
      case DnsStatus::failure: return config.failure_ttl;
    }
    return config.failure_ttl;
  }

  // Called with `mu` held: marks the entry in flight; the caller posts the job after unlocking
  // (an executor may run it inline, and the job takes `mu`).
  std::optional<std::uint64_t> begin(Entry& e, TimePoint now) {
    if (stats.in_flight >= config.max_in_flight) {
      ++stats.not_started;
      return std::nullopt;
    }
    e.in_flight = true;
    e.started = now;
    e.generation = ++next_generation;
    ++stats.in_flight;
    ++stats.started;
    return e.generation;
  }

  void complete(const Key& key, std::uint64_t generation, const ConfirmedName& result,
                TimePoint started) {
    const std::lock_guard lock(mu);
    --stats.in_flight;
    ++stats.completed;
    if (result.status == DnsStatus::failure) ++stats.failures;
    const auto it = entries.find(key);
    if (it == entries.end() || it->second.generation != generation) return;  // evicted/replaced
    Entry& e = it->second;
    e.has_value = true;
    e.name = result.status == DnsStatus::ok ? result.name : std::string{};
    e.expires = started + ttl_for(result.status);
    e.in_flight = false;
  }
};

CrawlerVerifier::CrawlerVerifier(VerifierConfig config, DnsResolver dns, Executor executor)
    : state_(std::make_shared<State>()) {
  state_->config = config;
  state_->dns = std::move(dns);
  state_->executor = std::move(executor);
}

CrawlerVerifier::~CrawlerVerifier() = default;

CrawlerVerifier::Status CrawlerVerifier::lookup(std::span<const std::string> suffixes,
                                                const net::Address& ip, TimePoint now) {
  State& s = *state_;
  const Key key = key_of(ip);
  std::optional<std::uint64_t> job;
  Status status = Status::unverified;
  {
    const std::lock_guard lock(s.mu);
    ++s.stats.lookups;
    if (suffixes.empty() || is_non_public(ip)) return Status::unverified;

    auto it = s.entries.find(key);
    if (it != s.entries.end()) {
      State::Entry& e = it->second;
      s.lru.splice(s.lru.begin(), s.lru, e.lru);
      if (e.in_flight && now - e.started > s.config.timeout) {
        // Timed out: unverified for a while. The lookup may still finish and fill the entry.
        e.in_flight = false;
        ++s.stats.failures;
        if (!e.has_value || now >= e.expires) {
          e.has_value = true;
          e.name.clear();
          e.expires = now + s.config.failure_ttl;
        }
      }
      if (e.has_value && now < e.expires) {
        ++s.stats.hits;
        return s.status_of(e, suffixes);
      }
      if (!e.in_flight) job = s.begin(e, now);
      // Stale while revalidating: a verified crawler stays verified while its entry refreshes.
      status = e.has_value ? s.status_of(e, suffixes) : Status::pending;
      if (!e.has_value && !e.in_flight) status = Status::unverified;
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
      job = s.begin(e, now);
      status = Status::pending;
    }
    s.stats.entries = s.entries.size();
  }
  if (job) {
    s.executor([state = state_, ip, key, generation = *job, now] {
      const ConfirmedName r = forward_confirmed_name(ip, state->dns);
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

// --- DnsWorkers ---------------------------------------------------------------------------------

struct DnsWorkers::Impl {
  explicit Impl(std::size_t n) : pool(n == 0 ? 1 : n) {}
  boost::asio::thread_pool pool;
};

DnsWorkers::DnsWorkers(std::size_t threads) : impl_(std::make_unique<Impl>(threads)) {}

// stop(): queued lookups are dropped; running ones finish (bounded by resolver timeouts).
DnsWorkers::~DnsWorkers() {
  impl_->pool.stop();
  impl_->pool.join();
}

Executor DnsWorkers::executor() {
  return [impl = impl_.get()](std::function<void()> job) {
    boost::asio::post(impl->pool, std::move(job));
  };
}

}  // namespace bawwab::detect
