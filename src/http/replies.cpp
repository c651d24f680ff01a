#include "bawwab/http/replies.hpp"

#include <boost/beast/http/status.hpp>

#include "text.hpp"

namespace bawwab::http {
namespace {

namespace bh = boost::beast::http;

struct Page {
  unsigned status;
  std::string_view title;
  std::string_view sentence;
  bool close;
};

// Titles follow RFC 9110 §15; sentences speak to a reader, not to a developer.
constexpr Page kPages[] = {
    {400, "Bad Request", "The server could not understand this request.", true},
    {401, "Unauthorized", "This page needs authentication.", false},
    {403, "Forbidden", "Access to this page is not allowed.", false},
    {404, "Not Found", "The page you asked for does not exist.", false},
    {405, "Method Not Allowed", "This request method is not allowed here.", true},
    {408, "Request Timeout", "The request took too long to arrive.", true},
    {413, "Content Too Large", "The request body is larger than this server accepts.", true},
    {414, "URI Too Long", "The requested address is longer than this server accepts.", true},
    {417, "Expectation Failed", "The server cannot meet the expectation of this request.", true},
    {421, "Misdirected Request", "This server does not serve the requested site.", false},
    {429, "Too Many Requests", "Too many requests in a short time; please try again later.",
     false},
    {431, "Request Header Fields Too Large",
     "The request headers are larger than this server accepts.", true},
    {500, "Internal Server Error", "Something went wrong; please try again later.", false},
    {501, "Not Implemented", "The server does not support this request.", true},
    {502, "Bad Gateway", "The site could not be reached; please try again later.", false},
    {503, "Service Unavailable", "The site is temporarily unavailable; please try again later.",
     false},
    {504, "Gateway Timeout", "The site took too long to answer; please try again later.", false},
    {505, "HTTP Version Not Supported", "This HTTP version is not supported.", true},
};

const Page* find_page(unsigned status) {
  for (const auto& p : kPages)
    if (p.status == status) return &p;
  return nullptr;
}

bool is_safe_value(std::string_view v) {
  for (char c : v)
    if (!text::is_value_char(c)) return false;
  return true;
}

}  // namespace

void append_html_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
}

LocalReply error_reply(unsigned status, std::string_view detail) {
  LocalReply r;
  r.status = status;
  std::string_view title = "Error";
  std::string_view sentence = "The request could not be completed.";
  if (const auto* p = find_page(status)) {
    title = p->title;
    sentence = p->sentence;
    r.close = p->close;
  } else if (const auto reason = bh::obsolete_reason(bh::int_to_status(status));
             reason != "<unknown-status>") {
    title = reason;
  }
  const std::string heading = std::to_string(status) + " " + std::string(title);
  r.body.reserve(256 + detail.size());
  r.body += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\"><title>";
  append_html_escaped(r.body, heading);
  r.body += "</title></head>\n<body><h1>";
  append_html_escaped(r.body, heading);
  r.body += "</h1><p>";
  append_html_escaped(r.body, sentence);
  r.body += "</p>";
  if (!detail.empty()) {
    r.body += "<p>";
    append_html_escaped(r.body, detail);
    r.body += "</p>";
  }
  r.body += "</body></html>\n";
  return r;
}

bh::response<bh::string_body> to_response(const LocalReply& reply, unsigned http_version,
                                          bool head_request) {
  bh::response<bh::string_body> res;
  res.version(http_version == 10 ? 10 : 11);
  // Beast throws on a status above 999; a status that is not one is our bug, shown as a 500.
  res.result(reply.status >= 100 && reply.status <= 999 ? reply.status : 500);

  const unsigned status = res.result_int();
  const bool no_body = status < 200 || status == 204 || status == 304;
  if (!no_body && !reply.content_type.empty() && is_safe_value(reply.content_type))
    res.set(bh::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) {
    if (!text::is_token(name) || !is_safe_value(value)) continue;
    res.insert(name, value);
  }
  if (res.count(bh::field::cache_control) == 0) res.set(bh::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  // Framing and connection are ours to say; whatever the headers list said about them goes.
  res.erase(bh::field::content_length);
  res.erase(bh::field::transfer_encoding);
  res.erase(bh::field::connection);
  if (reply.close) {
    res.set(bh::field::connection, "close");
  } else if (res.version() == 10) {
    res.set(bh::field::connection, "keep-alive");
  }

  if (!no_body) {
    res.content_length(reply.body.size());
    if (!head_request) res.body() = reply.body;
  }
  return res;
}

}  // namespace bawwab::http
