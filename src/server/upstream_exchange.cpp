#include "upstream_exchange.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/log.hpp"

namespace bawwab::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;

bool is_idempotent(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
      return true;
    default:
      return false;
  }
}

}  // namespace

template <class Stream>
UpstreamExchange<Stream>::UpstreamExchange(Worker& worker, Stream& client,
                                           LazyDeadline& client_deadline, BodyRelay& relay)
    : worker_(worker),
      stats_(worker.shared().stats),
      client_(client),
      client_deadline_(client_deadline),
      relay_(relay),
      // Pointed at each upstream socket in turn (attach); never armed before the first.
      up_deadline_(worker.ioc().get_executor(), beast::get_lowest_layer(client)) {}

template <class Stream>
void UpstreamExchange<Stream>::prepare(const pipeline::RequestContext& ctx,
                                       const pipeline::Runtime& rt, RequestParser& request,
                                       beast::flat_buffer& client_buffer, bool body_pending) {
  request_ = &request;
  client_buffer_ = &client_buffer;
  auto& up_req = request.get();
  const bool had_length = up_req.find(bhttp::field::content_length) != up_req.end();
  expect_continue_ = body_pending && beast::iequals(up_req[bhttp::field::expect], "100-continue");
  pipeline::prepare_upstream_request(ctx, rt, up_req.base());
  if (body_pending) {
    if (request.chunked())
      up_req.chunked(true);
    else
      up_req.content_length(request.content_length().value_or(0));
  } else if (had_length) {
    up_req.content_length(0);
  }
  if (!expect_continue_) up_req.erase(bhttp::field::expect);
  body_started_ = false;
  client_body_unread_ = false;
  final_from_expect_ = false;
  upstream_error_ = Errc::ok;
}

template <class Stream>
asio::awaitable<bool> UpstreamExchange<Stream>::send(const pipeline::RequestContext& ctx,
                                                     const Generation& gen,
                                                     pipeline::Outcome& outcome,
                                                     bool head_request) {
  const config::ServerConfig& cfg = *gen.runtime->config;
  const proxy::GroupState* group = gen.upstreams->find(ctx.upstream->name);
  std::vector<proxy::ServerState*> order;
  if (group != nullptr) order = proxy::try_order(*group, SteadyClock::now());
  failure_ = Errc::no_upstream;
  unsigned retries = 0;
  for (std::size_t i = 0; i < order.size();) {
    proxy::ServerState& server = *order[i];
    const Attempt a = co_await attempt(ctx, cfg, *group, server, head_request, outcome);
    if (a == Attempt::done) {
      group_ = group;
      server_ = &server;
      co_return true;
    }
    failure_ = upstream_error_;
    if (a == Attempt::retry && retries < group->config->keepalive + 1) {
      ++retries;
      stats_.upstream_retries.inc();
      continue;  // same server, another (or a new) connection
    }
    if (a == Attempt::failed) break;
    ++i;
  }
  co_return false;
}

// Sends the request head (and body) to `server` and reads the response head into resp_.
template <class Stream>
asio::awaitable<typename UpstreamExchange<Stream>::Attempt> UpstreamExchange<Stream>::attempt(
    const pipeline::RequestContext& ctx, const config::ServerConfig& cfg,
    const proxy::GroupState& group, proxy::ServerState& server, bool head_request,
    pipeline::Outcome& outcome) {
  const auto& timeouts = cfg.timeouts;
  const auto fail = [&](Errc e) {
    upstream_error_ = e;
    server.record_failure(SteadyClock::now(), group.config->max_fails, group.config->fail_timeout);
  };
  bool reused = false;
  up_.reset();
  if (auto pooled = worker_.pool().take(server, SteadyClock::now(), timeouts.upstream_idle)) {
    up_.emplace(std::move(*pooled));
    reused = true;
    stats_.upstream_connections_reused.inc();
  } else {
    auto conn = co_await proxy::connect_upstream(worker_.ioc().get_executor(), server,
                                                 timeouts.upstream_connect);
    if (!conn) {
      (conn.error() == Errc::upstream_timeout ? stats_.upstream_timeouts
                                              : stats_.upstream_connect_failures)
          .inc();
      fail(static_cast<Errc>(conn.error().value()));
      log::warning("upstream " + server.url() + ": " + conn.error().message());
      co_return Attempt::next_server;
    }
    up_.emplace(std::move(*conn));
    server.count_connect();
    stats_.upstream_connections_opened.inc();
  }
  upstream_ = &*up_;
  up_deadline_.attach(*up_);
  server.count_request();
  server.add_active(1);
  struct Active {
    proxy::ServerState& s;
    ~Active() { s.add_active(-1); }
  } active{server};
  outcome.upstream = server.url();
  const bool may_retry = reused && !body_started_ && is_idempotent(ctx.request->method());
  const auto sent_at = SteadyClock::now();

  auto& up_req = request_->get();
  up_req.body().data = nullptr;
  up_req.body().size = 0;
  up_req.body().more = !request_->is_done();
  RequestSerializer sr{up_req};
  up_deadline_.arm(timeouts.upstream_read);
  auto [wec, wn] = co_await bhttp::async_write_header(*up_, sr, nothrow);
  if (wec) {
    close();
    if (may_retry) co_return Attempt::retry;
    if (reused && body_started_) {
      upstream_error_ = Errc::upstream_closed;
      co_return Attempt::failed;
    }
    fail(Errc::upstream_connect_failed);
    co_return Attempt::next_server;
  }

  // Reserve up front: an empty flat_buffer makes Beast read the origin in 512-byte steps.
  if (!up_buffer_) {
    up_buffer_.emplace();
    up_buffer_->reserve(16 * 1024);
  }
  up_buffer_->clear();
  resp_.emplace();
  resp_->header_limit(kUpstreamHeaderLimit);
  resp_->body_limit(boost::none);  // streamed: the origin's pages and downloads have no cap here
  if (head_request) resp_->skip(true);

  const bool has_body = up_req.body().more;
  if (has_body) {
    bool send_body = true;
    if (expect_continue_) {
      // RFC 9110 §10.1.1: we forwarded the expectation; the origin's answer decides. If it says
      // nothing for a moment, tell the client to go on (as curl itself would after 1 s).
      const bool readable = co_await wait_readable(*up_, timeouts.expect_continue);
      bool origin_continue = false;
      if (readable) {
        const Attempt a = co_await read_response_head(cfg, may_retry, &origin_continue);
        if (a != Attempt::done) co_return a;
        if (!origin_continue) {  // a final answer without the body (401, 413, 417...)
          send_body = false;
          client_body_unread_ = true;
          final_from_expect_ = true;
        }
      }
      if (send_body && ctx.http_version == 11) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        client_deadline_.arm(timeouts.client_send);
        auto [cec, cn] = co_await asio::async_write(client_, asio::buffer(kContinue), nothrow);
        if (cec) {
          close();
          upstream_error_ = Errc::client_closed;
          co_return Attempt::failed;
        }
        outcome.bytes_out += cn;
      }
    }
    if (send_body) {
      const Attempt a = co_await relay_request_body(sr, cfg, outcome);
      if (a != Attempt::done) co_return a;
    }
  }
  if (!final_from_expect_) {
    const Attempt a = co_await read_response_head(cfg, may_retry && !has_body, nullptr);
    if (a != Attempt::done) co_return a;
  }
  const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - sent_at).count();
  outcome.upstream_ms = ms;
  stats_.upstream_duration.observe(ms / 1000.0);
  server.record_success();
  co_return Attempt::done;
}

// Waits until the upstream socket has something to read, for at most `d`.
template <class Stream>
asio::awaitable<bool> UpstreamExchange<Stream>::wait_readable(tcp::socket& up,
                                                              std::chrono::milliseconds d) {
  SocketDeadline deadline(worker_.ioc().get_executor());
  up_deadline_.disarm();
  deadline.arm(up, d);
  auto [ec] = co_await up.async_wait(tcp::socket::wait_read, nothrow);
  deadline.disarm();
  co_return !ec;
}

// Client body -> origin.
template <class Stream>
asio::awaitable<typename UpstreamExchange<Stream>::Attempt>
UpstreamExchange<Stream>::relay_request_body(RequestSerializer& sr, const config::ServerConfig& cfg,
                                             pipeline::Outcome& outcome) {
  body_started_ = true;
  std::uint64_t sent = 0;
  const RelayEnd end = co_await relay_.relay(
      client_, *client_buffer_, *request_, client_deadline_, cfg.timeouts.client_body, *up_, sr,
      up_deadline_, cfg.timeouts.upstream_read, nullptr, outcome.bytes_in, sent);
  if (end.kind == RelayEnd::Kind::read_failed) {
    close();
    const beast::error_code& ec = end.ec;
    if (ec == bhttp::error::body_limit) {
      stats_.client_errors_too_large.inc();
      upstream_error_ = Errc::body_too_large;
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category() &&
               ec != bhttp::error::partial_message) {
      // Bad chunk sizes, extensions or trailers: the origin saw a truncated body only.
      stats_.client_errors_bad_request.inc();
      upstream_error_ = Errc::bad_request_body;
    } else {
      upstream_error_ = Errc::client_closed;  // gone or too slow
    }
    co_return Attempt::failed;
  }
  if (end.kind == RelayEnd::Kind::write_failed) {
    close();
    stats_.upstream_protocol_errors.inc();
    upstream_error_ = Errc::upstream_closed;
    co_return Attempt::failed;
  }
  co_return Attempt::done;
}

// Reads the origin's response head into resp_, skipping interim 1xx responses. With
// `saw_continue` set, returns after a 100 (the expect-continue handshake).
template <class Stream>
asio::awaitable<typename UpstreamExchange<Stream>::Attempt>
UpstreamExchange<Stream>::read_response_head(const config::ServerConfig& cfg, bool may_retry,
                                             bool* saw_continue) {
  for (;;) {
    up_deadline_.arm(cfg.timeouts.upstream_read);
    auto [ec, n] = co_await bhttp::async_read_header(*up_, *up_buffer_, *resp_, nothrow);
    if (ec) {
      const bool nothing = n == 0 && up_buffer_->size() == 0;
      close();
      if (up_deadline_.fired()) {
        stats_.upstream_timeouts.inc();
        upstream_error_ = Errc::upstream_timeout;
        // A slow origin is not a dead one, but repeated timeouts should still move traffic.
        co_return Attempt::failed;
      }
      if (may_retry && nothing &&
          (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::eof)) {
        co_return Attempt::retry;
      }
      stats_.upstream_protocol_errors.inc();
      upstream_error_ = Errc::upstream_protocol_error;
      co_return Attempt::failed;
    }
    const unsigned status = resp_->get().result_int();
    if (status >= 100 && status < 200) {
      if (status == 101) {  // we never forward Upgrade, so this is the origin misbehaving
        close();
        stats_.upstream_protocol_errors.inc();
        upstream_error_ = Errc::upstream_protocol_error;
        co_return Attempt::failed;
      }
      const bool head_request = request_->get().method() == bhttp::verb::head;
      resp_.emplace();
      resp_->header_limit(kUpstreamHeaderLimit);
      resp_->body_limit(boost::none);
      if (head_request) resp_->skip(true);
      if (status == 100 && saw_continue != nullptr) {
        *saw_continue = true;
        co_return Attempt::done;
      }
      continue;  // 102/103 and late 100s are interim: wait for the final response
    }
    if (saw_continue != nullptr) *saw_continue = false;
    co_return Attempt::done;
  }
}

template <class Stream>
void UpstreamExchange<Stream>::release() {
  upstream_ = nullptr;
  up_deadline_.disarm();
  if (!up_) return;
  const bool reusable = resp_ && resp_->is_done() && resp_->keep_alive() && up_buffer_ &&
                        up_buffer_->size() == 0 && !client_body_unread_ && !final_from_expect_;
  if (reusable) {
    worker_.pool().put(*server_, std::move(*up_), SteadyClock::now(), group_->config->keepalive);
  } else {
    close();
  }
  up_.reset();
}

template <class Stream>
void UpstreamExchange<Stream>::close() {
  up_deadline_.disarm();
  if (!up_) return;
  beast::error_code ignored;
  (*up_).shutdown(tcp::socket::shutdown_both, ignored);
  (*up_).close(ignored);
  upstream_ = nullptr;
}

template <class Stream>
void UpstreamExchange<Stream>::abort() {
  beast::error_code ignored;
  if (upstream_ != nullptr) (*upstream_).close(ignored);
}

template class UpstreamExchange<tcp::socket>;
template class UpstreamExchange<asio::ssl::stream<tcp::socket>>;

}  // namespace bawwab::server
