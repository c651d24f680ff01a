// Checks per second through one RedisStore (one worker's connection) against a real
// redis-server on loopback, started here on a free port; skipped when redis-server is missing.
// Per-check latency is the round trip plus the Lua script; concurrency shows what pipelining
// many requests' checks on one connection gives. (Requests/s through the whole proxy in Redis
// vs local mode is bench/limits/run.sh's TODO for the lead.)
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <string>
#include <thread>
#include <vector>

#include "bawwab/core/log.hpp"
#include "bawwab/limit/key.hpp"
#include "bawwab/limit/redis_store.hpp"

extern char** environ;

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;

namespace {

namespace asio = boost::asio;

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class RedisChild {
 public:
  explicit RedisChild(std::uint16_t port) {
    std::vector<std::string> args = {"/usr/bin/redis-server", "--port", std::to_string(port),
                                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~RedisChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

void BM_RedisStore_Checks(benchmark::State& state) {
  if (::access("/usr/bin/redis-server", X_OK) != 0) {
    state.SkipWithError("redis-server not installed");
    return;
  }
  const auto concurrency = static_cast<int>(state.range(0));
  const std::uint16_t port = free_port();
  RedisChild child(port);
  if (!child.started()) {
    state.SkipWithError("cannot start redis-server");
    return;
  }
  // Wait until it listens, so that the store's first attempt finds it.
  for (int i = 0; i < 500; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (up) break;
    std::this_thread::sleep_for(10ms);
  }
  log::set_level(log::Level::warning);
  asio::io_context ioc;
  LocalLimiter local;
  StoreStats stats;
  StoreConfig config;
  config.url = "redis://127.0.0.1:" + std::to_string(port);
  config.reconnect_min = 100ms;
  config.reconnect_max = 100ms;
  config.timeout = 1000ms;  // measure Redis, not the fallback
  RedisStore store(ioc, config, local, stats);
  for (int i = 0; i < 300 && stats.connected == 0; ++i) ioc.run_for(10ms);
  if (stats.connected == 0) {
    state.SkipWithError("could not connect to redis-server");
    return;
  }
  LimitSpec spec;
  spec.name = "bench";
  spec.key = {KeyComponent{KeyPart::ip, {}}};
  spec.count = 1'000'000;  // never rejects: every check is a full round trip
  spec.period = 1s;
  spec.burst = 1'000;
  std::vector<std::string> keys;
  for (int i = 0; i < 10'000; ++i) keys.push_back("bench:10.0." + std::to_string(i / 256) + "." +
                                                   std::to_string(i % 256));
  constexpr int per_round = 10'000;
  std::size_t next = 0;
  for (auto _ : state) {
    int left = per_round;
    int running = concurrency;
    for (int c = 0; c < concurrency; ++c) {
      asio::co_spawn(
          ioc,
          [&]() -> asio::awaitable<void> {
            while (left > 0) {
              --left;
              const std::string& key = keys[next++ % keys.size()];
              benchmark::DoNotOptimize(
                  co_await store.check(spec, key, hash64(key, 1), SteadyClock::now()));
            }
            --running;
          },
          asio::detached);
    }
    ioc.restart();
    while (running > 0) ioc.run_one();
  }
  state.SetItemsProcessed(state.iterations() * per_round);
  state.counters["fallbacks"] = static_cast<double>(stats.fallbacks.load());
  state.counters["answered"] = static_cast<double>(stats.answered.load());
}
BENCHMARK(BM_RedisStore_Checks)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
