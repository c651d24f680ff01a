#pragma once
// The server's counters, declared once (no string lookups per request). Thread-safe: every member
// is a lock-free metric owned by the registry.
#include <array>
#include <vector>

#include "bawwab/detect/crawler_verifier.hpp"
#include "bawwab/status/metrics.hpp"

namespace bawwab::server {

struct ServerStats {
  explicit ServerStats(status::Registry& r);

  status::Gauge& connections_active;
  status::Counter& connections_total;
  status::Counter& connections_rejected_total_limit;
  status::Counter& connections_rejected_per_ip_limit;
  status::Counter& tls_handshake_failures;
  std::array<status::Counter*, 6> requests_by_class;  // 1xx..5xx, other
  status::Counter& client_errors_bad_request;
  status::Counter& client_errors_header_timeout;
  status::Counter& client_errors_too_large;
  status::Counter& upstream_connect_failures;
  status::Counter& upstream_timeouts;
  status::Counter& upstream_protocol_errors;
  status::Counter& upstream_retries;
  status::Counter& upstream_connections_opened;
  status::Counter& upstream_connections_reused;
  status::Counter& bytes_in;
  status::Counter& bytes_out;
  status::Histogram& request_duration;
  status::Histogram& upstream_duration;
  status::Counter& reloads_ok;
  status::Counter& reloads_failed;
  status::Gauge& config_generation;
  status::Counter& session_exceptions;

  // Decisions, by terminal action (rules::Action's index: allow, block, challenge, rate_limit,
  // tarpit), enforced or shadow (logged only).
  std::array<status::Counter*, 5> decisions_enforced;
  std::array<status::Counter*, 5> decisions_shadow;
  status::Counter& decided_by_threshold;
  status::Counter& dropped;
  // Rate limits: verdicts that were not a pass.
  status::Counter& limit_delayed;
  status::Counter& limit_rejected;
  status::Counter& limit_banned;
  status::Counter& limit_shadow;
  status::Counter& limit_store_fallbacks;
  status::Gauge& limit_keys;
  status::Gauge& limit_evictions;
  // Challenges.
  status::Counter& challenges_issued;
  status::Counter& challenges_passed;
  status::Counter& challenges_failed;
  status::Counter& passes_accepted;
  // Crawler verification by DNS: detect::CrawlerVerifier::Stats, copied here once a second by
  // publish_crawler_verifier (the verifier counts under its own mutex, in detect).
  status::Counter& crawler_lookups;
  status::Counter& crawler_cache_hits;
  status::Counter& crawler_dns_started;
  status::Counter& crawler_dns_completed;
  status::Counter& crawler_dns_failures;
  status::Counter& crawler_dns_timeouts;
  status::Counter& crawler_dns_not_started;
  status::Gauge& crawler_dns_in_flight;
  status::Gauge& crawler_cache_entries;
  status::Counter& crawler_cache_evictions;
  // Signals seen, one counter per catalogue entry (rules::signal_catalog() order).
  std::vector<status::Counter*> signals;

  void count_request(unsigned status) noexcept;
  // Brings the crawler_* metrics up to `s`. Counters only move forward. Call from one thread.
  void publish_crawler_verifier(const detect::CrawlerVerifier::Stats& s) noexcept;
};

}  // namespace bawwab::server
