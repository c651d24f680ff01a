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

enum class DnsStatus { ok, no_name, failure };  // failure: timeout, SERVFAIL...: try again sooner

struct ReverseAnswer {
  DnsStatus status = DnsStatus::failure;
  std::string name;  // the PTR name when ok
};
struct ForwardAnswer {
  DnsStatus status = DnsStatus::failure;
  std::vector<net::Address> addresses;
};

// Blocking lookups, run on a worker thread (never on an io_context thread). Tests inject fakes.
struct DnsResolver {
  std::function<ReverseAnswer(const net::Address&)> reverse;
  std::function<ForwardAnswer(const std::string&)> forward;
};

// The system resolver: getnameinfo(NI_NAMEREQD) and getaddrinfo (their timeouts are
// resolv.conf's). Thread-safe.
DnsResolver system_resolver();

struct ConfirmedName {
  DnsStatus status = DnsStatus::failure;  // ok: `name` forward-confirmed; no_name: none did
  std::string name;
};

// PTR of `ip`, then the PTR name's addresses must contain `ip` (IPv4-mapped compared as IPv4).
// A PTR that does not forward-confirm is no_name. Blocking (calls `dns`); thread-safe if `dns` is.
ConfirmedName forward_confirmed_name(const net::Address& ip, const DnsResolver& dns);

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
  std::chrono::milliseconds timeout{5000};       // a lookup pending longer counts as a failure
  std::size_t max_entries = 10'000;              // cached IPs; the least recently used goes first
  std::size_t max_in_flight = 16;                // lookups running at once; more are not started
};

// Runs a job elsewhere (a worker pool). Must run every job it accepts, eventually, once.
using Executor = std::function<void(std::function<void()>)>;

// One per process. Thread-safe: lookup() may be called from any thread at any time; it takes one
// mutex briefly and never blocks on DNS. Results are cached per IP (the confirmed name), so a
// reload that changes a crawler's dns_suffixes takes effect at once. Lifetime: jobs hold the
// shared state, so the verifier may be destroyed while lookups are running; the executor must
// outlive the jobs it was given (DnsWorkers joins on destruction).
class CrawlerVerifier {
 public:
  enum class Status { verified, unverified, pending };

  CrawlerVerifier(VerifierConfig config, DnsResolver dns, Executor executor);
  ~CrawlerVerifier();
  CrawlerVerifier(const CrawlerVerifier&) = delete;
  CrawlerVerifier& operator=(const CrawlerVerifier&) = delete;

  // Verified when the IP's forward-confirmed name is in one of `dns_suffixes`; pending while the
  // first lookup for this IP runs (an expired entry is served stale while it is refreshed);
  // unverified otherwise, and at once for non-public IPs or empty suffixes.
  Status lookup(std::span<const std::string> dns_suffixes, const net::Address& ip, TimePoint now);
  Status lookup(const rules::CrawlerSpec& crawler, const net::Address& ip, TimePoint now) {
    return lookup(crawler.dns_suffixes, ip, now);
  }

  struct Stats {
    std::uint64_t lookups = 0;
    std::uint64_t hits = 0;         // answered from a fresh entry
    std::uint64_t started = 0;      // DNS lookups started
    std::uint64_t completed = 0;    // DNS lookups finished (any outcome)
    std::uint64_t failures = 0;     // finished with a DNS failure, or timed out
    std::uint64_t not_started = 0;  // max_in_flight reached
    std::uint64_t evictions = 0;
    std::size_t entries = 0;
    std::size_t in_flight = 0;
  };
  // Thread-safe.
  Stats stats() const;

  struct State;  // shared with running jobs

 private:
  std::shared_ptr<State> state_;
};

// A small pool of threads for the blocking DNS calls, and its Executor. Destruction drops queued
// lookups and waits for running ones (bounded by the resolver's own timeouts). Must outlive every
// CrawlerVerifier given its executor(). Thread-safe.
class DnsWorkers {
 public:
  explicit DnsWorkers(std::size_t threads = 2);
  ~DnsWorkers();
  DnsWorkers(const DnsWorkers&) = delete;
  DnsWorkers& operator=(const DnsWorkers&) = delete;
  Executor executor();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bawwab::detect
