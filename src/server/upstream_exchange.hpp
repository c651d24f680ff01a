#pragma once
// Internal to the server module: one request's exchange with the origin, the upstream phase's I/O.
// It takes a pooled connection (or opens one), sends the request head and body (with the
// expect-continue handshake), reads the response head (skipping interim 1xx) and, once the
// session has relayed the body, gives the connection back to the pool or closes it. The session
// only sequences it: prepare, send, relay the response through response(), release.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <chrono>
#include <optional>

#include "bawwab/core/error.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/proxy/upstream.hpp"
#include "bawwab/server/generation.hpp"
#include "bawwab/server/stats.hpp"
#include "body_relay.hpp"
#include "deadline.hpp"
#include "worker.hpp"

namespace bawwab::server {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

// The origin side of one client connection, reused by each request it forwards; `Stream` is the
// client's (plain or TLS), which the request body and a 100 Continue come from and go to. Not
// thread-safe (the session's strand). Borrows the worker, the client stream, its deadline and the
// body relay, which must outlive it; one exchange at a time.
template <class Stream>
class UpstreamExchange {
 public:
  UpstreamExchange(Worker& worker, Stream& client, LazyDeadline& client_deadline, BodyRelay& relay);

  // Starts the exchange of one request: turns the client's parsed request into the origin's, in
  // place (Beast's relay pattern: it is serialized with the body flowing through it). `request`
  // and `client_buffer` (where the rest of its body is read from) are borrowed until the next
  // prepare.
  void prepare(const pipeline::RequestContext& ctx, const pipeline::Runtime& rt,
               RequestParser& request, boost::beast::flat_buffer& client_buffer, bool body_pending);

  // Sends the request to the group's servers in turn (retrying a stale pooled connection, moving
  // on from a dead server) until one answers with a response head. True: response() holds it.
  // False: no server gave one, and failure() says why (for pipeline::upstream_failure).
  boost::asio::awaitable<bool> send(const pipeline::RequestContext& ctx, const Generation& gen,
                                    pipeline::Outcome& outcome, bool head_request);
  Errc failure() const noexcept { return failure_; }

  // After send() returned true: the origin's response and what its body is read from, for the
  // session's body relay.
  ResponseParser& response() { return *resp_; }
  boost::asio::ip::tcp::socket& socket() { return *up_; }
  boost::beast::flat_buffer& buffer() { return *up_buffer_; }
  LazyDeadline& deadline() { return up_deadline_; }
  // The origin gave its final answer before the client sent its body (expect-continue): that
  // body is still on the client connection, which therefore cannot carry another request.
  bool client_body_unread() const noexcept { return client_body_unread_; }

  // After the response: the connection goes back to the worker's pool when the origin's response
  // ended cleanly and nothing is left on it, else it is closed.
  void release();
  // Closes the connection to the origin (its response is not read to the end).
  void close();
  // Closes the socket in use from outside the request (forced close at the drain timeout).
  void abort();
  // Log phase: the request is over, its response parser is freed.
  void reset_response() { resp_.reset(); }

 private:
  // How one attempt at an upstream server ended.
  enum class Attempt { done, retry, next_server, failed };
  using RequestSerializer = boost::beast::http::serializer<true, boost::beast::http::buffer_body>;
  static constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<Attempt> attempt(const pipeline::RequestContext& ctx,
                                          const config::ServerConfig& cfg,
                                          const proxy::GroupState& group,
                                          proxy::ServerState& server, bool head_request,
                                          pipeline::Outcome& outcome);
  boost::asio::awaitable<Attempt> read_response_head(const config::ServerConfig& cfg,
                                                     bool may_retry, bool* saw_continue);
  boost::asio::awaitable<bool> wait_readable(boost::asio::ip::tcp::socket& up,
                                             std::chrono::milliseconds d);
  boost::asio::awaitable<Attempt> relay_request_body(RequestSerializer& sr,
                                                     const config::ServerConfig& cfg,
                                                     pipeline::Outcome& outcome);

  Worker& worker_;
  ServerStats& stats_;
  Stream& client_;
  LazyDeadline& client_deadline_;
  BodyRelay& relay_;
  LazyDeadline up_deadline_;  // the current upstream socket's

  // Borrowed for the current request (prepare).
  RequestParser* request_ = nullptr;
  boost::beast::flat_buffer* client_buffer_ = nullptr;

  std::optional<ResponseParser> resp_;
  std::optional<boost::beast::flat_buffer> up_buffer_;
  std::optional<boost::asio::ip::tcp::socket> up_;
  boost::asio::ip::tcp::socket* upstream_ = nullptr;  // for abort
  const proxy::GroupState* group_ = nullptr;          // of the server that answered
  proxy::ServerState* server_ = nullptr;              // the server that answered
  bool expect_continue_ = false;
  bool body_started_ = false;
  bool client_body_unread_ = false;
  bool final_from_expect_ = false;
  Errc upstream_error_ = Errc::ok;  // the last attempt's
  Errc failure_ = Errc::ok;         // why send() found no response
};

// Instantiated in upstream_exchange.cpp for the two kinds of client connection.
extern template class UpstreamExchange<boost::asio::ip::tcp::socket>;
extern template class UpstreamExchange<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace bawwab::server
