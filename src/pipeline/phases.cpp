#include "bawwab/pipeline/phases.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <variant>

#include "bawwab/http/forwarded.hpp"
#include "bawwab/http/hop_by_hop.hpp"
#include "bawwab/http/validate.hpp"

namespace bawwab::pipeline {
namespace bhttp = boost::beast::http;

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

// Exact names win over wildcards, longer wildcards over shorter, "*" last (nginx server_name order).
const config::Site* find_site(const config::ServerConfig& cfg, std::string_view host) {
  const config::Site* best = nullptr;
  std::size_t best_rank = 0;  // 3 exact, 2 + suffix length for wildcards, 1 catch-all
  for (const auto& site : cfg.sites) {
    for (const auto& name : site.hosts) {
      std::size_t rank = 0;
      if (name == "*") {
        rank = 1;
      } else if (name.size() > 2 && name[0] == '*' && name[1] == '.') {
        const std::string_view suffix = std::string_view(name).substr(1);  // ".news.example"
        if (host.size() > suffix.size() && host.ends_with(suffix)) rank = 2 + suffix.size();
      } else if (name == host) {
        rank = static_cast<std::size_t>(-1);
      }
      if (rank > best_rank) {
        best_rank = rank;
        best = &site;
      }
    }
  }
  return best;
}

}  // namespace

std::optional<http::LocalReply> admit_request(RequestContext& ctx, const Runtime& rt) {
  const auto& req = *ctx.request;
  const auto& cfg = *rt.config;
  ctx.http_version = req.version() == 10 ? 10 : 11;

  ctx.client.peer_trusted = cfg.trusted_proxies.contains(ctx.client.peer);
  ctx.client.ip = ctx.client.peer_trusted
                      ? http::resolve_client_ip(req, ctx.client.peer, cfg.trusted_proxies)
                      : net::canonical(ctx.client.peer);

  if (const http::Verdict v = http::validate_request_head(req); !v.ok()) {
    http::LocalReply reply = http::error_reply(v.status, v.reason);
    if (v.status == 405) reply.headers.emplace_back("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    // A framing problem leaves the rest of the stream unparseable: never read another request.
    reply.close = true;
    return reply;
  }

  ctx.authority = std::string(http::request_authority(req));
  ctx.host = http::host_without_port(ctx.authority);
  ctx.target = http::origin_form_target(req.target());

  // Route first: a host no site serves gets 421 even on a redirecting listener (never an open
  // proxy, not even an open redirector).
  const config::Site* site = find_site(cfg, ctx.host);
  if (site == nullptr) return http::error_reply(421);

  if (ctx.client.listener < cfg.listeners.size()) {
    const auto& listener = cfg.listeners[ctx.client.listener];
    if (listener.redirect_https && !ctx.client.tls) {
      if (ctx.host.empty()) return http::error_reply(400, "A Host header is needed.");
      std::string location = "https://" + ctx.host;
      if (listener.redirect_https_port != 443) {
        location += ':' + std::to_string(listener.redirect_https_port);
      }
      location += ctx.target.starts_with('/') ? ctx.target : std::string("/");
      http::LocalReply reply = http::error_reply(308);
      reply.headers.emplace_back("Location", std::move(location));
      return reply;
    }
  }

  const auto group = cfg.upstreams.find(site->upstream);
  if (group == cfg.upstreams.end()) return http::error_reply(502);  // the loader forbids it
  ctx.upstream = &group->second;
  return std::nullopt;
}

void collect_signals(RequestContext& /*ctx*/, const Runtime& /*rt*/) {
  // The detection issue adds user-agent classes, header consistency, TLS fingerprints and
  // behaviour here. Nothing yet: no signal is better than a made-up one.
}

rules::Decision evaluate_rules(const RequestContext& /*ctx*/, const Runtime& rt) {
  // An empty rule set (the only kind before the rules issue) allows everything.
  (void)rt;
  return rules::Decision{};
}

std::optional<http::LocalReply> act(const RequestContext& /*ctx*/, const rules::Decision& decision) {
  if (decision.shadow) return std::nullopt;
  return std::visit(Overloaded{
                        [](const rules::Allow&) -> std::optional<http::LocalReply> {
                          return std::nullopt;
                        },
                        [](const rules::Block& b) -> std::optional<http::LocalReply> {
                          return http::error_reply(b.status);
                        },
                    },
                    decision.action);
}

void prepare_upstream_request(const RequestContext& ctx, const Runtime& rt,
                              bhttp::request_header<>& out) {
  // `out` is usually the client's own parsed head (ctx.request): edited in place, no copy.
  out.version(11);
  out.target(ctx.target);
  http::remove_hop_by_hop(out);
  // Framing is re-done by our serializer from the parser's view of the body, never copied.
  out.erase(bhttp::field::content_length);
  out.erase(bhttp::field::transfer_encoding);
  // Absolute-form: the authority replaces Host (RFC 9112 §3.2.2).
  out.set(bhttp::field::host, ctx.authority);
  const http::ForwardedContext fc{ctx.client.peer, ctx.client.tls, ctx.authority, rt.config->via,
                                  ctx.http_version == 10 ? 0u : 1u};
  http::set_forwarding_headers(out, fc, ctx.client.ip, ctx.client.peer_trusted);
}

void filter_response(const RequestContext& /*ctx*/, const Runtime& rt,
                     bhttp::response_header<>& res, unsigned upstream_version) {
  http::prepare_response_fields(res, rt.config->via, upstream_version == 10 ? 0u : 1u);
  // The copy-protection issue adds its headers and body filters here.
}

std::string_view status_class(unsigned status) noexcept {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "other";
  }
}

accesslog::AccessRecord make_access_record(const RequestContext& ctx, const Outcome& outcome,
                                           TimePoint now) {
  accesslog::AccessRecord r;
  r.time = ctx.wall_started;
  r.request_id = ctx.id;
  r.client_ip = ctx.client.ip.is_unspecified() ? ctx.client.peer.to_string() : ctx.client.ip.to_string();
  r.peer = net::to_string(net::Endpoint(ctx.client.peer, ctx.client.peer_port));
  r.tls = ctx.client.tls;
  if (ctx.request != nullptr) {
    const auto& req = *ctx.request;
    r.method = std::string(req.method_string());
    r.path = ctx.target.empty() ? std::string(req.target()) : ctx.target;
    r.host = ctx.host;
    r.http_version = ctx.http_version == 10 ? "1.0" : "1.1";
    r.user_agent = std::string(req[bhttp::field::user_agent]);
    r.referer = std::string(req[bhttp::field::referer]);
  }
  r.status = outcome.status;
  r.bytes_in = outcome.bytes_in;
  r.bytes_out = outcome.bytes_out;
  r.duration_ms = std::chrono::duration<double, std::milli>(now - ctx.started).count();
  r.upstream_ms = outcome.upstream_ms;
  r.upstream = outcome.upstream;
  r.error = outcome.error;
  return r;
}

}  // namespace bawwab::pipeline
