#include <catch2/catch.hpp>

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bawwab/status/status_server.hpp"

using namespace bawwab::status;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The server on 127.0.0.1:0 with its io_context on a thread of its own.
class Harness {
 public:
  explicit Harness(StatusProviders p, StatusServerLimits limits = {})
      : server_(std::make_unique<StatusServer>(
            ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), std::move(p), limits)) {
    const auto ec = server_->start();
    REQUIRE_FALSE(ec);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Harness() {
    server_->stop();
    work_.reset();
    thread_.join();
    server_.reset();
  }
  StatusServer& server() { return *server_; }
  tcp::endpoint endpoint() const { return server_->local_endpoint(); }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::unique_ptr<StatusServer> server_;
  std::thread thread_;
};

// A blocking client connection.
class Client {
 public:
  explicit Client(const tcp::endpoint& ep) : socket_(ioc_) { socket_.connect(ep); }

  http::response<http::string_body> request(http::verb verb, std::string target,
                                            bool keep_alive = true) {
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    http::write(socket_, req);
    return read(verb == http::verb::head);
  }

  http::response<http::string_body> read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a reply to HEAD has no body whatever its Content-Length says
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  void write_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // True when the server closes the connection (EOF or reset) within 5 seconds.
  bool closed_by_server() {
    pollfd pfd{socket_.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, 5000) != 1) return false;
    char c;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

StatusProviders make_providers(const Registry* reg, std::atomic<bool>* healthy = nullptr) {
  StatusProviders p;
  p.status = [] {
    boost::json::object o;
    o["version"] = "0.1.0";
    o["uptime_seconds"] = 12;
    return o;
  };
  p.registry = reg;
  if (healthy) p.healthy = [healthy] { return healthy->load(); };
  return p;
}

}  // namespace

TEST_CASE("status server answers /status, /metrics and /healthz", "[status_server]") {
  Registry reg;
  reg.counter("t_requests_total", "Requests.", {{"class", "2xx"}}).inc(4);
  std::atomic<bool> healthy{true};
  StatusProviders p = make_providers(&reg, &healthy);
  p.unhealthy_reason = [] { return std::string("draining"); };
  Harness h(std::move(p));
  Client c(h.endpoint());

  auto res = c.request(http::verb::get, "/status");
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_type] == "application/json");
  CHECK(res[http::field::cache_control] == "no-store");
  const boost::json::value doc = boost::json::parse(res.body());
  CHECK(doc.at("version").as_string() == "0.1.0");
  CHECK(doc.at("uptime_seconds").as_int64() == 12);

  res = c.request(http::verb::get, "/metrics");
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(res[http::field::cache_control] == "no-store");
  CHECK(res.body() == reg.prometheus_text());
  CHECK(res.body().find("t_requests_total{class=\"2xx\"} 4\n") != std::string::npos);

  res = c.request(http::verb::get, "/healthz");
  CHECK(res.result() == http::status::ok);
  CHECK(res.body() == "ok\n");
  CHECK(res[http::field::content_type] == "text/plain; charset=utf-8");

  healthy = false;
  res = c.request(http::verb::get, "/healthz");
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(res.body() == "draining\n");

  // A query string does not change the route (some scrapers add one).
  res = c.request(http::verb::get, "/healthz?probe=1");
  CHECK(res.result() == http::status::service_unavailable);
}

TEST_CASE("status server: 503 says not ready without a reason provider", "[status_server]") {
  std::atomic<bool> healthy{false};
  Harness h(make_providers(nullptr, &healthy));
  Client c(h.endpoint());
  auto res = c.request(http::verb::get, "/healthz");
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(res.body() == "not ready\n");
  // No registry: an empty but valid exposition.
  res = c.request(http::verb::get, "/metrics");
  CHECK(res.result() == http::status::ok);
  CHECK(res.body().empty());
}

TEST_CASE("status server: unknown path 404, other methods 405", "[status_server]") {
  Harness h(make_providers(nullptr));
  Client c(h.endpoint());
  auto res = c.request(http::verb::get, "/nope");
  CHECK(res.result() == http::status::not_found);
  CHECK(res[http::field::cache_control] == "no-store");
  res = c.request(http::verb::get, "/status/extra");
  CHECK(res.result() == http::status::not_found);

  res = c.request(http::verb::post, "/status");
  CHECK(res.result() == http::status::method_not_allowed);
  CHECK(res[http::field::allow] == "GET, HEAD");
  res = c.request(http::verb::delete_, "/nope");
  CHECK(res.result() == http::status::method_not_allowed);
}

TEST_CASE("status server: HEAD has the GET length and no body", "[status_server]") {
  Harness h(make_providers(nullptr));
  Client c(h.endpoint());
  const auto get = c.request(http::verb::get, "/status");
  const auto head = c.request(http::verb::head, "/status");
  CHECK(head.result() == http::status::ok);
  CHECK(head[http::field::content_length] == std::to_string(get.body().size()));
  CHECK(head.body().empty());
  // The connection is still in sync after the HEAD reply.
  CHECK(c.request(http::verb::get, "/healthz").body() == "ok\n");
}

TEST_CASE("status server: Connection: close is honoured", "[status_server]") {
  Harness h(make_providers(nullptr));
  Client c(h.endpoint());
  const auto res = c.request(http::verb::get, "/healthz", false);
  CHECK_FALSE(res.keep_alive());
  CHECK(c.closed_by_server());
}

TEST_CASE("status server: a throwing provider gives 500 and the server goes on",
          "[status_server]") {
  StatusProviders p;
  p.status = []() -> boost::json::object { throw std::runtime_error("boom"); };
  Harness h(std::move(p));
  Client c(h.endpoint());
  CHECK(c.request(http::verb::get, "/status").result() == http::status::internal_server_error);
  CHECK(c.request(http::verb::get, "/healthz").result() == http::status::ok);
}

TEST_CASE("status server: malformed and oversized requests", "[status_server]") {
  StatusServerLimits limits;
  limits.header_limit = 1024;
  Harness h(make_providers(nullptr), limits);
  {
    Client c(h.endpoint());
    c.write_raw("GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') +
                "\r\n\r\n");
    CHECK(c.read().result() == http::status::request_header_fields_too_large);
  }
  {
    Client c(h.endpoint());
    c.write_raw("GET /status HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    const auto res = c.read();
    CHECK(res.result() == http::status::bad_request);
    CHECK_FALSE(res.keep_alive());
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("status server: idle connections time out", "[status_server]") {
  StatusServerLimits limits;
  limits.idle_timeout = 150ms;
  Harness h(make_providers(nullptr), limits);
  Client c(h.endpoint());
  CHECK(c.request(http::verb::get, "/healthz").result() == http::status::ok);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(c.closed_by_server());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 100ms);
  CHECK(waited < 5s);
}

TEST_CASE("status server: at most 64 connections, further ones are closed", "[status_server]") {
  Harness h(make_providers(nullptr));  // the production default
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<Client>(h.endpoint()));
    // A reply proves the server accepted and counts this connection.
    REQUIRE(clients.back()->request(http::verb::get, "/healthz").result() == http::status::ok);
  }
  {
    Client extra(h.endpoint());
    CHECK(extra.closed_by_server());
    CHECK(h.server().rejected_connections() == 1);
  }
  // The open ones still work.
  CHECK(clients.front()->request(http::verb::get, "/healthz").result() == http::status::ok);

  // Once one closes there is room again (the server notices the close asynchronously).
  clients.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    Client again(h.endpoint());
    try {
      served = again.request(http::verb::get, "/healthz").result() == http::status::ok;
    } catch (const boost::system::system_error&) {
      std::this_thread::sleep_for(10ms);
    }
  }
  CHECK(served);
}

TEST_CASE("status server: start reports an address in use as a value", "[status_server]") {
  Harness h(make_providers(nullptr));
  asio::io_context ioc;
  StatusServer second(ioc, h.endpoint(), make_providers(nullptr));
  const auto ec = second.start();
  CHECK(ec == asio::error::address_in_use);
}

TEST_CASE("status server: stop closes open connections and the listener", "[status_server]") {
  Harness h(make_providers(nullptr));
  Client c(h.endpoint());
  CHECK(c.request(http::verb::get, "/healthz").result() == http::status::ok);
  const tcp::endpoint ep = h.endpoint();
  h.server().stop();
  CHECK(c.closed_by_server());
  bool refused = false;
  for (int attempt = 0; attempt < 100 && !refused; ++attempt) {
    asio::io_context ioc;
    tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect(ep, ec);
    refused = ec == asio::error::connection_refused;
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  CHECK(refused);
}
