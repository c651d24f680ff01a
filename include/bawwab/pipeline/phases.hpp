#pragma once
// The deciding phases of a request, in the order the session runs them. Each is pure: no I/O, no
// suspension, no global state; each reads the context and the pinned Runtime and either fills its
// own part of the context or returns a local reply that ends the request. Unit-tested without
// sockets (tests/unit/pipeline).
#include <boost/beast/http/message.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/core/body_filter.hpp"
#include "bawwab/core/error.hpp"
#include "bawwab/core/snapshot.hpp"
#include "bawwab/http/replies.hpp"
#include "bawwab/pipeline/request_context.hpp"
#include "bawwab/pipeline/runtime.hpp"

namespace bawwab::detect {
class CrawlerVerifier;
class BehaviourTracker;
}  // namespace bawwab::detect
namespace bawwab::challenge {
class KeyRing;
class SpentSet;
}  // namespace bawwab::challenge
namespace bawwab::limit {
struct Verdict;
struct KeyInput;
}  // namespace bawwab::limit

namespace bawwab::pipeline {

// Long-lived state the deciding phases consult and update, owned by the server (one per process)
// and thread-safe. Injected like the clock: a null member is skipped (explain, replay, tests).
struct Services {
  detect::CrawlerVerifier* crawlers = nullptr;    // verified-crawler cache (async DNS behind it)
  detect::BehaviourTracker* behaviour = nullptr;  // per-client behaviour table
  const Snapshot<challenge::KeyRing>* keys = nullptr;  // challenge HMAC keys (rotating)
  challenge::SpentSet* spent = nullptr;           // redeemed challenges (no replays)
};

// What the session does after the action phase.
struct Forward {  // go upstream
  std::chrono::milliseconds delay{0};  // rate limit `delay`: hold the request this long first
};
struct Respond {  // answer locally (after `delay`: a tarpit)
  http::LocalReply reply;
  std::chrono::milliseconds delay{0};
};
struct Drop {};  // close the connection without an answer
struct CheckLimits {  // consult the limiter (local or Redis), then apply_limits()
  std::vector<const limit::LimitSpec*> limits;
};
using Plan = std::variant<Forward, Respond, Drop, CheckLimits>;

// Request head: validates the parsed head (framing, Host, method), resolves the client IP through
// trusted proxies, computes authority/host/origin-form target, answers HTTPS redirects on plain
// listeners that ask for them, and routes to a site (421 when no site serves the host: we are
// never an open proxy).
std::optional<http::LocalReply> admit_request(RequestContext& ctx, const Runtime& rt);

// Splits ctx.target into the normalised path (ctx.path) and the query (ctx.query). Part of
// admit_request; exposed for `bawwab replay`, which rebuilds contexts from log lines.
void split_target(RequestContext& ctx);

// Built-in endpoints that bawwab answers itself before any rule: the challenge verification
// path (the interstitial's answers and the silent proof's requests). Also checks the challenge
// pass cookie (ctx.pass_valid / pass_invalid). A pass earned tells the behaviour table (at `now`).
std::optional<http::LocalReply> serve_builtin(RequestContext& ctx, const Runtime& rt,
                                              const Services& services,
                                              std::chrono::system_clock::time_point wall_now,
                                              TimePoint now = {});

// Signals: user-agent classes, header consistency, TLS fingerprint, verified crawlers, behaviour,
// and the score they add up to (detect/detector.hpp).
void collect_signals(RequestContext& ctx, const Runtime& rt, const Services& services,
                     TimePoint now);

// What the rules see of the request: views into ctx (valid while ctx lives).
rules::RequestView request_view(const RequestContext& ctx);

// Rules: the pinned rule set decides. First terminal action wins; then the score thresholds;
// default allow. `trace` (for `bawwab explain`) receives one entry per rule looked at.
rules::Decision evaluate_rules(const RequestContext& ctx, const Runtime& rt,
                               rules::Trace* trace = nullptr);

// Action: turns the decision into a plan: forward, a local reply (block page, challenge page),
// a tarpit, a dropped connection, or a limiter check. Shadow decisions always forward.
Plan act(const RequestContext& ctx, const Runtime& rt, const Services& services,
         std::chrono::system_clock::time_point wall_now);

// What a limit's key is made of, for this request.
limit::KeyInput limit_key_input(const RequestContext& ctx);

// The limiter's verdicts (one per limit of the CheckLimits plan, same order) become the plan:
// the strictest wins; shadow verdicts are only logged. A refusal by a limit with `answer:
// challenge` is a JS challenge (pass or not) at the challenge settings' max_difficulty, 2 bits
// more for each earlier revocation of this client's passes (the behaviour table counts them,
// at `now`); without `services` (or keys) it is the limit's status.
Plan apply_limits(RequestContext& ctx, const Runtime& rt, std::span<const limit::Verdict> verdicts,
                  const Services* services = nullptr,
                  std::chrono::system_clock::time_point wall_now = {}, TimePoint now = {});

// Upstream: turns the client's head into the head sent to the origin (hop-by-hop removed,
// forwarding headers set, origin-form target, HTTP/1.1), in place: `head` is normally the parsed
// request itself, edited after the deciding phases have run. Framing fields are removed; the
// caller sets them from the parser's view of the body.
void prepare_upstream_request(const RequestContext& ctx, const Runtime& rt,
                              boost::beast::http::request_header<>& out);

// Response filters: header edits on the origin's response before it reaches the client (Via,
// `set_response_header`, response-phase rules).
void filter_response(const RequestContext& ctx, const Runtime& rt,
                     boost::beast::http::response_header<>& res, unsigned upstream_version);

// The same header edits on a reply bawwab makes itself (block and challenge pages, 429s, the
// verify endpoint, errors): `set_response_header` applies to whatever response the request gets.
void filter_local_reply(const RequestContext& ctx, const Runtime& rt,
                        boost::beast::http::response_header<>& res);

// What happens to the origin's response body on its way to the client.
struct ResponsePlan {
  FilterChain filters;     // applied in order to every piece of the body; empty: relayed as is
  bool rewritten = false;  // a filter changes the bytes: Content-Length, Last-Modified and
                           // Accept-Ranges were removed and the ETag weakened; the session sends
                           // chunked to HTTP/1.1 clients and close-delimited to HTTP/1.0 ones
};

// Response plan: after filter_response, chooses the body filters for this response (robots.txt
// learning, ...) and adjusts the head for them. HEAD, 1xx, 204 and 304 responses get no filter;
// 206 and non-2xx pass untouched unless a filter asks for them. Pure but for the filters'
// completion callbacks (robots learning records into services.behaviour when the body ends).
ResponsePlan plan_response(const RequestContext& ctx, const Runtime& rt, const Services& services,
                           boost::beast::http::response_header<>& res, bool head_request);

// What the session knows at the end of a request, for the log phase.
struct Outcome {
  unsigned status = 0;
  std::uint64_t bytes_in = 0;   // from the client: head + body
  std::uint64_t bytes_out = 0;  // to the client
  std::optional<double> upstream_ms;
  std::string upstream;  // server url
  std::string error;     // short reason, "" when none
};

// No server of the group gave a response: what the client gets, from the last error. 502 for a
// refused, failed or misbehaving origin, 504 when it was too slow, 413/400 when the client's body
// was at fault, 499 (nothing written, nginx's code) when the client went away. Pure.
struct UpstreamFailure {
  unsigned status = 502;
  std::string_view error;  // the access log's `error`
};
UpstreamFailure upstream_failure(Errc last) noexcept;

// What the decision counters learn from one decided request; the session adds it to the
// metrics. Views into ctx and the plan. Pure.
struct DecisionTally {
  std::size_t action = 0;  // index of the rules::Action alternative
  bool shadow = false;     // the deciding rule is in shadow
  std::span<const rules::ShadowHit> shadow_hits;  // shadow rules that matched (enforced only)
  bool by_threshold = false;
  std::span<const rules::Signal> signals;  // each carries its catalogue index
  enum class Limit { none, shadow, delayed, rejected, banned } limit = Limit::none;
  bool challenge_issued = false;  // a challenge page goes out (it sets a check cookie)
};
DecisionTally tally_decision(const RequestContext& ctx, const Plan& plan) noexcept;

// Whether the answer to this request sets one of bawwab's cookies: the verify endpoint's (the
// pass, or a fresh check cookie) and a challenge page's check cookie. The behaviour table is
// told, so that a client that never sends them back shows as behaviour.cookie_ignored. `plan`
// `tally` is the request's tally_decision, or null when no plan was made (a built-in endpoint
// answered). Pure.
bool sets_bawwab_cookie(const RequestContext& ctx, const DecisionTally* tally) noexcept;

// Log: always runs, on every path, including requests refused before the head was complete
// (ctx.request is then null).
accesslog::AccessRecord make_access_record(const RequestContext& ctx, const Outcome& outcome,
                                           TimePoint now);

// The HTTP status class label ("1xx".."5xx") used by counters and /status.
std::string_view status_class(unsigned status) noexcept;

}  // namespace bawwab::pipeline
