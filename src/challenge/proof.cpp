#include "bawwab/challenge/proof.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "bawwab/challenge/page.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/proof_of_work.hpp"
#include "crypto.hpp"
#include "web.hpp"

namespace bawwab::challenge {
namespace {

// The return path the proof's challenges are bound to: the proof is not a redirect, so one
// constant path (the MAC still binds each challenge to its client).
constexpr std::string_view kProofPath = "/";

// A verify path inside a JS string literal: paths are URL characters, but a config could hold
// anything the loader allows; escape what would end the string or the script element.
std::string js_string(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\' || c == '<' || c == '>' || static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

struct Directive {
  std::string name;  // lower-cased
  std::vector<std::string> sources;
};

std::vector<Directive> parse_policy(std::string_view policy) {
  std::vector<Directive> out;
  while (!policy.empty()) {
    const auto semi = policy.find(';');
    std::string_view part = policy.substr(0, semi);
    policy.remove_prefix(semi == std::string_view::npos ? policy.size() : semi + 1);
    std::vector<std::string> tokens;
    while (!part.empty()) {
      while (!part.empty() && is_space(part.front())) part.remove_prefix(1);
      std::size_t n = 0;
      while (n < part.size() && !is_space(part[n])) ++n;
      if (n > 0) tokens.emplace_back(part.substr(0, n));
      part.remove_prefix(n);
    }
    if (tokens.empty()) continue;
    Directive d;
    d.name = std::move(tokens.front());
    std::transform(d.name.begin(), d.name.end(), d.name.begin(), lower);
    d.sources.assign(std::make_move_iterator(tokens.begin() + 1),
                     std::make_move_iterator(tokens.end()));
    // A repeated directive is ignored by browsers (the first one counts): so do we.
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const Directive& x) { return x.name == d.name; });
    if (!seen) out.push_back(std::move(d));
  }
  return out;
}

std::string serialize(const std::vector<Directive>& ds) {
  std::string out;
  for (const Directive& d : ds) {
    if (!out.empty()) out += "; ";
    out += d.name;
    for (const std::string& s : d.sources) {
      out += ' ';
      out += s;
    }
  }
  return out;
}

Directive* find(std::vector<Directive>& ds, std::string_view name) {
  for (Directive& d : ds)
    if (d.name == name) return &d;
  return nullptr;
}

bool has(const Directive& d, std::string_view source) {
  return std::any_of(d.sources.begin(), d.sources.end(),
                     [&](const std::string& s) { return iequals(s, source); });
}

bool has_nonce_or_hash(const Directive& d) {
  return std::any_of(d.sources.begin(), d.sources.end(), [](const std::string& s) {
    return istarts_with(s, "'nonce-") || istarts_with(s, "'sha256-") ||
           istarts_with(s, "'sha384-") || istarts_with(s, "'sha512-");
  });
}

void add_source(Directive& d, std::string_view source) {
  // 'none' with any other source is not a valid list: it goes.
  std::erase_if(d.sources, [](const std::string& s) { return iequals(s, "'none'"); });
  if (!has(d, source)) d.sources.emplace_back(source);
}

// The first of `names` the policy has (the CSP fallback chain), or null.
Directive* governing(std::vector<Directive>& ds, std::initializer_list<std::string_view> names) {
  for (const std::string_view n : names)
    if (Directive* d = find(ds, n)) return d;
  return nullptr;
}

// A same-origin request of the kind `names` governs is allowed: no directive, or 'self' or '*',
// or 'strict-dynamic' in a script directive (script-created requests are then allowed).
bool allows_self(const Directive* d, bool strict_dynamic_counts) {
  if (d == nullptr) return true;
  return has(*d, "'self'") || has(*d, "*") || (strict_dynamic_counts && has(*d, "'strict-dynamic'"));
}

// A new directive `name` for what fell back to `from`: the same host and scheme sources, so that
// the page's own workers or fetches stay allowed, plus 'self'.
Directive derived(std::string name, const Directive& from) {
  Directive d;
  d.name = std::move(name);
  for (const std::string& s : from.sources) {
    const bool keyword = !s.empty() && s.front() == '\'';
    if (!keyword || iequals(s, "'self'")) d.sources.push_back(s);
  }
  if (!has(d, "'self'")) d.sources.emplace_back("'self'");
  return d;
}

void allow_same_origin(std::vector<Directive>& ds, std::string_view own,
                       std::initializer_list<std::string_view> chain) {
  Directive* gov = governing(ds, chain);
  const bool script_fallback = gov != nullptr && (gov->name == "script-src" ||
                                                   gov->name == "default-src");
  if (allows_self(gov, own == "worker-src" && script_fallback)) return;
  if (gov->name == own) {
    add_source(*gov, "'self'");
  } else {
    ds.push_back(derived(std::string(own), *gov));
  }
}

std::string json_escape_safe(std::string_view s) {
  // Challenges are base64url, digits and dots: nothing to escape; anything else is dropped.
  std::string out;
  for (const char c : s)
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
        c == '-' || c == '_')
      out += c;
  return out;
}

VerifyOutcome plain(unsigned status, std::string reason, std::string body = {},
                    std::string_view type = "text/plain; charset=utf-8") {
  VerifyOutcome out;
  out.status = status;
  out.reason = std::move(reason);
  out.body = std::move(body);
  out.headers = {{"Content-Type", std::string(type)}, {"Cache-Control", "no-store"}};
  return out;
}

}  // namespace

std::string proof_script(const ChallengeConfig& config) {
  const std::string v = js_string(config.verify_path);
  // ES5 and fetch: every browser that runs Web Workers has both. Any failure is silent: the
  // reader then meets the interstitial after the grace pages, which explains itself.
  std::string s = "(function(){var v=\"" + v + "\";";
  s += "function go(){if(!window.Worker||!window.fetch)return;"
       "fetch(v+\"?proof=challenge\",{credentials:\"same-origin\",cache:\"no-store\"})"
       ".then(function(r){return r.ok?r.json():null}).then(function(j){if(!j)return;"
       "var w=new Worker(v+\"?proof=worker\");"
       "w.onmessage=function(m){if(m.data.n===undefined)return;w.terminate();"
       "fetch(v+\"?proof=answer&c=\"+encodeURIComponent(j.c)+\"&a=\"+m.data.n,"
       "{method:\"POST\",credentials:\"same-origin\",cache:\"no-store\"})};"
       "w.postMessage({c:j.c,d:j.d,s:0,k:1})}).catch(function(){})}";
  // After load, and a tick later: nothing of the page's own loading waits for the proof.
  s += "if(document.readyState===\"complete\")setTimeout(go,0);"
       "else addEventListener(\"load\",function(){setTimeout(go,0)})})();";
  return s;
}

std::string csp_hash_source(std::string_view script) {
  const crypto::Digest d = crypto::sha256(script);
  return "'sha256-" + crypto::base64_encode(d) + "'";
}

std::string allow_proof_in_csp(std::string_view policy, std::string_view hash_source) {
  std::vector<Directive> ds = parse_policy(policy);
  const std::string before = serialize(ds);

  // The inline script: governed by script-src-elem, else script-src, else default-src.
  if (Directive* d = governing(ds, {"script-src-elem", "script-src", "default-src"})) {
    const bool inline_allowed = has(*d, "'unsafe-inline'") && !has_nonce_or_hash(*d) &&
                                !has(*d, "'strict-dynamic'");
    if (!inline_allowed) add_source(*d, hash_source);
  }
  // The worker (same origin) and the two fetches (same origin).
  allow_same_origin(ds, "worker-src", {"worker-src", "child-src", "script-src", "default-src"});
  allow_same_origin(ds, "connect-src", {"connect-src", "default-src"});

  const std::string after = serialize(ds);
  return after == before ? std::string(policy) : after;
}

VerifyOutcome handle_proof(const ChallengeConfig& config, const KeyRing& keys, SpentSet& spent,
                           const VerifyRequest& request, std::string_view proof,
                           const std::optional<std::string>& c,
                           const std::optional<std::string>& a) {
  const bool post = request.post;
  if (proof == "worker" && !post) {
    VerifyOutcome out = plain(200, "proof_worker", std::string(worker_script()),
                              "text/javascript; charset=utf-8");
    // The same script for everyone: a browser keeps it (a day) instead of fetching it per page.
    out.headers[1].second = "public, max-age=86400";
    return out;
  }
  if (proof == "challenge" && !post) {
    const std::string c = issue_challenge(keys, request.client, config.proof_difficulty,
                                          kProofPath, request.now, config.challenge_ttl);
    std::string body = "{\"c\":\"" + json_escape_safe(c) +
                       "\",\"d\":" + std::to_string(config.proof_difficulty) + "}";
    return plain(200, "proof_challenge", std::move(body), "application/json");
  }
  if (proof == "answer" && post) {
    if (!c || !a) return plain(400, "proof_malformed", "malformed proof\n");
    const ChallengeCheck check = verify_solution(keys, *c, *a, request.client, kProofPath,
                                                 request.now, spent);
    if (check != ChallengeCheck::valid) {
      return plain(config.page_status, "proof_" + std::string(to_string(check)),
                   "proof refused\n");
    }
    VerifyOutcome out = plain(204, "passed_proof");
    out.passed = true;
    const std::string token = issue_pass(keys, request.client, request.now + config.pass_ttl);
    out.set_cookie =
        detail::set_cookie(config.cookie_name, token, "/", config.pass_ttl, request.tls);
    out.headers.emplace_back("Set-Cookie", out.set_cookie);
    return out;
  }
  VerifyOutcome out = plain(post ? 405 : 400, "proof_malformed", "malformed proof\n");
  return out;
}

}  // namespace bawwab::challenge
