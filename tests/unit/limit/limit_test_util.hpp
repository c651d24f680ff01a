#pragma once
// Helpers for the limit module's tests: a LimitSpec in one line. Header-only; tests only.
#include <chrono>
#include <string>

#include "bawwab/limit/spec.hpp"

namespace bawwab::limit::test {

// `count` per `period`, `burst`, what to do on exceed; key {ip}.
inline LimitSpec spec(std::string name, std::uint64_t count, std::chrono::seconds period,
                      std::uint32_t burst, OnExceed on_exceed = OnExceed::reject) {
  LimitSpec s;
  s.name = std::move(name);
  s.key = {KeyComponent{KeyPart::ip, {}}};
  s.count = count;
  s.period = period;
  s.burst = burst;
  s.on_exceed = on_exceed;
  s.rate_text = std::to_string(count) + "/" + std::to_string(period.count()) + "s";
  return s;
}

}  // namespace bawwab::limit::test
