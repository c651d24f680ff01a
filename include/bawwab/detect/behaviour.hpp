#pragma once
// Behaviour per client: what one client (an IP, or any 64-bit key) did over its last requests,
// in a bounded table. Signals: behaviour.html_only, behaviour.robots_violation,
// behaviour.honeypot, behaviour.cookie_ignored, behaviour.regular_interval.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/detect/robots.hpp"

namespace bawwab::detect {

struct BehaviourConfig {
  std::size_t max_clients = 100'000;  // whole table; least recently seen evicted first
  std::size_t shards = 16;            // each with its own mutex
  // html_only: at least this many pages and no asset within one window (0 = off). Off is right
  // for sites whose assets come from another host (a CDN): bawwab never sees them.
  unsigned html_only_pages = 8;
  std::chrono::seconds window{600};
  // cookie_ignored: this many requests without the cookie bawwab set (0 = off). Requests within
  // `cookie_grace` of setting it do not count: a browser's parallel requests were already sent.
  unsigned cookie_ignored_requests = 8;
  std::chrono::milliseconds cookie_grace{2000};
  // regular_interval: coefficient of variation of the intervals between page requests below
  // `regular_max_cv` over at least `regular_min_intervals` intervals (0 = off; at most 15), mean
  // interval at most `regular_max_mean` (a page that reloads itself every few minutes is not a
  // robot).
  unsigned regular_min_intervals = 10;
  double regular_max_cv = 0.1;
  std::chrono::seconds regular_max_mean{60};
  // honeypot: path prefixes only a machine would request (hidden links, listed traps).
  std::vector<std::string> honeypot_paths;
  // How long a honeypot hit or a robots.txt violation keeps the client flagged.
  std::chrono::seconds flag_duration{3600};
  std::size_t max_robots_sites = 256;  // hosts whose robots.txt is kept
};

enum class RequestKind { other, page, asset };

// page: GET/HEAD of a path without extension or with an HTML one (.html, .htm, .php, .asp,
// .aspx, .shtml), whose Accept is absent, */* or names text/html, and whose Sec-Fetch-Dest (when
// sent) is document or iframe. asset: a style, script, image, font or media extension, or a
// Sec-Fetch-Dest of style, script, image, font, audio, video. Pure.
RequestKind classify_request(std::string_view method, std::string_view path,
                             std::string_view accept, std::string_view sec_fetch_dest) noexcept;

struct BehaviourEvent {
  std::string_view host;        // lower-case, for the site's robots.txt
  std::string_view path;        // normalised, without the query
  std::string_view user_agent;  // for robots.txt groups
  RequestKind kind = RequestKind::other;
  bool had_our_cookie = false;  // the request carried a cookie bawwab set
};

struct BehaviourFlags {
  bool html_only = false;
  bool robots_violation = false;
  bool honeypot = false;
  bool cookie_ignored = false;
  bool regular_interval = false;
};

// Thread-safe: each call locks one shard (the robots map has its own shared mutex). Bounded:
// at most max_clients entries of fixed size (about 130 bytes plus the hash-map node). Time is
// the caller's (ManualClock in tests).
class BehaviourTracker {
 public:
  explicit BehaviourTracker(BehaviourConfig config);
  ~BehaviourTracker();
  BehaviourTracker(const BehaviourTracker&) = delete;
  BehaviourTracker& operator=(const BehaviourTracker&) = delete;

  // Records one request of client `key` and returns the client's flags after it.
  BehaviourFlags record(std::uint64_t key, const BehaviourEvent& event, TimePoint now);
  // bawwab set its cookie on a response to client `key` (the session tells, after acting).
  void cookie_set(std::uint64_t key, TimePoint now);
  // The site's robots.txt, as the origin (or bawwab) served it; replaces the previous one.
  // Ignored (and counted) beyond max_robots_sites hosts.
  void set_robots(std::string_view host, std::string_view body);

  // The key of a client IP: IPv4 (and IPv4-mapped) by address, IPv6 by /64 (one subscriber's
  // network: privacy addresses rotate inside it). Pure.
  static std::uint64_t key_for(const net::Address& ip) noexcept;

  struct Stats {
    std::uint64_t records = 0;
    std::uint64_t evictions = 0;
    std::uint64_t robots_ignored = 0;
    std::size_t clients = 0;
  };
  Stats stats() const;
  const BehaviourConfig& config() const noexcept { return config_; }

 private:
  struct Shard;
  Shard& shard_for(std::uint64_t key) noexcept;

  BehaviourConfig config_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> records_{0}, evictions_{0}, robots_ignored_{0};
  mutable std::shared_mutex robots_mu_;
  std::map<std::string, std::shared_ptr<const RobotsRules>, std::less<>> robots_;
};

}  // namespace bawwab::detect
