#include "bawwab/limit/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>

#include "limit_test_util.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;

TEST_CASE("LocalStore: the Store interface over the process's limiter", "[store]") {
  boost::asio::io_context ioc;
  LocalLimiter limiter;
  LocalStore local(limiter);
  Store& store = local;
  const LimitSpec s = bawwab::limit::test::spec("per-ip", 1, 60s, 1);  // 2 at once, then one a minute
  KeyInput a;
  a.ip = boost::asio::ip::make_address("192.0.2.1");
  KeyInput b;
  b.ip = boost::asio::ip::make_address("192.0.2.2");
  ManualClock clock;
  std::vector<Verdict::Kind> kinds;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) kinds.push_back((co_await store.check(s, a, clock.now())).kind);
        kinds.push_back((co_await store.check(s, b, clock.now())).kind);  // another key
      },
      boost::asio::detached);
  ioc.run();
  CHECK(kinds == std::vector{Verdict::Kind::pass, Verdict::Kind::pass, Verdict::Kind::reject,
                             Verdict::Kind::pass});
  // The same state as the limiter's own: the store is a view, not a copy.
  CHECK(limiter.peek("per-ip", key_hash(s, a)).has_value());
  CHECK(limiter.stats().checks == 4);
}
