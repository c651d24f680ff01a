#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "support/name_service.hpp"
#include "bawwab/proxy/upstream.hpp"

namespace asio = boost::asio;
namespace config = bawwab::config;
namespace proxy = bawwab::proxy;
using tcp = asio::ip::tcp;
using bawwab::Errc;
using bawwab::ManualClock;
using namespace std::chrono_literals;

namespace {

config::UpstreamServer server(const std::string& url, std::uint16_t port = 80) {
  return config::UpstreamServer{url, "127.0.0.1", port};
}

config::UpstreamGroup group(std::string name, std::vector<std::string> urls) {
  config::UpstreamGroup g;
  g.name = std::move(name);
  for (auto& u : urls) g.servers.push_back(server(u));
  return g;
}

std::vector<std::string> urls(const std::vector<proxy::ServerState*>& order) {
  std::vector<std::string> out;
  for (const auto* s : order) out.push_back(s->url());
  return out;
}

// A loopback listener and connected pairs: the client side goes into the pool, the accepted side
// plays the origin. Synchronous calls only: no thread, no run() needed.
struct Loopback {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};

  struct Pair {
    tcp::socket client;
    tcp::socket origin;
    int client_fd;
  };

  Pair connect() {
    tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    tcp::socket origin(ioc);
    acceptor.accept(origin);
    const int fd = client.native_handle();
    return Pair{std::move(client), std::move(origin), fd};
  }
};

// Waits (up to `ms`) until `fd` is readable or hung up. Waiting for the event, not sleeping: a
// FIN or byte sent on loopback may still be on its way when close()/write() returns.
bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, ms) == 1;
}

// True when the origin side sees the connection end (the pool closed the client side): end of
// stream, or a reset when the client side had unread bytes as it closed.
bool origin_sees_close(tcp::socket& origin, int ms = 2000) {
  if (!wait_readable(origin.native_handle(), ms)) return false;
  char byte;
  const auto n = ::recv(origin.native_handle(), &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// Runs connect_upstream to completion on a fresh io_context.
bawwab::Result<tcp::socket> run_connect(asio::io_context& ioc,
                                       const proxy::ServerState& s,
                                       std::chrono::milliseconds timeout) {
  std::optional<bawwab::Result<tcp::socket>> out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        out.emplace(co_await proxy::connect_upstream(ioc.get_executor(), s, timeout));
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  ioc.restart();
  ioc.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace

TEST_CASE("ServerState: passive health", "[proxy][health]") {
  ManualClock clock;
  proxy::ServerState s("http://a:80", "a", 80);
  CHECK(s.url() == "http://a:80");
  CHECK(s.host() == "a");
  CHECK(s.port() == 80);
  CHECK(s.available(clock.now()));

  SECTION("max_fails consecutive failures mark it down for fail_timeout") {
    s.record_failure(clock.now(), 3, 10s);
    s.record_failure(clock.now(), 3, 10s);
    CHECK(s.available(clock.now()));
    CHECK(s.consecutive_failures() == 2);
    s.record_failure(clock.now(), 3, 10s);
    CHECK_FALSE(s.available(clock.now()));
    CHECK_FALSE(s.available(clock.now() + 9999ms));
    CHECK(s.available(clock.now() + 10s));
    CHECK(s.failures() == 3);

    clock.advance(10s);
    CHECK(s.available(clock.now()));
    // After the pause one more failure is enough: it was not proven healthy.
    s.record_failure(clock.now(), 3, 10s);
    CHECK_FALSE(s.available(clock.now()));
    CHECK(s.available(clock.now() + 10s));
  }
  SECTION("a success resets the count") {
    s.record_failure(clock.now(), 3, 10s);
    s.record_failure(clock.now(), 3, 10s);
    s.record_success();
    CHECK(s.consecutive_failures() == 0);
    s.record_failure(clock.now(), 3, 10s);
    s.record_failure(clock.now(), 3, 10s);
    CHECK(s.available(clock.now()));
    s.record_failure(clock.now(), 3, 10s);
    CHECK_FALSE(s.available(clock.now()));
    CHECK(s.failures() == 5);
  }
  SECTION("a success after the pause: a full max_fails is needed again") {
    for (int i = 0; i < 3; ++i) s.record_failure(clock.now(), 3, 10s);
    clock.advance(10s);
    s.record_success();
    s.record_failure(clock.now(), 3, 10s);
    s.record_failure(clock.now(), 3, 10s);
    CHECK(s.available(clock.now()));
  }
  SECTION("max_fails 1") {
    s.record_failure(clock.now(), 1, 5s);
    CHECK_FALSE(s.available(clock.now()));
    CHECK(s.available(clock.now() + 5s));
  }
  SECTION("max_fails 0 never marks it down") {
    for (int i = 0; i < 100; ++i) s.record_failure(clock.now(), 0, 10s);
    CHECK(s.available(clock.now()));
    CHECK(s.failures() == 100);
  }
}

TEST_CASE("UpstreamRegistry keeps one state per url across generations", "[proxy][registry]") {
  proxy::UpstreamRegistry registry;
  config::ServerConfig gen1;
  gen1.upstreams.emplace("g", group("g", {"http://a:80", "http://b:80"}));
  config::ServerConfig gen2;  // a reload: b is kept (in another group), a dropped, c new
  gen2.upstreams.emplace("h", group("h", {"http://b:80", "http://c:80"}));

  const proxy::UpstreamSet set1(gen1, registry);
  const proxy::UpstreamSet set2(gen2, registry);
  const auto* g = set1.find("g");
  const auto* h = set2.find("h");
  REQUIRE(g != nullptr);
  REQUIRE(h != nullptr);
  CHECK(set1.find("h") == nullptr);
  CHECK(set2.find("missing") == nullptr);
  CHECK(g->config == &gen1.upstreams.at("g"));
  REQUIRE(g->servers.size() == 2);
  REQUIRE(h->servers.size() == 2);
  CHECK(g->servers[0]->url() == "http://a:80");
  CHECK(g->servers[1] == h->servers[0]);  // the same object: health survives the reload
  CHECK(h->servers[1]->url() == "http://c:80");
  CHECK(registry.all().size() == 3);

  ManualClock clock;
  for (int i = 0; i < 3; ++i) g->servers[1]->record_failure(clock.now(), 3, 10s);
  CHECK_FALSE(h->servers[0]->available(clock.now()));
  CHECK(&registry.get(server("http://b:80")) == h->servers[0]);
}

TEST_CASE("try_order: round robin, down servers last", "[proxy][balance]") {
  proxy::UpstreamRegistry registry;
  config::ServerConfig cfg;
  cfg.upstreams.emplace("g", group("g", {"a", "b", "c"}));
  cfg.upstreams.emplace("empty", group("empty", {}));
  const proxy::UpstreamSet set(cfg, registry);
  const auto& g = *set.find("g");
  ManualClock clock;
  using V = std::vector<std::string>;

  SECTION("rotates") {
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"a", "b", "c"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"b", "c", "a"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"c", "a", "b"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"a", "b", "c"});
  }
  SECTION("down servers come last, the others still rotate") {
    g.servers[1]->record_failure(clock.now(), 1, 10s);  // b down
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"a", "c", "b"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"c", "a", "b"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"c", "a", "b"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"a", "c", "b"});
    SECTION("and are back in the rotation after fail_timeout") {
      clock.advance(10s);
      CHECK(urls(proxy::try_order(g, clock.now())) == V{"b", "c", "a"});
    }
  }
  SECTION("all down: every server is still tried") {
    for (auto* s : g.servers) s->record_failure(clock.now(), 1, 10s);
    const auto order = urls(proxy::try_order(g, clock.now()));
    CHECK(order == V{"a", "b", "c"});
    CHECK(urls(proxy::try_order(g, clock.now())) == V{"b", "c", "a"});
  }
  SECTION("an empty group gives nothing") {
    CHECK(proxy::try_order(*set.find("empty"), clock.now()).empty());
  }
}

TEST_CASE("ConnectionPool with loopback connections", "[proxy][pool]") {
  Loopback net;
  proxy::ServerState a("http://a:80", "127.0.0.1", 80);
  proxy::ServerState b("http://b:80", "127.0.0.1", 80);
  proxy::ConnectionPool pool;
  ManualClock clock;
  const auto idle_timeout = std::chrono::milliseconds(30s);

  SECTION("put then take returns the same, working connection") {
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    CHECK(pool.idle() == 1);
    CHECK_FALSE(pool.take(b, clock.now(), idle_timeout));  // per server
    CHECK(pool.idle() == 1);

    auto taken = pool.take(a, clock.now() + 1s, idle_timeout);
    REQUIRE(taken);
    CHECK(pool.idle() == 0);
    CHECK(taken->native_handle() == p.client_fd);
    asio::write(*taken, asio::buffer(std::string_view("ping")));
    char buf[4];
    asio::read(p.origin, asio::buffer(buf));
    CHECK(std::string_view(buf, 4) == "ping");
    CHECK_FALSE(pool.take(a, clock.now(), idle_timeout));
  }
  SECTION("the most recently used connection comes out first") {
    auto p1 = net.connect();
    auto p2 = net.connect();
    pool.put(a, std::move(p1.client), clock.now(), 4);
    pool.put(a, std::move(p2.client), clock.now(), 4);
    auto taken = pool.take(a, clock.now(), idle_timeout);
    REQUIRE(taken);
    CHECK(taken->native_handle() == p2.client_fd);
    CHECK(pool.idle() == 1);
  }
  SECTION("capacity is respected; the extra connection is closed") {
    auto p1 = net.connect();
    auto p2 = net.connect();
    auto p3 = net.connect();
    pool.put(a, std::move(p1.client), clock.now(), 2);
    pool.put(a, std::move(p2.client), clock.now(), 2);
    pool.put(a, std::move(p3.client), clock.now(), 2);
    CHECK(pool.idle() == 2);
    CHECK(origin_sees_close(p3.origin));
    CHECK_FALSE(origin_sees_close(p1.origin, 20));
    CHECK_FALSE(origin_sees_close(p2.origin, 20));
    // The capacity is per server.
    auto p4 = net.connect();
    pool.put(b, std::move(p4.client), clock.now(), 2);
    CHECK(pool.idle() == 3);
  }
  SECTION("capacity 0 keeps nothing") {
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 0);
    CHECK(pool.idle() == 0);
    CHECK(origin_sees_close(p.origin));
  }
  SECTION("a connection idle for idle_timeout is dropped and closed") {
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    CHECK_FALSE(pool.take(a, clock.now() + idle_timeout, idle_timeout));
    CHECK(pool.idle() == 0);
    CHECK(origin_sees_close(p.origin));
  }
  SECTION("just under idle_timeout it is still good") {
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    CHECK(pool.take(a, clock.now() + idle_timeout - 1ms, idle_timeout));
  }
  SECTION("a connection the origin closed is not returned") {
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    p.origin.close();
    REQUIRE(wait_readable(p.client_fd, 2000));  // the FIN has arrived
    // Idle for a second: long enough to be checked (see the next section for a fresh one).
    CHECK_FALSE(pool.take(a, clock.now() + 1s, idle_timeout));
    CHECK(pool.idle() == 0);
  }
  SECTION("a connection back in the pool for under 500 ms is trusted without a peek") {
    // Saves a syscall per request; an idempotent request is retried if the origin did close it.
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    CHECK(pool.take(a, clock.now() + 100ms, idle_timeout));
  }
  SECTION("a dead connection is skipped for an older live one") {
    auto live = net.connect();
    auto dead = net.connect();
    pool.put(a, std::move(live.client), clock.now(), 4);
    pool.put(a, std::move(dead.client), clock.now(), 4);
    dead.origin.close();
    REQUIRE(wait_readable(dead.client_fd, 2000));
    auto taken = pool.take(a, clock.now() + 1s, idle_timeout);
    REQUIRE(taken);
    CHECK(taken->native_handle() == live.client_fd);
    CHECK(pool.idle() == 0);
  }
  SECTION("a connection with unread bytes from the origin is not reused") {
    // A stray byte would be read as the start of the next response.
    auto p = net.connect();
    pool.put(a, std::move(p.client), clock.now(), 4);
    asio::write(p.origin, asio::buffer(std::string_view("x")));
    REQUIRE(wait_readable(p.client_fd, 2000));
    CHECK_FALSE(pool.take(a, clock.now() + 1s, idle_timeout));
    CHECK(origin_sees_close(p.origin));
  }
  SECTION("sweep closes expired and dead connections, keeps the others") {
    auto old_one = net.connect();
    auto young = net.connect();
    auto dead = net.connect();
    pool.put(a, std::move(old_one.client), clock.now(), 4);
    pool.put(b, std::move(young.client), clock.now() + 20s, 4);
    pool.put(b, std::move(dead.client), clock.now() + 20s, 4);
    dead.origin.close();
    REQUIRE(wait_readable(dead.client_fd, 2000));
    CHECK(pool.idle() == 3);

    pool.sweep(clock.now() + 31s, idle_timeout);
    CHECK(pool.idle() == 1);
    CHECK(origin_sees_close(old_one.origin));
    CHECK_FALSE(origin_sees_close(young.origin, 20));
    CHECK_FALSE(pool.take(a, clock.now() + 31s, idle_timeout));
    auto taken = pool.take(b, clock.now() + 31s, idle_timeout);
    REQUIRE(taken);
    CHECK(taken->native_handle() == young.client_fd);
  }
  SECTION("close_all closes and forgets everything") {
    auto p1 = net.connect();
    auto p2 = net.connect();
    pool.put(a, std::move(p1.client), clock.now(), 4);
    pool.put(b, std::move(p2.client), clock.now(), 4);
    pool.close_all();
    CHECK(pool.idle() == 0);
    CHECK(origin_sees_close(p1.origin));
    CHECK(origin_sees_close(p2.origin));
    CHECK_FALSE(pool.take(a, clock.now(), idle_timeout));
    CHECK_FALSE(pool.take(b, clock.now(), idle_timeout));
    // Still usable afterwards.
    auto p3 = net.connect();
    pool.put(a, std::move(p3.client), clock.now(), 4);
    CHECK(pool.idle() == 1);
    pool.close_all();
  }
}

TEST_CASE("connect_upstream", "[proxy][connect]") {
  asio::io_context ioc;

  SECTION("to a listening port: a connected stream") {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const auto port = acceptor.local_endpoint().port();
    const proxy::ServerState s("http://127.0.0.1:" + std::to_string(port), "127.0.0.1", port);
    auto r = run_connect(ioc, s, 2000ms);
    REQUIRE(r.has_value());
    CHECK(r->remote_endpoint().port() == port);
    tcp::no_delay nd;
    r->get_option(nd);
    CHECK(nd.value());
  }
  SECTION("by name: localhost is resolved (or fails cleanly where it does not resolve)") {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const auto port = acceptor.local_endpoint().port();
    const proxy::ServerState s("http://localhost:" + std::to_string(port), "localhost", port);
    auto r = run_connect(ioc, s, 2000ms);
    if (bawwab::test::localhost_resolves()) {
      REQUIRE(r.has_value());
      CHECK(r->remote_endpoint().port() == port);
    } else {
      WARN(bawwab::test::localhost_missing_note);
      REQUIRE(r.has_error());
      CHECK(r.error() == Errc::upstream_connect_failed);
    }
  }
  SECTION("to a closed port: upstream_connect_failed") {
    std::uint16_t port = 0;
    {
      tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
      port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    const proxy::ServerState s("http://127.0.0.1:" + std::to_string(port), "127.0.0.1", port);
    auto r = run_connect(ioc, s, 2000ms);
    REQUIRE(r.has_error());
    CHECK(r.error() == Errc::upstream_connect_failed);
  }
  SECTION("to a listener that never answers: upstream_timeout") {
    // Nobody accepts and the backlog is 0: once it holds a connection, Linux drops further SYNs,
    // so the next connect hangs until our deadline. The first attempts may still succeed.
    tcp::acceptor acceptor(ioc);
    acceptor.open(tcp::v4());
    acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor.listen(0);
    const auto port = acceptor.local_endpoint().port();
    const proxy::ServerState s("http://127.0.0.1:" + std::to_string(port), "127.0.0.1", port);
    std::vector<tcp::socket> held;
    bool timed_out = false;
    for (int i = 0; i < 4 && !timed_out; ++i) {
      auto r = run_connect(ioc, s, 300ms);
      if (r.has_value()) {
        held.push_back(std::move(*r));
      } else {
        CHECK(r.error() == Errc::upstream_timeout);
        timed_out = true;
      }
    }
    CHECK(timed_out);
  }
}
