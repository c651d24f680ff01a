#include "bawwab/limit/gcra.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

#include "limit_test_util.hpp"

using namespace bawwab;
using namespace bawwab::limit;
using namespace std::chrono_literals;
using limit::test::spec;

namespace {

// Runs requests through one key's TAT; counts what passed.
struct Key {
  GcraParams params;
  TimePoint tat{};
  GcraResult hit(TimePoint now) {
    const GcraResult r = gcra(tat, now, params);
    tat = r.new_tat;
    return r;
  }
};

}  // namespace

TEST_CASE("gcra_params: T = period / count, tau = burst * T", "[gcra]") {
  const GcraParams p = gcra_params(spec("a", 10, 1s, 5));
  CHECK(p.emission_ns == 100'000'000);
  CHECK(p.tolerance_ns == 500'000'000);
  CHECK_FALSE(p.never);
  CHECK(gcra_params(spec("h", 300, 3600s, 0)).emission_ns == 12'000'000'000);
  // Delay mode: max_delay narrows tau; 0 means the burst's worth.
  LimitSpec d = spec("d", 10, 1s, 5, OnExceed::delay);
  CHECK(gcra_params(d).tolerance_ns == 500'000'000);
  d.max_delay = 250ms;
  CHECK(gcra_params(d).tolerance_ns == 250'000'000);
  d.max_delay = 5s;  // longer than the burst: the burst bounds it
  CHECK(gcra_params(d).tolerance_ns == 500'000'000);
  // A huge burst saturates instead of overflowing.
  CHECK(gcra_params(spec("big", 1, 86'400s, 4'000'000'000u)).tolerance_ns ==
        gcra_max_interval_ns);
  CHECK(gcra_params(spec("zero", 0, 1s, 5)).never);
}

TEST_CASE("gcra: 10/s burst 5, 20 simultaneous requests: exactly 6 pass, 14 refused", "[gcra]") {
  ManualClock clock;
  Key key{gcra_params(spec("a", 10, 1s, 5))};
  int passed = 0;
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    const GcraResult r = key.hit(clock.now());
    if (r.allowed) {
      ++passed;
      CHECK(r.remaining == static_cast<std::uint64_t>(5 - i));  // 5, 4, ..., 0
      CHECK(r.reset == std::chrono::nanoseconds((i + 1) * 100ms));
    } else {
      ++refused;
      CHECK(r.remaining == 0);
      CHECK(r.retry_after == 100ms);  // the next slot of the steady rate
      CHECK(r.reset == 600ms);
    }
  }
  CHECK(passed == 6);
  CHECK(refused == 14);
}

TEST_CASE("gcra: refill at the rate, full burst after burst+1 intervals", "[gcra]") {
  ManualClock clock;
  Key key{gcra_params(spec("a", 10, 1s, 5))};
  for (int i = 0; i < 6; ++i) REQUIRE(key.hit(clock.now()).allowed);
  REQUIRE_FALSE(key.hit(clock.now()).allowed);
  clock.advance(99ms);
  const GcraResult early = key.hit(clock.now());
  CHECK_FALSE(early.allowed);
  CHECK(early.retry_after == 1ms);
  clock.advance(1ms);  // 100 ms: one slot
  CHECK(key.hit(clock.now()).allowed);
  CHECK_FALSE(key.hit(clock.now()).allowed);
  clock.advance(600ms);  // the whole bucket drained again
  int passed = 0;
  for (int i = 0; i < 20; ++i) passed += key.hit(clock.now()).allowed ? 1 : 0;
  CHECK(passed == 6);
}

TEST_CASE("gcra: burst 0 is exactly the rate", "[gcra]") {
  ManualClock clock;
  Key key{gcra_params(spec("a", 2, 1s, 0))};  // T = 500 ms
  CHECK(key.hit(clock.now()).allowed);
  CHECK_FALSE(key.hit(clock.now()).allowed);
  clock.advance(499ms);
  CHECK_FALSE(key.hit(clock.now()).allowed);
  clock.advance(1ms);
  const GcraResult r = key.hit(clock.now());
  CHECK(r.allowed);
  CHECK(r.remaining == 0);
}

TEST_CASE("gcra: steady overload for 60 s gets the configured rate within 2 %", "[gcra]") {
  struct Case {
    std::uint64_t count;
    std::chrono::seconds period;
    std::uint32_t burst;
    std::chrono::microseconds spacing;  // mean time between requests (overload)
  };
  // With burst 0 nothing absorbs the gap between the slot and the next arrival, so each slot
  // loses half an inter-arrival time on average: dense arrivals keep that below 1 %. Any burst
  // absorbs it entirely.
  for (const Case c : {Case{10, 1s, 5, 1000us}, Case{7, 1s, 0, 1000us}, Case{7, 1s, 1, 10'000us},
                       Case{100, 1s, 20, 3000us}, Case{1000, 60s, 50, 7000us}}) {
    INFO("rate " << c.count << "/" << c.period.count() << "s burst " << c.burst);
    ManualClock clock;
    Key key{gcra_params(spec("a", c.count, c.period, c.burst))};
    // Jittered arrivals (a fixed LCG: deterministic), 0.5x to 1.5x the mean spacing.
    std::uint64_t lcg = 12345;
    std::uint64_t accepted = 0;
    const TimePoint end = clock.now() + 60s;
    while (clock.now() < end) {
      accepted += key.hit(clock.now()).allowed ? 1 : 0;
      lcg = lcg * 6364136223846793005u + 1442695040888963407u;
      const auto jitter = static_cast<std::int64_t>((lcg >> 33) % 1001);  // 0..1000
      clock.advance(c.spacing * (500 + jitter) / 1000);
    }
    const double configured = static_cast<double>(c.count) * 60.0 /
                              static_cast<double>(c.period.count());
    CHECK(static_cast<double>(accepted) >= configured * 0.98);
    CHECK(static_cast<double>(accepted) <= configured * 1.02 + c.burst);
    // The burst is a one-off: over the 60 s it is at most burst extra.
    CHECK(static_cast<double>(accepted) <= configured + c.burst + 1);
  }
}

TEST_CASE("gcra: a refused request does not move the TAT", "[gcra]") {
  ManualClock clock;
  const GcraParams p = gcra_params(spec("a", 1, 1s, 0));
  const GcraResult first = gcra(TimePoint{}, clock.now(), p);
  REQUIRE(first.allowed);
  const GcraResult second = gcra(first.new_tat, clock.now(), p);
  CHECK_FALSE(second.allowed);
  CHECK(second.new_tat == first.new_tat);
}

TEST_CASE("gcra: a TAT from a stricter old rate is clamped to the new one", "[gcra]") {
  ManualClock clock;
  // 1/h burst 3 leaves the TAT 4 h ahead after 4 requests.
  Key key{gcra_params(spec("a", 1, 3600s, 3))};
  for (int i = 0; i < 4; ++i) REQUIRE(key.hit(clock.now()).allowed);
  REQUIRE_FALSE(key.hit(clock.now()).allowed);
  // Reloaded as 10/s burst 5: the new rate applies from now on, not after 4 hours.
  key.params = gcra_params(spec("a", 10, 1s, 5));
  CHECK_FALSE(key.hit(clock.now()).allowed);  // clamped to a full bucket, not an empty one
  clock.advance(100ms);
  CHECK(key.hit(clock.now()).allowed);
}

TEST_CASE("gcra: count 0 never conforms", "[gcra]") {
  ManualClock clock;
  const GcraResult r = gcra(TimePoint{}, clock.now(), gcra_params(spec("z", 0, 60s, 3)));
  CHECK_FALSE(r.allowed);
  CHECK(r.retry_after == 60s);
}

TEST_CASE("gcra: wait is the time until the request fits the steady rate", "[gcra]") {
  ManualClock clock;
  Key key{gcra_params(spec("a", 10, 1s, 5))};
  for (int i = 0; i < 6; ++i) {
    const GcraResult r = key.hit(clock.now());
    REQUIRE(r.allowed);
    CHECK(r.wait == std::chrono::nanoseconds(i * 100ms));
  }
}
