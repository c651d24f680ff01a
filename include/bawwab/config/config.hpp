#pragma once
// The server configuration, as compiled from YAML (config/loader.hpp) and command-line flags.
// Immutable once built: it is held as std::shared_ptr<const ServerConfig> and swapped whole on
// reload; each request pins the version it started with.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bawwab/core/log.hpp"
#include "bawwab/core/net.hpp"

namespace bawwab::config {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

struct TlsCertificate {
  std::string cert_file;  // PEM chain
  std::string key_file;   // PEM private key
};

struct ListenerConfig {
  std::string address;  // as written, e.g. "0.0.0.0:443"
  net::Endpoint endpoint;
  // TLS when non-empty. With several certificates the one whose names match the SNI is chosen;
  // the first is the default.
  std::vector<TlsCertificate> certificates;
  // Plain listener only: answer every request with 308 to https://host[:redirect_https_port]/...
  bool redirect_https = false;
  std::uint16_t redirect_https_port = 443;
  bool tls() const noexcept { return !certificates.empty(); }
};

struct UpstreamServer {
  std::string url;  // "http://127.0.0.1:8081" as written; the identity used in status and health
  std::string host;
  std::uint16_t port = 80;
};

struct UpstreamGroup {
  std::string name;
  std::vector<UpstreamServer> servers;  // round robin
  // Passive health: a server that fails max_fails times in a row is skipped for fail_timeout.
  unsigned max_fails = 3;
  Seconds fail_timeout{10};
  // Idle keep-alive connections kept per server and worker thread.
  unsigned keepalive = 32;
};

struct Site {
  // Exact names ("news.example"), wildcards ("*.news.example"), or "*" for any host.
  std::vector<std::string> hosts;
  std::string upstream;  // name of an UpstreamGroup
};

struct Timeouts {
  Millis client_header{10'000};    // whole request head, from its first byte (slowloris) -> 408
  Millis client_idle{75'000};      // keep-alive wait for the next request
  Millis client_body{60'000};      // between reads of a request body
  Millis client_send{60'000};      // between writes to the client
  Millis upstream_connect{5'000};  // -> 504 (connect timeout) / 502 (refused)
  Millis upstream_read{60'000};    // waiting for the response head, and between body reads -> 504
  Millis upstream_idle{30'000};    // pooled idle upstream connections are closed after this
  Millis expect_continue{1'000};   // wait for the origin's 100 before sending our own
  Millis drain{30'000};            // on SIGTERM: in-flight requests get this long to finish
};

struct Limits {
  std::uint32_t max_header_bytes = 16 * 1024;  // -> 431
  std::uint32_t max_header_count = 100;        // -> 431
  std::uint32_t max_request_line = 8 * 1024;   // -> 414
  std::uint64_t max_request_body = 64ull * 1024 * 1024;  // -> 413
  std::uint32_t max_connections = 10'000;                 // total, all listeners
  std::uint32_t max_connections_per_ip = 256;
  std::uint32_t max_requests_per_connection = 10'000;
};

struct StatusConfig {
  std::optional<net::Endpoint> listen;  // loopback by default; never a public listener
};

struct AccessLogConfig {
  std::string path = "-";  // "-" = stderr, "off" = disabled, else a file (appended, reopened on HUP)
  std::size_t queue_lines = 65'536;  // when full, lines are dropped and counted
};

// Where rate-limit state lives (the limits themselves are defined in rule files).
struct RateLimitConfig {
  std::string store = "local";  // "local", or redis://[:password@]host:port[/db] (fleet mode)
  std::string key_prefix = "bawwab:";          // Redis key prefix
  Millis store_timeout{50};                    // per check; then on_store_failure applies
  bool reject_on_store_failure = false;        // on_store_failure: local (default) | reject
  std::uint64_t max_keys = 1'000'000;          // per limit, local table; LRU beyond it
  bool draft_headers = true;                   // RateLimit-Policy / RateLimit on 429s
};

// The detection phase's settings (the signals' weights live in rule files).
struct DetectionConfig {
  std::vector<std::string> honeypot_paths;  // paths only a machine follows; a hit flags the client
  unsigned html_only_pages = 8;             // pages without one asset before behaviour.html_only
  std::uint64_t max_clients = 200'000;      // behaviour table size (LRU beyond it)
  bool verify_dns = true;                   // reverse+forward DNS for claimed crawlers
  Millis dns_timeout{2'000};
};

// The challenge pages and their pass cookie.
struct ChallengeConfig {
  std::string key_file;  // HMAC keys (created if missing); "" = in memory, lost on restart
  std::string contact;   // shown on every challenge page (address or URL)
  std::string site_name;
  std::string lang = "ar";
  std::string dir = "rtl";
  Seconds pass_ttl{86'400};
  unsigned min_difficulty = 14;  // leading zero bits of the proof of work, by score
  unsigned max_difficulty = 20;
  std::string cookie_name = "bawwab_pass";
  unsigned proof_difficulty = 12;  // the silent proof's work (a few milliseconds in a worker)
  bool nojs = true;                // offer the no-JS level
  Seconds nojs_pass_ttl{600};      // a no-JS pass is short
};

// How reloads happen besides SIGHUP.
struct ReloadConfig {
  // Reload when the config, a rule file or a file they name (lists, networks, pages, TLS
  // certificates and keys) changes on disk (inotify; server/file_watch.hpp).
  bool watch = false;
  Millis debounce{500};  // quiet time after the last change before the reload
};

struct ServerConfig {
  std::string source;  // file it came from ("<command line>" when only flags were given)
  unsigned workers = 0;  // 0 = auto (one per core)
  std::vector<ListenerConfig> listeners;
  std::map<std::string, UpstreamGroup> upstreams;
  std::vector<Site> sites;
  Timeouts timeouts;
  Limits limits;
  net::CidrList trusted_proxies;
  StatusConfig status;
  AccessLogConfig access_log;
  log::Level log_level = log::Level::info;
  std::string via = "bawwab";        // pseudonym in the Via header we add
  std::vector<std::string> rules;    // rule files, directories or globs (rules/README.md)
  RateLimitConfig rate_limits;
  DetectionConfig detection;
  ChallengeConfig challenge;
  ReloadConfig reload;
};

}  // namespace bawwab::config
