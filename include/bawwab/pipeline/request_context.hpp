#pragma once
// The per-request state that flows through the phases (Pingora's CTX):
//   accept -> TLS hello -> request head -> signals -> rules -> action -> upstream
//   -> response filters -> log
// The session owns it; deciding phases read it and write only their own fields.
#include <boost/beast/http/message.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "bawwab/config/config.hpp"
#include "bawwab/core/clock.hpp"
#include "bawwab/compress/encoding.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/rules/rule_set.hpp"
#include "bawwab/rules/signals.hpp"

namespace bawwab::detect {
struct ClientHello;
}

namespace bawwab::pipeline {

// What the accept and TLS-hello phases learnt about the connection.
struct ClientInfo {
  net::Address peer;        // socket peer
  std::uint16_t peer_port = 0;
  net::Address ip;          // the client: peer, or from X-Forwarded-For when the peer is trusted
  bool peer_trusted = false;
  std::size_t listener = 0;  // index into config.listeners
  bool tls = false;
  std::string sni;  // TLS server name, if any
  std::string alpn;
  // The TLS hello phase: the parsed ClientHello and its fingerprints (empty on plain HTTP, or when
  // the hello could not be captured or parsed).
  std::shared_ptr<const detect::ClientHello> hello;
  std::string ja4;
  std::string ja3;
  std::string ja3n;
  // What challenge passes are bound to: JA4 without the extensions a resumed or padded hello adds
  // or drops (padding, pre_shared_key, early_data), so one browser keeps one value across
  // session resumption while another TLS stack still gets another.
  std::string tls_binding;
};

// How far a request got through the phases, for the log and the counters: a request refused at
// its head (400, 421, an HTTPS redirect) has no decision to report, and must not look like one
// the rules allowed by default.
enum class Stage {
  connection,  // no complete head (a timeout, a malformed or oversized head, a client gone)
  head,        // the head was read; the request-head phase answered (or had not run yet)
  builtin,     // a built-in endpoint answered (the challenge verify path)
  decided,     // the signals, rules and action phases ran
};

// "connection", "head", "builtin", "decided".
std::string_view stage_name(Stage stage) noexcept;

// The limit that refused, delayed or banned the request (or would have, in shadow mode).
struct LimitHit {
  std::string_view name;  // the limit's name (points into the pinned rule set)
  limit::Verdict::Kind kind = limit::Verdict::Kind::pass;
  bool shadow = false;
  // "name:kind", with ":shadow" for a shadow limit: the access log's `limit` field.
  std::string label() const;
};

struct RequestContext {
  std::uint64_t id = 0;
  TimePoint started{};
  std::chrono::system_clock::time_point wall_started{};
  ClientInfo client;

  // The parsed request head; owned by the session's parser, valid for the whole request.
  const boost::beast::http::request_header<>* request = nullptr;
  unsigned http_version = 11;  // 10 or 11

  // Filled by the request-head phase.
  std::string authority;  // host[:port] the client asked for (absolute-form wins over Host)
  std::string host;       // lower-cased, without port
  std::string target;     // origin-form target forwarded upstream
  const config::UpstreamGroup* upstream = nullptr;  // the site's group (points into the pinned config)
  std::string path;   // normalised path (rules::normalize_path): what rules match
  std::string query;  // raw query string, without '?'

  // The challenge pass cookie, checked before the signals (challenge::PassCheck as an int, to
  // keep this header light): 0 = absent.
  bool pass_valid = false;
  bool pass_invalid = false;

  rules::Signals signals;    // signals phase
  rules::Decision decision;  // rules phase
  std::optional<LimitHit> limit_hit;  // the limit that refused or delayed, if any
  // The coding the client accepts for a page bawwab rewrites and compresses itself (request-head
  // phase, from Accept-Encoding; the upstream request may drop that field).
  compress::Coding client_coding = compress::Coding::identity;
  Stage stage = Stage::connection;
};

}  // namespace bawwab::pipeline
