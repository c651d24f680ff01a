#pragma once
// Internal to the server module: the two ways a session puts a deadline on a socket. Both cancel
// the socket's pending operations when they fire, so the awaited operation ends with an error and
// the caller asks fired() to tell a timeout from a failure.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "bawwab/core/clock.hpp"

namespace bawwab::server {

// A one-shot timer that cancels a socket's pending operations when it fires, unless disarmed first.
// The flag is shared with the handler so that an expiry already queued when we disarm does nothing.
// Not thread-safe (the session's strand); the socket must outlive the armed deadline.
class SocketDeadline {
 public:
  explicit SocketDeadline(boost::asio::any_io_executor ex) : timer_(ex) {}
  ~SocketDeadline() { disarm(); }

  void arm(boost::asio::ip::tcp::socket& socket, std::chrono::steady_clock::duration d) {
    disarm();
    armed_ = std::make_shared<bool>(true);
    fired_ = std::make_shared<bool>(false);
    timer_.expires_after(d);
    timer_.async_wait([armed = armed_, fired = fired_, &socket](boost::beast::error_code ec) {
      if (ec || !*armed) return;
      *fired = true;
      boost::beast::error_code ignored;
      socket.cancel(ignored);
    });
  }
  void disarm() {
    if (armed_) *armed_ = false;
    timer_.cancel();
  }
  bool fired() const { return fired_ && *fired_; }

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> armed_;
  std::shared_ptr<bool> fired_;
};

// The client's idle/header deadline. Re-armed twice per request (idle wait, then header), so it
// is lazy: arming only moves a time point, and the one outstanding timer wait re-waits when it
// wakes early. In steady keep-alive traffic that is no timer operation per request at all.
// Not thread-safe (the session's strand); detaches from the socket when destroyed.
class LazyDeadline {
 public:
  LazyDeadline(boost::asio::any_io_executor ex, boost::asio::ip::tcp::socket& socket)
      : state_(std::make_shared<State>(ex, socket)) {}
  ~LazyDeadline() {
    state_->socket = nullptr;
    state_->armed = false;
    state_->timer.cancel();
  }

  void arm(std::chrono::steady_clock::duration d) {
    State& s = *state_;
    s.deadline = SteadyClock::now() + d;
    s.armed = true;
    s.fired = false;
    if (!s.waiting || s.deadline < s.wait_until) start(state_);
  }
  void disarm() { state_->armed = false; }
  bool fired() const { return state_->fired; }
  // Points the deadline at another socket (the upstream one changes per request).
  void attach(boost::asio::ip::tcp::socket& socket) {
    state_->socket = &socket;
    state_->armed = false;
    state_->fired = false;
  }

 private:
  struct State {
    State(boost::asio::any_io_executor ex, boost::asio::ip::tcp::socket& s)
        : timer(ex), socket(&s) {}
    boost::asio::steady_timer timer;
    boost::asio::ip::tcp::socket* socket;
    TimePoint deadline{};
    TimePoint wait_until{};
    std::uint64_t wait_id = 0;
    bool armed = false;
    bool fired = false;
    bool waiting = false;
  };

  static void start(const std::shared_ptr<State>& state) {
    State& s = *state;
    s.waiting = true;
    s.wait_until = s.deadline;
    const std::uint64_t id = ++s.wait_id;
    s.timer.expires_at(s.deadline);  // cancels an earlier wait, whose handler sees a stale id
    s.timer.async_wait([state, id](boost::beast::error_code ec) {
      State& st = *state;
      if (id != st.wait_id) return;
      st.waiting = false;
      if (ec || st.socket == nullptr || !st.armed) return;
      if (SteadyClock::now() < st.deadline) {
        start(state);  // re-armed later since this wait began
        return;
      }
      st.fired = true;
      st.armed = false;
      boost::beast::error_code ignored;
      st.socket->cancel(ignored);
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace bawwab::server
