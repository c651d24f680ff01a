#include "bawwab/status/status_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <exception>
#include <list>
#include <string_view>

#include "bawwab/core/log.hpp"

namespace bawwab::status {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Stats {
  Counter& requests;
  Counter& rejected;
  Counter& errors;
};

Stats& stats() {
  static Stats s{
      default_registry().counter("bawwab_status_requests_total",
                                 "Requests answered by the status listener."),
      default_registry().counter("bawwab_status_connections_rejected_total",
                                 "Status connections closed because too many were open."),
      default_registry().counter("bawwab_status_session_errors_total",
                                 "Status listener coroutines that ended with an exception."),
  };
  return s;
}

void log_exception(std::string_view where, std::exception_ptr e) {
  if (!e) return;
  stats().errors.inc();
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(std::string("status server: ") + std::string(where) + ": " + ex.what());
  } catch (...) {
    log::error(std::string("status server: ") + std::string(where) + ": unknown exception");
  }
}

bool is_http_parse_error(const error_code& ec) {
  static const auto& category = make_error_code(http::error::bad_target).category();
  return ec.category() == category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

using Response = http::response<http::string_body>;

Response make_response(unsigned version, bool keep_alive, http::status status,
                       std::string_view content_type, std::string body, bool head) {
  Response res{status, version};
  res.set(http::field::server, "bawwab");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(keep_alive);
  if (head) {
    // A HEAD reply carries the length the GET reply would have, and no body.
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace

struct StatusServer::State {
  State(asio::io_context& ioc, const tcp::endpoint& listen, StatusProviders p,
        StatusServerLimits l)
      : ioc(ioc),
        strand(asio::make_strand(ioc)),
        acceptor(strand),
        listen(listen),
        providers(std::move(p)),
        limits(l) {}

  asio::io_context& ioc;
  asio::strand<asio::io_context::executor_type> strand;  // everything below runs on it
  tcp::acceptor acceptor;
  tcp::endpoint listen;
  tcp::endpoint bound;
  StatusProviders providers;
  StatusServerLimits limits;
  std::list<beast::tcp_stream> connections;  // open status connections, for stop()
  bool stopped = false;
  std::atomic<std::uint64_t> rejected{0};

  using Connections = std::list<beast::tcp_stream>;

  Response route(const http::request<http::string_body>& req);
  void do_stop();
  // One connection: read a request, answer it, repeat while keep-alive; every read and write
  // has a deadline. The connection stays in st->connections while this runs.
  static asio::awaitable<void> session(std::shared_ptr<State> st, Connections::iterator it);
  static asio::awaitable<void> accept_loop(std::shared_ptr<State> st);
};

Response StatusServer::State::route(const http::request<http::string_body>& req) {
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  const bool head = req.method() == http::verb::head;
  if (req.method() != http::verb::get && !head) {
    Response res = make_response(version, keep_alive, http::status::method_not_allowed,
                                 "text/plain; charset=utf-8", "method not allowed\n", false);
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  std::string_view path = req.target();
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);

  try {
    if (path == "/status") {
      boost::json::object doc = providers.status ? providers.status() : boost::json::object{};
      return make_response(version, keep_alive, http::status::ok, "application/json",
                           boost::json::serialize(doc) + "\n", head);
    }
    if (path == "/metrics") {
      return make_response(version, keep_alive, http::status::ok,
                           "text/plain; version=0.0.4; charset=utf-8",
                           providers.registry ? providers.registry->prometheus_text() : "", head);
    }
    if (path == "/healthz") {
      if (!providers.healthy || providers.healthy()) {
        return make_response(version, keep_alive, http::status::ok, "text/plain; charset=utf-8",
                             "ok\n", head);
      }
      std::string reason = providers.unhealthy_reason ? providers.unhealthy_reason() : "";
      if (reason.empty()) reason = "not ready";
      return make_response(version, keep_alive, http::status::service_unavailable,
                           "text/plain; charset=utf-8", reason + "\n", head);
    }
  } catch (const std::exception& e) {
    stats().errors.inc();
    log::error(std::string("status server: provider for ") + std::string(path) +
               " failed: " + e.what());
    return make_response(version, keep_alive, http::status::internal_server_error,
                         "text/plain; charset=utf-8", "internal error\n", head);
  }
  return make_response(version, keep_alive, http::status::not_found, "text/plain; charset=utf-8",
                       "not found\n", head);
}

void StatusServer::State::do_stop() {
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  // Closing cancels each session's pending read or write; the session then ends on its own and
  // removes itself from the list.
  for (auto& c : connections) {
    c.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.close();
  }
}

asio::awaitable<void> StatusServer::State::session(std::shared_ptr<State> st,
                                                   Connections::iterator it) {
  struct Unregister {
    State& st;
    Connections::iterator it;
    ~Unregister() { st.connections.erase(it); }
  } unregister{*st, it};
  beast::tcp_stream& stream = *it;
  const StatusServerLimits& limits = st->limits;
  beast::flat_buffer buffer(limits.header_limit + limits.body_limit + 1024);

  while (!st->stopped) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    stream.expires_after(limits.idle_timeout);  // idle keep-alive and slow headers alike
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) {
      // Malformed or oversized requests get a status before the close; timeouts, resets and a
      // clean close by the client just end the connection.
      http::status status{};
      if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
      else if (ec == http::error::body_limit) status = http::status::payload_too_large;
      else if (is_http_parse_error(ec)) status = http::status::bad_request;
      if (status != http::status{} && !st->stopped) {
        Response res = make_response(11, false, status, "text/plain; charset=utf-8",
                                     std::string(http::obsolete_reason(status)) + "\n", false);
        stream.expires_after(limits.write_timeout);
        co_await http::async_write(stream, res, use_tuple);
      }
      break;
    }
    stats().requests.inc();
    Response res = st->route(parser.get());
    stream.expires_after(limits.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
    if (wec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

asio::awaitable<void> StatusServer::State::accept_loop(std::shared_ptr<State> st) {
  asio::steady_timer backoff(st->strand);
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopped || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors and the like: wait a little instead of spinning on the error.
      log::warning("status server: accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (st->connections.size() >= st->limits.max_connections) {
      // A flood on the status port must not take descriptors from the proxy.
      st->rejected.fetch_add(1, std::memory_order_relaxed);
      stats().rejected.inc();
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto it = st->connections.emplace(st->connections.end(), std::move(socket));
    asio::co_spawn(st->strand, session(st, it),
                   [](std::exception_ptr e) { log_exception("session", e); });
  }
}

StatusServer::StatusServer(asio::io_context& ioc, const tcp::endpoint& listen, StatusProviders p,
                           StatusServerLimits limits)
    : state_(std::make_shared<State>(ioc, listen, std::move(p), limits)) {
  stats();  // register the counters at start-up, not on the first request
}

StatusServer::~StatusServer() { stop(); }

error_code StatusServer::start() {
  State& st = *state_;
  error_code ec;
  if (st.acceptor.is_open()) return asio::error::already_open;
  st.acceptor.open(st.listen.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(st.listen, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) st.bound = st.acceptor.local_endpoint(ec);
  if (ec) {
    error_code ignored;
    st.acceptor.close(ignored);
    return ec;
  }
  st.stopped = false;
  asio::co_spawn(st.strand, State::accept_loop(state_),
                 [](std::exception_ptr e) { log_exception("accept loop", e); });
  return {};
}

tcp::endpoint StatusServer::local_endpoint() const { return state_->bound; }

void StatusServer::stop() {
  // With the io_context stopped no handler can run concurrently, and a dispatched call would
  // wait for a run() that may never come: stop inline then.
  if (state_->ioc.stopped()) {
    state_->do_stop();
    return;
  }
  asio::dispatch(state_->strand, [st = state_] { st->do_stop(); });
}

std::uint64_t StatusServer::rejected_connections() const noexcept {
  return state_->rejected.load(std::memory_order_relaxed);
}

}  // namespace bawwab::status
