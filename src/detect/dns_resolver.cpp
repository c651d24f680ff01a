#include "bawwab/detect/dns_resolver.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace bawwab::detect {
namespace asio = boost::asio;

namespace {

class AresCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "c-ares"; }
  std::string message(int ev) const override { return ::ares_strerror(ev); }
};

// c-ares status -> ours. ENODATA: the name exists without a record of that type (no PTR).
DnsStatus dns_status_of(int ares_status) noexcept {
  switch (ares_status) {
    case ARES_SUCCESS:
      return DnsStatus::ok;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
      return DnsStatus::no_name;
    case ARES_ETIMEOUT:
      return DnsStatus::timeout;
    default:
      return DnsStatus::failure;  // SERVFAIL, refused, EDESTRUCTION, ECANCELLED...
  }
}

// One query's handler and deadline. Whichever comes first, the c-ares callback or the deadline
// timer, answers; the other finds `answered` set. Only the resolver thread touches it.
template <class Answer>
struct PendingQuery {
  PendingQuery(asio::io_context& ioc, std::function<void(Answer)> h)
      : deadline(ioc), handler(std::move(h)) {}
  void answer(Answer a) {
    if (answered) return;
    answered = true;
    deadline.cancel();
    auto h = std::move(handler);
    handler = nullptr;  // what it holds (the verifier's state) goes with this call
    h(std::move(a));
  }
  asio::steady_timer deadline;
  std::function<void(Answer)> handler;
  bool answered = false;
};

using PendingReverse = PendingQuery<ReverseAnswer>;
using PendingForward = PendingQuery<ForwardAnswer>;

void ares_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::ares_library_init(ARES_LIB_INIT_ALL); });
}

}  // namespace

std::string ptr_query_name(const net::Address& ip) {
  static constexpr char kHex[] = "0123456789abcdef";
  const net::Address a = net::canonical(ip);
  std::string out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  const auto b = a.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    const unsigned char byte = b[static_cast<std::size_t>(i)];
    out += kHex[byte & 0x0f];
    out += '.';
    out += kHex[byte >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

const boost::system::error_category& ares_category() noexcept {
  static const AresCategory category;
  return category;
}

struct AresResolver::Impl {
  // A socket c-ares opened, watched for what c-ares wants (ARES_OPT_SOCK_STATE_CB). `id` tells a
  // completion meant for a socket since closed from one for a new socket with the same number.
  struct Socket {
    Socket(asio::io_context& ioc, ares_socket_t fd, std::uint64_t id) : sd(ioc, fd), id(id) {}
    asio::posix::stream_descriptor sd;
    std::uint64_t id;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;  // an async_wait is outstanding
  };

  asio::io_context ioc{1};
  asio::steady_timer channel_timer{ioc};  // c-ares' own retransmissions and per-try timeouts
  std::unordered_map<ares_socket_t, std::unique_ptr<Socket>> sockets;
  std::uint64_t next_socket_id = 0;
  ares_channel channel = nullptr;
  bool closing = false;  // the destructor runs: sockets are no longer watched
  std::thread thread;

  ~Impl() {
    ioc.stop();
    if (thread.joinable()) thread.join();
    // The thread is gone: this one may call c-ares now. Stop watching the sockets first (c-ares
    // closes them), then let ares_destroy answer every query still running (ARES_EDESTRUCTION).
    // Queries posted but never started are dropped with the io_context, their handlers uncalled.
    closing = true;
    for (auto& [fd, s] : sockets) s->sd.release();
    sockets.clear();
    if (channel != nullptr) ::ares_destroy(channel);
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->sock_state(fd, readable != 0, writable != 0);
  }

  void sock_state(ares_socket_t fd, bool readable, bool writable) {
    if (closing) return;
    auto it = sockets.find(fd);
    if (!readable && !writable) {
      // c-ares closes the socket itself: release (not close) the descriptor; its waits end with
      // operation_aborted.
      if (it != sockets.end()) {
        it->second->sd.release();
        sockets.erase(it);
      }
      return;
    }
    if (it == sockets.end())
      it = sockets.emplace(fd, std::make_unique<Socket>(ioc, fd, ++next_socket_id)).first;
    Socket& s = *it->second;
    s.want_read = readable;
    s.want_write = writable;
    watch(s);
  }

  void watch(Socket& s) {
    if (s.want_read && !s.reading) {
      s.reading = true;
      s.sd.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, fd = s.sd.native_handle(), id = s.id](boost::system::error_code ec) {
                        ready(fd, id, ec, true);
                      });
    }
    if (s.want_write && !s.writing) {
      s.writing = true;
      s.sd.async_wait(asio::posix::stream_descriptor::wait_write,
                      [this, fd = s.sd.native_handle(), id = s.id](boost::system::error_code ec) {
                        ready(fd, id, ec, false);
                      });
    }
  }

  void ready(ares_socket_t fd, std::uint64_t id, boost::system::error_code ec, bool read) {
    if (ec == asio::error::operation_aborted) return;  // released: c-ares closed it
    auto it = sockets.find(fd);
    if (it == sockets.end() || it->second->id != id) return;
    (read ? it->second->reading : it->second->writing) = false;
    // Any other error (the socket failed): c-ares' own read or write sees it and moves on.
    ::ares_process_fd(channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
    it = sockets.find(fd);  // processing may have closed it, or opened others
    if (it != sockets.end() && it->second->id == id) watch(*it->second);
    arm_channel_timer();
  }

  // After every call into c-ares: its next retransmission or per-try timeout.
  void arm_channel_timer() {
    timeval tv{};
    const timeval* t = ::ares_timeout(channel, nullptr, &tv);
    if (t == nullptr) {
      channel_timer.cancel();
      return;
    }
    channel_timer.expires_after(std::chrono::seconds(t->tv_sec) +
                                std::chrono::microseconds(t->tv_usec));
    channel_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      ::ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      arm_channel_timer();
    });
  }

  template <class Pending, class Answer>
  std::shared_ptr<Pending> make_pending(TimePoint deadline, std::function<void(Answer)> done) {
    auto q = std::make_shared<Pending>(ioc, std::move(done));
    q->deadline.expires_at(deadline);
    q->deadline.async_wait([q](boost::system::error_code ec) {
      if (!ec) q->answer(Answer{DnsStatus::timeout, {}});
    });
    return q;
  }

  // Resolver thread. c-ares calls on_reverse exactly once, at the latest from ares_destroy.
  // ares_query, not ares_gethostbyaddr: the latter reports a timeout or SERVFAIL as "not found",
  // which would cache a slow server's crawler as having no name for negative_ttl.
  void start_reverse(const net::Address& ip, TimePoint deadline, ReverseHandler done) {
    auto q = make_pending<PendingReverse>(deadline, std::move(done));
    ::ares_query(channel, ptr_query_name(ip).c_str(), ns_c_in, ns_t_ptr, &on_reverse,
                 new std::shared_ptr<PendingReverse>(std::move(q)));
    arm_channel_timer();
  }

  static void on_reverse(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    const std::unique_ptr<std::shared_ptr<PendingReverse>> q(
        static_cast<std::shared_ptr<PendingReverse>*>(arg));
    ReverseAnswer a{dns_status_of(status), {}};
    if (a.status == DnsStatus::ok) {
      // The address only fills the hostent's address list, which is not used.
      const std::array<unsigned char, 4> unused{};
      hostent* host = nullptr;
      const int rc = ::ares_parse_ptr_reply(abuf, alen, unused.data(), 4, AF_INET, &host);
      a.status = dns_status_of(rc);
      if (rc == ARES_SUCCESS && host != nullptr && host->h_name != nullptr)
        a.name = host->h_name;
      else if (rc == ARES_SUCCESS)
        a.status = DnsStatus::no_name;
      if (host != nullptr) ::ares_free_hostent(host);
    }
    (*q)->answer(std::move(a));
  }

  void start_forward(const std::string& name, TimePoint deadline, ForwardHandler done) {
    auto q = make_pending<PendingForward>(deadline, std::move(done));
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;  // A and AAAA
    hints.ai_flags = ARES_AI_NOSORT;
    ::ares_getaddrinfo(channel, name.c_str(), nullptr, &hints, &on_forward,
                       new std::shared_ptr<PendingForward>(std::move(q)));
    arm_channel_timer();
  }

  static void on_forward(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
    const std::unique_ptr<std::shared_ptr<PendingForward>> q(
        static_cast<std::shared_ptr<PendingForward>*>(arg));
    ForwardAnswer a{dns_status_of(status), {}};
    if (res != nullptr) {
      for (const ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_family == AF_INET) {
          asio::ip::address_v4::bytes_type b;
          std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(n->ai_addr)->sin_addr, 4);
          a.addresses.emplace_back(asio::ip::address_v4(b));
        } else if (n->ai_family == AF_INET6) {
          asio::ip::address_v6::bytes_type b;
          std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(n->ai_addr)->sin6_addr, 16);
          a.addresses.emplace_back(asio::ip::address_v6(b));
        }
      }
      ::ares_freeaddrinfo(res);
    }
    (*q)->answer(std::move(a));
  }
};

boost::system::result<std::unique_ptr<AresResolver>> AresResolver::create(
    const AresConfig& config) {
  ares_init_once();
  auto impl = std::make_unique<Impl>();
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
             ARES_OPT_FLAGS;
  opts.sock_state_cb = &Impl::on_sock_state;
  opts.sock_state_cb_data = impl.get();
  opts.timeout = static_cast<int>(std::max<std::int64_t>(1, config.timeout.count() / 3));
  opts.tries = 2;
  opts.lookups = const_cast<char*>("b");  // DNS only; c-ares copies the string
  // A PTR name is absolute: never try it under the host's search domains.
  opts.flags = ARES_FLAG_NOSEARCH;
  if (const int rc = ::ares_init_options(&impl->channel, &opts, mask); rc != ARES_SUCCESS) {
    impl->channel = nullptr;  // c-ares freed what it had
    return boost::system::error_code(rc, ares_category());
  }
  if (!config.servers.empty()) {
    if (const int rc = ::ares_set_servers_ports_csv(impl->channel, config.servers.c_str());
        rc != ARES_SUCCESS) {
      return boost::system::error_code(rc, ares_category());
    }
  }
  Impl* p = impl.get();
  p->thread = std::thread([p] {
    auto guard = asio::make_work_guard(p->ioc);
    p->ioc.run();
  });
  return std::unique_ptr<AresResolver>(new AresResolver(std::move(impl)));
}

AresResolver::AresResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AresResolver::~AresResolver() = default;

DnsResolver AresResolver::resolver() {
  DnsResolver r;
  Impl* impl = impl_.get();
  r.reverse = [impl](const net::Address& ip, TimePoint deadline, ReverseHandler done) {
    asio::post(impl->ioc, [impl, ip, deadline, done = std::move(done)]() mutable {
      impl->start_reverse(ip, deadline, std::move(done));
    });
  };
  r.forward = [impl](const std::string& name, TimePoint deadline, ForwardHandler done) {
    asio::post(impl->ioc, [impl, name, deadline, done = std::move(done)]() mutable {
      impl->start_forward(name, deadline, std::move(done));
    });
  };
  return r;
}

}  // namespace bawwab::detect
