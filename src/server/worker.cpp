// The worker's thread-hopping controls (drain, forced close) and the accept-time connection gate.
// Session code lives in session.cpp; Worker::start_session is there because it names the session
// types.
#include <boost/asio/post.hpp>

#include <vector>

#include "worker.hpp"

namespace bawwab::server {
namespace asio = boost::asio;

void Worker::begin_drain() {
  asio::post(ioc_, [this] {
    draining_ = true;
    pool_.close_all();
    // Copy: drain() may end a session synchronously in a later handler, never re-entrantly here.
    const std::vector<SessionHandle*> sessions(sessions_.begin(), sessions_.end());
    for (auto* s : sessions) s->drain();
  });
}

void Worker::force_close() {
  asio::post(ioc_, [this] {
    const std::vector<SessionHandle*> sessions(sessions_.begin(), sessions_.end());
    for (auto* s : sessions) s->force_close();
    pool_.close_all();
  });
}

ConnectionGate::Verdict ConnectionGate::admit(const net::Address& ip, std::uint32_t max_total,
                                              std::uint32_t max_per_ip) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total) return Verdict::over_total;
  auto& count = per_ip_[ip.to_string()];
  if (count >= max_per_ip) {
    if (count == 0) per_ip_.erase(ip.to_string());
    return Verdict::over_per_ip;
  }
  ++count;
  ++total_;
  return Verdict::admitted;
}

void ConnectionGate::release(const net::Address& ip) {
  std::lock_guard lock(mutex_);
  const auto it = per_ip_.find(ip.to_string());
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
  --total_;
}

std::size_t ConnectionGate::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace bawwab::server
