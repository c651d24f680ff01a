#pragma once
// GCRA (generic cell rate algorithm, as in ATM, redis-cell and throttled): the whole state of a
// rate-limited key is one timestamp, its theoretical arrival time (TAT). With emission interval
// T = period / count and tolerance tau = burst * T, a request at `now` conforms iff
//   max(TAT, now) - now <= tau,
// and then TAT becomes max(TAT, now) + T. Refused requests leave TAT alone, so a client that
// hammers a limit gets exactly the configured rate and no less. `10/s burst 5` lets 6 simultaneous
// requests through (the one that fits the rate plus 5 of burst), then one every 100 ms.
//
// Equivalent to nginx's limit_req leaky bucket ("excess" = (TAT - now) / T) but exact (ns, not
// ms) and O(1). Pure arithmetic: time is passed in, nothing is read or kept here.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

#include "bawwab/core/clock.hpp"
#include "bawwab/limit/spec.hpp"

namespace bawwab::limit {

// T and tau of one limit, in nanoseconds of the steady clock.
struct GcraParams {
  std::int64_t emission_ns = 1;   // T = period / count (>= 1)
  std::int64_t tolerance_ns = 0;  // tau = burst * T (delay mode: at most max_delay)
  bool never = false;             // count == 0: nothing conforms; retry after one period
};

// Bounds that keep every sum below in int64 range: T and tau saturate at ~36 years, far beyond
// any period a rules file can write.
inline constexpr std::int64_t gcra_max_interval_ns = std::int64_t{1} << 60;

// The parameters a spec implies. In delay mode a max_delay shorter than the burst's worth narrows
// tau, so that no request is held longer than max_delay (later ones are refused). Pure.
inline GcraParams gcra_params(const LimitSpec& spec) noexcept {
  GcraParams p;
  const auto period_ns =
      std::min<std::int64_t>(std::chrono::nanoseconds(spec.period).count(), gcra_max_interval_ns);
  if (spec.count == 0) {
    p.never = true;
    p.emission_ns = std::max<std::int64_t>(period_ns, 1);
    return p;
  }
  const auto count = static_cast<std::int64_t>(
      std::min<std::uint64_t>(spec.count, std::numeric_limits<std::int64_t>::max()));
  p.emission_ns = std::max<std::int64_t>(period_ns / count, 1);  // >= 1 ns: rates above 1e9/s
  // burst * T without overflow: burst < 2^32 and T <= 2^60.
  const auto burst = static_cast<std::int64_t>(spec.burst);
  p.tolerance_ns = burst > gcra_max_interval_ns / p.emission_ns ? gcra_max_interval_ns
                                                                : burst * p.emission_ns;
  if (spec.on_exceed == OnExceed::delay && spec.max_delay.count() > 0) {
    const std::int64_t max_delay_ns = std::chrono::nanoseconds(spec.max_delay).count();
    p.tolerance_ns = std::min(p.tolerance_ns, max_delay_ns);
  }
  return p;
}

struct GcraResult {
  bool allowed = false;
  TimePoint new_tat{};                      // the key's TAT to store (refused: unchanged)
  std::chrono::nanoseconds retry_after{0};  // refused: time until a request conforms again
  std::uint64_t remaining = 0;              // requests that would still conform right now
  std::chrono::nanoseconds reset{0};        // time until the key has its full burst again
  std::chrono::nanoseconds wait{0};         // allowed: time until this request fits the steady
                                            // rate (what nginx without `nodelay` holds it for)
};

// One request of one key at `now`. A TAT of TimePoint{} (the epoch) is a key never seen. Pure.
inline GcraResult gcra(TimePoint tat, TimePoint now, const GcraParams& p) noexcept {
  using std::chrono::nanoseconds;
  GcraResult r;
  const std::int64_t now_ns = now.time_since_epoch().count();
  if (p.never) {
    r.new_tat = tat;
    r.retry_after = nanoseconds(p.emission_ns);
    r.reset = r.retry_after;
    return r;
  }
  const std::int64_t cap = p.tolerance_ns + p.emission_ns;  // conform iff new_tat - now <= cap
  std::int64_t base = std::max(tat.time_since_epoch().count(), now_ns);
  // Under one spec TAT never runs more than cap ahead of now; further ahead means a reload
  // loosened the limit, and the new rate applies from now on.
  if (base - now_ns > cap) base = now_ns + cap;
  const std::int64_t new_tat = base + p.emission_ns;
  const std::int64_t ahead = new_tat - now_ns;
  if (ahead <= cap) {
    r.allowed = true;
    r.new_tat = TimePoint(nanoseconds(new_tat));
    r.remaining = static_cast<std::uint64_t>((cap - ahead) / p.emission_ns);
    r.reset = nanoseconds(ahead);
    r.wait = nanoseconds(base - now_ns);
    return r;
  }
  r.new_tat = TimePoint(nanoseconds(base));
  r.retry_after = nanoseconds(base - p.tolerance_ns - now_ns);  // > 0 here
  r.reset = nanoseconds(base - now_ns);
  return r;
}

}  // namespace bawwab::limit
