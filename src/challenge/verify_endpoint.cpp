#include "bawwab/challenge/verify_endpoint.hpp"

#include <optional>
#include <utility>

#include "bawwab/challenge/proof.hpp"
#include "web.hpp"

namespace bawwab::challenge {
namespace {

struct Query {
  std::optional<std::string> c, a, r, nojs, level, proof;
};

// "k=v&k=v", values percent-decoded. A repeated parameter is malformed: which copy a cache, a
// WAF and we would each read is exactly the ambiguity an attacker looks for. Unknown ones are
// ignored (a tracking parameter appended by some app must not fail a reader).
bool parse_query(std::string_view q, Query& out) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    q.remove_prefix(amp == std::string_view::npos ? q.size() : amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    const std::pair<std::string_view, std::optional<std::string>*> known[] = {
        {"c", &out.c}, {"a", &out.a}, {"r", &out.r}, {"nojs", &out.nojs}, {"level", &out.level},
        {"proof", &out.proof}};
    std::optional<std::string>* slot = nullptr;
    for (const auto& [name, p] : known) {
      if (name == key) slot = p;
    }
    if (slot == nullptr) continue;
    std::string value;
    if (slot->has_value() || !detail::percent_decode(raw, value)) return false;
    *slot = std::move(value);
  }
  return true;
}

bool has_check_cookie(const ChallengeConfig& config, const VerifyRequest& request,
                      std::string_view nonce_text) {
  const std::string name = check_cookie_name(config, nonce_text);
  return detail::for_each_cookie(request.cookie_headers, name,
                                 [](std::string_view) { return true; });
}

class Builder {
 public:
  Builder(const ChallengeConfig& config, const KeyRing& keys, const VerifyRequest& request,
          std::string return_path)
      : config_(config), keys_(keys), request_(request), return_path_(std::move(return_path)) {}

  // Forgets the check cookie of a challenge whose MAC held (an unauthenticated nonce could name
  // any cookie: those are left to expire).
  void clear_check_cookie(const Challenge& c) { clear_ = check_cookie_name(config_, c.nonce_text); }

  VerifyOutcome page(Level level, unsigned difficulty, std::string reason) {
    ChallengeReply reply = challenge_reply(config_, keys_, level, difficulty, request_.client,
                                           return_path_, request_.tls, request_.now);
    VerifyOutcome out;
    out.status = reply.status;
    out.body = std::move(reply.body);
    out.headers = std::move(reply.headers);
    out.reason = std::move(reason);
    add_clear(out);
    return out;
  }

  VerifyOutcome cookie_problem() {
    VerifyOutcome out;
    out.status = config_.page_status;
    out.body = render_accessible_page(config_, return_path_, true);
    out.headers = page_headers();
    out.reason = std::string(to_string(ChallengeCheck::no_check_cookie));
    return out;
  }

  VerifyOutcome passed(std::chrono::seconds ttl) {
    VerifyOutcome out;
    out.status = 303;
    out.passed = true;
    out.reason = "passed";
    out.location = return_path_;
    const std::string token = issue_pass(keys_, request_.client, request_.now + ttl);
    out.set_cookie = detail::set_cookie(config_.cookie_name, token, "/", ttl, request_.tls);
    out.headers = {
        {"Location", out.location}, {"Cache-Control", "no-store"}, {"Set-Cookie", out.set_cookie}};
    add_clear(out);
    return out;
  }

 private:
  void add_clear(VerifyOutcome& out) const {
    if (clear_.empty()) return;
    out.headers.emplace_back(
        "Set-Cookie",
        detail::set_cookie(clear_, "", config_.verify_path, std::chrono::seconds(0), request_.tls));
  }

  const ChallengeConfig& config_;
  const KeyRing& keys_;
  const VerifyRequest& request_;
  std::string return_path_;
  std::string clear_;
};

}  // namespace

VerifyOutcome handle_verify(const ChallengeConfig& config, const KeyRing& keys, SpentSet& spent,
                            const VerifyRequest& request) {
  Query q;
  if (request.query.size() > kMaxVerifyQuery || !parse_query(request.query, q)) {
    Builder b(config, keys, request, "/");
    return b.page(Level::js, config.max_difficulty, "malformed_query");
  }
  // The MAC covers the sanitised path: a challenge issued for "//evil.com" was issued for "/".
  const std::string return_path = safe_return_path(q.r.value_or("/"));
  Builder b(config, keys, request, return_path);

  if (q.proof) return handle_proof(config, keys, spent, request, *q.proof, q.c, q.a);
  if (request.post) return b.page(Level::js, config.max_difficulty, "malformed");
  // The no-JS level turned off: its links and refreshes get the js page.
  if (!config.nojs_enabled && (q.level == "nojs" || q.nojs)) {
    return b.page(Level::js, config.max_difficulty, "nojs_disabled");
  }

  if (!q.c) {
    if (q.level == "nojs") return b.page(Level::nojs, 0, "page_nojs");
    if (q.level == "accessible") return b.page(Level::accessible, 0, "page_accessible");
    return b.page(Level::js, config.max_difficulty, "malformed");
  }

  if (q.a) {
    Challenge c;
    const ChallengeCheck check =
        verify_solution(keys, *q.c, *q.a, request.client, return_path, request.now, spent, &c);
    const bool trusted = !c.nonce_text.empty();  // the MAC held
    if (trusted) b.clear_check_cookie(c);
    if (check == ChallengeCheck::valid) {
      // Checked after the work: a reader whose cookies are off learns why instead of solving
      // challenges in a loop. The challenge is spent either way.
      if (!has_check_cookie(config, request, c.nonce_text)) return b.cookie_problem();
      return b.passed(config.pass_ttl);
    }
    const unsigned retry = trusted && c.difficulty > 0 ? c.difficulty : config.max_difficulty;
    return b.page(Level::js, retry, std::string(to_string(check)));
  }

  if (q.nojs == "1") {
    Challenge c;
    ChallengeCheck check = open_challenge(keys, *q.c, request.client, return_path, request.now, &c);
    if (check == ChallengeCheck::valid || check == ChallengeCheck::expired) b.clear_check_cookie(c);
    if (check == ChallengeCheck::valid) {
      const WallTime issued{std::chrono::seconds(c.expiry_unix) - config.challenge_ttl};
      if (c.difficulty != 0) {
        check = ChallengeCheck::wrong_kind;
      } else if (request.now < issued + config.nojs_delay) {
        check = ChallengeCheck::too_early;
      } else if (!has_check_cookie(config, request, c.nonce_text)) {
        return b.cookie_problem();
      } else if (!spent.mark_spent(c.nonce, WallTime{std::chrono::seconds(c.expiry_unix)},
                                   request.now)) {
        check = ChallengeCheck::replayed;
      } else {
        // Short: any client that keeps cookies and waits gets here without any work.
        return b.passed(config.nojs_pass_ttl);
      }
    }
    return b.page(Level::nojs, 0, std::string(to_string(check)));
  }

  return b.page(Level::js, config.max_difficulty, "malformed");
}

}  // namespace bawwab::challenge
