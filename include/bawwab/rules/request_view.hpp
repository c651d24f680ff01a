#pragma once
// What rules see of a request: a read-only view built by the pipeline (or by `explain` / `replay`
// from a command line or a log line). Views only: everything points into storage that outlives the
// evaluation.
#include <boost/beast/http/fields.hpp>

#include <string_view>

#include "bawwab/core/net.hpp"
#include "bawwab/rules/signals.hpp"

namespace bawwab::rules {

struct RequestView {
  std::string_view method;  // "GET"
  std::string_view host;    // lower-case, without port
  std::string_view path;    // normalised (rules::normalize_path), without the query
  std::string_view query;   // raw query string without '?', "" when none
  const boost::beast::http::fields* headers = nullptr;  // request fields; null = none
  net::Address ip;          // the client (after trusted proxies)
  bool tls = false;
  std::string_view ja4;     // TLS fingerprint, "" on plain HTTP
  const Signals* signals = nullptr;  // from the detection phase; null = none
  // Response phase only (rules with a `content_type` condition): the origin's Content-Type.
  std::string_view content_type;
};

}  // namespace bawwab::rules
