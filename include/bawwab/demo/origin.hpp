#pragma once
// The demo origin: a tiny HTTP/1.1 server for the embedded sample news site (demo/site/), standing
// in for the news site's nginx so that `bawwab demo` needs nothing but the binary.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string_view>

#include "bawwab/core/embedded.hpp"
#include "bawwab/core/error.hpp"

namespace bawwab::demo {

namespace detail {
struct OriginState;
}  // namespace detail

// A tiny HTTP/1.1 origin server serving the embedded demo site on loopback, standing in for the
// news site's nginx. Runs on the given io_context (single thread is fine; all its work is on one
// strand, so more threads are safe too). Not a production server: GET and HEAD only, keep-alive,
// strong ETags, no gzip, no ranges.
// Not thread-safe except stop(); the io_context must outlive the DemoOrigin's pending work (run it
// until it returns after stop(), or stop it).
class DemoOrigin {
 public:
  // Opens, binds and listens at once, so local_endpoint() is known before start() (port 0 picks a
  // free port). Throws boost::system::system_error if it cannot listen, like tcp::acceptor's own
  // constructor; use open() to get the error as a value instead.
  DemoOrigin(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& listen);
  ~DemoOrigin();
  DemoOrigin(const DemoOrigin&) = delete;
  DemoOrigin& operator=(const DemoOrigin&) = delete;

  // The same as the constructor, with errors (address in use, permission) as values.
  static Result<std::unique_ptr<DemoOrigin>> open(boost::asio::io_context& ioc,
                                                  const boost::asio::ip::tcp::endpoint& listen);

  // The bound address, with the real port when listen asked for port 0.
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Begins accepting (co_spawn on the io_context), returns at once. Call once.
  void start();

  // Thread-safe, idempotent: stops accepting and closes every open connection, on the server's
  // strand. Once the io_context has run the posted work, it has no more work from this origin.
  // The destructor calls it.
  void stop();

 private:
  // Shared with the coroutines, which may outlive this object until the io_context runs them out.
  std::shared_ptr<detail::OriginState> state_;
};

// Lookup used by the origin and tests: "/" -> demo/site/index.html, "/articles/x.html" and
// "/articles/x" (an extensionless path tries ".html"), "/dir/" -> "dir/index.html". A query
// ("?...") or fragment ("#...") is ignored. Paths with ".." or "." segments, backslashes or NUL
// never match. Returns nullptr when no file matches. Only files under demo/site/ are served.
// Thread-safe; the result lives for the whole program.
const bawwab::EmbeddedFile* find_site_file(std::string_view url_path);

// The Content-Type for a file path, by extension: text types carry "; charset=utf-8";
// "feed.xml" and ".rss" are application/rss+xml. Unknown extensions: application/octet-stream.
// Thread-safe, pure.
std::string_view content_type_for(std::string_view path);

}  // namespace bawwab::demo
