#pragma once
// The verifier: bawwab's own answer to GET <verify_path>. A pure function of the request's facts;
// the session routes the path here before any rule and sends what comes back. Queries it accepts
// (every value percent-encoded; `r` is the return path):
//   ?c=<challenge>&a=<answer>&r=...   a solved proof of work (from the js page)
//   ?c=<challenge>&nojs=1&r=...       the no-JS page's refresh
//   ?level=nojs&r=...                 the no-JS page, on request (links on the other pages)
//   ?level=accessible&r=...           the accessible page, on request
//   ?proof=challenge|worker, POST ?proof=answer&c=..&a=..   the silent proof (challenge/proof.hpp)
// A POST is only an answer of the silent proof; anything else is refused.
// A redemption needs the challenge's MAC (bound to this client and to `r`), its expiry, its check
// cookie back (else the accessible page explains cookies, instead of a challenge loop), the work
// or the no-JS delay, and a challenge never redeemed before.
#include <span>
#include <string>
#include <string_view>

#include "bawwab/challenge/config.hpp"
#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/page.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/proof_of_work.hpp"
#include "bawwab/challenge/return_path.hpp"

namespace bawwab::challenge {

// The longest query the verifier reads; longer is malformed.
inline constexpr std::size_t kMaxVerifyQuery = 4096;

struct VerifyRequest {
  std::string_view query;                            // after '?', raw (not decoded)
  std::span<const std::string_view> cookie_headers;  // every Cookie header value
  PassContext client;
  bool tls = false;  // adds Secure to the cookies
  WallTime now;
  bool post = false;  // the method was POST (the silent proof's answer); else GET or HEAD
};

struct VerifyOutcome {
  unsigned status = 403;
  // Success: the return path (303). Only ever a same-site path: one '/' then no '/' or '\'
  // (safe_return_path), never a scheme or "//": no open redirect. Empty otherwise.
  std::string location;
  // Success: the pass cookie, a full Set-Cookie value:
  //   <cookie_name>=<token>; Path=/; Max-Age=<pass_ttl>; HttpOnly; SameSite=Lax[; Secure]
  std::string set_cookie;
  std::string body;    // a page (failure or a page on request), "" for the redirect
  std::string reason;  // for the access log and counters: "passed", "bad_mac", "page_nojs", ...
  bool passed = false;
  // Every header to send, Location and Set-Cookie included (several Set-Cookie entries: the pass,
  // check cookies cleared or set), Cache-Control: no-store always.
  Headers headers;
};

// Handles one request to the verify path. Failures answer config.page_status (403) with a new
// challenge of the same level: for a js attempt, at the failed challenge's own difficulty when its
// MAC held, else at max_difficulty (a forged challenge must not buy an easier one). Records a
// redeemed challenge in `spent`. Thread-safe (SpentSet is).
VerifyOutcome handle_verify(const ChallengeConfig& config, const KeyRing& keys, SpentSet& spent,
                            const VerifyRequest& request);

}  // namespace bawwab::challenge
