#include "bawwab/proxy/upstream.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

namespace bawwab::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

ServerState::ServerState(std::string url, std::string host, std::uint16_t port)
    : url_(std::move(url)), host_(std::move(host)), port_(port) {}

bool ServerState::available(TimePoint now) const noexcept {
  return down_until_.load(std::memory_order_relaxed) <= now.time_since_epoch().count();
}

void ServerState::record_success() noexcept {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  down_until_.store(0, std::memory_order_relaxed);  // it answered: back in the rotation
}

void ServerState::record_failure(TimePoint now, unsigned max_fails,
                                 std::chrono::seconds fail_timeout) noexcept {
  failures_.fetch_add(1, std::memory_order_relaxed);
  const unsigned fails = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (max_fails > 0 && fails >= max_fails) {
    const auto until = now + fail_timeout;
    down_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
    // Start counting again after the pause: one more failure then marks it down again.
    consecutive_failures_.store(max_fails - 1, std::memory_order_relaxed);
  }
}

ServerState& UpstreamRegistry::get(const config::UpstreamServer& server) {
  std::lock_guard lock(mutex_);
  auto& slot = states_[server.url];
  if (!slot) slot = std::make_unique<ServerState>(server.url, server.host, server.port);
  return *slot;
}

std::vector<const ServerState*> UpstreamRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<const ServerState*> out;
  out.reserve(states_.size());
  for (const auto& [url, state] : states_) out.push_back(state.get());
  return out;
}

UpstreamSet::UpstreamSet(const config::ServerConfig& cfg, UpstreamRegistry& registry) {
  for (const auto& [name, group] : cfg.upstreams) {
    auto g = std::make_unique<GroupState>();
    g->config = &group;
    for (const auto& server : group.servers) g->servers.push_back(&registry.get(server));
    groups_.emplace(name, std::move(g));
  }
}

const GroupState* UpstreamSet::find(const std::string& group) const {
  const auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::vector<ServerState*> try_order(const GroupState& group, TimePoint now) {
  const std::size_t n = group.servers.size();
  std::vector<ServerState*> order;
  order.reserve(n);
  if (n == 0) return order;
  const std::size_t start = group.cursor.fetch_add(1, std::memory_order_relaxed) % n;
  for (std::size_t i = 0; i < n; ++i) {
    ServerState* s = group.servers[(start + i) % n];
    if (s->available(now)) order.push_back(s);
  }
  for (std::size_t i = 0; i < n; ++i) {
    ServerState* s = group.servers[(start + i) % n];
    if (!s->available(now)) order.push_back(s);
  }
  return order;
}

namespace {

constexpr std::chrono::milliseconds kTrustedIdle{500};

// True when the idle connection still looks usable: nothing to read and no FIN from the peer.
// Catches most "origin closed its keep-alive" races before a request is written.
bool still_open(tcp::socket& stream) {
  char byte;
  const ssize_t n =
      ::recv(stream.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<tcp::socket> ConnectionPool::take(const ServerState& server, TimePoint now,
                                                      std::chrono::milliseconds idle_timeout) {
  const auto it = idle_by_server_.find(&server);
  if (it == idle_by_server_.end()) return std::nullopt;
  auto& list = it->second;
  while (!list.empty()) {
    Idle idle = std::move(list.back());  // most recently used: the least likely to be closed
    list.pop_back();
    --idle_;
    // The peek costs a syscall; a connection that was busy a moment ago is very unlikely to be
    // closed already (and an idempotent request is retried if it was).
    const bool fresh = now - idle.since < kTrustedIdle;
    if (now - idle.since < idle_timeout && (fresh || still_open(*idle.stream))) {
      return std::move(*idle.stream);
    }
    beast::error_code ignored;
    idle.stream->close(ignored);
  }
  return std::nullopt;
}

void ConnectionPool::put(const ServerState& server, tcp::socket stream, TimePoint now,
                         unsigned capacity) {
  auto& list = idle_by_server_[&server];
  if (list.size() >= capacity) {
    beast::error_code ignored;
    stream.close(ignored);
    return;
  }
  list.push_back(Idle{std::make_unique<tcp::socket>(std::move(stream)), now});
  ++idle_;
}

void ConnectionPool::sweep(TimePoint now, std::chrono::milliseconds idle_timeout) {
  for (auto& [server, list] : idle_by_server_) {
    std::erase_if(list, [&](Idle& idle) {
      if (now - idle.since < idle_timeout && still_open(*idle.stream)) return false;
      beast::error_code ignored;
      idle.stream->close(ignored);
      --idle_;
      return true;
    });
  }
}

void ConnectionPool::close_all() {
  for (auto& [server, list] : idle_by_server_) {
    for (auto& idle : list) {
      beast::error_code ignored;
      idle.stream->close(ignored);
    }
  }
  idle_by_server_.clear();
  idle_ = 0;
}

asio::awaitable<Result<tcp::socket>> connect_upstream(asio::any_io_executor ex,
                                                      const ServerState& server,
                                                      std::chrono::milliseconds timeout) {
  constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
  const auto failed = [](Errc e) {
    return Result<tcp::socket>(boost::system::in_place_error, make_error_code(e));
  };
  std::vector<tcp::endpoint> endpoints;
  beast::error_code ec;
  const auto literal = asio::ip::make_address(server.host(), ec);
  if (!ec) {
    endpoints.emplace_back(literal, server.port());
  } else {
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(server.host(), std::to_string(server.port()),
                                                          nothrow);
    if (rec) co_return failed(Errc::upstream_connect_failed);
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  tcp::socket socket(ex);
  // The deadline closes the socket; the flag, shared with the handler, tells a timeout from a
  // refusal and keeps a late expiry from touching anything once we are done.
  auto done = std::make_shared<bool>(false);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(ex, timeout);
  timer.async_wait([done, timed_out, &socket](beast::error_code tec) {
    if (tec || *done) return;
    *timed_out = true;
    // close, not cancel: the ranged async_connect moves on to the next address after a
    // cancelled attempt, but stops when the socket is closed.
    beast::error_code ignored;
    socket.close(ignored);
  });
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, nothrow);
  *done = true;
  timer.cancel();
  if (*timed_out) co_return failed(Errc::upstream_timeout);
  if (cec) co_return failed(Errc::upstream_connect_failed);
  socket.set_option(tcp::no_delay(true), ec);
  co_return std::move(socket);
}

}  // namespace bawwab::proxy
