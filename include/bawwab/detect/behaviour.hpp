#pragma once
// Behaviour per client: what one client did over its last requests, in a bounded table. Two kinds
// of key share the table:
// - the address (key_for: IPv4, IPv6 /64): behaviour.html_only, behaviour.robots_violation,
//   behaviour.cookie_ignored, behaviour.regular_interval. A browser's asset requests carry other
//   headers than its page requests, so these must be counted per address;
// - the client key (client_key: address, User-Agent and header order): behaviour.honeypot and
//   the admit-by-proof state (proof.grace, proof.refused). Narrower on purpose: one bot behind a
//   carrier NAT must not get every reader behind that NAT refused, and the grace pages of one
//   reader are not used up by another.
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

  // Admit by proof, per client key. Content (ClientEvent::content) asked for without a valid pass
  // is one of:
  // - a grace page (proof.grace): at most `grace_pages` at once, one more every `grace_refill`.
  //   The page carries the silent proof script, which earns a browser its pass within a second
  //   of the page's load; 2 covers a reader who opens a second article (a new tab) before the
  //   first page's proof came back. Refilled slowly, so that many readers behind one address
  //   with the same browser build each get their first page, while a client that never proves
  //   itself gets 2 pages and then one every 10 minutes;
  // - else a challenge (the rules decide which), for `unproved_pages` pages;
  // - then refused (proof.refused) for `refusal`, multiplied by `refusal_escalation` on each
  //   repeat up to `refusal_max`, like bans. Earning a pass clears the count and the repeats.
  unsigned grace_pages = 2;  // 0 = no grace: a page without a pass is challenged at once
  std::chrono::seconds grace_refill{600};
  unsigned unproved_pages = 3;  // 0 = never refuse (challenge forever)
  std::chrono::seconds refusal{60};
  double refusal_escalation = 2.0;
  std::chrono::seconds refusal_max{3600};
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
  bool cookie_ignored = false;
  bool regular_interval = false;
};

// One request, as the client-key half of the table sees it.
struct ClientEvent {
  std::string_view path;  // normalised, without the query
  bool content = false;   // a GET or HEAD of anything but an asset (signal request.content)
  bool has_pass = false;  // carried a valid challenge pass
};

struct ClientFlags {
  bool honeypot = false;
  bool grace = false;    // a page without a pass, within the grace pages (proof.grace)
  bool refused = false;  // past its grace and its challenges, refused for now (proof.refused)
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

  // Records one request of address `key` (key_for) and returns its flags after it.
  BehaviourFlags record(std::uint64_t key, const BehaviourEvent& event, TimePoint now);
  // Records one request of client `client_key` (client_key()): honeypot hits and, for a page
  // without a pass, its place in the admit-by-proof sequence (grace, challenge, refusal).
  ClientFlags record_client(std::uint64_t client_key, const ClientEvent& event, TimePoint now);
  // The client earned a pass (the verify endpoint issued one): its unproved pages and its
  // refusals start over.
  void proof_earned(std::uint64_t client_key, TimePoint now);
  // The client's pass `pass_id` (any stable hash of it) was revoked (it read past its budget):
  // returns how many of this client's passes have been, each pass counted once (a revoked pass
  // is refused on every request until the client proves itself again), starting over after a
  // day without one. The challenge that follows gets harder with the count.
  unsigned pass_revoked(std::uint64_t client_key, std::uint64_t pass_id, TimePoint now);
  // bawwab set its cookie on a response to client `key` (the session tells, after acting).
  void cookie_set(std::uint64_t key, TimePoint now);
  // The site's robots.txt, as the origin (or bawwab) served it; replaces the previous one.
  // Ignored (and counted) beyond max_robots_sites hosts.
  void set_robots(std::string_view host, std::string_view body);

  // The key of a client IP: IPv4 (and IPv4-mapped) by address, IPv6 by /64 (one subscriber's
  // network: privacy addresses rotate inside it). Pure.
  static std::uint64_t key_for(const net::Address& ip) noexcept;
  // The key of a client: its address (as key_for), its User-Agent and the hash of its header
  // names in wire order (detect::HeaderSummary::order_hash). Pure.
  static std::uint64_t client_key(const net::Address& ip, std::string_view user_agent,
                                  std::uint64_t header_order) noexcept;

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
