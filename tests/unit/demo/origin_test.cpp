// DemoOrigin in process: an io_context on a thread, a blocking Beast client on the test thread.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "bawwab/demo/origin.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using bawwab::demo::DemoOrigin;

namespace {

constexpr std::string_view seed_title = "حموشي مهندس الشراكات الأمنية المغربية مع أوروبا";
constexpr std::string_view seed_url =
    "/articles/hammouchi-moroccan-security-partnerships-europe.html";

// The origin on 127.0.0.1:0, its io_context on a thread. Teardown checks that stop() really ends
// all the origin's work: run() must return on its own, with no ioc.stop().
class Server {
 public:
  Server() : origin_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    origin_.start();
    std::promise<void> done;
    done_ = done.get_future();
    thread_ = std::thread([this, done = std::move(done)]() mutable {
      ioc_.run();
      done.set_value();
    });
  }
  ~Server() {
    origin_.stop();
    bool finished = done_.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!finished) ioc_.stop();
    thread_.join();
    CHECK(finished);
  }
  tcp::endpoint endpoint() const { return origin_.local_endpoint(); }

 private:
  asio::io_context ioc_;
  DemoOrigin origin_;
  std::future<void> done_;
  std::thread thread_;
};

// A blocking client with a receive timeout, so a server bug fails the test instead of hanging it.
class Client {
 public:
  explicit Client(const tcp::endpoint& ep) : socket_(ioc_) {
    socket_.connect(ep);
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  http::response<http::string_body> send(http::request<http::empty_body> req) {
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    const bool head = req.method() == http::verb::head;
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a response to HEAD has a Content-Length but no body
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  http::response<http::string_body> get(std::string_view target,
                                        http::verb verb = http::verb::get) {
    return send(http::request<http::empty_body>{verb, target, 11});
  }

  // Raw bytes in, whatever comes back until the server closes.
  std::string raw(std::string_view bytes) {
    asio::write(socket_, asio::buffer(bytes));
    std::string out;
    beast::error_code ec;
    char buf[4096];
    for (;;) {
      std::size_t n = socket_.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }

  // True when the server has closed the connection (read returns EOF).
  bool closed_by_server() {
    char c;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string header(const http::response<http::string_body>& res, http::field f) {
  return std::string(res[f]);
}

}  // namespace

TEST_CASE("DemoOrigin serves the front page and articles") {
  Server server;
  REQUIRE(server.endpoint().port() != 0);
  Client client(server.endpoint());

  auto res = client.get("/");
  CHECK(res.result() == http::status::ok);
  CHECK(header(res, http::field::content_type) == "text/html; charset=utf-8");
  CHECK(header(res, http::field::content_length) == std::to_string(res.body().size()));
  CHECK(header(res, http::field::cache_control) == "max-age=60");
  CHECK(header(res, http::field::last_modified).ends_with(" GMT"));
  CHECK(header(res, http::field::date).ends_with(" GMT"));
  const std::string etag = header(res, http::field::etag);
  CHECK(etag.size() == 18);
  CHECK(etag.front() == '"');
  CHECK(etag.back() == '"');
  CHECK(res.keep_alive());
  CHECK(res.body().find(seed_title) != std::string::npos);
  CHECK(res.body().find("<html lang=\"ar\" dir=\"rtl\">") != std::string::npos);

  // Same connection (keep-alive): the seed article, by its .html URL and its pretty URL.
  auto article = client.get(seed_url);
  CHECK(article.result() == http::status::ok);
  CHECK(header(article, http::field::content_type) == "text/html; charset=utf-8");
  CHECK(article.body().find("<h1>" + std::string(seed_title) + "</h1>") != std::string::npos);
  CHECK(header(article, http::field::etag) != etag);
  std::string pretty(seed_url.substr(0, seed_url.size() - 5));
  auto again = client.get(pretty);
  CHECK(again.result() == http::status::ok);
  CHECK(again.body() == article.body());
  CHECK(header(again, http::field::etag) == header(article, http::field::etag));
}

TEST_CASE("DemoOrigin content types for the other files") {
  Server server;
  Client client(server.endpoint());
  struct Case {
    const char* target;
    const char* type;
  };
  for (Case c : {Case{"/assets/site.css", "text/css; charset=utf-8"},
                 Case{"/assets/site.js", "text/javascript; charset=utf-8"},
                 Case{"/assets/logo.svg", "image/svg+xml"},
                 Case{"/feed.xml", "application/rss+xml; charset=utf-8"},
                 Case{"/sitemap.xml", "application/xml; charset=utf-8"},
                 Case{"/robots.txt", "text/plain; charset=utf-8"}}) {
    INFO(c.target);
    auto res = client.get(c.target);
    CHECK(res.result() == http::status::ok);
    CHECK(header(res, http::field::content_type) == c.type);
    CHECK(!res.body().empty());
  }
}

TEST_CASE("DemoOrigin HEAD has the GET headers and no body") {
  Server server;
  Client client(server.endpoint());
  auto get = client.get(seed_url);
  auto head = client.get(seed_url, http::verb::head);
  CHECK(head.result() == http::status::ok);
  CHECK(head.body().empty());
  CHECK(header(head, http::field::content_length) == std::to_string(get.body().size()));
  CHECK(header(head, http::field::etag) == header(get, http::field::etag));
  CHECK(header(head, http::field::content_type) == "text/html; charset=utf-8");
  // The connection is still in step after a HEAD (no stray body bytes).
  CHECK(client.get("/robots.txt").result() == http::status::ok);
}

TEST_CASE("DemoOrigin revalidation answers 304") {
  Server server;
  Client client(server.endpoint());
  auto first = client.get("/");
  const std::string etag = header(first, http::field::etag);
  const std::string last_modified = header(first, http::field::last_modified);

  auto conditional = [&](http::field f, std::string value) {
    http::request<http::empty_body> req{http::verb::get, "/", 11};
    req.set(f, value);
    return client.send(std::move(req));
  };

  auto res = conditional(http::field::if_none_match, etag);
  CHECK(res.result() == http::status::not_modified);
  CHECK(res.body().empty());
  CHECK(header(res, http::field::etag) == etag);
  CHECK(header(res, http::field::cache_control) == "max-age=60");

  CHECK(conditional(http::field::if_none_match, "W/" + etag).result() ==
        http::status::not_modified);
  CHECK(conditional(http::field::if_none_match, "\"other\", " + etag).result() ==
        http::status::not_modified);
  CHECK(conditional(http::field::if_none_match, "*").result() == http::status::not_modified);
  CHECK(conditional(http::field::if_modified_since, last_modified).result() ==
        http::status::not_modified);

  auto changed = conditional(http::field::if_none_match, "\"0000000000000000\"");
  CHECK(changed.result() == http::status::ok);
  CHECK(changed.body() == first.body());

  // HEAD revalidates the same way.
  http::request<http::empty_body> head{http::verb::head, "/", 11};
  head.set(http::field::if_none_match, etag);
  CHECK(client.send(std::move(head)).result() == http::status::not_modified);
}

TEST_CASE("DemoOrigin errors: 404, 405, 400") {
  Server server;
  Client client(server.endpoint());

  auto missing = client.get("/no-such-page.html");
  CHECK(missing.result() == http::status::not_found);
  CHECK(header(missing, http::field::content_type) == "text/html; charset=utf-8");
  CHECK(missing.body().find("dir=\"rtl\"") != std::string::npos);
  CHECK(missing.keep_alive());

  CHECK(client.get("/../config/demo.yaml").result() == http::status::not_found);
  CHECK(client.get("/config/demo.yaml").result() == http::status::not_found);

  auto head_missing = client.get("/nope", http::verb::head);
  CHECK(head_missing.result() == http::status::not_found);
  CHECK(head_missing.body().empty());

  auto post = client.get("/wp-comments-post.php", http::verb::post);
  CHECK(post.result() == http::status::method_not_allowed);
  CHECK(header(post, http::field::allow) == "GET, HEAD");

  // Still usable after the errors.
  CHECK(client.get("/").result() == http::status::ok);

  Client garbage(server.endpoint());
  std::string reply = garbage.raw("HELLO THERE\r\n\r\n");
  CHECK(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("DemoOrigin honours Connection: close and HTTP/1.0") {
  Server server;
  {
    Client client(server.endpoint());
    http::request<http::empty_body> req{http::verb::get, "/robots.txt", 11};
    req.keep_alive(false);
    auto res = client.send(std::move(req));
    CHECK(res.result() == http::status::ok);
    CHECK(!res.keep_alive());
    CHECK(client.closed_by_server());
  }
  {
    Client client(server.endpoint());
    std::string reply = client.raw("GET /robots.txt HTTP/1.0\r\n\r\n");
    CHECK(reply.starts_with("HTTP/1.0 200 OK\r\n"));
    CHECK(reply.find("User-agent: *") != std::string::npos);
  }
}

TEST_CASE("DemoOrigin stop() closes idle keep-alive connections") {
  auto server = std::make_unique<Server>();
  Client client(server->endpoint());
  CHECK(client.get("/").result() == http::status::ok);
  server.reset();  // stop() + run() returning on its own is checked in ~Server
  CHECK(client.closed_by_server());
}

TEST_CASE("DemoOrigin::open reports a busy port as a value") {
  asio::io_context ioc;
  auto first = DemoOrigin::open(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  REQUIRE(first.has_value());
  auto second = DemoOrigin::open(ioc, (*first)->local_endpoint());
  REQUIRE(second.has_error());
  CHECK(second.error() == asio::error::address_in_use);
}
