#pragma once
// Verified crawlers. A request whose UA claims a crawler listed under `crawlers:` in the rules is
// verified either by its operator's published networks (synchronous: verify_by_network) or by
// forward-confirmed reverse DNS (asynchronous, cached: CrawlerVerifier). The request path never
// waits for DNS: a miss starts a lookup and the request counts as unverified until proven.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/detect/dns_resolver.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::detect {

// --- Pure parts -------------------------------------------------------------------------------

// `name` (a PTR name, trailing dot allowed) is in the domain `suffix`: ".google.com" matches
// "crawl-1.google.com" but neither "google.com" nor "evilgoogle.com"; "google.com" (no leading
// dot) matches "google.com" and its subdomains. Case-insensitive. Pure.
bool dns_name_matches(std::string_view name, std::string_view suffix) noexcept;
bool dns_name_matches_any(std::string_view name, std::span<const std::string> suffixes) noexcept;

// Addresses no public crawler comes from (loopback, private, link-local, unspecified, ULA,
// multicast): never looked up in DNS. Pure.
bool is_non_public(const net::Address& ip) noexcept;

// --- Forward-confirmed reverse DNS -------------------------------------------------------------

struct ConfirmedName {
  DnsStatus status = DnsStatus::failure;  // ok: `name` forward-confirmed; no_name: none did
  std::string name;
};

// The second step, pure: the PTR name `name` of `ip` is confirmed when its forward addresses
// contain `ip` (IPv4-mapped compared as IPv4); a failed or timed-out forward query passes its
// status on, and addresses without `ip` are no_name (a PTR anyone can set, pointing at a name
// that is not theirs).
ConfirmedName confirm_name(const net::Address& ip, std::string_view name,
                           const ForwardAnswer& forward);

// PTR of `ip`, then the forward query of its name (confirm_name). Asynchronous: `done` is called
// exactly once, on whichever thread `dns` answers on (inline with an inline fake), after at most
// the two queries, each given `deadline`. `dns` must outlive the lookup. Thread-safe if `dns` is.
void forward_confirmed_name(const net::Address& ip, TimePoint deadline, const DnsResolver& dns,
                            std::function<void(ConfirmedName)> done);

// --- Sync verification by network ---------------------------------------------------------------

enum class Verification {
  verified,        // the IP is in the crawler's published network
  not_in_network,  // it is not
  no_network,      // the crawler has no `network:` (or no such network is loaded)
};

// Pure, thread-safe (RuleSet is immutable). Defined with the RuleSet adapter (detector.cpp side).
Verification verify_by_network(const rules::RuleSet& rules, const rules::CrawlerSpec& crawler,
                               const net::Address& ip);

// --- Async verification by DNS -----------------------------------------------------------------

struct VerifierConfig {
  std::chrono::seconds positive_ttl{24 * 3600};  // an IP with a forward-confirmed name
  std::chrono::seconds negative_ttl{3600};       // no name, or it did not confirm
  std::chrono::seconds failure_ttl{300};         // DNS failure or timeout: retry sooner
  std::chrono::milliseconds timeout{5000};       // a whole lookup's deadline (PTR + A/AAAA)
  std::size_t max_entries = 10'000;              // cached IPs; the least recently used goes first
  // Lookups running at once; more are not started (the IP stays unverified until a later
  // request). A running lookup costs a few hundred bytes and no thread, so the bound is only
  // there to keep a flood of distinct fake-crawler IPs from flooding the DNS servers.
  std::size_t max_in_flight = 1024;
};

// One per process. Thread-safe: lookup() may be called from any thread at any time; it takes one
// mutex briefly and never waits for DNS (it starts the lookup through `dns` after unlocking).
// Results are cached per IP (the confirmed name), so a reload that changes a crawler's
// dns_suffixes takes effect at once. A lookup running past `timeout` is a failure and frees its
// slot: the resolver answers by the deadline, and lookup() also expires overdue lookups itself,
// so a resolver that never answers cannot hold the slots. Lifetime: running lookups hold the
// shared state, so the verifier may be destroyed while they run; the resolver behind `dns` must
// outlive the verifier and answer (or drop) its queries when it is destroyed (AresResolver does).
class CrawlerVerifier {
 public:
  enum class Status { verified, unverified, pending };

  CrawlerVerifier(VerifierConfig config, DnsResolver dns);
  ~CrawlerVerifier();
  CrawlerVerifier(const CrawlerVerifier&) = delete;
  CrawlerVerifier& operator=(const CrawlerVerifier&) = delete;

  // Verified when the IP's forward-confirmed name is in one of `dns_suffixes`; pending while the
  // first lookup for this IP runs (an expired entry is served stale while it is refreshed);
  // unverified otherwise, and at once for non-public IPs or empty suffixes. `now` is SteadyClock
  // time in production: the lookup's deadline is `now + timeout`.
  Status lookup(std::span<const std::string> dns_suffixes, const net::Address& ip, TimePoint now);
  Status lookup(const rules::CrawlerSpec& crawler, const net::Address& ip, TimePoint now) {
    return lookup(crawler.dns_suffixes, ip, now);
  }

  // started == completed + in_flight at all times.
  struct Stats {
    std::uint64_t lookups = 0;      // lookup() calls for a public IP with suffixes
    std::uint64_t hits = 0;         // answered from a fresh entry
    std::uint64_t started = 0;      // DNS lookups started
    std::uint64_t completed = 0;    // DNS lookups finished (any outcome, timeouts included)
    std::uint64_t failures = 0;     // finished with a DNS failure or a timeout
    std::uint64_t timeouts = 0;     // of the failures, those past `timeout`
    std::uint64_t not_started = 0;  // max_in_flight reached
    std::uint64_t evictions = 0;
    std::size_t entries = 0;
    std::size_t in_flight = 0;
  };
  // Thread-safe.
  Stats stats() const;

  struct State;  // shared with running lookups

 private:
  std::shared_ptr<State> state_;
};

}  // namespace bawwab::detect
