#include "bawwab/limit/store.hpp"

namespace bawwab::limit {

boost::asio::awaitable<Verdict> LocalStore::check(const LimitSpec& spec, const KeyInput& in,
                                                  TimePoint now) {
  co_return limiter_.check(spec, key_hash(spec, in), now);
}

}  // namespace bawwab::limit
