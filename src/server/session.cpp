// One client connection: reads requests, runs the phases, relays to the origin and back.
//
//   accept -> TLS hello -> request head -> signals -> rules -> action -> upstream
//   -> response filters -> log
//
// The deciding phases live in pipeline/phases (pure) and the exchange with the origin in
// upstream_exchange; this file only sequences them and does the client's I/O. Bodies are streamed
// in both directions through one fixed buffer (body_relay: Beast's relay pattern,
// parser<buffer_body> + serializer), never held whole.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/buffer_body.hpp>

#include <memory>
#include <optional>

#include "bawwab/core/body_filter.hpp"
#include "bawwab/core/log.hpp"
#include "bawwab/http/head_scan.hpp"
#include "bawwab/http/replies.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/tls_capture.hpp"
#include "bawwab/detect/tls_fingerprint.hpp"
#include "bawwab/detect/tls_hello.hpp"
#include "bawwab/limit/key.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/redis_store.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/rules/signals.hpp"
#include "body_relay.hpp"
#include "deadline.hpp"
#include "upstream_exchange.hpp"
#include "worker.hpp"

namespace bawwab::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxChunkExtension = 1024;

// Beast keeps a reference to the callback, so it lives here rather than in a temporary.
auto reject_long_chunk_extensions = [](std::uint64_t, std::string_view extensions,
                                       beast::error_code& ec) {
  if (extensions.size() > kMaxChunkExtension) ec = bhttp::error::bad_chunk_extension;
};

// How reading a request head ended.
struct HeadRead {
  enum class Kind { ok, reject, closed, timeout, drained };
  Kind kind = Kind::closed;
  unsigned status = 0;
  std::string_view reason;
  std::size_t head_start = 0;  // leading empty lines before the request line (RFC 9112 §2.2)
  std::size_t head_size = 0;
  std::size_t bytes = 0;  // bytes of this request received so far
  TimePoint first_byte{};
};

template <class Stream>
class Session final : public SessionHandle, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Session(Stream stream, Worker& worker, pipeline::ClientInfo client)
      : stream_(std::move(stream)),
        worker_(worker),
        shared_(worker.shared()),
        client_(std::move(client)),
        deadline_(worker.ioc().get_executor(), lowest()),
        exchange_(worker, stream_, deadline_, relay_) {}

  static asio::awaitable<void> run(std::shared_ptr<Session> self) { co_await self->serve(); }

  void drain() override {
    draining_ = true;
    if (idle_) cancel_socket();
  }
  void force_close() override {
    draining_ = true;
    beast::error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
    exchange_.abort();
  }

 private:
  tcp::socket& lowest() {
    if constexpr (kTls) return stream_.next_layer();
    else return stream_;
  }
  void cancel_socket() {
    beast::error_code ignored;
    lowest().cancel(ignored);
  }

  asio::awaitable<void> serve() {
    worker_.add(this);
    shared_.stats.connections_active.add(1);
    struct Leave {
      Session* s;
      ~Leave() {
        s->worker_.remove(s);
        s->shared_.stats.connections_active.sub(1);
        s->shared_.gate.release(s->client_.peer);
      }
    } leave{this};

    if constexpr (kTls) {
      if (!co_await tls_hello()) co_return;
    }

    const auto gen = shared_.generation.load();
    buffer_.emplace(gen->runtime->config->limits.max_header_bytes + 4096);
    relay_.allocate();
    for (unsigned served = 0;; ++served) {
      const bool keep = co_await serve_request(served);
      if (!keep || draining_ || worker_.draining()) break;
    }
    co_await close_connection();
  }

  // TLS hello phase: handshake under the header deadline; records SNI, ALPN and the ClientHello's
  // fingerprints (JA4, JA3, JA3N).
  asio::awaitable<bool> tls_hello() {
    const auto gen = shared_.generation.load();
    deadline_.arm(gen->runtime->config->timeouts.client_header);
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, nothrow);
    deadline_.disarm();
    if (ec) {
      shared_.stats.tls_handshake_failures.inc();
      log::debug("tls handshake with " + client_.peer.to_string() + " failed: " + ec.message());
      co_return false;
    }
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) client_.sni = sni;
      const unsigned char* alpn = nullptr;
      unsigned int alpn_len = 0;
      SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
      if (alpn != nullptr) client_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
      // The fingerprint of the raw ClientHello (captured by the msg callback: OpenSSL's own
      // client-hello API drops GREASE and unknown extensions). Once per connection.
      if (auto hello = detect::parse_client_hello(detect::captured_client_hello(ssl))) {
        client_.ja4 = detect::ja4(*hello);
        client_.ja3 = detect::ja3(*hello);
        client_.ja3n = detect::ja3n(*hello);
        client_.tls_binding = detect::tls_binding(*hello);
        client_.hello = std::make_shared<const detect::ClientHello>(std::move(*hello));
      }
      detect::clear_captured_client_hello(ssl);
    }
    co_return true;
  }

  // Reads one request head into buffer_, scanning the raw bytes as they arrive (the request-head
  // phase's I/O half). Deadlines: client_idle while nothing of the request has arrived, then
  // client_header from its first byte (slowloris).
  asio::awaitable<HeadRead> read_head(const config::ServerConfig& cfg) {
    HeadRead out;
    const http::HeadLimits limits{cfg.limits.max_request_line, cfg.limits.max_header_bytes,
                                  cfg.limits.max_header_count};
    auto& buf = *buffer_;
    idle_ = buf.size() == 0;
    if (idle_ && (draining_ || worker_.draining())) {
      out.kind = HeadRead::Kind::drained;
      co_return out;
    }
    if (idle_) {
      deadline_.arm(cfg.timeouts.client_idle);
    } else {
      out.first_byte = SteadyClock::now();
      deadline_.arm(cfg.timeouts.client_header);
    }
    for (;;) {
      const auto data = buf.data();
      const http::HeadScan scan = http::scan_request_head(
          std::string_view(static_cast<const char*>(data.data()), data.size()), limits);
      out.bytes = buf.size();
      if (scan.state == http::HeadScan::State::complete) {
        out.kind = HeadRead::Kind::ok;
        out.head_start = scan.start;
        out.head_size = scan.head_size;
        break;
      }
      if (scan.state == http::HeadScan::State::reject) {
        out.kind = HeadRead::Kind::reject;
        out.status = scan.status;
        out.reason = scan.reason;
        break;
      }
      const std::size_t room = buf.max_size() - buf.size();
      if (room == 0) {  // the scan's own limits stop long before this
        out.kind = HeadRead::Kind::reject;
        out.status = 431;
        out.reason = "header too large";
        break;
      }
      auto [ec, n] = co_await stream_.async_read_some(buf.prepare(std::min<std::size_t>(room, 8192)),
                                                      nothrow);
      if (ec) {
        if (deadline_.fired()) {
          out.kind = idle_ ? HeadRead::Kind::closed : HeadRead::Kind::timeout;
        } else if (draining_ && idle_) {
          out.kind = HeadRead::Kind::drained;
        } else {
          out.kind = HeadRead::Kind::closed;
        }
        break;
      }
      buf.commit(n);
      if (idle_ && n > 0) {  // the request begins: from now on the header deadline applies
        idle_ = false;
        out.first_byte = SteadyClock::now();
        deadline_.arm(cfg.timeouts.client_header);
      }
    }
    deadline_.disarm();
    idle_ = false;
    co_return out;
  }

  // Serves one request. Returns whether the connection may carry another.
  asio::awaitable<bool> serve_request(unsigned served) {
    const GenerationPtr gen = shared_.generation.load();  // pinned for the whole request
    const pipeline::Runtime& rt = *gen->runtime;
    const config::ServerConfig& cfg = *rt.config;

    pipeline::RequestContext ctx;
    ctx.client = client_;
    pipeline::Outcome outcome;
    HeadRead head = co_await read_head(cfg);
    ctx.started = head.first_byte == TimePoint{} ? SteadyClock::now() : head.first_byte;
    ctx.wall_started = std::chrono::system_clock::now() -
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(
                           SteadyClock::now() - ctx.started);
    ctx.id = shared_.next_request_id.fetch_add(1, std::memory_order_relaxed);

    switch (head.kind) {
      case HeadRead::Kind::ok:
        break;
      case HeadRead::Kind::drained:
        co_return false;
      case HeadRead::Kind::closed:
        if (head.bytes > 0) {  // the client gave up mid-head: still a request worth a log line
          outcome.status = 400;
          outcome.bytes_in = head.bytes;
          outcome.error = "client_closed_in_head";
          finish(ctx, outcome, cfg);
        }
        co_return false;
      case HeadRead::Kind::timeout:
        shared_.stats.client_errors_header_timeout.inc();
        outcome.bytes_in = head.bytes;
        outcome.error = "header_timeout";
        co_await reply(ctx, rt, outcome, http::error_reply(408), /*close=*/true);
        finish(ctx, outcome, cfg);
        co_return false;
      case HeadRead::Kind::reject:
        if (head.status == 400) shared_.stats.client_errors_bad_request.inc();
        else shared_.stats.client_errors_too_large.inc();
        outcome.bytes_in = head.bytes;
        outcome.error = "bad_request: " + std::string(head.reason);
        co_await reply(ctx, rt, outcome, http::error_reply(head.status), /*close=*/true);
        finish(ctx, outcome, cfg);
        co_return false;
    }

    // Beast parses the head the scan accepted (leading empty lines are skipped first).
    auto& buf = *buffer_;
    buf.consume(head.head_start);
    head.head_size -= head.head_start;
    parser_.emplace();
    parser_->header_limit(cfg.limits.max_header_bytes + 2);
    parser_->body_limit(cfg.limits.max_request_body);
    // Beast 1.81 puts no bound on chunk extensions (later versions cap the line at 8 KB); we
    // refuse long ones outright: nobody legitimate sends them.
    parser_->on_chunk_header(reject_long_chunk_extensions);
    beast::error_code pec;
    const std::size_t used = parser_->put(asio::buffer(buf.data().data(), head.head_size), pec);
    buf.consume(used);
    outcome.bytes_in = head.head_size;
    if (pec || !parser_->is_header_done()) {
      const bool too_big = pec == bhttp::error::body_limit;
      (too_big ? shared_.stats.client_errors_too_large : shared_.stats.client_errors_bad_request).inc();
      outcome.error = too_big ? "body_too_large" : "bad_request: " + pec.message();
      co_await reply(ctx, rt, outcome, http::error_reply(too_big ? 413 : 400), /*close=*/true);
      finish(ctx, outcome, cfg);
      co_return false;
    }
    ctx.request = &parser_->get();
    ctx.stage = pipeline::Stage::head;
    const bool body_pending = !parser_->is_done();
    const bool head_request = parser_->get().method() == bhttp::verb::head;

    // Deciding phases: pure, no I/O (the state they consult is injected through Services).
    const auto wall_now = std::chrono::system_clock::now();
    const pipeline::Services& services = shared_.services;
    std::optional<http::LocalReply> local = pipeline::admit_request(ctx, rt);
    if (!local) {
      local = pipeline::serve_builtin(ctx, rt, services, wall_now, SteadyClock::now());
      if (local) {
        ctx.stage = pipeline::Stage::builtin;
        count_verification(ctx);
      }
    }
    std::chrono::milliseconds delay{0};
    if (!local) {
      if (ctx.pass_valid) shared_.stats.passes_accepted.inc();
      pipeline::collect_signals(ctx, rt, services, SteadyClock::now());
      ctx.decision = pipeline::evaluate_rules(ctx, rt);
      ctx.stage = pipeline::Stage::decided;
      pipeline::Plan plan = pipeline::act(ctx, rt, services, wall_now);
      if (auto* check = std::get_if<pipeline::CheckLimits>(&plan)) {
        plan = co_await check_limits(ctx, rt, *check);
      }
      count_decision(ctx, plan);
      if (auto* respond = std::get_if<pipeline::Respond>(&plan)) {
        local = std::move(respond->reply);
        delay = respond->delay;
      } else if (auto* forward = std::get_if<pipeline::Forward>(&plan)) {
        delay = forward->delay;
      } else if (std::holds_alternative<pipeline::Drop>(plan)) {
        // Closed without a word (nginx's 444 in the log): for floods not worth an answer.
        outcome.status = 444;
        outcome.error = "dropped";
        shared_.stats.dropped.inc();
        finish(ctx, outcome, cfg);
        co_return false;
      }
    }
    if (delay.count() > 0) {  // a tarpit, or a rate limit's `delay`: hold the request
      asio::steady_timer hold(worker_.ioc());
      hold.expires_after(delay);
      co_await hold.async_wait(nothrow);
    }
    if (local) {
      if (local->status == 400) shared_.stats.client_errors_bad_request.inc();
      // An unread body would be taken for the next request: close instead of guessing.
      const bool close = local->close || body_pending || !parser_->keep_alive();
      if (outcome.error.empty() && local->status >= 400) outcome.error = "refused";
      co_await reply(ctx, rt, outcome, std::move(*local), close, head_request);
      finish(ctx, outcome, cfg);
      co_return !close && served + 1 < cfg.limits.max_requests_per_connection;
    }

    const bool keep = co_await forward(ctx, *gen, outcome, served, body_pending, head_request);
    finish(ctx, outcome, cfg);
    co_return keep;
  }

  // Upstream phase: sends the request to one of the site's servers and relays the response.
  // Returns whether the client connection may carry another request.
  asio::awaitable<bool> forward(pipeline::RequestContext& ctx, const Generation& gen,
                                pipeline::Outcome& outcome, unsigned served, bool body_pending,
                                bool head_request) {
    const pipeline::Runtime& rt = *gen.runtime;
    const config::ServerConfig& cfg = *rt.config;

    // The client's parsed message becomes the upstream request (Beast's relay pattern): edited in
    // place and serialized with the body flowing through it.
    exchange_.prepare(ctx, rt, *parser_, *buffer_, body_pending);
    if (co_await exchange_.send(ctx, gen, outcome, head_request)) {
      const bool keep = co_await relay_response(ctx, rt, outcome, head_request);
      exchange_.release();
      co_return keep && !exchange_.client_body_unread() &&
          served + 1 < cfg.limits.max_requests_per_connection;
    }

    // No response from any server: 502, or 504 when the last one was too slow.
    const pipeline::UpstreamFailure failure = pipeline::upstream_failure(exchange_.failure());
    outcome.error = failure.error;
    if (failure.status == 499) {  // the client went away while sending its body: nothing to write
      outcome.status = 499;
      co_return false;
    }
    const unsigned status = failure.status;
    co_await reply(ctx, rt, outcome, http::error_reply(status), /*close=*/body_pending, head_request);
    co_return !body_pending && parser_->keep_alive();
  }

  // Response filters and plan, then origin body -> client through the plan's body filters.
  asio::awaitable<bool> relay_response(pipeline::RequestContext& ctx, const pipeline::Runtime& rt,
                                       pipeline::Outcome& outcome, bool head_request) {
    const config::ServerConfig& cfg = *rt.config;
    // The origin's parsed message is what the client gets (relay pattern): filtered in place.
    ResponseParser& resp = exchange_.response();
    auto& cres = resp.get();
    const unsigned status = cres.result_int();
    pipeline::filter_response(ctx, rt, cres.base(), cres.version());
    pipeline::ResponsePlan plan =
        pipeline::plan_response(ctx, rt, shared_.services, cres.base(), head_request);
    cres.version(ctx.http_version);

    const bool no_body = head_request || status == 204 || status == 304;
    bool keep = parser_->keep_alive() && !draining_ && !worker_.draining();
    if (!no_body && (plan.rewritten || !resp.content_length())) {
      // The length is unknown until the body ends (chunked or close-delimited from the origin,
      // or rewritten here): chunked to a 1.1 client; a 1.0 client reads until we close.
      if (ctx.http_version == 11) cres.chunked(true);
      else keep = false;
    }
    cres.keep_alive(keep);
    outcome.status = status;

    bhttp::serializer<false, bhttp::buffer_body> sr{cres};
    if (no_body) {
      cres.body().data = nullptr;
      cres.body().size = 0;
      cres.body().more = false;
      deadline_.arm(cfg.timeouts.client_send);
      auto [hec, hn] = co_await bhttp::async_write_header(stream_, sr, nothrow);
      deadline_.disarm();
      outcome.bytes_out += hn;
      if (hec) {
        outcome.error = "client_closed";
        exchange_.close();
        co_return false;
      }
      if (!resp.is_done()) exchange_.close();  // e.g. a 204 with a body: do not reuse
      co_return keep;
    }
    // The head goes out together with the first piece of body (one write, not two): the
    // serializer writes whatever of the head is still pending before the body.
    std::uint64_t received = 0;
    const RelayEnd end = co_await relay_.relay(
        exchange_.socket(), exchange_.buffer(), resp, exchange_.deadline(),
        cfg.timeouts.upstream_read, stream_, sr, deadline_, cfg.timeouts.client_send,
        plan.filters.empty() ? nullptr : &plan.filters, received, outcome.bytes_out);
    switch (end.kind) {
      case RelayEnd::Kind::done: co_return keep;
      case RelayEnd::Kind::truncated:  // the rest of the origin's body is not wanted
        exchange_.close();
        co_return keep;
      case RelayEnd::Kind::read_failed:
        // Mid-body: the head is already sent, so the client can only learn by the close.
        outcome.error = end.timed_out ? "upstream_timeout_in_body" : "upstream_closed_in_body";
        (end.timed_out ? shared_.stats.upstream_timeouts : shared_.stats.upstream_protocol_errors)
            .inc();
        exchange_.close();
        co_return false;
      case RelayEnd::Kind::write_failed:
        outcome.error = "client_closed";
        exchange_.close();
        co_return false;
    }
    co_return false;
  }

  // Writes a reply the proxy makes itself (error pages, redirects, refusals).
  // It goes through the response-header phase like the origin's responses, with the request's
  // pinned runtime.
  asio::awaitable<void> reply(pipeline::RequestContext& ctx, const pipeline::Runtime& rt,
                              pipeline::Outcome& outcome, http::LocalReply local, bool close,
                              bool head_request = false) {
    local.close = local.close || close;
    outcome.status = local.status;
    auto res = http::to_response(local, ctx.http_version, head_request);
    pipeline::filter_local_reply(ctx, rt, res.base());
    deadline_.arm(rt.config->timeouts.client_send);
    auto [ec, n] = co_await bhttp::async_write(stream_, res, nothrow);
    deadline_.disarm();
    outcome.bytes_out += n;
    if (ec) outcome.error = outcome.error.empty() ? "client_closed" : outcome.error;
  }

  // Log phase: always runs, whatever happened to the request.
  // The limiter's verdict for each limit of the plan: the local table (synchronous), or Redis in
  // fleet mode (asynchronous, with its own timeout and fallback).
  asio::awaitable<pipeline::Plan> check_limits(pipeline::RequestContext& ctx,
                                               const pipeline::Runtime& rt,
                                               const pipeline::CheckLimits& check) {
    const limit::KeyInput in = pipeline::limit_key_input(ctx);
    std::vector<limit::Verdict> verdicts;
    verdicts.reserve(check.limits.size());
    limit::Store& store = worker_.limit_store();
    for (const limit::LimitSpec* spec : check.limits) {
      verdicts.push_back(co_await store.check(*spec, in, SteadyClock::now()));
      if (verdicts.back().fallback) shared_.stats.limit_store_fallbacks.inc();
    }
    co_return pipeline::apply_limits(ctx, rt, verdicts, &shared_.services,
                                     std::chrono::system_clock::now(), SteadyClock::now());
  }

  // For behaviour.cookie_ignored: clients that never return a cookie bawwab set.
  void note_cookie_set(const pipeline::RequestContext& ctx) {
    if (shared_.services.behaviour == nullptr) return;
    shared_.services.behaviour->cookie_set(detect::BehaviourTracker::key_for(ctx.client.ip),
                                           SteadyClock::now());
  }

  void count_verification(const pipeline::RequestContext& ctx) {
    if (pipeline::sets_bawwab_cookie(ctx, nullptr)) note_cookie_set(ctx);
    using Source = rules::Decision::Source;
    if (ctx.decision.source == Source::challenge_passed) shared_.stats.challenges_passed.inc();
    else if (ctx.decision.source == Source::challenge_failed) shared_.stats.challenges_failed.inc();
  }

  void count_decision(const pipeline::RequestContext& ctx, const pipeline::Plan& plan) {
    const pipeline::DecisionTally t = pipeline::tally_decision(ctx, plan);
    auto& stats = shared_.stats;
    (t.shadow ? stats.decisions_shadow : stats.decisions_enforced)[t.action]->inc();
    for (const auto& hit : t.shadow_hits) stats.decisions_shadow[hit.action.index()]->inc();
    if (t.by_threshold) stats.decided_by_threshold.inc();
    for (const auto& sig : t.signals) stats.signals[sig.index]->inc();
    using L = pipeline::DecisionTally::Limit;
    switch (t.limit) {
      case L::none: break;
      case L::shadow: stats.limit_shadow.inc(); break;
      case L::delayed: stats.limit_delayed.inc(); break;
      case L::rejected: stats.limit_rejected.inc(); break;
      case L::banned: stats.limit_banned.inc(); break;
    }
    if (t.challenge_issued) stats.challenges_issued.inc();
    if (pipeline::sets_bawwab_cookie(ctx, &t)) note_cookie_set(ctx);
  }

  void finish(const pipeline::RequestContext& ctx, const pipeline::Outcome& outcome,
              const config::ServerConfig& /*cfg*/) {
    const auto now = SteadyClock::now();
    shared_.stats.count_request(outcome.status);
    shared_.stats.bytes_in.inc(outcome.bytes_in);
    shared_.stats.bytes_out.inc(outcome.bytes_out);
    shared_.stats.request_duration.observe(std::chrono::duration<double>(now - ctx.started).count());
    if (shared_.access_log != nullptr) {
      shared_.access_log->submit(pipeline::make_access_record(ctx, outcome, now));
    }
    parser_.reset();
    exchange_.reset_response();
  }

  // Closes the client connection gracefully: half-close, then read and discard what the client
  // still sends for a short while, so that a close with unread data does not turn into a reset
  // that destroys the response we just wrote (nginx's lingering close).
  asio::awaitable<void> close_connection() {
    beast::error_code ignored;
    if constexpr (kTls) {
      deadline_.arm(std::chrono::seconds(2));
      co_await stream_.async_shutdown(nothrow);
    } else {
      lowest().shutdown(tcp::socket::shutdown_send, ignored);
      deadline_.arm(std::chrono::seconds(2));
      std::size_t discarded = 0;
      while (discarded < 1024 * 1024) {
        auto [ec, n] = co_await lowest().async_read_some(asio::buffer(relay_.buffer()), nothrow);
        if (ec) break;
        discarded += n;
      }
    }
    lowest().close(ignored);
  }

  Stream stream_;
  Worker& worker_;
  SharedState& shared_;
  pipeline::ClientInfo client_;
  LazyDeadline deadline_;  // the client socket's
  bool idle_ = false;
  bool draining_ = false;

  std::optional<beast::flat_buffer> buffer_;
  BodyRelay relay_;
  UpstreamExchange<Stream> exchange_;  // borrows stream_, deadline_ and relay_
  std::optional<RequestParser> parser_;
};

template <class S>
void spawn(Worker& worker, std::shared_ptr<S> session) {
  asio::co_spawn(worker.ioc(), S::run(std::move(session)),
                 [&worker](std::exception_ptr e) {
                   if (!e) return;
                   // The coroutine boundary is a firewall: one bad session never ends the process.
                   worker.shared().stats.session_exceptions.inc();
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     log::error(std::string("session ended by exception: ") + ex.what());
                   } catch (...) {
                     log::error("session ended by unknown exception");
                   }
                 });
}

}  // namespace

void Worker::start_session(tcp::socket socket, std::size_t listener,
                           std::shared_ptr<asio::ssl::context> tls) {
  asio::post(ioc_, [this, socket = std::move(socket), listener, tls = std::move(tls)]() mutable {
    beast::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    socket.set_option(tcp::no_delay(true), ec);
    pipeline::ClientInfo client;
    client.peer = net::canonical(peer.address());
    client.peer_port = peer.port();
    client.ip = client.peer;
    client.listener = listener;
    client.tls = tls != nullptr;
    if (tls) {
      using S = Session<asio::ssl::stream<tcp::socket>>;
      spawn(*this, std::make_shared<S>(asio::ssl::stream<tcp::socket>(std::move(socket), *tls),
                                       *this, std::move(client)));
    } else {
      using S = Session<tcp::socket>;
      spawn(*this, std::make_shared<S>(std::move(socket), *this,
                                       std::move(client)));
    }
  });
}

}  // namespace bawwab::server
