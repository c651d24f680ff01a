#include "bawwab/detect/crawler_verifier.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bawwab/core/clock.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;
using Status = CrawlerVerifier::Status;

namespace {

net::Address ip(const char* s) { return boost::asio::ip::make_address(s); }

// DNS as a table; counts calls. Answers wait in `queued` until the test runs them (the state
// machine is driven by hand), or come inline. No real DNS anywhere in these tests.
struct FakeDns {
  std::map<std::string, ReverseAnswer> ptr;
  std::map<std::string, ForwardAnswer> a;
  int reverse_calls = 0, forward_calls = 0;
  bool inline_answers = false;
  std::deque<std::function<void()>> queued;
  std::vector<TimePoint> deadlines;

  DnsResolver resolver() {
    DnsResolver r;
    r.reverse = [this](const net::Address& addr, TimePoint deadline, ReverseHandler done) {
      ++reverse_calls;
      deadlines.push_back(deadline);
      const auto it = ptr.find(addr.to_string());
      const ReverseAnswer ans =
          it == ptr.end() ? ReverseAnswer{DnsStatus::no_name, {}} : it->second;
      answer([done, ans] { done(ans); });
    };
    r.forward = [this](const std::string& name, TimePoint deadline, ForwardHandler done) {
      ++forward_calls;
      deadlines.push_back(deadline);
      const auto it = a.find(name);
      const ForwardAnswer ans = it == a.end() ? ForwardAnswer{DnsStatus::no_name, {}} : it->second;
      answer([done, ans] { done(ans); });
    };
    return r;
  }
  void answer(std::function<void()> f) {
    if (inline_answers)
      f();
    else
      queued.push_back(std::move(f));
  }
  // Answers every query, and the forward queries those answers start.
  void run_all() {
    while (!queued.empty()) {
      auto f = std::move(queued.front());
      queued.pop_front();
      f();
    }
  }
};

// forward_confirmed_name with an inline resolver: the answer, at once.
ConfirmedName confirmed_now(const net::Address& addr, const DnsResolver& r) {
  std::optional<ConfirmedName> out;
  forward_confirmed_name(addr, TimePoint{}, r, [&](ConfirmedName c) { out = std::move(c); });
  REQUIRE(out);
  return *out;
}

void check_invariant(const CrawlerVerifier::Stats& s) {
  CHECK(s.started == s.completed + s.in_flight);
  CHECK(s.failures >= s.timeouts);
}

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
  dns.inline_answers = true;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com."};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  // A PTR the attacker controls, pointing at Google's name, whose A records are Google's.
  dns.ptr["203.0.113.9"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.ptr["203.0.113.10"] = {DnsStatus::failure, {}};
  dns.ptr["203.0.113.12"] = {DnsStatus::timeout, {}};
  dns.ptr["203.0.113.13"] = {DnsStatus::ok, "slow.example.net"};
  dns.a["slow.example.net"] = {DnsStatus::timeout, {}};
  dns.ptr["203.0.113.14"] = {DnsStatus::ok, "."};
  const auto r = dns.resolver();

  const auto ok = confirmed_now(ip("66.249.66.1"), r);
  CHECK(ok.status == DnsStatus::ok);
  CHECK(ok.name == "crawl-66-249-66-1.googlebot.com");
  CHECK(confirmed_now(ip("::ffff:66.249.66.1"), r).status == DnsStatus::ok);
  CHECK(confirmed_now(ip("203.0.113.9"), r).status == DnsStatus::no_name);
  CHECK(confirmed_now(ip("203.0.113.10"), r).status == DnsStatus::failure);
  CHECK(confirmed_now(ip("203.0.113.11"), r).status == DnsStatus::no_name);
  CHECK(confirmed_now(ip("203.0.113.12"), r).status == DnsStatus::timeout);
  CHECK(confirmed_now(ip("203.0.113.13"), r).status == DnsStatus::timeout);
  CHECK(confirmed_now(ip("203.0.113.14"), r).status == DnsStatus::no_name);
  CHECK(dns.forward_calls == 4);  // only names worth confirming are asked for

  SECTION("the second step alone") {
    const ForwardAnswer both{DnsStatus::ok, {ip("2001:db8::1"), ip("66.249.66.1")}};
    CHECK(confirm_name(ip("66.249.66.1"), "a.googlebot.com", both).name == "a.googlebot.com");
    CHECK(confirm_name(ip("::ffff:66.249.66.1"), "a.googlebot.com", both).status == DnsStatus::ok);
    CHECK(confirm_name(ip("66.249.66.2"), "a.googlebot.com", both).status == DnsStatus::no_name);
    CHECK(confirm_name(ip("66.249.66.1"), "a", ForwardAnswer{DnsStatus::failure, {}}).status ==
          DnsStatus::failure);
  }
}

TEST_CASE("verifier state machine: pending, verified, cached, expired", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  VerifierConfig cfg;
  CrawlerVerifier v(cfg, dns.resolver());
  ManualClock clock;

  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);  // no second query
  CHECK(dns.queued.size() == 1);
  CHECK(dns.deadlines == std::vector<TimePoint>{clock.now() + cfg.timeout});
  dns.run_all();
  CHECK(dns.deadlines.size() == 2);  // the forward query: the same deadline
  CHECK(dns.deadlines[1] == clock.now() + cfg.timeout);
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
  CHECK(dns.queued.size() == 1);
  dns.run_all();
  CHECK(dns.reverse_calls == 2);
  const auto s = v.stats();
  CHECK(s.lookups == 6);
  CHECK(s.hits == 3);
  CHECK(s.started == 2);
  CHECK(s.completed == 2);
  CHECK(s.failures == 0);
  CHECK(s.in_flight == 0);
  CHECK(s.entries == 1);
  check_invariant(s);
}

TEST_CASE("verifier: negative and failure TTLs", "[verifier]") {
  FakeDns dns;
  // .1: a PTR that does not forward-confirm (negative); .2: DNS fails; .3: confirmed, but not a
  // Google name (positive entry: the name is cached, the crawler is not verified); .4: the
  // resolver's deadline passed (a failure, counted as a timeout too).
  dns.ptr["203.0.113.1"] = {DnsStatus::ok, "host.example.net"};
  dns.a["host.example.net"] = {DnsStatus::ok, {ip("203.0.113.99")}};
  dns.ptr["203.0.113.2"] = {DnsStatus::failure, {}};
  dns.ptr["203.0.113.3"] = {DnsStatus::ok, "host3.example.net"};
  dns.a["host3.example.net"] = {DnsStatus::ok, {ip("203.0.113.3")}};
  dns.ptr["203.0.113.4"] = {DnsStatus::timeout, {}};
  VerifierConfig cfg;  // negative 1 h, failure 5 min
  CrawlerVerifier v(cfg, dns.resolver());
  ManualClock clock;

  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::pending);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::pending);
  CHECK(v.lookup(kGoogle, ip("203.0.113.4"), clock.now()) == Status::pending);
  dns.run_all();
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::unverified);
  CHECK(v.lookup(kGoogle, ip("203.0.113.4"), clock.now()) == Status::unverified);
  CHECK(v.stats().failures == 2);
  CHECK(v.stats().timeouts == 1);
  clock.advance(6min);  // the failures expired, the negative answer did not
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::unverified);
  CHECK(dns.queued.size() == 1);
  dns.run_all();
  clock.advance(55min);
  CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);
  CHECK(dns.queued.size() == 1);  // negative expired: looked up again
  CHECK(v.stats().failures == 3);
  dns.run_all();

  CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::pending);
  dns.run_all();
  clock.advance(23h);
  CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::unverified);
  CHECK(dns.queued.empty());  // positive TTL
  check_invariant(v.stats());
}

TEST_CASE("verifier: timeout, late answers, in-flight bound, non-public IPs", "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  VerifierConfig cfg;
  cfg.max_in_flight = 2;
  CrawlerVerifier v(cfg, dns.resolver());
  ManualClock clock;

  SECTION("a lookup pending past the timeout is unverified, a late answer still counts") {
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
    clock.advance(6s);
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::unverified);
    auto s = v.stats();
    CHECK(s.timeouts == 1);
    CHECK(s.failures == 1);
    CHECK(s.in_flight == 0);
    dns.run_all();
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
    s = v.stats();
    CHECK(s.completed == 1);  // the late answer is not counted twice
    check_invariant(s);
  }
  SECTION("no more than max_in_flight lookups at once") {
    CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::unverified);
    CHECK(v.stats().not_started == 1);
    dns.run_all();
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::pending);
    check_invariant(v.stats());
  }
  SECTION("a resolver that never answers cannot keep the slots past the timeout") {
    CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::pending);
    clock.advance(1s);
    CHECK(v.lookup(kGoogle, ip("203.0.113.2"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::unverified);
    clock.advance(4500ms);  // .1 is overdue, .2 is not
    CHECK(v.lookup(kGoogle, ip("203.0.113.3"), clock.now()) == Status::pending);
    auto s = v.stats();
    CHECK(s.timeouts == 1);
    CHECK(s.in_flight == 2);
    CHECK(s.not_started == 1);
    CHECK(v.lookup(kGoogle, ip("203.0.113.1"), clock.now()) == Status::unverified);  // failure_ttl
    clock.advance(1s);
    CHECK(v.lookup(kGoogle, ip("203.0.113.4"), clock.now()) == Status::pending);
    s = v.stats();
    CHECK(s.timeouts == 2);
    CHECK(s.started == 4);
    check_invariant(s);
  }
  SECTION("loopback and private addresses, empty suffixes: unverified, no DNS") {
    CHECK(v.lookup(kGoogle, ip("127.0.0.1"), clock.now()) == Status::unverified);
    CHECK(v.lookup(kGoogle, ip("10.0.0.1"), clock.now()) == Status::unverified);
    CHECK(v.lookup(std::vector<std::string>{}, ip("66.249.66.1"), clock.now()) ==
          Status::unverified);
    CHECK(dns.queued.empty());
    CHECK(v.stats().entries == 0);
    CHECK(v.stats().lookups == 0);  // nothing to verify by DNS
  }
}

TEST_CASE("verifier: while one lookup hangs, many others start and finish", "[verifier]") {
  // The old pool of two threads blocked on one slow lookup; answers now arrive in any order.
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  CrawlerVerifier v(VerifierConfig{}, dns.resolver());  // max_in_flight 1024
  ManualClock clock;
  CHECK(v.lookup(kGoogle, ip("203.0.113.200"), clock.now()) == Status::pending);
  auto hanging = std::move(dns.queued.front());
  dns.queued.pop_front();
  for (int i = 1; i <= 100; ++i) {
    const auto a = boost::asio::ip::address_v4(0xc6336400u + static_cast<std::uint32_t>(i));
    CHECK(v.lookup(kGoogle, a, clock.now()) == Status::pending);
  }
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
  dns.run_all();
  CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
  auto s = v.stats();
  CHECK(s.started == 102);
  CHECK(s.completed == 101);
  CHECK(s.in_flight == 1);
  CHECK(s.not_started == 0);
  hanging();
  s = v.stats();
  CHECK(s.in_flight == 0);
  check_invariant(s);
}

TEST_CASE("verifier: bounded, least recently used evicted", "[verifier]") {
  FakeDns dns;
  VerifierConfig cfg;
  cfg.max_entries = 3;
  cfg.max_in_flight = 100;
  CrawlerVerifier v(cfg, dns.resolver());
  ManualClock clock;
  for (const char* a : {"203.0.113.1", "203.0.113.2", "203.0.113.3"})
    v.lookup(kGoogle, ip(a), clock.now());
  dns.run_all();
  v.lookup(kGoogle, ip("203.0.113.1"), clock.now());  // most recent now
  v.lookup(kGoogle, ip("203.0.113.4"), clock.now());  // evicts .2
  dns.run_all();
  auto s = v.stats();
  CHECK(s.entries == 3);
  CHECK(s.evictions == 1);
  const auto started = s.started;
  v.lookup(kGoogle, ip("203.0.113.1"), clock.now());  // still cached
  CHECK(v.stats().started == started);
  v.lookup(kGoogle, ip("203.0.113.2"), clock.now());  // evicted: looked up again
  CHECK(v.stats().started == started + 1);
  CHECK(v.stats().entries == 3);
  SECTION("an evicted entry's answer frees its slot all the same") {
    v.lookup(kGoogle, ip("203.0.113.5"), clock.now());
    v.lookup(kGoogle, ip("203.0.113.6"), clock.now());
    v.lookup(kGoogle, ip("203.0.113.7"), clock.now());  // evicts .2 while it runs
    dns.run_all();
    s = v.stats();
    CHECK(s.in_flight == 0);
    check_invariant(s);
  }
}

TEST_CASE("verifier: a resolver that answers inline, and one that outlives the verifier",
          "[verifier]") {
  FakeDns dns;
  dns.ptr["66.249.66.1"] = {DnsStatus::ok, "crawl-66-249-66-1.googlebot.com"};
  dns.a["crawl-66-249-66-1.googlebot.com"] = {DnsStatus::ok, {ip("66.249.66.1")}};
  ManualClock clock;
  {
    dns.inline_answers = true;
    CrawlerVerifier v(VerifierConfig{}, dns.resolver());
    // Inline completion must not deadlock; the first answer is still "pending" for this request.
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::pending);
    CHECK(v.lookup(kGoogle, ip("66.249.66.1"), clock.now()) == Status::verified);
    dns.inline_answers = false;
  }
  {
    CrawlerVerifier v(VerifierConfig{}, dns.resolver());
    v.lookup(kGoogle, ip("66.249.66.1"), clock.now());
  }
  dns.run_all();  // the handler holds the shared state: no use after free (ASan build checks this)
  SUCCEED();
}
