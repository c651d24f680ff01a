#pragma once
// Where a limit's state lives: in this process (LocalStore over LocalLimiter) or in Redis for a
// fleet (RedisStore). The session asks its worker's store for each limit of a request and never
// knows which one it has; the choice is made once, when the server starts.
#include <boost/asio/awaitable.hpp>

#include "bawwab/core/clock.hpp"
#include "bawwab/limit/key.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/spec.hpp"

namespace bawwab::limit {

class Store {
 public:
  virtual ~Store() = default;
  // The verdict of `spec` for the request whose key parts are `in`, at `now` (the caller's
  // steady clock). `spec` and `in` must stay valid until it completes. Never throws; a store
  // that cannot answer says so in the verdict (Verdict::fallback).
  virtual boost::asio::awaitable<Verdict> check(const LimitSpec& spec, const KeyInput& in,
                                                TimePoint now) = 0;
};

// The in-process store: the shared LocalLimiter, answered at once. Thread-safe (the limiter is);
// `limiter` must outlive it.
class LocalStore final : public Store {
 public:
  explicit LocalStore(LocalLimiter& limiter) : limiter_(limiter) {}
  boost::asio::awaitable<Verdict> check(const LimitSpec& spec, const KeyInput& in,
                                        TimePoint now) override;

 private:
  LocalLimiter& limiter_;
};

}  // namespace bawwab::limit
