// Local rate-limit table: ns per check on one core, and resident memory at 1,000,000 keys.
// Prints figures, asserts nothing. Run through bench/limits/run.sh (repetitions, medians, and
// the memory figure in a process of its own).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/limit/key.hpp"
#include "bawwab/limit/limiter.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;

namespace {

LimitSpec make_spec(std::string name, std::uint64_t count, std::chrono::seconds period,
                    std::uint32_t burst) {
  LimitSpec s;
  s.name = std::move(name);
  s.key = {KeyComponent{KeyPart::ip_prefix, {}}};
  s.count = count;
  s.period = period;
  s.burst = burst;
  return s;
}

// A day on a news site under scraping, compressed: 200,000 clients whose request counts follow
// a Zipf law (s = 1.1): a few crawlers send much of the traffic, most clients a page or two.
// 4M draws, precomputed, so that the benchmark measures the check and not the dice.
const std::vector<std::uint64_t>& realistic_keys() {
  static const std::vector<std::uint64_t> keys = [] {
    constexpr std::size_t clients = 200'000;
    constexpr std::size_t draws = 1 << 22;
    std::vector<double> cdf(clients);
    double sum = 0;
    for (std::size_t r = 0; r < clients; ++r) {
      sum += 1.0 / std::pow(static_cast<double>(r + 1), 1.1);
      cdf[r] = sum;
    }
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u(0.0, sum);
    std::vector<std::uint64_t> out(draws);
    for (auto& k : out) {
      const auto rank = static_cast<std::uint64_t>(
          std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      k = hash64(std::to_string(rank), 7);  // like a key_hash of the client's address
    }
    return out;
  }();
  return keys;
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0;
  std::size_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// The request path's check: realistic key mix, 50,000 requests/s of simulated time.
void BM_LocalCheck_Realistic(benchmark::State& state) {
  const auto& keys = realistic_keys();
  LocalLimiter limiter;
  const LimitSpec spec = make_spec("article-per-ip", 5, 1s, 20);
  ManualClock clock;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.check(spec, keys[i], clock.now()));
    i = (i + 1) & (keys.size() - 1);
    clock.advance(20us);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["keys"] = static_cast<double>(limiter.stats().keys.load());
  state.counters["rejected_pct"] =
      100.0 * static_cast<double>(limiter.stats().rejects.load()) /
      static_cast<double>(std::max<std::uint64_t>(limiter.stats().checks.load(), 1));
}
BENCHMARK(BM_LocalCheck_Realistic);

// One key hammering its limit (a single abuser): the shard, the entry, all in cache.
void BM_LocalCheck_OneKey(benchmark::State& state) {
  LocalLimiter limiter;
  const LimitSpec spec = make_spec("article-per-ip", 5, 1s, 20);
  ManualClock clock;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.check(spec, 12345, clock.now()));
    clock.advance(20us);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LocalCheck_OneKey);

// A flood of never-seen keys into a full table: every check inserts and evicts.
void BM_LocalCheck_FloodFullTable(benchmark::State& state) {
  LocalLimiter limiter(LimiterConfig{.max_keys = 100'000, .shards = 64});
  const LimitSpec spec = make_spec("article-per-ip", 5, 1s, 20);
  ManualClock clock;
  std::uint64_t n = 0;
  for (std::uint64_t i = 0; i < 100'000; ++i) {
    limiter.check(spec, hash64(std::to_string(i), 3), clock.now());
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.check(spec, (++n) * 0x9E37'79B9'7F4A'7C15u, clock.now()));
    clock.advance(1us);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["evictions"] = static_cast<double>(limiter.stats().evictions.load());
}
BENCHMARK(BM_LocalCheck_FloodFullTable);

// Deriving the key (IPv6 /64 + User-Agent), the other per-request cost of a limit.
void BM_KeyHash(benchmark::State& state) {
  LimitSpec spec = make_spec("per-net-ua", 5, 1s, 20);
  spec.key.push_back(KeyComponent{KeyPart::user_agent, {}});
  KeyInput in;
  in.ip = boost::asio::ip::make_address("2001:db8:1:2::1");
  in.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0 Safari/537.36";
  for (auto _ : state) benchmark::DoNotOptimize(key_hash(spec, in));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_KeyHash);

// Resident memory for 1,000,000 distinct keys in one limit's table (run it in a process of its
// own: memory freed by earlier benchmarks would be reused and hide the growth).
void BM_Memory_1M_Keys(benchmark::State& state) {
  constexpr std::size_t n = 1'000'000;
  for (auto _ : state) {
    const std::size_t before = rss_bytes();
    auto limiter = std::make_unique<LocalLimiter>(LimiterConfig{.max_keys = n, .shards = 64});
    const LimitSpec spec = make_spec("article-per-ip", 5, 1s, 20);
    ManualClock clock;
    for (std::size_t i = 0; i < n; ++i) {
      limiter->check(spec, hash64(std::to_string(i), 11), clock.now());
    }
    const std::size_t after = rss_bytes();
    const double growth_mb = static_cast<double>(after - before) / (1024.0 * 1024.0);
    const Table* table = limiter->table("article-per-ip");
    state.counters["rss_growth_MB"] = growth_mb;
    state.counters["bytes_per_key"] = static_cast<double>(after - before) / n;
    state.counters["table_MB"] =
        static_cast<double>(table->memory_bytes()) / (1024.0 * 1024.0);
    state.counters["keys"] = static_cast<double>(table->size());
    state.counters["evictions"] = static_cast<double>(limiter->stats().evictions.load());
    std::fprintf(stderr,
                 "limits: 1,000,000 distinct keys: RSS growth %.1f MB (%.1f bytes/key), table "
                 "holds %zu keys in %.1f MB, %llu evictions\n",
                 growth_mb, static_cast<double>(after - before) / n, table->size(),
                 static_cast<double>(table->memory_bytes()) / (1024.0 * 1024.0),
                 static_cast<unsigned long long>(limiter->stats().evictions.load()));
  }
}
BENCHMARK(BM_Memory_1M_Keys)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
