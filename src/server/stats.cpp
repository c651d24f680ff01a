#include "bawwab/server/stats.hpp"

#include "bawwab/rules/signals.hpp"

namespace bawwab::server {

namespace {
constexpr const char* kRequests = "bawwab_requests_total";
constexpr const char* kRequestsHelp = "Requests answered, by status class.";
constexpr const char* kDecisions = "bawwab_decisions_total";
constexpr const char* kDecisionsHelp = "Rule decisions, by terminal action and mode.";
constexpr const char* kLimits = "bawwab_rate_limit_verdicts_total";
constexpr const char* kLimitsHelp = "Rate-limit verdicts other than a pass.";
constexpr const char* kChallenges = "bawwab_challenges_total";
constexpr const char* kChallengesHelp = "Challenge pages served and redeemed.";
}  // namespace

ServerStats::ServerStats(status::Registry& r)
    : connections_active(r.gauge("bawwab_connections_active", "Open client connections.")),
      connections_total(r.counter("bawwab_connections_total", "Client connections accepted.")),
      connections_rejected_total_limit(r.counter("bawwab_connections_rejected_total",
                                                 "Client connections closed at accept.",
                                                 {{"reason", "max_connections"}})),
      connections_rejected_per_ip_limit(r.counter("bawwab_connections_rejected_total",
                                                  "Client connections closed at accept.",
                                                  {{"reason", "max_connections_per_ip"}})),
      tls_handshake_failures(r.counter("bawwab_tls_handshake_failures_total",
                                       "TLS handshakes that failed or timed out.")),
      requests_by_class{&r.counter(kRequests, kRequestsHelp, {{"class", "1xx"}}),
                        &r.counter(kRequests, kRequestsHelp, {{"class", "2xx"}}),
                        &r.counter(kRequests, kRequestsHelp, {{"class", "3xx"}}),
                        &r.counter(kRequests, kRequestsHelp, {{"class", "4xx"}}),
                        &r.counter(kRequests, kRequestsHelp, {{"class", "5xx"}}),
                        &r.counter(kRequests, kRequestsHelp, {{"class", "other"}})},
      client_errors_bad_request(r.counter("bawwab_client_errors_total",
                                          "Requests refused for what the client sent.",
                                          {{"reason", "bad_request"}})),
      client_errors_header_timeout(r.counter("bawwab_client_errors_total",
                                             "Requests refused for what the client sent.",
                                             {{"reason", "header_timeout"}})),
      client_errors_too_large(r.counter("bawwab_client_errors_total",
                                        "Requests refused for what the client sent.",
                                        {{"reason", "too_large"}})),
      upstream_connect_failures(r.counter("bawwab_upstream_errors_total",
                                          "Failed exchanges with origin servers.",
                                          {{"reason", "connect"}})),
      upstream_timeouts(r.counter("bawwab_upstream_errors_total",
                                  "Failed exchanges with origin servers.", {{"reason", "timeout"}})),
      upstream_protocol_errors(r.counter("bawwab_upstream_errors_total",
                                         "Failed exchanges with origin servers.",
                                         {{"reason", "protocol"}})),
      upstream_retries(r.counter("bawwab_upstream_retries_total",
                                 "Idempotent requests retried after a reused connection closed.")),
      upstream_connections_opened(r.counter("bawwab_upstream_connections_opened_total",
                                            "New connections to origin servers.")),
      upstream_connections_reused(r.counter("bawwab_upstream_connections_reused_total",
                                            "Requests sent on a pooled keep-alive connection.")),
      bytes_in(r.counter("bawwab_client_received_bytes_total", "Bytes received from clients.")),
      bytes_out(r.counter("bawwab_client_sent_bytes_total", "Bytes sent to clients.")),
      request_duration(r.histogram("bawwab_request_duration_seconds",
                                   "Time from the first byte of a request to its last byte sent.",
                                   {})),
      upstream_duration(r.histogram("bawwab_upstream_response_seconds",
                                    "Time from sending a request upstream to its response head.",
                                    {})),
      reloads_ok(r.counter("bawwab_reloads_total", "Configuration reloads.", {{"result", "ok"}})),
      reloads_failed(
          r.counter("bawwab_reloads_total", "Configuration reloads.", {{"result", "failed"}})),
      config_generation(
          r.gauge("bawwab_config_generation", "Generation of the configuration in use.")),
      session_exceptions(r.counter("bawwab_session_exceptions_total",
                                   "Connections ended by an unexpected exception (a bug).")),
      decisions_enforced{},
      decisions_shadow{},
      decided_by_threshold(r.counter("bawwab_decisions_by_threshold_total",
                                     "Decisions taken by the score thresholds (no rule decided).")),
      dropped(r.counter("bawwab_connections_dropped_total",
                        "Connections closed without an answer by a block: drop rule.")),
      limit_delayed(r.counter(kLimits, kLimitsHelp, {{"verdict", "delay"}})),
      limit_rejected(r.counter(kLimits, kLimitsHelp, {{"verdict", "reject"}})),
      limit_banned(r.counter(kLimits, kLimitsHelp, {{"verdict", "ban"}})),
      limit_shadow(r.counter(kLimits, kLimitsHelp, {{"verdict", "shadow"}})),
      limit_store_fallbacks(r.counter("bawwab_rate_limit_store_fallbacks_total",
                                      "Checks decided by on_store_failure (Redis down or slow).")),
      limit_keys(r.gauge("bawwab_rate_limit_keys", "Keys in the local rate-limit tables.")),
      limit_evictions(r.gauge("bawwab_rate_limit_evictions",
                              "Keys evicted from full local rate-limit tables (since start).")),
      challenges_issued(r.counter(kChallenges, kChallengesHelp, {{"result", "issued"}})),
      challenges_passed(r.counter(kChallenges, kChallengesHelp, {{"result", "passed"}})),
      challenges_failed(r.counter(kChallenges, kChallengesHelp, {{"result", "failed"}})),
      passes_accepted(r.counter("bawwab_challenge_passes_accepted_total",
                                "Requests carrying a valid challenge pass.")),
      crawler_lookups(
          r.counter("bawwab_crawler_verifier_lookups_total",
                    "Claimed crawlers from a public IP checked by DNS (cache or lookup).")),
      crawler_cache_hits(r.counter("bawwab_crawler_verifier_cache_hits_total",
                                   "Crawler DNS checks answered from a fresh cache entry.")),
      crawler_dns_started(r.counter("bawwab_crawler_verifier_dns_started_total",
                                    "DNS lookups (PTR, then A/AAAA) started to verify a crawler.")),
      crawler_dns_completed(r.counter("bawwab_crawler_verifier_dns_completed_total",
                                      "Crawler DNS lookups finished, any outcome (timeouts too).")),
      crawler_dns_failures(r.counter("bawwab_crawler_verifier_dns_failures_total",
                                     "Crawler DNS lookups that failed or timed out.")),
      crawler_dns_timeouts(r.counter("bawwab_crawler_verifier_dns_timeouts_total",
                                     "Crawler DNS lookups past detection.dns_timeout.")),
      crawler_dns_not_started(r.counter("bawwab_crawler_verifier_dns_not_started_total",
                                        "Crawler DNS lookups not started: too many in flight.")),
      crawler_dns_in_flight(
          r.gauge("bawwab_crawler_verifier_dns_in_flight", "Crawler DNS lookups running now.")),
      crawler_cache_entries(r.gauge("bawwab_crawler_verifier_cache_entries",
                                    "IPs in the crawler verification cache.")),
      crawler_cache_evictions(r.counter("bawwab_crawler_verifier_cache_evictions_total",
                                        "IPs evicted from the full crawler verification cache.")) {
  static constexpr std::array<const char*, 5> kActions = {"allow", "block", "challenge",
                                                          "rate_limit", "tarpit"};
  for (std::size_t i = 0; i < kActions.size(); ++i) {
    decisions_enforced[i] =
        &r.counter(kDecisions, kDecisionsHelp, {{"action", kActions[i]}, {"mode", "enforce"}});
    decisions_shadow[i] =
        &r.counter(kDecisions, kDecisionsHelp, {{"action", kActions[i]}, {"mode", "shadow"}});
  }
  for (const auto& info : rules::signal_catalog()) {
    signals.push_back(&r.counter("bawwab_signals_total", "Requests that showed a signal.",
                                 {{"signal", std::string(info.name)}}));
  }
}

void ServerStats::count_request(unsigned status) noexcept {
  const unsigned c = status / 100;
  requests_by_class[(c >= 1 && c <= 5) ? c - 1 : 5]->inc();
}

namespace {
void catch_up(status::Counter& c, std::uint64_t to) noexcept {
  const std::uint64_t now = c.value();
  if (to > now) c.inc(to - now);
}
}  // namespace

void ServerStats::publish_crawler_verifier(const detect::CrawlerVerifier::Stats& s) noexcept {
  catch_up(crawler_lookups, s.lookups);
  catch_up(crawler_cache_hits, s.hits);
  catch_up(crawler_dns_started, s.started);
  catch_up(crawler_dns_completed, s.completed);
  catch_up(crawler_dns_failures, s.failures);
  catch_up(crawler_dns_timeouts, s.timeouts);
  catch_up(crawler_dns_not_started, s.not_started);
  crawler_dns_in_flight.set(static_cast<std::int64_t>(s.in_flight));
  crawler_cache_entries.set(static_cast<std::int64_t>(s.entries));
  catch_up(crawler_cache_evictions, s.evictions);
}

}  // namespace bawwab::server
