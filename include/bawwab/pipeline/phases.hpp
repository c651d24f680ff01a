#pragma once
// The deciding phases of a request, in the order the session runs them. Each is pure: no I/O, no
// suspension, no global state; each reads the context and the pinned Runtime and either fills its
// own part of the context or returns a local reply that ends the request. Unit-tested without
// sockets (tests/unit/pipeline).
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string_view>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/http/replies.hpp"
#include "bawwab/pipeline/request_context.hpp"
#include "bawwab/pipeline/runtime.hpp"

namespace bawwab::pipeline {

// Request head: validates the parsed head (framing, Host, method), resolves the client IP through
// trusted proxies, computes authority/host/origin-form target, answers HTTPS redirects on plain
// listeners that ask for them, and routes to a site (421 when no site serves the host: we are
// never an open proxy).
std::optional<http::LocalReply> admit_request(RequestContext& ctx, const Runtime& rt);

// Signals: named values for the rules (filled by the detection issue; none yet).
void collect_signals(RequestContext& ctx, const Runtime& rt);

// Rules: the pinned rule set decides. First terminal action wins; default allow.
rules::Decision evaluate_rules(const RequestContext& ctx, const Runtime& rt);

// Action: turns the decision into a local reply, or nothing to go upstream. Shadow decisions
// never reply.
std::optional<http::LocalReply> act(const RequestContext& ctx, const rules::Decision& decision);

// Upstream: turns the client's head into the head sent to the origin (hop-by-hop removed,
// forwarding headers set, origin-form target, HTTP/1.1), in place: `head` is normally the parsed
// request itself, edited after the deciding phases have run. Framing fields are removed; the
// caller sets them from the parser's view of the body.
void prepare_upstream_request(const RequestContext& ctx, const Runtime& rt,
                              boost::beast::http::request_header<>& out);

// Response filters: header edits on the origin's response before it reaches the client.
void filter_response(const RequestContext& ctx, const Runtime& rt,
                     boost::beast::http::response_header<>& res, unsigned upstream_version);

// What the session knows at the end of a request, for the log phase.
struct Outcome {
  unsigned status = 0;
  std::uint64_t bytes_in = 0;   // from the client: head + body
  std::uint64_t bytes_out = 0;  // to the client
  std::optional<double> upstream_ms;
  std::string upstream;  // server url
  std::string error;     // short reason, "" when none
};

// Log: always runs, on every path, including requests refused before the head was complete
// (ctx.request is then null).
accesslog::AccessRecord make_access_record(const RequestContext& ctx, const Outcome& outcome,
                                           TimePoint now);

// The HTTP status class label ("1xx".."5xx") used by counters and /status.
std::string_view status_class(unsigned status) noexcept;

}  // namespace bawwab::pipeline
