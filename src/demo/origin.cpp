#include "bawwab/demo/origin.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bawwab/core/log.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/demo/assets.hpp"

namespace bawwab::demo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

// Limits for a demo on loopback: generous for browsers, small enough that a misbehaving client
// cannot hold much memory. The idle keep-alive deadline is the read deadline.
constexpr auto read_timeout = std::chrono::seconds(15);
constexpr auto write_timeout = std::chrono::seconds(15);
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;
constexpr std::string_view site_root = "demo/site/";
constexpr std::string_view server_name = "bawwab-demo-origin";

constexpr std::string_view not_found_page =
    "<!DOCTYPE html>\n"
    "<html lang=\"ar\" dir=\"rtl\">\n"
    "<head>\n<meta charset=\"utf-8\">\n<title>الصفحة غير موجودة</title>\n"
    "<link rel=\"stylesheet\" href=\"/assets/site.css\">\n</head>\n"
    "<body>\n<main class=\"container\">\n<h1>404 – الصفحة غير موجودة</h1>\n"
    "<p>عذراً، لم نعثر على الصفحة المطلوبة.</p>\n"
    "<p><a href=\"/\">العودة إلى الصفحة الرئيسية</a></p>\n</main>\n</body>\n</html>\n";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The embedded file whose path is site_root + rel; ~30 files, so a linear scan is enough.
const EmbeddedFile* find_embedded(std::string_view rel) {
  for (const EmbeddedFile& f : assets::files()) {
    if (f.path.size() == site_root.size() + rel.size() && f.path.starts_with(site_root) &&
        f.path.substr(site_root.size()) == rel) {
      return &f;
    }
  }
  return nullptr;
}

// Only what a static site needs; anything else (dot segments, "//", backslashes, NUL) is refused
// rather than normalised, so no request can name a file outside demo/site/.
bool safe_relative_path(std::string_view rel) {
  if (rel.find('\\') != std::string_view::npos || rel.find('\0') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start < rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view segment = rel.substr(start, end - start);
    bool last = end == rel.size() || end + 1 == rel.size();
    if (segment == "." || segment == ".." || (segment.empty() && !last)) return false;
    start = end + 1;
  }
  return true;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

// Strong ETag from the content (FNV-1a 64): stable across restarts and builds of the same site.
const std::string& etag_of(const EmbeddedFile& file) {
  static const std::vector<std::string> etags = [] {
    std::vector<std::string> out;
    for (const EmbeddedFile& f : assets::files()) {
      std::uint64_t h = 0xcbf29ce484222325ULL;
      for (unsigned char c : f.data) {
        h ^= c;
        h *= 0x100000001b3ULL;
      }
      out.push_back('"' + hex64(h) + '"');
    }
    return out;
  }();
  return etags.at(static_cast<std::size_t>(&file - assets::files().data()));
}

// RFC 9110 IMF-fixdate. Formatted by hand: strftime's %a and %b follow the C locale.
std::string http_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
bool none_match_hits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
  }
  return false;
}

using Request = http::request<http::string_body>;

template <class Body>
void set_common(http::response<Body>& res, const Request& req, const std::string& date) {
  res.version(req.version() == 10 ? 10 : 11);
  res.set(http::field::server, server_name);
  res.set(http::field::date, date);
  res.keep_alive(req.keep_alive());
}

http::message_generator simple_reply(const Request& req, http::status status,
                                     std::string_view content_type, std::string body,
                                     const std::string& date) {
  http::response<http::string_body> res{status, 11};
  set_common(res, req, date);
  res.set(http::field::content_type, content_type);
  if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
  res.body() = std::move(body);
  res.prepare_payload();
  // HEAD gets the same headers, Content-Length included, and no body.
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

// The whole per-request decision: pure apart from reading the embedded table.
http::message_generator respond(const Request& req, const std::string& last_modified) {
  const std::string date = http_date(std::chrono::system_clock::now());
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return simple_reply(req, http::status::method_not_allowed, "text/plain; charset=utf-8",
                        "405 Method Not Allowed\n", date);
  }
  std::string_view target = req.target();
  // Absolute-form ("http://host/path") from a client that thinks we are a proxy.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    std::size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const EmbeddedFile* file = find_site_file(target);
  if (file == nullptr) {
    return simple_reply(req, http::status::not_found, "text/html; charset=utf-8",
                        std::string(not_found_page), date);
  }
  const std::string& etag = etag_of(*file);
  // If-Modified-Since is only looked at without If-None-Match (RFC 9110 13.2.2), and only as an
  // exact echo of our Last-Modified: browsers send back what they got, and that is all a demo
  // needs.
  bool not_modified = false;
  if (auto inm = req.find(http::field::if_none_match); inm != req.end()) {
    not_modified = none_match_hits(inm->value(), etag);
  } else if (auto ims = req.find(http::field::if_modified_since); ims != req.end()) {
    not_modified = trim(ims->value()) == last_modified;
  }
  auto set_validators = [&](auto& res) {
    set_common(res, req, date);
    res.set(http::field::etag, etag);
    res.set(http::field::last_modified, last_modified);
    res.set(http::field::cache_control, "max-age=60");
  };
  if (not_modified) {
    http::response<http::empty_body> res{http::status::not_modified, 11};
    set_validators(res);
    return res;
  }
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, 11};
    set_validators(res);
    res.set(http::field::content_type, content_type_for(file->path));
    res.content_length(file->data.size());
    return res;
  }
  http::response<http::span_body<const char>> res{http::status::ok, 11};
  set_validators(res);
  res.set(http::field::content_type, content_type_for(file->path));
  res.body() = {file->data.data(), file->data.size()};
  res.prepare_payload();
  return res;
}

void log_exception(std::string_view where, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(std::string("demo origin: ") + std::string(where) + ": " + ex.what());
  } catch (...) {
    log::error(std::string("demo origin: ") + std::string(where) + ": unknown exception");
  }
}

}  // namespace

// Everything here is touched only on the strand, except `endpoint` (set once in the constructor).
struct detail::OriginState {
  explicit OriginState(asio::io_context& ioc)
      : strand(asio::make_strand(ioc)),
        acceptor(strand),
        last_modified(http_date(std::chrono::system_clock::now())) {}

  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  tcp::endpoint endpoint;
  // The embedded files carry no mtime; the time the origin started is an honest Last-Modified
  // (the content cannot have changed since). The strong ETag is what makes revalidation work
  // across restarts.
  const std::string last_modified;
  bool stopped = false;
  std::unordered_set<beast::tcp_stream*> sessions;  // open connections, for stop()
};

namespace {

using State = detail::OriginState;

// Keeps State::sessions in step with the connection's lifetime.
class SessionRegistration {
 public:
  SessionRegistration(State& st, beast::tcp_stream& s) : st_(st), s_(s) {
    st_.sessions.insert(&s_);
  }
  ~SessionRegistration() { st_.sessions.erase(&s_); }
  SessionRegistration(const SessionRegistration&) = delete;
  SessionRegistration& operator=(const SessionRegistration&) = delete;

 private:
  State& st_;
  beast::tcp_stream& s_;
};

http::message_generator parse_error_reply(const beast::error_code& ec) {
  http::status status = http::status::bad_request;
  if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
  if (ec == http::error::body_limit) status = http::status::payload_too_large;
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, server_name);
  res.set(http::field::date, http_date(std::chrono::system_clock::now()));
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::to_string(static_cast<unsigned>(status)) + " " +
               std::string(http::obsolete_reason(status)) + "\n";
  res.prepare_payload();
  return res;
}

// One connection: read a request, answer it, repeat while keep-alive holds.
asio::awaitable<void> session(std::shared_ptr<State> st, tcp::socket socket) {
  if (st->stopped) co_return;
  beast::tcp_stream stream(std::move(socket));
  SessionRegistration registration(*st, stream);
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    stream.expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
    if (ec) {
      // A client that closes, goes idle or is cut off by stop() gets no reply; one that sends
      // something that is not HTTP gets a status line, as nginx does.
      if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        stream.expires_after(write_timeout);
        co_await beast::async_write(stream, parse_error_reply(ec), as_tuple(use_awaitable));
      }
      break;
    }
    http::message_generator reply = respond(parser.get(), st->last_modified);
    const bool keep_alive = reply.keep_alive();
    stream.expires_after(write_timeout);
    auto [wec, wn] = co_await beast::async_write(stream, std::move(reply), as_tuple(use_awaitable));
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(as_tuple(use_awaitable));
    if (st->stopped || !st->acceptor.is_open()) co_return;
    if (ec) {
      log::warning("demo origin: accept failed: " + ec.message());
      // Out of file descriptors and similar: back off instead of spinning on the error.
      asio::steady_timer pause(st->strand, std::chrono::milliseconds(100));
      co_await pause.async_wait(as_tuple(use_awaitable));
      continue;
    }
    asio::co_spawn(st->strand, session(st, std::move(socket)),
                   [](std::exception_ptr e) { log_exception("session", e); });
  }
}

}  // namespace

const EmbeddedFile* find_site_file(std::string_view url_path) {
  url_path = url_path.substr(0, url_path.find_first_of("?#"));
  if (!url_path.starts_with('/')) return nullptr;
  std::string_view rel = url_path.substr(1);
  if (!safe_relative_path(rel)) return nullptr;
  if (rel.empty() || rel.ends_with('/')) return find_embedded(std::string(rel) + "index.html");
  if (const EmbeddedFile* f = find_embedded(rel)) return f;
  // Pretty URLs: "/articles/x" serves "articles/x.html" (nginx try_files $uri $uri.html).
  std::string_view last = rel.substr(rel.rfind('/') + 1);
  if (last.find('.') == std::string_view::npos) return find_embedded(std::string(rel) + ".html");
  return nullptr;
}

std::string_view content_type_for(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') + 1);
  if (iequals(name, "feed.xml")) return "application/rss+xml; charset=utf-8";
  std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string_view ext = name.substr(dot + 1);
  if (iequals(ext, "html") || iequals(ext, "htm")) return "text/html; charset=utf-8";
  if (iequals(ext, "css")) return "text/css; charset=utf-8";
  if (iequals(ext, "js")) return "text/javascript; charset=utf-8";
  if (iequals(ext, "svg")) return "image/svg+xml";
  if (iequals(ext, "rss")) return "application/rss+xml; charset=utf-8";
  if (iequals(ext, "xml")) return "application/xml; charset=utf-8";
  if (iequals(ext, "txt")) return "text/plain; charset=utf-8";
  if (iequals(ext, "json")) return "application/json";
  if (iequals(ext, "png")) return "image/png";
  if (iequals(ext, "ico")) return "image/x-icon";
  return "application/octet-stream";
}

DemoOrigin::DemoOrigin(asio::io_context& ioc, const tcp::endpoint& listen)
    : state_(std::make_shared<detail::OriginState>(ioc)) {
  tcp::acceptor& a = state_->acceptor;
  a.open(listen.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(listen);
  a.listen(asio::socket_base::max_listen_connections);
  state_->endpoint = a.local_endpoint();
}

DemoOrigin::~DemoOrigin() { stop(); }

Result<std::unique_ptr<DemoOrigin>> DemoOrigin::open(asio::io_context& ioc,
                                                     const tcp::endpoint& listen) {
  try {
    return std::make_unique<DemoOrigin>(ioc, listen);
  } catch (const boost::system::system_error& e) {
    return e.code();
  }
}

tcp::endpoint DemoOrigin::local_endpoint() const { return state_->endpoint; }

void DemoOrigin::start() {
  log::debug("demo origin: serving the sample site on http://" + net::to_string(state_->endpoint));
  asio::co_spawn(state_->strand, accept_loop(state_),
                 [](std::exception_ptr e) { log_exception("accept loop", e); });
}

void DemoOrigin::stop() {
  asio::dispatch(state_->strand, [st = state_] {
    if (st->stopped) return;
    st->stopped = true;
    beast::error_code ignored;
    st->acceptor.close(ignored);
    // Closing cancels the pending read or write; each session then ends on its own.
    for (beast::tcp_stream* s : st->sessions) s->socket().close(ignored);
  });
}

}  // namespace bawwab::demo
