#include "bawwab/config/loader.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace bawwab;
using namespace bawwab::config;
using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

namespace {

const std::string kDir = BAWWAB_FIXTURES "/config/";

// Diagnostics as the operator sees them, with the fixture directory cut out of file names and of
// messages (resolved certificate paths), so that expectations do not depend on the checkout.
Lines lines(const LoadResult& r) {
  Lines out;
  for (const Diagnostic& d : r.diagnostics) {
    std::string s = d.format();
    for (auto at = s.find(kDir); at != std::string::npos; at = s.find(kDir))
      s.erase(at, kDir.size());
    out.push_back(std::move(s));
  }
  return out;
}

LoadResult fixture(const std::string& name, const Overrides& o = {}) {
  return load_config_file(kDir + name, o);
}

constexpr std::string_view kMinimal = R"(
listeners: [ { address: 127.0.0.1:8080 } ]
upstreams: { origin: { servers: [ "http://127.0.0.1:8081" ] } }
sites: [ { hosts: [ "*" ], upstream: origin } ]
)";

LoadResult text(std::string_view yaml, const Overrides& o = {}) {
  return load_config_text(yaml, "test.yaml", o);
}

// A valid minimal config plus extra top-level keys.
LoadResult minimal_plus(std::string_view extra, const Overrides& o = {}) {
  return text(std::string(kMinimal) + std::string(extra), o);
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A failed load has no config and at least one error; a successful one has no error.
void check_consistent(const LoadResult& r) {
  CHECK((r.config == nullptr) == has_errors(r.diagnostics));
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Valid configurations

TEST_CASE("a full configuration loads with every value", "[config]") {
  const LoadResult r = fixture("full.yaml");
  CHECK(lines(r) == Lines{});
  REQUIRE(r.config);
  const ServerConfig& c = *r.config;
  CHECK(c.source == kDir + "full.yaml");
  CHECK(c.workers == 4);
  CHECK(c.log_level == log::Level::debug);
  CHECK(c.via == "edge-1");

  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[0].address == "0.0.0.0:80");
  CHECK(net::to_string(c.listeners[0].endpoint) == "0.0.0.0:80");
  CHECK_FALSE(c.listeners[0].tls());
  CHECK(c.listeners[0].redirect_https);
  CHECK(c.listeners[0].redirect_https_port == 8443);
  CHECK(c.listeners[1].address == "[::]:443");
  CHECK(net::to_string(c.listeners[1].endpoint) == "[::]:443");
  REQUIRE(c.listeners[1].tls());
  REQUIRE(c.listeners[1].certificates.size() == 1);
  // Relative paths are relative to the config file's directory.
  CHECK(c.listeners[1].certificates[0].cert_file == kDir + "tls/cert.pem");
  CHECK(c.listeners[1].certificates[0].key_file == kDir + "tls/key.pem");
  CHECK_FALSE(c.listeners[1].redirect_https);

  REQUIRE(c.upstreams.size() == 2);
  const UpstreamGroup& origin = c.upstreams.at("origin");
  CHECK(origin.name == "origin");
  REQUIRE(origin.servers.size() == 2);
  CHECK(origin.servers[0].url == "http://127.0.0.1:8081");
  CHECK(origin.servers[0].host == "127.0.0.1");
  CHECK(origin.servers[0].port == 8081);
  CHECK(origin.servers[1].url == "http://origin.internal:8082/");
  CHECK(origin.servers[1].host == "origin.internal");
  CHECK(origin.servers[1].port == 8082);
  CHECK(origin.max_fails == 5);
  CHECK(origin.fail_timeout == 20s);
  CHECK(origin.keepalive == 8);
  const UpstreamGroup& stat = c.upstreams.at("static");
  REQUIRE(stat.servers.size() == 1);
  CHECK(stat.servers[0].host == "::1");  // no brackets: ready for the resolver
  CHECK(stat.servers[0].port == 9000);
  CHECK(stat.max_fails == 3);
  CHECK(stat.fail_timeout == 10s);
  CHECK(stat.keepalive == 32);

  REQUIRE(c.sites.size() == 2);
  // Hosts are compiled to lower case: matching is case-insensitive.
  CHECK(c.sites[0].hosts ==
        std::vector<std::string>{"news.example", "www.news.example", "*.news.example"});
  CHECK(c.sites[0].upstream == "origin");
  CHECK(c.sites[1].hosts == std::vector<std::string>{"*"});
  CHECK(c.sites[1].upstream == "static");

  CHECK(c.timeouts.client_header == 5s);
  CHECK(c.timeouts.client_idle == 2min);
  CHECK(c.timeouts.client_body == 30s);
  CHECK(c.timeouts.client_send == 45s);
  CHECK(c.timeouts.upstream_connect == 500ms);
  CHECK(c.timeouts.upstream_read == 1h);
  CHECK(c.timeouts.upstream_idle == 15s);  // a bare number is seconds
  CHECK(c.timeouts.expect_continue == 0ms);
  CHECK(c.timeouts.drain == 10s);

  CHECK(c.limits.max_header_bytes == 32 * 1024);
  CHECK(c.limits.max_header_count == 50);
  CHECK(c.limits.max_request_line == 4 * 1024);
  CHECK(c.limits.max_request_body == 1024ull * 1024 * 1024);
  CHECK(c.limits.max_connections == 5000);
  CHECK(c.limits.max_connections_per_ip == 100);
  CHECK(c.limits.max_requests_per_connection == 1000);

  REQUIRE(c.trusted_proxies.entries().size() == 3);
  CHECK(c.trusted_proxies.entries()[0].to_string() == "10.0.0.0/8");
  CHECK(c.trusted_proxies.entries()[1].to_string() == "2001:db8::/32");
  CHECK(c.trusted_proxies.entries()[2].to_string() == "192.0.2.7/32");
  CHECK(c.trusted_proxies.contains(boost::asio::ip::make_address("10.9.8.7")));

  REQUIRE(c.status.listen);
  CHECK(net::to_string(*c.status.listen) == "[::1]:9090");
  CHECK(c.access_log.path == kDir + "logs/access.log");
  CHECK(c.access_log.queue_lines == 1024);
  CHECK(c.rules == std::vector<std::string>{"/etc/bawwab/rules/", kDir + "rules/*.yaml"});
}

TEST_CASE("everything not given takes the defaults of config.hpp", "[config]") {
  const LoadResult r = text(kMinimal);
  CHECK(lines(r) == Lines{});
  REQUIRE(r.config);
  const ServerConfig& c = *r.config;
  const ServerConfig d;
  const Timeouts t;
  const Limits l;
  CHECK(c.source == "test.yaml");
  CHECK(c.workers == 0);
  CHECK(c.log_level == d.log_level);
  CHECK(c.via == d.via);
  CHECK(c.timeouts.client_header == t.client_header);
  CHECK(c.timeouts.client_idle == t.client_idle);
  CHECK(c.timeouts.client_body == t.client_body);
  CHECK(c.timeouts.client_send == t.client_send);
  CHECK(c.timeouts.upstream_connect == t.upstream_connect);
  CHECK(c.timeouts.upstream_read == t.upstream_read);
  CHECK(c.timeouts.upstream_idle == t.upstream_idle);
  CHECK(c.timeouts.expect_continue == t.expect_continue);
  CHECK(c.timeouts.drain == t.drain);
  CHECK(c.limits.max_header_bytes == l.max_header_bytes);
  CHECK(c.limits.max_header_count == l.max_header_count);
  CHECK(c.limits.max_request_line == l.max_request_line);
  CHECK(c.limits.max_request_body == l.max_request_body);
  CHECK(c.limits.max_connections == l.max_connections);
  CHECK(c.limits.max_connections_per_ip == l.max_connections_per_ip);
  CHECK(c.limits.max_requests_per_connection == l.max_requests_per_connection);
  CHECK(c.trusted_proxies.empty());
  CHECK_FALSE(c.status.listen);
  CHECK(c.access_log.path == "-");
  CHECK(c.access_log.queue_lines == AccessLogConfig{}.queue_lines);
  CHECK(c.rules.empty());
  const UpstreamGroup& g = c.upstreams.at("origin");
  CHECK(g.max_fails == UpstreamGroup{}.max_fails);
  CHECK(g.fail_timeout == UpstreamGroup{}.fail_timeout);
  CHECK(g.keepalive == UpstreamGroup{}.keepalive);
  CHECK_FALSE(c.listeners[0].redirect_https);
  CHECK(c.listeners[0].redirect_https_port == 443);
}

TEST_CASE("smaller valid forms", "[config]") {
  SECTION("workers: auto is 0") {
    const LoadResult r = minimal_plus("workers: auto\n");
    REQUIRE(r.config);
    CHECK(r.config->workers == 0);
  }
  SECTION("access_log shorthand, and off") {
    const LoadResult r = minimal_plus("access_log: off\n");
    REQUIRE(r.config);
    CHECK(r.config->access_log.path == "off");
    const LoadResult r2 = minimal_plus("access_log: \"-\"\n");
    REQUIRE(r2.config);
    CHECK(r2.config->access_log.path == "-");
  }
  SECTION("relative paths stay relative when loading text") {
    const LoadResult r = minimal_plus("rules: [ rules.yaml ]\naccess_log: access.log\n");
    REQUIRE(r.config);
    CHECK(r.config->rules == std::vector<std::string>{"rules.yaml"});
    CHECK(r.config->access_log.path == "access.log");
  }
  SECTION("an empty rules list") {
    const LoadResult r = minimal_plus("rules: []\n");
    REQUIRE(r.config);
    CHECK(r.config->rules.empty());
  }
  SECTION("status on an IPv4-mapped loopback address, or anywhere when allowed") {
    const LoadResult r = minimal_plus("status: { listen: \"[::ffff:127.0.0.1]:9090\" }\n");
    CHECK(lines(r) == Lines{});
    const LoadResult r2 =
        minimal_plus("status: { listen: 0.0.0.0:9090, allow_non_loopback: true }\n");
    CHECK(lines(r2) == Lines{});
    REQUIRE(r2.config);
    CHECK(net::to_string(*r2.config->status.listen) == "0.0.0.0:9090");
  }
  SECTION("upstream URL forms") {
    const LoadResult r = text(R"(
listeners: [ { address: "[::1]:0" }, { address: "[::1]:0" } ]
upstreams:
  a: { servers: [ "http://origin.internal", "HTTP://Origin.Internal:8080/", "http://[::1]" ] }
sites: [ { hosts: [ "*" ], upstream: a } ]
)");
    CHECK(lines(r) == Lines{});  // two port-0 listeners are not duplicates
    REQUIRE(r.config);
    const auto& s = r.config->upstreams.at("a").servers;
    REQUIRE(s.size() == 3);
    CHECK(s[0].host == "origin.internal");
    CHECK(s[0].port == 80);
    CHECK(s[1].host == "origin.internal");
    CHECK(s[1].port == 8080);
    CHECK(s[1].url == "HTTP://Origin.Internal:8080/");
    CHECK(s[2].host == "::1");
    CHECK(s[2].port == 80);
  }
  SECTION("booleans in the YAML 1.1 spellings") {
    for (const char* yes : {"true", "yes", "on"}) {
      const LoadResult r =
          text(std::string("listeners: [ { address: 127.0.0.1:80, redirect_https: ") + yes +
               " } ]\n" + std::string(kMinimal.substr(kMinimal.find("upstreams"))));
      REQUIRE(r.config);
      CHECK(r.config->listeners[0].redirect_https);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// One fixture per error: the exact text and position

TEST_CASE("bad_syntax.yaml: yaml-cpp's position, 1-based", "[config][errors]") {
  const LoadResult r = fixture("bad_syntax.yaml");
  CHECK(lines(r) ==
        Lines{"bad_syntax.yaml:4:1: YAML syntax error: end of sequence flow not found"});
  CHECK_FALSE(r.config);
}

TEST_CASE("bad_unknown_key.yaml", "[config][errors]") {
  CHECK(
      lines(fixture("bad_unknown_key.yaml")) ==
      Lines{
          "bad_unknown_key.yaml:1:1: unknown key 'workres' (did you mean 'workers'?)",
          "bad_unknown_key.yaml:3:5: listeners[0]: unknown key 'adress' (did you mean 'address'?)",
          "bad_unknown_key.yaml:3:5: listeners[0]: missing 'address'",
          "bad_unknown_key.yaml:5:51: upstreams.origin: unknown key 'keepalve' (did you mean "
          "'keepalive'?)",
          "bad_unknown_key.yaml:8:1: unknown key 'frobnicate'",
      });
}

TEST_CASE("bad_duration.yaml", "[config][errors]") {
  CHECK(
      lines(fixture("bad_duration.yaml")) ==
      Lines{
          "bad_duration.yaml:5:18: timeouts.client_header: expected a duration like 10s (units: "
          "ms, s, m, h), got 'abc'",
          "bad_duration.yaml:6:16: timeouts.client_idle: expected a duration like 10s (units: ms, "
          "s, m, h), got '10sec'",
          "bad_duration.yaml:7:18: timeouts.upstream_read: must be between 1ms and 24h, got '25h'",
          "bad_duration.yaml:8:16: timeouts.client_body: must be between 1ms and 24h, got '0'",
      });
}

TEST_CASE("bad_size.yaml", "[config][errors]") {
  CHECK(
      lines(fixture("bad_size.yaml")) ==
      Lines{
          "bad_size.yaml:5:21: limits.max_header_bytes: expected a size like 16k (units: k, m, g; "
          "none = bytes), got '16kb'",
          "bad_size.yaml:6:21: limits.max_request_body: must be between 0 and 1024g, got "
          "'99999999999999999999'",
          "bad_size.yaml:7:21: limits.max_request_line: must be between 256 and 1m, got '100'",
      });
}

TEST_CASE("bad_number.yaml", "[config][errors]") {
  CHECK(
      lines(fixture("bad_number.yaml")) ==
      Lines{
          "bad_number.yaml:1:10: workers: expected 'auto' or a number between 1 and 256, got '300'",
          "bad_number.yaml:6:16: upstreams.origin.max_fails: expected a whole number, got '-1'",
          "bad_number.yaml:7:16: upstreams.origin.keepalive: must be between 0 and 1024, got 5000",
          "bad_number.yaml:8:19: upstreams.origin.fail_timeout: must be a whole number of "
          "seconds, got 1500ms",
          "bad_number.yaml:10:28: access_log.queue_lines: expected a whole number, got '0x10'",
      });
}

TEST_CASE("bad_listen_address.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_listen_address.yaml")) ==
        Lines{
            "bad_listen_address.yaml:2:14: listeners[0].address: bad address '0.0.0.0': missing "
            "port (write host:port, e.g. 0.0.0.0:80)",
            "bad_listen_address.yaml:3:14: listeners[1].address: bad address 'localhost:80': "
            "'localhost' is not an IP address (names are not allowed: bawwab binds, it does not "
            "resolve)",
            "bad_listen_address.yaml:4:14: listeners[2].address: bad address '0.0.0.0:70000': port "
            "70000 is out of range (0-65535)",
            "bad_listen_address.yaml:5:14: listeners[3].address: bad address '::1:80': IPv6 "
            "addresses must be in brackets, e.g. [::1]:8080",
            "bad_listen_address.yaml:6:14: listeners[4].address: bad address '[127.0.0.1]:80': "
            "brackets are for IPv6 addresses; write 127.0.0.1:80",
        });
}

TEST_CASE("bad_cidr.yaml", "[config][errors]") {
  CHECK(
      lines(fixture("bad_cidr.yaml")) ==
      Lines{
          "bad_cidr.yaml:5:5: trusted_proxies[0]: bad network '10.0.0.1/8': host bits are set "
          "(did you mean 10.0.0.0/8?)",
          "bad_cidr.yaml:6:5: trusted_proxies[1]: bad network '10.0.0.0/33': prefix length 33 is "
          "out of range for IPv4 (0-32)",
          "bad_cidr.yaml:7:5: trusted_proxies[2]: bad network 'banana': expected an address or a "
          "network like 10.0.0.0/8 or 2001:db8::/32",
          "bad_cidr.yaml:8:5: trusted_proxies[3]: bad network '2001:db8::1/32': host bits are set "
          "(did you mean 2001:db8::/32?)",
          "bad_cidr.yaml:9:5: trusted_proxies[4]: bad network '10.0.0.0/x': bad prefix length 'x'",
      });
}

TEST_CASE("bad_upstream_url.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_upstream_url.yaml")) ==
        Lines{
            "bad_upstream_url.yaml:5:9: upstreams.origin.servers[0]: bad upstream URL "
            "'https://127.0.0.1:8443': https upstreams are not supported yet; use http://",
            "bad_upstream_url.yaml:6:9: upstreams.origin.servers[1]: bad upstream URL "
            "'http://127.0.0.1:8081/app': a path, query or fragment is not supported ('/app'): the "
            "client's own path is forwarded",
            "bad_upstream_url.yaml:7:9: upstreams.origin.servers[2]: bad upstream URL "
            "'127.0.0.1:8081': expected a URL like http://127.0.0.1:8081",
            "bad_upstream_url.yaml:8:9: upstreams.origin.servers[3]: bad upstream URL "
            "'http://127.0.0.1:0': port '0' is out of range (1-65535)",
            "bad_upstream_url.yaml:9:9: upstreams.origin.servers[4]: bad upstream URL "
            "'http://::1:8081': IPv6 addresses must be in brackets, e.g. http://[::1]:8081",
            "bad_upstream_url.yaml:10:9: upstreams.origin.servers[5]: bad upstream URL "
            "'ftp://files.example': unsupported scheme 'ftp'; use http://",
            "bad_upstream_url.yaml:11:9: upstreams.origin.servers[6]: bad upstream URL "
            "'http://bad_host!:80': 'bad_host!' is not a valid host name",
        });
}

TEST_CASE("bad_unknown_upstream.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_unknown_upstream.yaml")) ==
        Lines{
            "bad_unknown_upstream.yaml:3:3: warning: upstreams.origin: upstream 'origin' is not "
            "used by any site",
            "bad_unknown_upstream.yaml:6:15: sites[0].upstream: unknown upstream 'orgin' (did you "
            "mean 'origin'?)",
            "bad_unknown_upstream.yaml:8:15: sites[1].upstream: unknown upstream 'elsewhere'",
        });
}

TEST_CASE("warn_unused_upstream.yaml: warnings do not fail the load", "[config][errors]") {
  const LoadResult r = fixture("warn_unused_upstream.yaml");
  CHECK(lines(r) ==
        Lines{
            "warn_unused_upstream.yaml:4:3: warning: upstreams.spare: upstream 'spare' is not used "
            "by any site",
            "warn_unused_upstream.yaml:4:48: warning: upstreams.spare.servers[1]: server "
            "'http://127.0.0.1:8082' is listed twice (first at line 4, column 23); it gets twice "
            "the requests",
        });
  REQUIRE(r.config);
  CHECK(r.config->upstreams.at("spare").servers.size() == 2);
}

TEST_CASE("bad_duplicate_listener.yaml: same endpoint, however it is written", "[config][errors]") {
  CHECK(lines(fixture("bad_duplicate_listener.yaml")) ==
        Lines{
            "bad_duplicate_listener.yaml:5:14: listeners[3].address: duplicate listener address "
            "'*:80' (first at line 2)",
        });
}

TEST_CASE("bad_duplicate_host.yaml: across sites and within one", "[config][errors]") {
  CHECK(lines(fixture("bad_duplicate_host.yaml")) ==
        Lines{
            "bad_duplicate_host.yaml:6:14: sites[1].hosts[0]: host 'news.example' is already used "
            "(line 4)",
            "bad_duplicate_host.yaml:8:14: sites[2].hosts[0]: host '*' is already used (line 4)",
            "bad_duplicate_host.yaml:8:37: sites[2].hosts[2]: host 'www.news.example' is already "
            "used (line 8, column 19)",
        });
}

TEST_CASE("bad_no_listeners.yaml / bad_no_sites.yaml / empty.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_no_listeners.yaml")) ==
        Lines{"bad_no_listeners.yaml:1:1: no listeners: add one under 'listeners:' (e.g. - "
              "address: 0.0.0.0:80) or pass --listen"});
  CHECK(lines(fixture("bad_no_sites.yaml")) ==
        Lines{"bad_no_sites.yaml:0:0: no sites: add one under 'sites:' (e.g. - { hosts: [\"*\"], "
              "upstream: origin }) or pass --upstream"});
  CHECK(lines(fixture("empty.yaml")) ==
        Lines{
            "empty.yaml:0:0: no listeners: add one under 'listeners:' (e.g. - address: "
            "0.0.0.0:80) or pass --listen",
            "empty.yaml:0:0: no sites: add one under 'sites:' (e.g. - { hosts: [\"*\"], upstream: "
            "origin }) or pass --upstream",
        });
}

TEST_CASE("bad_tls_missing.yaml: files checked at load", "[config][errors]") {
  CHECK(lines(fixture("bad_tls_missing.yaml")) ==
        Lines{
            "bad_tls_missing.yaml:5:19: listeners[0].tls.certificates[0].cert: cannot read "
            "'/nonexistent/bawwab/cert.pem': No such file or directory",
            "bad_tls_missing.yaml:6:19: listeners[0].tls.certificates[1].cert: cannot read 'tls': "
            "not a regular file",
            "bad_tls_missing.yaml:6:29: listeners[0].tls.certificates[1].key: cannot read "
            "'tls/missing.key': No such file or directory",
        });
}

TEST_CASE("bad_tls_contents.yaml: mismatch, not PEM, encrypted key, expired", "[config][errors]") {
  CHECK(lines(fixture("bad_tls_contents.yaml")) ==
        Lines{
            "bad_tls_contents.yaml:6:16: listeners[0].tls.certificates[0].key: the key in "
            "'tls/other_key.pem' does not match the certificate in 'tls/cert.pem'",
            "bad_tls_contents.yaml:7:17: listeners[0].tls.certificates[1].cert: 'tls/not_pem.txt' "
            "is not a PEM certificate chain (no PEM block found)",
            "bad_tls_contents.yaml:10:16: listeners[0].tls.certificates[2].key: "
            "'tls/encrypted_key.pem' is encrypted, and bawwab cannot ask for a passphrase (decrypt "
            "it with: openssl pkey -in <key> -out <plain key>)",
            "bad_tls_contents.yaml:11:17: warning: listeners[0].tls.certificates[3].cert: the "
            "certificate in 'tls/expired_cert.pem' has expired",
        });
}

TEST_CASE("bad_status_public.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_status_public.yaml")) ==
        Lines{"bad_status_public.yaml:4:19: status.listen: status must listen on loopback "
              "(127.0.0.1 or [::1]), got '0.0.0.0:9090'; it exposes internals (set "
              "allow_non_loopback: true to override)"});
}

TEST_CASE("bad_types.yaml: a wrong type in every section", "[config][errors]") {
  CHECK(lines(fixture("bad_types.yaml")) ==
        Lines{
            "bad_types.yaml:1:10: workers: expected 'auto' or a number between 1 and 256, got a "
            "list",
            "bad_types.yaml:2:6: log: expected a mapping like { level: info }, got 'debug'",
            "bad_types.yaml:3:6: via: expected a string, got a mapping",
            "bad_types.yaml:4:12: listeners: expected a list of listeners, got '0.0.0.0:80'",
            "bad_types.yaml:5:12: upstreams: expected a mapping of upstream groups (name: { "
            "servers: [...] }), got a list",
            "bad_types.yaml:7:12: sites[0].hosts: expected a list of host names like "
            "[news.example], got 'news.example'",
            "bad_types.yaml:8:15: sites[0].upstream: expected a string, got a list",
            "bad_types.yaml:9:11: timeouts: expected a mapping like { client_header: 10s }, got "
            "'10s'",
            "bad_types.yaml:10:9: limits: expected a mapping like { max_header_bytes: 16k }, got a "
            "list",
            "bad_types.yaml:11:18: trusted_proxies: expected a list of networks like [10.0.0.0/8], "
            "got '10.0.0.0/8'",
            // An empty value is reported at its key: yaml-cpp marks it at the next line.
            "bad_types.yaml:12:1: status: expected a mapping like { listen: 127.0.0.1:9090 }, got "
            "nothing",
            "bad_types.yaml:13:13: access_log: expected a path, \"-\", \"off\" or a mapping like { "
            "path: /var/log/bawwab/access.log }, got a list",
            "bad_types.yaml:14:8: rules: expected a list of rule files, directories or globs, got "
            "'/etc/bawwab/rules/'",
        });
}

TEST_CASE("bad_duplicate_key.yaml: yaml-cpp keeps both, we refuse the second", "[config][errors]") {
  CHECK(lines(fixture("bad_duplicate_key.yaml")) ==
        Lines{
            "bad_duplicate_key.yaml:5:32: timeouts: duplicate key 'client_header' (first at line "
            "5, column 13)",
            "bad_duplicate_key.yaml:6:1: duplicate key 'workers' (first at line 4)",
        });
}

TEST_CASE("bad_top_level.yaml / bad_two_documents.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_top_level.yaml")) ==
        Lines{"bad_top_level.yaml:1:1: expected a mapping of settings (key: value) at the top "
              "level, got a list"});
  CHECK(lines(fixture("bad_two_documents.yaml")) ==
        Lines{"bad_two_documents.yaml:4:1: only one YAML document is allowed; this is a second one "
              "('---')"});
}

TEST_CASE("a stray ',' is a syntax error, not a hang", "[config][errors]") {
  // yaml-cpp 0.7's LoadAll loops forever (allocating) on these; the loader must not.
  CHECK(lines(text(",: }\n")) == Lines{"test.yaml:1:1: YAML syntax error: unexpected ','"});
  CHECK(lines(text(",")) == Lines{"test.yaml:1:1: YAML syntax error: unexpected ','"});
  CHECK(lines(text("- a\n,\n")) == Lines{"test.yaml:2:1: YAML syntax error: unexpected ','"});
}

TEST_CASE("bad_rules.yaml: a list of strings only", "[config][errors]") {
  CHECK(lines(fixture("bad_rules.yaml")) ==
        Lines{
            "bad_rules.yaml:6:5: rules[1]: expected a path, got a list",
            "bad_rules.yaml:7:5: rules[2]: expected a path, got an empty string",
            "bad_rules.yaml:8:5: rules[3]: expected a path, got a mapping",
        });
}

TEST_CASE("bad_log_level.yaml: level and via", "[config][errors]") {
  CHECK(lines(fixture("bad_log_level.yaml")) ==
        Lines{
            "bad_log_level.yaml:1:15: log.level: expected one of debug, info, notice, warning, "
            "error, got 'infoo' (did you mean 'info'?)",
            "bad_log_level.yaml:2:6: via: expected a single word (letters, digits and "
            "!#$%&'*+-.^_`|~, at most 64), got 'bawwab proxy'",
        });
}

TEST_CASE("bad_missing_keys.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_missing_keys.yaml")) ==
        Lines{
            "bad_missing_keys.yaml:2:5: listeners[0]: missing 'address'",
            "bad_missing_keys.yaml:4:10: listeners[1].tls: missing 'certificates'",
            "bad_missing_keys.yaml:6:11: upstreams.origin: missing 'servers'",
            "bad_missing_keys.yaml:7:3: upstreams: bad upstream name 'bad name': use letters, "
            "digits, '-', '_' and '.' (at most 64)",
            "bad_missing_keys.yaml:8:21: upstreams.empty.servers: needs at least one server",
            "bad_missing_keys.yaml:10:5: sites[0]: missing 'hosts'",
            "bad_missing_keys.yaml:11:5: sites[1]: missing 'upstream'",
            "bad_missing_keys.yaml:12:14: sites[2].hosts: needs at least one host (\"*\" for any)",
        });
}

TEST_CASE("bad_listener_options.yaml", "[config][errors]") {
  CHECK(lines(fixture("bad_listener_options.yaml")) ==
        Lines{
            "bad_listener_options.yaml:3:21: listeners[0].redirect_https: redirect_https is for "
            "plain listeners, and this one has tls",
            "bad_listener_options.yaml:7:21: listeners[1].redirect_https: expected true or false, "
            "got 'maybe'",
            "bad_listener_options.yaml:9:26: warning: listeners[2].redirect_https_port: has no "
            "effect without redirect_https: true",
        });
}

TEST_CASE("bad_host_pattern.yaml", "[config][errors]") {
  const std::string expected_forms =
      "expected a name like news.example, a wildcard like *.news.example, or \"*\"";
  CHECK(lines(fixture("bad_host_pattern.yaml")) ==
        Lines{
            "bad_host_pattern.yaml:4:14: sites[0].hosts[0]: bad host 'news.example:8080': a site "
            "host has no port (ports are ignored when matching; IPv6 literals need brackets)",
            "bad_host_pattern.yaml:4:35: sites[0].hosts[1]: bad host 'a*b.example': " +
                expected_forms,
            "bad_host_pattern.yaml:4:50: sites[0].hosts[2]: bad host '*.': " + expected_forms,
            "bad_host_pattern.yaml:4:56: sites[0].hosts[3]: bad host 'news..example': " +
                expected_forms,
        });
}

TEST_CASE("a file with several errors reports all of them, in file order", "[config][errors]") {
  const LoadResult r = fixture("bad_several.yaml");
  CHECK(
      lines(r) ==
      Lines{
          "bad_several.yaml:2:10: workers: expected 'auto' or a number between 1 and 256, got "
          "'lots'",
          "bad_several.yaml:5:14: listeners[1].address: duplicate listener address '0.0.0.0:80' "
          "(first at line 4)",
          "bad_several.yaml:8:16: upstreams.origin.servers[0]: bad upstream URL "
          "'https://127.0.0.1:8443': https upstreams are not supported yet; use http://",
          "bad_several.yaml:12:26: timeouts.client_idle: expected a duration like 10s (units: ms, "
          "s, m, h), got 'forever'",
          "bad_several.yaml:13:20: trusted_proxies[0]: bad network '10.0.0.1/8': host bits are "
          "set (did you mean 10.0.0.0/8?)",
      });
  CHECK_FALSE(r.config);
}

TEST_CASE("limits that contradict each other are warnings", "[config][errors]") {
  const LoadResult r = minimal_plus(
      "limits: { max_header_bytes: 4k, max_request_line: 8k, max_connections: 10,\n"
      "          max_connections_per_ip: 20 }\n");
  CHECK(lines(r) ==
        Lines{
            "test.yaml:5:51: warning: limits.max_request_line: max_request_line (8k) is larger "
            "than max_header_bytes (4k), which also counts the request line",
            "test.yaml:6:35: warning: limits.max_connections_per_ip: is larger than "
            "max_connections (10) and has no effect",
        });
  CHECK(r.config);
}

TEST_CASE("reload: the file watch and its debounce", "[config]") {
  const LoadResult off = minimal_plus("");
  REQUIRE(off.config);
  CHECK_FALSE(off.config->reload.watch);
  CHECK(off.config->reload.debounce == std::chrono::milliseconds(500));

  const LoadResult on = minimal_plus("reload: { watch: true, debounce: 2s }\n");
  CHECK(lines(on) == Lines{});
  REQUIRE(on.config);
  CHECK(on.config->reload.watch);
  CHECK(on.config->reload.debounce == std::chrono::seconds(2));

  const LoadResult bad = minimal_plus("reload: { watch: maybe, debounce: 5ms, wach: true }\n");
  CHECK_FALSE(bad.config);
  const Lines got = lines(bad);
  REQUIRE(got.size() == 3);
  CHECK_THAT(got[0], Catch::Contains("reload.watch: expected true or false"));
  CHECK_THAT(got[1], Catch::Contains("reload.debounce:"));
  CHECK_THAT(got[2], Catch::Contains("unknown key 'wach' (did you mean 'watch'?)"));
}

TEST_CASE("a missing or unreadable config file is a diagnostic", "[config][errors]") {
  CHECK(lines(load_config_file("/nonexistent/bawwab.yaml", {})) ==
        Lines{"/nonexistent/bawwab.yaml:0:0: cannot read config file: No such file or directory"});
  CHECK(lines(load_config_file(kDir + "tls", {})) ==
        Lines{"tls:0:0: cannot read config file: it is a directory"});
  // Not a regular file, so read until EOF (pipes are fine), but never without bound.
  CHECK(lines(load_config_file("/dev/zero", {})) ==
        Lines{"/dev/zero:0:0: config file is larger than 16m"});
}

// ------------------------------------------------------------------------------------------------
// Command-line flags

TEST_CASE("each flag replaces its part of the file", "[config][flags]") {
  SECTION("--listen replaces all listeners with one plain listener") {
    Overrides o;
    o.listen = "127.0.0.1:8080";
    const LoadResult r = fixture("full.yaml", o);
    CHECK(lines(r) == Lines{});
    REQUIRE(r.config);
    REQUIRE(r.config->listeners.size() == 1);
    CHECK(r.config->listeners[0].address == "127.0.0.1:8080");
    CHECK_FALSE(r.config->listeners[0].tls());
    CHECK_FALSE(r.config->listeners[0].redirect_https);
  }
  SECTION("--upstream replaces upstreams and sites with 'default' and a catch-all site") {
    Overrides o;
    o.upstream = "http://127.0.0.1:9999";
    const LoadResult r = fixture("full.yaml", o);
    CHECK(lines(r) == Lines{});
    REQUIRE(r.config);
    REQUIRE(r.config->upstreams.size() == 1);
    const UpstreamGroup& g = r.config->upstreams.at("default");
    CHECK(g.name == "default");
    REQUIRE(g.servers.size() == 1);
    CHECK(g.servers[0].url == "http://127.0.0.1:9999");
    CHECK(g.servers[0].port == 9999);
    REQUIRE(r.config->sites.size() == 1);
    CHECK(r.config->sites[0].hosts == std::vector<std::string>{"*"});
    CHECK(r.config->sites[0].upstream == "default");
  }
  SECTION("--rules, --status, --workers, --access-log") {
    Overrides o;
    o.rules = "my-rules/";
    o.status = "127.0.0.1:9191";
    o.workers = "8";
    o.access_log = "off";
    const LoadResult r = fixture("full.yaml", o);
    CHECK(lines(r) == Lines{});
    REQUIRE(r.config);
    CHECK(r.config->rules == std::vector<std::string>{"my-rules/"});  // relative to the shell
    CHECK(net::to_string(*r.config->status.listen) == "127.0.0.1:9191");
    CHECK(r.config->workers == 8);
    CHECK(r.config->access_log.path == "off");
    CHECK(r.config->access_log.queue_lines == 1024);  // still from the file
    CHECK(r.config->via == "edge-1");                 // untouched
  }
  SECTION("--workers auto") {
    Overrides o;
    o.workers = "auto";
    const LoadResult r = fixture("full.yaml", o);
    REQUIRE(r.config);
    CHECK(r.config->workers == 0);
  }
}

TEST_CASE("a section replaced by a flag is not validated", "[config][flags]") {
  Overrides listen;
  listen.listen = "127.0.0.1:8080";
  CHECK(lines(fixture("bad_listen_address.yaml", listen)) == Lines{});
  CHECK(lines(fixture("bad_tls_missing.yaml", listen)) == Lines{});
  Overrides upstream;
  upstream.upstream = "http://127.0.0.1:8081";
  CHECK(lines(fixture("bad_upstream_url.yaml", upstream)) == Lines{});
  CHECK(lines(fixture("bad_unknown_upstream.yaml", upstream)) == Lines{});
  Overrides status;
  status.status = "127.0.0.1:9090";
  CHECK(lines(fixture("bad_status_public.yaml", status)) == Lines{});
  Overrides both = listen;
  both.upstream = upstream.upstream;
  CHECK(lines(fixture("empty.yaml", both)) == Lines{});
}

TEST_CASE("bad flags are reported as <command line>, before the file's problems",
          "[config][flags]") {
  Overrides o;
  o.listen = "localhost";
  o.upstream = "https://127.0.0.1:8443";
  o.status = "0.0.0.0:9090";
  o.workers = "0";
  o.access_log = "";
  o.rules = "";
  const LoadResult r = fixture("bad_cidr.yaml", o);
  CHECK(
      lines(r) ==
      Lines{
          "<command line>:0:0: --listen: bad address 'localhost': missing port (write host:port, "
          "e.g. 0.0.0.0:80)",
          "<command line>:0:0: --upstream: bad upstream URL 'https://127.0.0.1:8443': https "
          "upstreams are not supported yet; use http://",
          "<command line>:0:0: --rules: expected a path, got an empty string",
          "<command line>:0:0: --status: status must listen on loopback (127.0.0.1 or [::1]), got "
          "'0.0.0.0:9090'",
          "<command line>:0:0: --workers: expected 'auto' or a number between 1 and 256, got '0'",
          "<command line>:0:0: --access-log: expected a path, \"-\" or \"off\", got an empty "
          "string",
          "bad_cidr.yaml:5:5: trusted_proxies[0]: bad network '10.0.0.1/8': host bits are set "
          "(did you mean 10.0.0.0/8?)",
          "bad_cidr.yaml:6:5: trusted_proxies[1]: bad network '10.0.0.0/33': prefix length 33 is "
          "out of range for IPv4 (0-32)",
          "bad_cidr.yaml:7:5: trusted_proxies[2]: bad network 'banana': expected an address or a "
          "network like 10.0.0.0/8 or 2001:db8::/32",
          "bad_cidr.yaml:8:5: trusted_proxies[3]: bad network '2001:db8::1/32': host bits are set "
          "(did you mean 2001:db8::/32?)",
          "bad_cidr.yaml:9:5: trusted_proxies[4]: bad network '10.0.0.0/x': bad prefix length 'x'",
      });
  CHECK_FALSE(r.config);
}

TEST_CASE("the status listener may not share a listener's address", "[config][flags]") {
  Overrides o;
  o.listen = "127.0.0.1:8080";
  o.status = "127.0.0.1:8080";
  o.upstream = "http://127.0.0.1:8081";
  CHECK(lines(config_from_flags(o)) ==
        Lines{"<command line>:0:0: --status: the status address 127.0.0.1:8080 is also a listener "
              "(--listen)"});
  CHECK(lines(minimal_plus("status: { listen: 127.0.0.1:8080 }\n")) ==
        Lines{"test.yaml:5:19: status.listen: the status address 127.0.0.1:8080 is also a "
              "listener (line 2)"});
}

TEST_CASE("quick start from flags alone", "[config][flags]") {
  SECTION("--listen and --upstream are enough") {
    Overrides o;
    o.listen = "127.0.0.1:8080";
    o.upstream = "http://127.0.0.1:8081";
    const LoadResult r = config_from_flags(o);
    CHECK(lines(r) == Lines{});
    REQUIRE(r.config);
    const ServerConfig& c = *r.config;
    CHECK(c.source == "<command line>");
    REQUIRE(c.listeners.size() == 1);
    CHECK(net::to_string(c.listeners[0].endpoint) == "127.0.0.1:8080");
    CHECK(c.upstreams.at("default").servers.at(0).host == "127.0.0.1");
    CHECK(c.upstreams.at("default").servers.at(0).port == 8081);
    REQUIRE(c.sites.size() == 1);
    CHECK(c.sites[0].upstream == "default");
    CHECK(c.workers == 0);
    CHECK(c.access_log.path == "-");
    CHECK_FALSE(c.status.listen);
    CHECK(c.rules.empty());
  }
  SECTION("the other flags apply too") {
    Overrides o;
    o.listen = "[::1]:0";
    o.upstream = "http://[::1]:8081";
    o.status = "[::1]:0";
    o.workers = "2";
    o.rules = "/etc/bawwab/rules/";
    o.access_log = "/tmp/access.log";
    const LoadResult r = config_from_flags(o);
    CHECK(lines(r) == Lines{});
    REQUIRE(r.config);
    CHECK(r.config->workers == 2);
    CHECK(r.config->rules == std::vector<std::string>{"/etc/bawwab/rules/"});
    CHECK(r.config->access_log.path == "/tmp/access.log");
    CHECK(net::to_string(*r.config->status.listen) == "[::1]:0");
  }
  SECTION("without --listen and --upstream") {
    const LoadResult r = config_from_flags({});
    CHECK(lines(r) == Lines{
                          "<command line>:0:0: --listen: required when no config file is given",
                          "<command line>:0:0: --upstream: required when no config file is given",
                      });
    CHECK_FALSE(r.config);
  }
  SECTION("a port alone") {
    Overrides o;
    o.listen = "8080";
    o.upstream = "http://127.0.0.1:8081";
    CHECK(lines(config_from_flags(o)) ==
          Lines{"<command line>:0:0: --listen: bad address '8080': a port alone is not an address; "
                "write 0.0.0.0:8080 or [::]:8080"});
  }
  SECTION("bad values") {
    Overrides o;
    o.listen = "0.0.0.0:99999";
    o.upstream = "http://127.0.0.1:8081/api";
    CHECK(lines(config_from_flags(o)) ==
          Lines{
              "<command line>:0:0: --listen: bad address '0.0.0.0:99999': port 99999 is out of "
              "range (0-65535)",
              "<command line>:0:0: --upstream: bad upstream URL 'http://127.0.0.1:8081/api': a "
              "path, query or fragment is not supported ('/api'): the client's own path is "
              "forwarded",
          });
  }
}

// ------------------------------------------------------------------------------------------------
// Units and hints

TEST_CASE("parse_duration", "[config][units]") {
  CHECK(parse_duration("10s").value() == 10s);
  CHECK(parse_duration("500ms").value() == 500ms);
  CHECK(parse_duration("2m").value() == 2min);
  CHECK(parse_duration("1h").value() == 1h);
  CHECK(parse_duration("30").value() == 30s);  // bare = seconds
  CHECK(parse_duration("0").value() == 0ms);
  CHECK(parse_duration("007s").value() == 7s);
  for (std::string_view bad : {"", "s", "abc", "10sec", "10 s", " 10s", "-1s", "+1s", "1.5s", "10S",
                               "1d", "10ms0", "1e3", "0x10"}) {
    INFO(bad);
    const auto r = parse_duration(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == make_error_code(Errc::config_invalid));
  }
  const auto huge = parse_duration("99999999999999999999h");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error() == boost::system::errc::make_error_code(boost::system::errc::value_too_large));
  CHECK_FALSE(parse_duration("9999999999999999h").has_value());  // fits uint64, not in ms
}

TEST_CASE("parse_size", "[config][units]") {
  CHECK(parse_size("16k").value() == 16 * 1024);
  CHECK(parse_size("16K").value() == 16 * 1024);
  CHECK(parse_size("64m").value() == 64ull << 20);
  CHECK(parse_size("1g").value() == 1ull << 30);
  CHECK(parse_size("1G").value() == 1ull << 30);
  CHECK(parse_size("512").value() == 512);  // bare = bytes
  CHECK(parse_size("0").value() == 0);
  for (std::string_view bad : {"", "k", "16kb", "16 k", "-1", "1.5m", "1t", "16KiB", " 1"}) {
    INFO(bad);
    const auto r = parse_size(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == make_error_code(Errc::config_invalid));
  }
  const auto huge = parse_size("99999999999g");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error() == boost::system::errc::make_error_code(boost::system::errc::value_too_large));
}

TEST_CASE("format_duration and format_size pick the largest exact unit", "[config][units]") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(1ms) == "1ms");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(10s) == "10s");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(2min) == "2m");
  CHECK(format_duration(24h) == "24h");
  CHECK(format_size(0) == "0");
  CHECK(format_size(100) == "100");
  CHECK(format_size(16 * 1024) == "16k");
  CHECK(format_size(1536) == "1536");
  CHECK(format_size(64ull << 20) == "64m");
  CHECK(format_size(1ull << 40) == "1024g");
}

TEST_CASE("did_you_mean", "[config][units]") {
  const std::vector<std::string_view> keys = {"workers", "listeners", "timeouts", "via", "log"};
  CHECK(did_you_mean("workres", keys) == "workers");  // transposition counts as one
  CHECK(did_you_mean("Workers", keys) == "workers");  // case-insensitive
  CHECK(did_you_mean("listener", keys) == "listeners");
  CHECK(did_you_mean("timeout", keys) == "timeouts");
  CHECK(did_you_mean("lgo", keys) == "log");
  CHECK(did_you_mean("frobnicate", keys).empty());
  CHECK(did_you_mean("xy", keys).empty());  // "via" is 2 edits, but nothing is left of it
  CHECK(did_you_mean("", keys).empty());
  CHECK(did_you_mean("workers", {}).empty());
}

// ------------------------------------------------------------------------------------------------
// Never crash, never throw

TEST_CASE("garbage input never throws and never yields a config with errors", "[config][garbage]") {
  std::vector<std::string> inputs = {
      "",
      "\n\n\n",
      "42",
      "just a string",
      "[1, 2, 3]",
      "~",
      "null",
      "{}",
      "[]",
      "---\n...\n",
      "listeners:",
      "listeners: ~\nsites: ~\nupstreams: ~",
      ": : :",
      "? [a, b]\n: c",
      "{[1]: 2, {a: b}: c}",
      "&a [*a]",
      "a: &x {b: *x}",
      "a: *undefined",
      "!!binary aGVsbG8=",
      "%YAML 1.2\n%YAML 1.2\n---\na: b",
      "\t\tlisteners: [",
      "\"unterminated",
      "'unterminated",
      "a: |\n  block\n b: c",
      std::string("\0\0\0\0", 4),
      std::string("listeners: [ { address: \"127.0.0.1\0:80\" } ]",
                  sizeof "listeners: [ { address: \"127.0.0.1\0:80\" } ]" - 1),
      "\xff\xfe\x00\x00garbage",
      "\xef\xbb\xbflisteners: []",
      "\xfe\xff\x00l\x00i",
      std::string(100'000, '['),
      std::string(100'000, '{'),
      std::string(50'000, '-') + " a",
      "a: " + std::string(1 << 20, 'x'),
  };
  // Deep block nesting (yaml-cpp guards its recursion; we must not need to).
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
  inputs.push_back(deep);
  // A "billion laughs": aliases are shared nodes in yaml-cpp, and the loader walks only the schema.
  std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 20; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev + ", " + prev +
              ", " + prev + ", " + prev + ", " + prev + ", " + prev + "]\n";
  }
  laughs += "rules: *l19\ntrusted_proxies: *l19\nlisteners: *l19\nsites: *l19\n";
  inputs.push_back(laughs);

  // Random bytes, and random soup of YAML tokens and schema words: fixed seed, reproducible.
  std::mt19937 rng(20240611);
  const std::vector<std::string> tokens = {"listeners",
                                           "upstreams",
                                           "sites",
                                           "address",
                                           "tls",
                                           "certificates",
                                           "cert",
                                           "key",
                                           "servers",
                                           "hosts",
                                           "upstream",
                                           "timeouts",
                                           "limits",
                                           "status",
                                           "listen",
                                           "access_log",
                                           "rules",
                                           "workers",
                                           "trusted_proxies",
                                           "client_header",
                                           "max_header_bytes",
                                           ":",
                                           ": ",
                                           "- ",
                                           "\n",
                                           "\n  ",
                                           "\n    ",
                                           "[",
                                           "]",
                                           "{",
                                           "}",
                                           ",",
                                           "\"",
                                           "'",
                                           "&a ",
                                           "*a",
                                           "!!str ",
                                           "? ",
                                           "|",
                                           ">",
                                           "#",
                                           "---\n",
                                           "...\n",
                                           "\t",
                                           "0.0.0.0:80",
                                           "\"[::]:443\"",
                                           "http://127.0.0.1:1",
                                           "https://x",
                                           "\"*\"",
                                           "10s",
                                           "16k",
                                           "auto",
                                           "-1",
                                           "99999999999999999999",
                                           "10.0.0.1/8",
                                           "\xff",
                                           "\x80",
                                           "\\",
                                           "%",
                                           "@",
                                           "`",
                                           "origin",
                                           "true",
                                           "~",
                                           "null",
                                           "\xc3\xa9"};
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 200);
    for (int j = 0; j < n; ++j) s += static_cast<char>(byte(rng));
    inputs.push_back(std::move(s));
  }
  for (int i = 0; i < 1500; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 60);
    for (int j = 0; j < n; ++j) s += tokens[pick(rng)];
    inputs.push_back(std::move(s));
  }

  for (const std::string& input : inputs) {
    LoadResult r;
    REQUIRE_NOTHROW(r = load_config_text(input, "garbage.yaml", {}));
    check_consistent(r);
    for (const Diagnostic& d : r.diagnostics) {
      // Messages stay one printable line whatever the input.
      CHECK(d.message.find('\n') == std::string::npos);
      CHECK(d.message.find('\0') == std::string::npos);
    }
  }
  // The same with flags, so that every overriding path sees garbage too.
  Overrides o;
  o.listen = "127.0.0.1:0";
  o.upstream = "http://127.0.0.1:1";
  o.status = "127.0.0.1:0";
  o.workers = "auto";
  o.rules = "r";
  o.access_log = "off";
  for (std::size_t i = 0; i < inputs.size(); i += 7) {
    LoadResult r;
    REQUIRE_NOTHROW(r = load_config_text(inputs[i], "garbage.yaml", o));
    check_consistent(r);
  }
}

TEST_CASE("garbage in flags", "[config][garbage]") {
  for (const std::string& v :
       {std::string(""), std::string("\0", 1), std::string("[[[["), std::string("http://"),
        std::string("http://:80"), std::string("http://[::1"), std::string("http://[1.2.3.4]:80"),
        std::string("http://a@b:80"), std::string(":"), std::string("[]:"), std::string(5000, 'x'),
        std::string("\xff\xfe"), std::string("999.999.999.999:80"),
        std::string("http://999.1.1.1")}) {
    Overrides o;
    o.listen = v;
    o.upstream = v;
    o.status = v;
    o.workers = v;
    o.rules = v;
    o.access_log = v;
    LoadResult r;
    REQUIRE_NOTHROW(r = config_from_flags(o));
    CHECK_FALSE(r.config);
  }
}

// ------------------------------------------------------------------------------------------------
// The shipped files

TEST_CASE("config/bawwab.yaml and config/demo.yaml load without any diagnostic", "[config]") {
  const std::string root = BAWWAB_SOURCE_DIR;
  const LoadResult example = load_config_file(root + "/config/bawwab.yaml", {});
  CHECK(lines(example) == Lines{});
  REQUIRE(example.config);
  CHECK(net::to_string(example.config->listeners.at(0).endpoint) == "0.0.0.0:80");
  CHECK(example.config->upstreams.at("origin").servers.at(0).url == "http://127.0.0.1:8081");
  CHECK(net::to_string(*example.config->status.listen) == "127.0.0.1:9090");
  CHECK(example.config->access_log.path == "/var/log/bawwab/access.log");
  CHECK(example.config->rules == std::vector<std::string>{"/etc/bawwab/rules/default.yaml"});
  CHECK_FALSE(example.config->reload.watch);

  // The demo loads the embedded text, and points --upstream at its in-process origin.
  const std::string demo_text = read(root + "/config/demo.yaml");
  const LoadResult demo = load_config_text(demo_text, "demo.yaml", {});
  CHECK(lines(demo) == Lines{});
  REQUIRE(demo.config);
  CHECK(net::to_string(demo.config->listeners.at(0).endpoint) == "127.0.0.1:8080");
  CHECK(demo.config->upstreams.at("demo").servers.at(0).url == "http://127.0.0.1:8081");
  CHECK(demo.config->sites.at(0).hosts == std::vector<std::string>{"*"});
  CHECK(net::to_string(*demo.config->status.listen) == "127.0.0.1:9090");
  CHECK(demo.config->access_log.path == "-");
  Overrides o;
  o.upstream = "http://127.0.0.1:45678";
  o.listen = "127.0.0.1:0";
  CHECK(lines(load_config_text(demo_text, "demo.yaml", o)) == Lines{});
}
