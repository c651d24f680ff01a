#pragma once
// Replies the proxy writes itself (errors, refusals), never forwarded from the origin.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bawwab::http {

struct LocalReply {
  unsigned status = 500;
  std::string content_type = "text/html; charset=utf-8";  // empty: no Content-Type
  std::string body;
  // Extra headers (Allow, Retry-After, Location...). A pair whose name is not a token or whose
  // value holds CR, LF or another CTL is dropped by to_response: no header injection.
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // Connection: close after it
};

// Appends `s` with & < > " ' as character references: safe in HTML text and quoted attributes.
void append_html_escaped(std::string& out, std::string_view s);

// A small HTML page: a short title ("404 Not Found") and one sentence, nothing about the origin.
// `detail`, if given, is one more sentence (HTML-escaped); it must not carry origin details either.
// `close` is set for the statuses that leave the request's framing unknown or unread (400, 405,
// 408, 413, 414, 417, 431, 501, 505); the session may set it for others. Pure, thread-safe.
LocalReply error_reply(unsigned status, std::string_view detail = {});

// Serializes into a Beast response of `http_version` (10 or 11, the client's) with
// Content-Length, Cache-Control: no-store (unless the reply carries its own Cache-Control),
// X-Content-Type-Options: nosniff, no Server, and Connection: close when `close` (else
// Connection: keep-alive for an HTTP/1.0 client, whose default is close). For a HEAD request the
// body is left out and Content-Length still says its size. 1xx, 204 and 304 carry no body and
// no Content-Length. Pure, thread-safe.
boost::beast::http::response<boost::beast::http::string_body> to_response(const LocalReply& reply,
                                                                       unsigned http_version,
                                                                       bool head_request);

}  // namespace bawwab::http
