#include "bawwab/server/stats.hpp"

namespace bawwab::server {

namespace {
constexpr const char* kRequests = "bawwab_requests_total";
constexpr const char* kRequestsHelp = "Requests answered, by status class.";
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
                                   "Connections ended by an unexpected exception (a bug).")) {}

void ServerStats::count_request(unsigned status) noexcept {
  const unsigned c = status / 100;
  requests_by_class[(c >= 1 && c <= 5) ? c - 1 : 5]->inc();
}

}  // namespace bawwab::server
