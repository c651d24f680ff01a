#include "bawwab/pipeline/phases.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <charconv>
#include <variant>

#include "bawwab/compress/encoder.hpp"
#include "bawwab/compress/encoding.hpp"
#include "bawwab/http/forwarded.hpp"
#include "bawwab/http/hop_by_hop.hpp"
#include "bawwab/http/validate.hpp"
#include "bawwab/rewrite/html_rewriter.hpp"
#include "bawwab/rules/normalize.hpp"
#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/page.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/proof_of_work.hpp"
#include "bawwab/challenge/verify_endpoint.hpp"
#include "bawwab/challenge/proof.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/header_consistency.hpp"
#include "bawwab/detect/detector.hpp"
#include "bawwab/detect/robots.hpp"
#include "bawwab/detect/tls_stack.hpp"
#include "bawwab/limit/headers.hpp"
#include "bawwab/limit/key.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/rules/page_template.hpp"

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

namespace {

// The coding bawwab would compress a page it rewrote with, from the client's Accept-Encoding
// (all its lines: the field is a list). Read at the head because the upstream request may drop
// the field (a rewritten page is asked for uncompressed).
//
// gzip only: brotli's streaming encoder needs 0.7 to 1 MB per response at any quality worth using
// (its match finder alone is 512 KB), against 100 to 200 KB for gzip, and gzip level 7 already
// keeps a rewritten page within 3 to 7 % of what the origin's gzip -6 sends (compress/encoder.hpp).
// A proxy holds one per response in flight; 1,000 of them in brotli would be a gigabyte.
constexpr compress::Offer kOffer{.gzip = true, .br = false};

compress::Coding client_coding(const bhttp::request_header<>& req) {
  const auto range = req.equal_range(bhttp::field::accept_encoding);
  if (range.first == range.second) return compress::Coding::identity;
  if (std::next(range.first) == range.second) {
    return compress::negotiate(range.first->value(), kOffer);
  }
  std::string joined;
  for (auto it = range.first; it != range.second; ++it) {
    if (!joined.empty()) joined += ", ";
    joined += it->value();
  }
  return compress::negotiate(joined, kOffer);
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
  split_target(ctx);

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
  ctx.client_coding = client_coding(req);
  return std::nullopt;
}

void split_target(RequestContext& ctx) {
  ctx.path = rules::normalize_path(ctx.target);
  const auto q = ctx.target.find('?');
  ctx.query = q == std::string::npos ? std::string() : ctx.target.substr(q + 1);
}

rules::RequestView request_view(const RequestContext& ctx) {
  rules::RequestView v;
  if (ctx.request != nullptr) {
    v.method = ctx.request->method_string();
    v.headers = ctx.request;
  }
  v.host = ctx.host;
  v.path = ctx.path;
  v.query = ctx.query;
  v.ip = ctx.client.ip;
  v.tls = ctx.client.tls;
  v.ja4 = ctx.client.ja4;
  v.signals = &ctx.signals;
  return v;
}

rules::Decision evaluate_rules(const RequestContext& ctx, const Runtime& rt, rules::Trace* trace) {
  return rt.rules->evaluate(request_view(ctx), trace);
}

challenge::ChallengeConfig challenge_config_from(const config::ServerConfig& cfg) {
  challenge::ChallengeConfig c;
  c.lang = cfg.challenge.lang;
  c.dir = cfg.challenge.dir;
  c.site_name = cfg.challenge.site_name;
  c.contact = cfg.challenge.contact;
  c.cookie_name = cfg.challenge.cookie_name;
  c.pass_ttl = cfg.challenge.pass_ttl;
  c.key_file = cfg.challenge.key_file;
  c.min_difficulty = cfg.challenge.min_difficulty;
  c.max_difficulty = cfg.challenge.max_difficulty;
  c.proof_difficulty = cfg.challenge.proof_difficulty;
  c.nojs_enabled = cfg.challenge.nojs;
  c.nojs_pass_ttl = cfg.challenge.nojs_pass_ttl;
  return c;
}

void set_proof(Runtime& rt) {
  const std::string script = challenge::proof_script(rt.challenge);
  rewrite::RewriteConfig rc;
  rewrite::InsertionConfig ins;
  ins.selector = "body";
  ins.position = rewrite::Position::before_end;
  ins.html = "<script>" + script + "</script>";
  rc.insertions.push_back(std::move(ins));
  rewrite::SpecCompile c = rewrite::RewriteSpec::compile(std::move(rc));
  rt.proof = std::move(c.spec);  // a fixed selector: cannot fail
  rt.proof_csp_source = challenge::csp_hash_source(script);
}

namespace {

challenge::PassContext pass_context(const RequestContext& ctx) {
  challenge::PassContext pc;
  pc.client_ip = ctx.client.ip;
  if (ctx.request != nullptr) pc.user_agent = (*ctx.request)[bhttp::field::user_agent];
  pc.tls_fingerprint = ctx.client.tls_binding;
  return pc;
}

// The behaviour table's key of this client (address, User-Agent, header order).
std::uint64_t client_key(const RequestContext& ctx) {
  return detect::BehaviourTracker::client_key(ctx.client.ip,
                                              (*ctx.request)[bhttp::field::user_agent],
                                              detect::header_order_hash(*ctx.request));
}

// Which pass the request carries (a hash of the pass cookie's value; 0 for none), to tell one
// revoked pass from the next.
std::uint64_t pass_id(const RequestContext& ctx, const Runtime& rt) {
  std::uint64_t h = 0;
  const std::string prefix = rt.challenge.cookie_name + "=";
  for (auto it = ctx.request->find(bhttp::field::cookie);
       it != ctx.request->end() && it->name() == bhttp::field::cookie; ++it) {
    const std::string_view v = it->value();
    for (std::size_t at = v.find(prefix); at != std::string_view::npos;
         at = v.find(prefix, at + 1)) {
      if (at != 0 && v[at - 1] != ' ' && v[at - 1] != ';') continue;  // another cookie's tail
      const std::string_view value = v.substr(at + prefix.size());
      h = h * 31 + std::hash<std::string_view>{}(value.substr(0, value.find(';')));
    }
  }
  return h;
}

std::vector<std::string_view> cookie_headers(const RequestContext& ctx) {
  std::vector<std::string_view> out;
  if (ctx.request == nullptr) return out;
  for (auto it = ctx.request->find(bhttp::field::cookie);
       it != ctx.request->end() && it->name() == bhttp::field::cookie; ++it) {
    out.push_back(it->value());
  }
  return out;
}

http::LocalReply reply_from(unsigned status, std::string body, challenge::Headers headers) {
  http::LocalReply r;
  r.status = status;
  r.content_type.clear();  // the module's headers carry their own Content-Type
  r.body = std::move(body);
  r.headers = std::move(headers);
  bool has_type = false;
  for (const auto& [name, value] : r.headers) {
    if (boost::beast::iequals(name, "Content-Type")) has_type = true;
  }
  if (!has_type && !r.body.empty()) r.content_type = "text/html; charset=utf-8";
  return r;
}

}  // namespace

std::optional<http::LocalReply> serve_builtin(RequestContext& ctx, const Runtime& rt,
                                              const Services& services,
                                              std::chrono::system_clock::time_point wall_now,
                                              TimePoint now) {
  if (services.keys == nullptr || ctx.request == nullptr) return std::nullopt;
  const auto keys = services.keys->load();
  const std::vector<std::string_view> cookies = cookie_headers(ctx);
  const challenge::PassContext pc = pass_context(ctx);
  const challenge::PassCheck pass =
      challenge::check_pass_cookie(*keys, cookies, rt.challenge.cookie_name, pc, wall_now);
  ctx.pass_valid = pass == challenge::PassCheck::valid;
  ctx.pass_invalid = pass != challenge::PassCheck::valid && pass != challenge::PassCheck::absent;

  if (ctx.path != rt.challenge.verify_path || services.spent == nullptr) return std::nullopt;
  const auto method = ctx.request->method();
  if (method != bhttp::verb::get && method != bhttp::verb::head && method != bhttp::verb::post) {
    http::LocalReply r = http::error_reply(405);
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    return r;
  }
  challenge::VerifyRequest vr;
  vr.query = ctx.query;
  vr.cookie_headers = cookies;
  vr.client = pc;
  vr.tls = ctx.client.tls;
  vr.now = wall_now;
  vr.post = method == bhttp::verb::post;
  challenge::VerifyOutcome o = challenge::handle_verify(rt.challenge, *keys, *services.spent, vr);
  if (o.passed && services.behaviour != nullptr) {
    // The client proved itself: its unproved pages and refusals start over (proof.refused).
    services.behaviour->proof_earned(client_key(ctx), now);
  }
  ctx.decision.rule_id.clear();
  // The silent proof's challenge and worker script are no verdict either way.
  const bool proof_step = o.reason == "proof_challenge" || o.reason == "proof_worker";
  ctx.decision.source = o.passed    ? rules::Decision::Source::challenge_passed
                        : proof_step ? rules::Decision::Source::default_
                                     : rules::Decision::Source::challenge_failed;
  return reply_from(o.status, std::move(o.body), std::move(o.headers));
}

void collect_signals(RequestContext& ctx, const Runtime& rt, const Services& services,
                     TimePoint now) {
  if (ctx.request == nullptr) return;
  detect::DetectInput in;
  in.headers = ctx.request;
  in.http_version = ctx.http_version;
  in.method = ctx.request->method_string();
  in.host = ctx.host;
  in.path = ctx.path;
  in.ip = ctx.client.ip;
  in.tls = ctx.client.tls;
  in.via_proxy = ctx.client.peer_trusted;
  in.ja4 = ctx.client.ja4;
  in.ja3 = ctx.client.ja3;
  in.ja3n = ctx.client.ja3n;
  if (ctx.client.hello) {
    in.tls_mismatch =
        detect::tls_ua_mismatch(*ctx.client.hello, (*ctx.request)[bhttp::field::user_agent]);
  }
  // Any cookie bawwab set (the pass, or a challenge's check cookie <name>_chk_...) came back.
  for (std::string_view header : cookie_headers(ctx)) {
    if (header.find(rt.challenge.cookie_name) != std::string_view::npos) in.has_our_cookie = true;
  }
  in.has_pass_cookie = ctx.pass_valid;
  in.pass_cookie_invalid = ctx.pass_invalid;
  ctx.signals = detect::collect_signals(in, *rt.rules, services.crawlers, services.behaviour, now);
}

namespace {

// The built-in page for the status, or the operator's `pages:` template filled in.
http::LocalReply block_reply(const rules::Block& b, const RequestContext& ctx, const Runtime& rt,
                             std::chrono::system_clock::time_point wall_now) {
  http::LocalReply r = http::error_reply(b.status);
  if (b.page.empty()) return r;
  // Always there: the compiler refuses a rule naming an unknown page.
  const rules::PageTemplate* page = rt.rules->find_page(b.page);
  if (page == nullptr) return r;
  const std::string client_ip = ctx.client.ip.to_string();
  rules::PageValues v;
  v.status = b.status;
  v.rule = ctx.decision.rule_id;
  v.request_id = ctx.id;
  v.client_ip = client_ip;
  v.host = ctx.host;
  v.path = ctx.path;
  if (ctx.request != nullptr) {
    const auto m = ctx.request->method_string();
    v.method = std::string_view(m.data(), m.size());
  }
  v.time = wall_now;
  v.contact = rt.challenge.contact;
  v.site_name = rt.challenge.site_name;
  r.body = rules::render_page(*page, v);
  r.content_type = page->content_type;
  return r;
}

}  // namespace

Plan act(const RequestContext& ctx, const Runtime& rt, const Services& services,
         std::chrono::system_clock::time_point wall_now) {
  const rules::Decision& d = ctx.decision;
  if (d.shadow) return Forward{};
  return std::visit(
      Overloaded{
          [](const rules::Allow&) -> Plan { return Forward{}; },
          [&](const rules::Block& b) -> Plan {
            if (b.drop) return Drop{};
            return Respond{block_reply(b, ctx, rt, wall_now), {}};
          },
          [&](const rules::Challenge& c) -> Plan {
            // A passed reader is not challenged again until the pass expires. Never challenged
            // whatever the rules say: robots.txt (crawlers must be able to read the policy) and
            // verified crawlers (a challenge would only hide the site from search).
            if (ctx.pass_valid || ctx.path == detect::kRobotsPath ||
                ctx.signals.has("crawler.verified")) {
              return Forward{};
            }
            if (services.keys == nullptr) return Respond{http::error_reply(403), {}};
            const auto keys = services.keys->load();
            const auto level = challenge::parse_level(c.level).value_or(challenge::Level::js);
            const unsigned difficulty =
                challenge::difficulty_for(rt.challenge, c.difficulty, d.score);
            challenge::ChallengeReply cr = challenge::challenge_reply(
                rt.challenge, *keys, level, difficulty, pass_context(ctx), ctx.target,
                ctx.client.tls, wall_now);
            return Respond{reply_from(cr.status, std::move(cr.body), std::move(cr.headers)), {}};
          },
          [&](const rules::RateLimit& rl) -> Plan {
            CheckLimits check;
            for (std::size_t i : rl.limits) {
              if (i < rt.rules->limits().size()) check.limits.push_back(&rt.rules->limits()[i]);
            }
            if (check.limits.empty()) return Forward{};
            return check;
          },
          [](const rules::Tarpit& t) -> Plan {
            return Respond{http::error_reply(t.status), t.delay};
          },
      },
      d.action);
}

limit::KeyInput limit_key_input(const RequestContext& ctx) {
  limit::KeyInput in;
  in.ip = ctx.client.ip;
  if (ctx.request != nullptr) {
    in.user_agent = (*ctx.request)[bhttp::field::user_agent];
    in.headers = ctx.request;
  }
  in.host = ctx.host;
  in.path = ctx.path;
  in.rule_id = ctx.decision.rule_id;
  in.ja4 = ctx.client.ja4;
  return in;
}

Plan apply_limits(RequestContext& ctx, const Runtime& rt, std::span<const limit::Verdict> verdicts,
                  const Services* services, std::chrono::system_clock::time_point wall_now,
                  TimePoint now) {
  const std::vector<limit::Verdict> all(verdicts.begin(), verdicts.end());
  const limit::Verdict v = limit::strictest(all);
  if (v.spec == nullptr || v.kind == limit::Verdict::Kind::pass) return Forward{};
  ctx.limit_hit = LimitHit{v.spec->name, v.kind, v.shadow};
  if (v.shadow) return Forward{};
  if (v.kind == limit::Verdict::Kind::delay) {
    return Forward{std::chrono::ceil<std::chrono::milliseconds>(v.wait)};
  }
  if (v.spec->answer_challenge && services != nullptr && services->keys != nullptr &&
      ctx.request != nullptr) {
    // A pass that read past its budget: the client proves itself again, harder each time.
    const unsigned revocations =
        services->behaviour != nullptr
            ? services->behaviour->pass_revoked(client_key(ctx), pass_id(ctx, rt), now)
            : 1;
    const unsigned difficulty = std::min<unsigned>(
        challenge::kMaxDifficulty, rt.challenge.max_difficulty + 2 * (revocations - 1));
    const auto keys = services->keys->load();
    challenge::ChallengeReply cr =
        challenge::challenge_reply(rt.challenge, *keys, challenge::Level::js, difficulty,
                                   pass_context(ctx), ctx.target, ctx.client.tls, wall_now);
    return Respond{reply_from(cr.status, std::move(cr.body), std::move(cr.headers)), {}};
  }
  http::LocalReply r = http::error_reply(v.spec->status);
  r.headers.emplace_back("Retry-After", limit::retry_after_value(v.retry_after));
  if (rt.config->rate_limits.draft_headers) {
    const std::vector<limit::Verdict> one{v};
    r.headers.emplace_back("RateLimit-Policy", limit::ratelimit_policy_value(one));
    r.headers.emplace_back("RateLimit", limit::ratelimit_value(one));
  }
  return Respond{std::move(r), {}};
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
  // `set_request_header` actions replace whatever the client sent under that name: a client
  // cannot forge a header the origin trusts bawwab to set. Shadow decisions change nothing.
  if (!ctx.decision.shadow) {
    for (const rules::HeaderEdit* h : ctx.decision.request_headers) out.set(h->name, h->value);
    // A page that may be rewritten is asked for uncompressed: the rewriter reads HTML, and
    // bawwab compresses what it sends itself (plan_response), for the coding the client chose.
    if (!ctx.decision.html_rewrites.empty() || ctx.decision.prove) {
      out.erase(bhttp::field::accept_encoding);
    }
  }
}

namespace {

// `set_response_header` of the request's rules, then the response-phase rules (those with a
// `content_type` condition), which see the response's Content-Type. Shadow decisions change
// nothing. The same for the origin's responses and bawwab's own replies.
void apply_response_edits(const RequestContext& ctx, const Runtime& rt,
                          bhttp::response_header<>& res) {
  if (ctx.decision.shadow) return;
  for (const rules::HeaderEdit* h : ctx.decision.response_headers) res.set(h->name, h->value);
  if (ctx.request != nullptr && rt.rules != nullptr && rt.rules->size() > 0) {
    rules::RequestView view = request_view(ctx);
    view.content_type = res[bhttp::field::content_type];
    std::vector<const rules::HeaderEdit*> edits;
    rt.rules->evaluate_response(view, edits);
    for (const rules::HeaderEdit* h : edits) res.set(h->name, h->value);
  }
}

// Statuses whose body is the page itself: the only ones a body filter may change by default.
// Errors, redirects and partial content (206: the bytes of a range of the origin's entity) pass
// untouched.
bool body_may_be_filtered(unsigned status) noexcept {
  return status >= 200 && status < 300 && status != 204 && status != 206;
}

// The response's Content-Encoding, when it is one the filters could not read ("" or identity
// is plain).
// Adds `name` to the response's Vary unless it is listed already (or Vary is "*").
void add_vary(bhttp::response_header<>& res, std::string_view name) {
  const auto range = res.equal_range(bhttp::field::vary);
  for (auto f = range.first; f != range.second; ++f) {
    std::string_view v = f->value();
    while (!v.empty()) {
      const auto comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item == "*" || boost::beast::iequals(item, name)) return;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  res.insert(bhttp::field::vary, name);
}

bool is_html(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return boost::beast::iequals(type, "text/html") ||
         boost::beast::iequals(type, "application/xhtml+xml");
}

bool encoded(const bhttp::response_header<>& res) {
  const auto ce = res[bhttp::field::content_encoding];
  return !ce.empty() && !boost::beast::iequals(ce, "identity");
}

// Every enforced policy must allow the proof (a page may send several; each is enforced).
// Report-Only policies block nothing and are left as they are. A policy in a <meta> element of
// the page is not seen here.
constexpr std::string_view kCsp = "Content-Security-Policy";  // not in Beast's field table
void allow_proof_in_policies(bhttp::response_header<>& res, std::string_view hash_source) {
  std::vector<std::string> policies;
  for (const auto& f : res) {
    if (boost::beast::iequals(f.name_string(), kCsp)) {
      policies.push_back(challenge::allow_proof_in_csp(f.value(), hash_source));
    }
  }
  if (policies.empty()) return;
  res.erase(kCsp);
  for (const std::string& p : policies) res.insert(kCsp, p);
}

}  // namespace

void filter_response(const RequestContext& ctx, const Runtime& rt,
                     bhttp::response_header<>& res, unsigned upstream_version) {
  http::prepare_response_fields(res, rt.config->via, upstream_version == 10 ? 0u : 1u);
  apply_response_edits(ctx, rt, res);
}

void filter_local_reply(const RequestContext& ctx, const Runtime& rt,
                        bhttp::response_header<>& res) {
  apply_response_edits(ctx, rt, res);
}

ResponsePlan plan_response(const RequestContext& ctx, const Runtime& rt,
                           const Services& services, bhttp::response_header<>& res,
                           bool head_request) {
  ResponsePlan plan;
  const unsigned status = res.result_int();
  // No body at all: nothing to filter, whatever a filter would want.
  if (head_request || status == 204 || status == 304 || status < 200) return plan;

  // robots.txt passing through teaches the behaviour table what the site disallows (signal
  // behaviour.robots_violation). Plain bodies only.
  if (services.behaviour != nullptr && status == 200 && ctx.path == detect::kRobotsPath &&
      !encoded(res)) {
    detect::BehaviourTracker* behaviour = services.behaviour;
    plan.filters.add(std::make_unique<detect::RobotsLearner>(
        [behaviour, host = ctx.host](std::string_view body) { behaviour->set_robots(host, body); }));
  }
  // The rules' insert_html: HTML pages of the 2xx kind, uncompressed (we asked for identity,
  // but an origin may compress anyway; then the page passes as it is).
  if (!ctx.decision.shadow && !ctx.decision.html_rewrites.empty() &&
      body_may_be_filtered(status) && !encoded(res) && is_html(res[bhttp::field::content_type])) {
    for (const rewrite::RewriteSpec* spec : ctx.decision.html_rewrites) {
      // The spec lives in the pinned rule set; the rewriter holds the rule set's share of it.
      plan.filters.add(std::make_unique<rewrite::HtmlRewriter>(
          std::shared_ptr<const rewrite::RewriteSpec>(rt.rules, spec)));
    }
  }

  // The silent proof (rule action `prove`): the page carries the script that earns the pass, and
  // the page's Content-Security-Policy is widened just enough to let it run.
  if (!ctx.decision.shadow && ctx.decision.prove && rt.proof && body_may_be_filtered(status) &&
      !encoded(res) && is_html(res[bhttp::field::content_type])) {
    plan.filters.add(std::make_unique<rewrite::HtmlRewriter>(rt.proof));
    allow_proof_in_policies(res, rt.proof_csp_source);
  }

  if (plan.filters.changes_bytes()) {
    // The origin's length, if it sent one: a small page gets a small gzip window (nginx does the
    // same), about 100 KB of zlib state instead of 200 KB.
    std::size_t size_hint = 0;
    if (const auto cl = res[bhttp::field::content_length]; !cl.empty()) {
      std::uint64_t n = 0;
      if (std::from_chars(cl.data(), cl.data() + cl.size(), n).ec == std::errc{}) {
        size_hint = static_cast<std::size_t>(n);
      }
    }
    // The body the client gets is not the origin's entity any more (nginx's sub_filter does the
    // same): its length is unknown until it ends, its validators are at most weak, and byte
    // ranges of it cannot be served from the origin's.
    plan.rewritten = true;
    res.erase(bhttp::field::content_length);
    res.erase(bhttp::field::last_modified);
    res.erase(bhttp::field::accept_ranges);
    const auto etag = res[bhttp::field::etag];
    if (!etag.empty() && !etag.starts_with("W/")) res.set(bhttp::field::etag, "W/" + std::string(etag));
    // Compressed again for a client that accepts it, as the page streams.
    if (ctx.client_coding != compress::Coding::identity &&
        compress::is_compressible(res[bhttp::field::content_type])) {
      compress::EncoderOptions options;
      options.size_hint = size_hint;
      if (auto encoder = compress::make_encoder(ctx.client_coding, options)) {
        plan.filters.add(std::move(encoder));
        res.set(bhttp::field::content_encoding,
                compress::content_encoding_token(ctx.client_coding));
      }
    }
    // The body now depends on the request's Accept-Encoding (and caches must know it).
    add_vary(res, "Accept-Encoding");
  }
  return plan;
}

UpstreamFailure upstream_failure(Errc last) noexcept {
  switch (last) {
    case Errc::no_upstream: return {502, "no_upstream"};
    case Errc::upstream_timeout: return {504, "upstream_timeout"};
    case Errc::upstream_protocol_error: return {502, "upstream_protocol_error"};
    case Errc::body_too_large: return {413, "body_too_large"};
    case Errc::bad_request_body: return {400, "bad_request_body"};
    case Errc::client_closed: return {499, "client_closed"};
    default: return {502, "upstream_connect_failed"};
  }
}

DecisionTally tally_decision(const RequestContext& ctx, const Plan& plan) noexcept {
  const rules::Decision& d = ctx.decision;
  DecisionTally t;
  t.action = d.action.index();
  t.shadow = d.shadow;
  if (!d.shadow) t.shadow_hits = d.shadow_hits;  // in a shadow decision they are the decision
  t.by_threshold = d.source == rules::Decision::Source::threshold;
  t.signals = ctx.signals.list;
  if (ctx.limit_hit) {
    using K = limit::Verdict::Kind;
    using L = DecisionTally::Limit;
    t.limit = ctx.limit_hit->shadow          ? L::shadow
              : ctx.limit_hit->kind == K::delay  ? L::delayed
              : ctx.limit_hit->kind == K::reject ? L::rejected
              : ctx.limit_hit->kind == K::ban    ? L::banned
                                                 : L::none;
  }
  t.challenge_issued = std::holds_alternative<rules::Challenge>(d.action) && !d.shadow &&
                       std::holds_alternative<Respond>(plan);
  return t;
}

bool sets_bawwab_cookie(const RequestContext& ctx, const DecisionTally* tally) noexcept {
  if (ctx.stage == Stage::builtin) return true;
  return tally != nullptr && ctx.stage == Stage::decided && tally->challenge_issued;
}

std::string_view stage_name(Stage stage) noexcept {
  switch (stage) {
    case Stage::connection: return "connection";
    case Stage::head: return "head";
    case Stage::builtin: return "builtin";
    case Stage::decided: return "decided";
  }
  return "connection";
}

std::string LimitHit::label() const {
  return std::string(name) + ":" + std::string(limit::kind_name(kind)) + (shadow ? ":shadow" : "");
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
  r.extra.emplace_back("stage", std::string(stage_name(ctx.stage)));
  if (ctx.stage == Stage::builtin || ctx.stage == Stage::decided) {
    const rules::Decision& d = ctx.decision;
    r.extra.emplace_back("decision", std::string(rules::action_name(d.action)));
    r.extra.emplace_back("rule", d.rule_id);
    r.extra.emplace_back("decided_by", std::string(rules::source_name(d.source)));
    r.extra.emplace_back("shadow", d.shadow);
    r.extra.emplace_back("score", d.score);
    boost::json::object signals;
    for (const auto& s : ctx.signals.list) {
      signals[std::string(s.name)] = s.value;
    }
    r.extra.emplace_back("signals", std::move(signals));
    if (!d.tags.empty()) {
      boost::json::array tags;
      for (auto t : d.tags) tags.emplace_back(std::string(t));
      r.extra.emplace_back("tags", std::move(tags));
    }
    if (!d.shadow_hits.empty()) {
      boost::json::array shadow;
      for (const auto& h : d.shadow_hits) {
        shadow.emplace_back(std::string(h.rule_id) + ":" + std::string(rules::action_name(h.action)));
      }
      r.extra.emplace_back("shadow_rules", std::move(shadow));
    }
    if (ctx.limit_hit) r.extra.emplace_back("limit", ctx.limit_hit->label());
  }
  return r;
}

}  // namespace bawwab::pipeline
