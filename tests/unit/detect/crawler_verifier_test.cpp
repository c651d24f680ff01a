#include "bawwab/detect/crawler_verifier.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bawwab/core/clock.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;
using Status = CrawlerVerifier::Status;

namespace {

net::Address ip(const char* s) { return boost::asio::ip::make_address(s); }

// DNS as a table; counts calls. No real DNS anywhere in the unit tests.
struct FakeDns {
  std::map<std::string, ReverseAnswer> ptr;
  std::map<std::string, ForwardAnswer> a;
  int reverse_calls = 0, forward_calls = 0;

  DnsResolver resolver() {
    DnsResolver r;
    r.reverse = [this](const net::Address& addr) {
      ++reverse_calls;
      const auto it = ptr.find(addr.to_string());
      return it == ptr.end() ? ReverseAnswer{DnsStatus::no_name, {}} : it->second;
    };
    r.forward = [this](const std::string& name) {
      ++forward_calls;
      const auto it = a.find(name);
      return it == a.end() ? ForwardAnswer{DnsStatus::no_name, {}} : it->second;
    };
    return r;
  }
};

// Jobs wait here until the test runs them: the state machine is driven by hand.
struct ManualExecutor {
  std::deque<std::function<void()>> jobs;
  Executor executor() {
    return [this](std::function<void()> j) { jobs.push_back(std::move(j)); };
  }
  void run_all() {
    while (!jobs.empty()) {
      auto j = std::move(jobs.front());
      jobs.pop_front();
      j();
    }
  }
};

const std::vector<std::string> kGoogle{".googlebot.com", ".google.com"};

}  // namespace

TEST_CASE("DNS suffix matching", "[verifier]") {
  CHECK(dns_name_matches("crawl-66-249-66-1.googlebot.com", ".googlebot.com"));
  CHECK(dns_name_matches("crawl-66-249-66-1.googlebot.com.", ".googlebot.com"));
  CHECK(dns_name_matches("CRAWL-1.GoogleBot.COM", ".googlebot.com"));
  CHECK(dns_name_matches("rate-limited-proxy-66-249-90-1.google.com", ".google.com"));
  CHECK_FALSE(dns_name_matches("evilgoogle.com", ".google.com"));
  CHECK_FALSE(dns_name_matches("google.com.evil.net", ".google.com"));
  CHECK_FALSE(dns_name_matches("google.com", ".google.com"));  // leading dot: subdomains only
  CHECK(dns_name_matches("google.com", "google.com"));
  CHECK(dns_name_matches("a.google.com", "google.com"));
  CHECK_FALSE(dns_name_matches("evilgoogle.com", "google.com"));
  CHECK_FALSE(dns_name_matches("x.google.com", ""));
  CHECK_FALSE(dns_name_matches("x.google.com", "."));
  CHECK_FALSE(dns_name_matches_any("", kGoogle));
  CHECK(dns_name_matches_any("msnbot-157-55-39-1.search.msn.com",
                             std::vector<std::string>{".search.msn.com"}));
}

TEST_CASE("non-public addresses", "[verifier]") {
  for (const char* s :
       {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.1.1",
        "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "224.0.0.1"})
    CHECK(is_non_public(ip(s)));
  for (const char* s :
       {"66.249.66.1", "172.32.0.1", "8.8.8.8", "2001:4860:4801:10::1", "::ffff:66.249.66.1"})
    CHECK_FALSE(is_non_public(ip(s)));
}

TEST_CASE("forward-confirmed reverse DNS", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com."};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  // A PTR the attacker controls, pointing at Google's name, whose A records are Google's.
  dns.ptr["203.0.113.9"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.ptr["203.0.113.10"] = {DnsStatus::failure, {}};
  const auto r = dns.resolver();

  const auto ok = forward_confirmed_name(ip("66.249.66.1"), r);
  CHECK(ok.status == DnsStatus::ok);
  CHECK(ok.name == "crawl-66-249-66-1.googlebot.com");
  CHECK(forward_confirmed_name(ip("::ffff:66.249.66.1"), r).status == DnsStatus::ok);
  CHECK(forward_confirmed_name(ip("203.0.113.9"), r).status == DnsStatus::no_name);
  CHECK(forward_confirmed_name(ip("203.0.113.10"), r).status == DnsStatus::failure);
  CHECK(forward_confirmed_name(ip("203.0.113.11"), r).status == DnsStatus::no_name);
}

TEST_CASE("verifier state machine: pending, verified, cached, expired", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  ManualExecutor ex;
  VerifierConfig cfg;
  CrawlerVerifier v(cfg, dns.resolver(), ex.executor());
  ManualClock clock;

  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);  // no second job
  CHECK(ex.jobs.size() == 1);
  ex.run_all();
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  // The cache keeps the name: another crawler's suffixes are checked against it.
  CHECK(v.lookup(std::vector<std::string>{".search.msn.com"}, ip("66.249.66.1"), clock.now()) ==
        Status::unverified);
  clock.advance(23h);
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  CHECK(dns.reverse_calls == 1);
  // Expired: served stale (still verified) while the refresh runs.
  clock.advance(2h);
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  CHECK(ex.jobs.size() == 1);
  ex.run_all();
  CHECK(dns.reverse_calls == 2);
  const auto s = v.stats();
  CHECK(s.started == 2);
  CHECK(s.completed == 2);
  CHECK(s.in_flight == 0);
  CHECK(s.entries == 1);
}

TEST_CASE("verifier: negative and failure TTLs", "[verifier]") {
  FakeDns dns;
  // .1: a PTR that does not forward-confirm (negative); .2: DNS fails; .3: confirmed, but not a
  // Google name (positive entry: the name is cached, the crawler is not verified).
  dns.ptr["203.0.113.1"] = {DnsStatus::ok, "host.example.net"};
  dns.a["host.example.net"] = {DnsStatus::ok, {ip("203.0.113.99")}};
  dns.ptr["203.0.113.2"] = {DnsStatus::failure, {}};
  dns.ptr["203.0.113.3"] = {DnsStatus::ok, "host3.example.net"};
  dns.a["host3.example.net"] = {DnsStatus::ok, {ip("203.0.113.3")}};
  ManualExecutor ex;
  VerifierConfig cfg;  // negative 1 h, failure 5 min
  CrawlerVerifier v(cfg, dns.resolver(), ex.executor());
  ManualClock clock;

  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::pending);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::pending);
  ex.run_all();
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::unverified);
  clock.advance(6min);  // the failure expired, the negative answer did not
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::unverified);
  CHECK(ex.jobs.size() == 1);
  ex.run_all();
  clock.advance(55min);
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(ex.jobs.size() == 1);  // negative expired: looked up again
  CHECK(v.stats().failures == 2);
  ex.run_all();

  CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::pending);
  ex.run_all();
  clock.advance(23h);
  CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::unverified);
  CHECK(ex.jobs.empty());  // positive TTL
}

TEST_CASE("verifier: timeout, late answers, in-flight bound, non-public IPs", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  ManualExecutor ex;
  VerifierConfig cfg;
  cfg.max_in_flight = 2;
  CrawlerVerifier v(cfg, dns.resolver(), ex.executor());
  ManualClock clock;

  SECTION("a lookup pending past the timeout is unverified, a late answer still counts") {
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
    clock.advance(6s);
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::unverified);
    ex.run_all();
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  }
  SECTION("no more than max_in_flight lookups at once") {
    CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::unverified);
    CHECK(v.stats().not_started == 1);
    ex.run_all();
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::pending);
  }
  SECTION("loopback and private addresses, empty suffixes: unverified, no DNS") {
    CHECK(v.lookup(kGoogle, ip("127.0.0.1"), clock.now()) == Status::unverified);
    CHECK(v.lookup(kGoogle, ip("10.0.0.1"), clock.now()) == Status::unverified);
    CHECK(v.lookup(std::vector<std::string>{}, ip("66.249.66.1"), clock.now()) ==
          Status::unverified);
    CHECK(ex.jobs.empty());
    CHECK(v.stats().entries == 0);
  }
}

TEST_CASE("verifier: bounded, least recently used evicted", "[verifier]") {
  FakeDns dns;
  ManualExecutor ex;
  VerifierConfig cfg;
  cfg.max_entries = 3;
  cfg.max_in_flight = 100;
  CrawlerVerifier v(cfg, dns.resolver(), ex.executor());
  ManualClock clock;
  for (const char* a : {"203.0.113.1", "203.0.113.2", "203.0.113.3"})
    v.lookup(kGoogle, ip(a), clock.now());
  ex.run_all();
  v.lookup(kGoogle, ip("203.0.113.1"), clock.now());  // most recent now
  v.lookup(kGoogle, ip("203.0.113.4"), clock.now());  // evicts .2
  ex.run_all();
  auto s = v.stats();
  CHECK(s.entries == 3);
  CHECK(s.evictions == 1);
  const auto started = s.started;
  v.lookup(kGoogle, ip("203.0.113.1"), clock.now());  // still cached
  CHECK(v.stats().started == started);
  v.lookup(kGoogle, ip("203.0.113.2"), clock.now());  // evicted: looked up again
  CHECK(v.stats().started == started + 1);
  CHECK(v.stats().entries == 3);
}

TEST_CASE("verifier: an executor that runs jobs inline, and one that outlives the verifier",
          "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  ManualClock clock;
  {
    CrawlerVerifier v(VerifierConfig{}, dns.resolver(), [](std::function<void()> j) { j(); });
    // Inline completion must not deadlock; the first answer is still "pending" for this request.
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  }
  ManualExecutor ex;
  {
    CrawlerVerifier v(VerifierConfig{}, dns.resolver(), ex.executor());
    v.lookup(kGoogle, ip("66.249.66.1"), clock.now());
  }
  ex.run_all();  // the job holds the shared state: no use after free (ASan build checks this)
  SUCCEED();
}

TEST_CASE("DnsWorkers run jobs on their own threads", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  DnsWorkers workers(2);
  CrawlerVerifier v(VerifierConfig{}, dns.resolver(), workers.executor());
  ManualClock clock;
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
  // Poll (bounded) until the worker finished: this is the only test that waits on a thread.
  for (int i = 0; i < 2000 && v.stats().completed == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
}
