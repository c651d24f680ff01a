#include "asio_hiredis.hpp"

#include <hiredis/async.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <memory>

namespace bawwab::limit::detail {
namespace {

namespace asio = boost::asio;
using Wait = asio::posix::stream_descriptor::wait_type;

// Waits are armed at most once per direction; a wait that completes after hiredis lost interest
// (delRead/delWrite) is ignored, and re-arming later is safe because Asio re-arms the edge-
// triggered epoll registration (EPOLL_CTL_MOD) on each new wait, which reports a socket that is
// already ready.
class Adapter : public std::enable_shared_from_this<Adapter> {
 public:
  Adapter(redisAsyncContext* ac, asio::io_context& ioc) : ac_(ac), socket_(ioc) {}

  bool attach() {
    boost::system::error_code ec;
    socket_.assign(ac_->c.fd, ec);
    if (ec) return false;
    self_ = shared_from_this();  // hiredis's reference, dropped in cleanup
    ac_->ev.data = this;
    ac_->ev.addRead = [](void* p) { static_cast<Adapter*>(p)->want(Wait::wait_read, true); };
    ac_->ev.delRead = [](void* p) { static_cast<Adapter*>(p)->want(Wait::wait_read, false); };
    ac_->ev.addWrite = [](void* p) { static_cast<Adapter*>(p)->want(Wait::wait_write, true); };
    ac_->ev.delWrite = [](void* p) { static_cast<Adapter*>(p)->want(Wait::wait_write, false); };
    ac_->ev.cleanup = [](void* p) { static_cast<Adapter*>(p)->cleanup(); };
    return true;
  }

 private:
  struct Direction {
    bool wanted = false;
    bool armed = false;
  };

  Direction& direction(Wait w) { return w == Wait::wait_read ? read_ : write_; }

  void want(Wait w, bool on) {
    Direction& d = direction(w);
    d.wanted = on;
    if (on && !d.armed && ac_ != nullptr) arm(w);
  }

  void arm(Wait w) {
    direction(w).armed = true;
    socket_.async_wait(w, [self = shared_from_this(), w](const boost::system::error_code& ec) {
      self->ready(w, ec);
    });
  }

  void ready(Wait w, const boost::system::error_code& ec) {
    Direction& d = direction(w);
    d.armed = false;
    if (ac_ == nullptr || !d.wanted || ec == asio::error::operation_aborted) return;
    // Any other error of the wait itself: let hiredis try the socket and find out.
    // May free the context (on a socket error or EOF): cleanup() then runs inside this call,
    // and hiredis re-adds the interests it still has (which re-arms) when it does not.
    if (w == Wait::wait_read) {
      redisAsyncHandleRead(ac_);
    } else {
      redisAsyncHandleWrite(ac_);
    }
  }

  void cleanup() {
    ac_ = nullptr;
    // hiredis closes the descriptor right after this; release() also cancels pending waits
    // (their handlers hold a reference and see ac_ == nullptr).
    socket_.release();
    self_.reset();  // may be the last reference only if no wait is pending
  }

  redisAsyncContext* ac_;
  asio::posix::stream_descriptor socket_;
  Direction read_;
  Direction write_;
  std::shared_ptr<Adapter> self_;
};

}  // namespace

bool attach_asio(redisAsyncContext* ac, asio::io_context& ioc) {
  if (ac == nullptr || ac->ev.data != nullptr) return false;
  return std::make_shared<Adapter>(ac, ioc)->attach();
}

}  // namespace bawwab::limit::detail
