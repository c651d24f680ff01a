#pragma once
// Time is injected: deciding code takes a time_point argument, tests use ManualClock.
#include <chrono>

namespace bawwab {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

// A clock the test moves by hand. Not thread-safe.
class ManualClock {
 public:
  TimePoint now() const noexcept { return now_; }
  void advance(SteadyClock::duration d) noexcept { now_ += d; }

 private:
  TimePoint now_{std::chrono::seconds(1'000'000)};
};

}  // namespace bawwab
