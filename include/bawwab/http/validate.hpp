#pragma once
// The "request head" phase, step two: checks on the head Beast parsed, for what Beast 1.81 lets
// through (research §3.3) and what RFC 9110/9112 tell a proxy to refuse (research §4).
#include <boost/beast/http/message.hpp>

#include <string>
#include <string_view>

namespace bawwab::http {

struct Verdict {
  unsigned status = 0;      // 0: forward; else the status of the local reply
  std::string_view reason;  // short static text for logs
  bool ok() const noexcept { return status == 0; }
};

// Decides whether a parsed request head may be forwarded. Pure, thread-safe.
// A refused request's body (if any) has not been read and its framing may be a lie: the session
// answers `status` and closes the connection, whatever the status.
//
// 400: control characters in any field; Transfer-Encoding with Content-Length; Transfer-Encoding
//      on HTTP/1.0; Transfer-Encoding whose final coding is not `chunked`, with `chunked` twice or
//      with parameters, or with an empty element; more than one Content-Length field or line,
//      a list value ("5, 5"), or a value that is not 1*DIGIT within 64 bits; no Host on HTTP/1.1;
//      several Host fields; a Host that is not host / IPv4 / [IPv6] with an optional :port;
//      a target that is not origin-form ("/..."), absolute-form with http/https and a valid
//      authority without userinfo, "*" with OPTIONS or authority-form with CONNECT; a '#' or a
//      byte outside 0x21..0x7E in the target.
// 501: Transfer-Encoding with codings other than chunked ("gzip, chunked"): RFC 9112 §6.1.
// 405: CONNECT, TRACE (the session adds Allow).
// 417: an Expect other than a single "100-continue".
// 505: a version other than 1.0 or 1.1 (Beast already refuses them).
Verdict validate_request_head(const boost::beast::http::request_header<>& h);

// The authority the request is for: from an absolute-form target, else the Host field (empty when
// there is none). A view into `h`. Call it after validate_request_head said ok. Thread-safe.
std::string_view request_authority(const boost::beast::http::request_header<>& h);

// "Example.COM:8080" -> "example.com"; "[2001:DB8::1]:443" -> "[2001:db8::1]"; a trailing dot is
// removed ("example.com." names the same host, and must not slip past host rules). Pure.
std::string host_without_port(std::string_view authority);

// "http://example.com/a?b" -> "/a?b"; "http://example.com" -> "/"; "http://h?q" -> "/?q";
// origin-form and "*" unchanged. The authority moves to Host (RFC 9112 §3.2.2). Pure.
std::string origin_form_target(std::string_view target);

// True for host / IPv4 / [IPv6] with an optional :port (1..5 digits, at most 65535), the host
// made of letters, digits, '-', '.', '_' and '~'. No userinfo, no percent-encoding, no zone id.
// Pure; used for Host, absolute-form authorities and X-Forwarded-Host.
bool is_valid_authority(std::string_view authority) noexcept;

}  // namespace bawwab::http
