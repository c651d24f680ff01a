// The c-ares resolver against a fake DNS server on 127.0.0.1: real sockets and real time, so
// these tests wait (bounded polls, deadlines of a few hundred milliseconds).
#include "bawwab/detect/dns_resolver.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "bawwab/detect/crawler_verifier.hpp"
#include "support/fake_dns_server.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;

namespace {

using VerifierStatus = CrawlerVerifier::Status;
using V4 = boost::asio::ip::address_v4;

const std::vector<std::string> kGooglebotSuffixes{".googlebot.com"};

// Googlebot's records for `a`: PTR crawl-<a>.googlebot.com, and its A record.
void add_googlebot(test::FakeDnsServer& server, const V4& a) {
  std::string dashed = a.to_string();
  for (char& c : dashed)
    if (c == '.') c = '-';
  const std::string host = "crawl-" + dashed + ".googlebot.com";
  server.add_ptr(test::FakeDnsServer::reverse_name(a), host);
  server.add_a(host, a);
}

std::unique_ptr<AresResolver> make_resolver(const test::FakeDnsServer& server,
                                            std::chrono::milliseconds timeout) {
  AresConfig c;
  c.timeout = timeout;
  c.servers = server.address();
  auto r = AresResolver::create(c);
  REQUIRE(r.has_value());
  return std::move(*r);
}

// Polls (bounded) until `done` holds; the only way to wait on the resolver's thread.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 3s) {
  const auto until = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("c-ares: PTR, then A, against a fake server", "[dns]") {
  test::FakeDnsServer server;
  add_googlebot(server, V4({66, 249, 66, 1}));
  const auto resolver = make_resolver(server, 1000ms);
  const DnsResolver dns = resolver->resolver();

  std::promise<ReverseAnswer> ptr;
  dns.reverse(boost::asio::ip::make_address("66.249.66.1"), SteadyClock::now() + 1s,
              [&](ReverseAnswer a) { ptr.set_value(std::move(a)); });
  const ReverseAnswer r = ptr.get_future().get();
  CHECK(r.status == DnsStatus::ok);
  CHECK(r.name == "crawl-66-249-66-1.googlebot.com");

  std::promise<ForwardAnswer> fwd;
  dns.forward(r.name, SteadyClock::now() + 1s,
              [&](ForwardAnswer a) { fwd.set_value(std::move(a)); });
  const ForwardAnswer f = fwd.get_future().get();
  CHECK(f.status == DnsStatus::ok);
  REQUIRE(f.addresses.size() == 1);
  CHECK(f.addresses[0] == boost::asio::ip::make_address("66.249.66.1"));

  std::promise<ReverseAnswer> none;
  dns.reverse(boost::asio::ip::make_address("203.0.113.5"), SteadyClock::now() + 1s,
              [&](ReverseAnswer a) { none.set_value(std::move(a)); });
  CHECK(none.get_future().get().status == DnsStatus::no_name);  // NXDOMAIN

  // Through the verifier: pending, then verified.
  CrawlerVerifier v(VerifierConfig{}, dns);
  const auto ip = boost::asio::ip::make_address("66.249.66.1");
  CHECK(v.lookup(kGooglebotSuffixes, ip, SteadyClock::now()) == VerifierStatus::pending);
  REQUIRE(eventually([&] { return v.stats().completed == 1; }));
  CHECK(v.lookup(kGooglebotSuffixes, ip, SteadyClock::now()) == VerifierStatus::verified);
  CHECK(v.stats().failures == 0);
}

TEST_CASE("c-ares: a server that never answers times out by the deadline", "[dns]") {
  test::FakeDnsServer server;
  const V4 hung({203, 0, 113, 7});
  server.hang(test::FakeDnsServer::reverse_name(hung));
  const auto resolver = make_resolver(server, 200ms);
  VerifierConfig cfg;
  cfg.timeout = 200ms;
  CrawlerVerifier v(cfg, resolver->resolver());

  const auto started = SteadyClock::now();
  CHECK(v.lookup(kGooglebotSuffixes, hung, started) == VerifierStatus::pending);
  REQUIRE(eventually([&] { return v.stats().completed == 1; }));
  const auto took = SteadyClock::now() - started;
  INFO("timed out after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms");
  CHECK(took >= 150ms);  // c-ares' two tries (66 + 133 ms) or the deadline timer, not earlier
  CHECK(took < 1s);
  const auto s = v.stats();
  CHECK(s.failures == 1);
  CHECK(s.timeouts == 1);
  CHECK(s.in_flight == 0);
  CHECK(server.queries() >= 1);
  // failure_ttl (5 min), not negative_ttl (1 h): unverified, and asked again after 5 minutes.
  CHECK(v.lookup(kGooglebotSuffixes, hung, SteadyClock::now()) == VerifierStatus::unverified);
  CHECK(v.stats().started == 1);
  CHECK(v.lookup(kGooglebotSuffixes, hung, SteadyClock::now() + 6min) ==
        VerifierStatus::unverified);
  CHECK(v.stats().started == 2);
}

TEST_CASE("c-ares: while one query hangs, others start and finish; shutdown while it hangs",
          "[dns]") {
  test::FakeDnsServer server;
  const V4 hung({203, 0, 113, 7});
  server.hang(test::FakeDnsServer::reverse_name(hung));
  constexpr int kOthers = 100;  // the old pool started 16 at most, then refused
  std::vector<V4> others;
  for (int i = 1; i <= kOthers; ++i) {
    others.emplace_back(0x42f94200u + static_cast<std::uint32_t>(i));  // 66.249.66.i
    add_googlebot(server, others.back());
  }
  // A deadline far longer than the test: the hung query is still running at the end, and the
  // resolver is destroyed under it (ASan checks that shutdown).
  auto resolver = make_resolver(server, 5000ms);
  VerifierConfig cfg;
  cfg.timeout = 5000ms;
  auto v = std::make_unique<CrawlerVerifier>(cfg, resolver->resolver());

  CHECK(v->lookup(kGooglebotSuffixes, hung, SteadyClock::now()) == VerifierStatus::pending);
  for (const auto& a : others)
    CHECK(v->lookup(kGooglebotSuffixes, a, SteadyClock::now()) == VerifierStatus::pending);
  REQUIRE(eventually([&] { return v->stats().completed == kOthers; }));
  auto s = v->stats();
  CHECK(s.started == kOthers + 1);
  CHECK(s.not_started == 0);
  CHECK(s.in_flight == 1);  // the hung one
  CHECK(s.failures == 0);
  int verified = 0;
  for (const auto& a : others)
    verified += v->lookup(kGooglebotSuffixes, a, SteadyClock::now()) == VerifierStatus::verified;
  CHECK(verified == kOthers);

  v.reset();         // the verifier first, as in the server; its state lives in the hung query
  resolver.reset();  // answers the hung query with a failure, on this thread
  SUCCEED();
}

TEST_CASE("PTR query names", "[dns]") {
  CHECK(ptr_query_name(boost::asio::ip::make_address("66.249.66.1")) == "1.66.249.66.in-addr.arpa");
  CHECK(ptr_query_name(boost::asio::ip::make_address("::ffff:66.249.66.1")) ==
        "1.66.249.66.in-addr.arpa");
  CHECK(ptr_query_name(boost::asio::ip::make_address("2001:4860:4801:10::1")) ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.1.0.8.4.0.6.8.4.1.0.0.2.ip6.arpa");
}

TEST_CASE("c-ares: a bad server address is an error value", "[dns]") {
  AresConfig c;
  c.servers = "not an address";
  const auto r = AresResolver::create(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(&r.error().category() == &ares_category());
  CHECK_FALSE(r.error().message().empty());
}
