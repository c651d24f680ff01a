#include "bawwab/detect/detector.hpp"

#include "bawwab/detect/header_consistency.hpp"
#include "bawwab/detect/user_agent.hpp"

namespace bawwab::detect {
namespace {

// UA classes by which a client declares itself a bot: checking its headers against a browser
// profile would only pile weight on an honest client.
bool declares_bot(std::string_view signal) noexcept {
  return signal == "ua.ai_crawler" || signal == "ua.search_engine" || signal == "ua.seo_tool" ||
         signal == "ua.feed_reader" || signal == "ua.link_preview" || signal == "ua.http_library" ||
         signal == "ua.scraping_framework";
}

struct Adder {
  const RuleLookup& rules;
  rules::Signals& out;
  void operator()(std::string_view name, std::string value = {}) const {
    out.add(name, std::move(value), rules.weight(name));
  }
};

std::string join(const std::vector<std::string_view>& parts) {
  std::size_t n = 0;
  for (const auto p : parts) n += p.size() + 2;
  std::string s;
  s.reserve(n);
  for (const auto p : parts) {
    if (!s.empty()) s += "; ";
    s += p;
  }
  return s;
}

}  // namespace

Verification verify_by_network(const RuleLookup& rules, const rules::CrawlerSpec& crawler,
                               const net::Address& ip) {
  if (crawler.network.empty()) return Verification::no_network;
  return rules.in_network(crawler.network, ip) ? Verification::verified
                                               : Verification::not_in_network;
}

rules::Signals collect_signals(const DetectInput& in, const RuleLookup& rules,
                               CrawlerVerifier* verifier, BehaviourTracker* tracker,
                               TimePoint now) {
  rules::Signals out;
  out.list.reserve(8);
  const Adder add{rules, out};
  const HeaderSummary h = in.headers ? summarize_headers(*in.headers) : HeaderSummary{};
  const std::string_view ua = h.user_agent;

  // User-Agent: empty or malformed, then the classes from the shipped lists.
  const UaCheck ua_check = check_user_agent(ua, h.has_user_agent);
  if (ua_check.problem == UaProblem::empty)
    add("ua.empty");
  else if (ua_check.problem == UaProblem::malformed)
    add("ua.malformed");

  bool declared_bot = false;
  if (!ua.empty()) {
    // Reused per thread: the request path allocates no match list once warm.
    thread_local std::vector<rules::UaMatch> matches;
    matches.clear();
    rules.match_user_agent(ua, matches);
    for (const auto& m : matches) {
      if (m.signal.empty() || out.has(m.signal)) continue;
      add(m.signal, std::string(m.label));
      declared_bot = declared_bot || declares_bot(m.signal);
    }
  }
  const rules::CrawlerSpec* crawler = ua.empty() ? nullptr : rules.claimed_crawler(ua);
  if (crawler != nullptr) declared_bot = true;

  // Header consistency against the claimed browser.
  const BrowserClaim claim = parse_browser_claim(ua);
  if (claim.family != BrowserClaim::none) add("ua.browser", std::string(family_name(claim.family)));
  if (in.headers != nullptr) {
    add("headers.order", header_order_hex(h.order_hash));
    if (claim.known() && !declared_bot) {
      const RequestFacts facts{in.method, in.host, in.http_version, in.tls, in.via_proxy};
      const HeaderCheck check = check_headers(h, facts, claim);
      if (!check.reasons.empty()) add("headers.inconsistent", join(check.reasons));
      if (check.order_mismatch)
        add("headers.order_mismatch", std::string(family_name(claim.family)));
    }
  }

  // TLS: computed by the TLS-hello phase, passed through as signals.
  if (!in.ja4.empty()) add("tls.ja4", std::string(in.ja4));
  if (!in.ja3.empty()) add("tls.ja3", std::string(in.ja3));
  if (!in.ja3n.empty()) add("tls.ja3n", std::string(in.ja3n));
  if (in.tls_mismatch) add("tls.ua_mismatch", *in.tls_mismatch);

  // A claimed crawler: its published network, else forward-confirmed reverse DNS. Unverified
  // until proven, including while the DNS lookup is pending.
  bool verified = false;
  if (crawler != nullptr) {
    verified = verify_by_network(rules, *crawler, in.ip) == Verification::verified;
    if (!verified && verifier != nullptr && !crawler->dns_suffixes.empty())
      verified = verifier->lookup(*crawler, in.ip, now) == CrawlerVerifier::Status::verified;
    add(verified ? "crawler.verified" : "crawler.unverified", crawler->name);
  }

  // Content: what admit-by-proof guards. Every GET or HEAD but an asset's (by extension or by
  // Sec-Fetch-Dest): not only "pages", since a client chooses its Accept and Sec-Fetch-Dest.
  const RequestKind kind = classify_request(in.method, in.path, h.accept, h.sec_fetch_dest);
  const bool content =
      (in.method == "GET" || in.method == "HEAD") && kind != RequestKind::asset &&
      classify_request("GET", in.path, "", "") != RequestKind::asset;
  if (content) add("request.content");

  if (tracker != nullptr) {
    BehaviourEvent ev;
    ev.host = in.host;
    ev.path = in.path;
    ev.user_agent = ua;
    ev.kind = kind;
    ev.had_our_cookie = in.has_pass_cookie || in.pass_cookie_invalid || in.has_our_cookie;
    const BehaviourFlags f = tracker->record(BehaviourTracker::key_for(in.ip), ev, now);
    ClientEvent ce;
    ce.path = in.path;
    ce.content = content;
    ce.has_pass = in.has_pass_cookie;
    const ClientFlags cf = tracker->record_client(
        BehaviourTracker::client_key(in.ip, ua, h.order_hash), ce, now);
    if (cf.honeypot) add("behaviour.honeypot");
    if (cf.grace) add("proof.grace");
    if (cf.refused) add("proof.refused");
    if (f.robots_violation) add("behaviour.robots_violation");
    if (!verified) {
      if (f.html_only) add("behaviour.html_only");
      if (f.cookie_ignored) add("behaviour.cookie_ignored");
      if (f.regular_interval) add("behaviour.regular_interval");
    }
  }

  if (in.has_pass_cookie) add("challenge.passed");
  if (in.pass_cookie_invalid) add("challenge.invalid");
  return out;
}

}  // namespace bawwab::detect
