#pragma once
// The silent proof: how a browser earns its pass without ever seeing a challenge page.
//
// A page served to a browser-claiming client without a pass (rule action `prove`) carries a small
// inline script. After the page's `load` event, off the main thread, it
//   1. GETs <verify_path>?proof=challenge: a signed challenge bound to this client (address
//      prefix, User-Agent, TLS stack), as JSON {"c": challenge, "d": difficulty};
//   2. runs the work (the interstitial's SHA-256 worker, <verify_path>?proof=worker) in a Web
//      Worker at a low difficulty (a few milliseconds);
//   3. POSTs <verify_path>?proof=answer&c=..&a=..: a valid, unspent answer gets the same HMAC pass
//      cookie as the interstitial (204, Set-Cookie), which the next page carries.
// The reader sees nothing: no interstitial, no layout change, nothing before the page's own load.
// A client that does not run the page's scripts never gets the pass, and after its grace pages
// (detect::BehaviourConfig) meets the interstitial.
//
// Content-Security-Policy: the origin's policy must allow the inline script (its hash is added, or
// it is already allowed), the worker (same origin) and the two requests (same origin).
// allow_proof_in_csp makes the smallest change that does that.
#include <optional>
#include <string>
#include <string_view>

#include "bawwab/challenge/config.hpp"
#include "bawwab/challenge/verify_endpoint.hpp"

namespace bawwab::challenge {

// The script element's text, without the <script> tags: constant for a given verify path. Pure.
std::string proof_script(const ChallengeConfig& config);

// The CSP source that allows exactly that script: 'sha256-<base64>'. Pure.
std::string csp_hash_source(std::string_view script);

// One Content-Security-Policy value, changed so that it allows the proof: the inline script
// (`hash_source` added to the directive that governs script elements, unless the policy allows
// inline scripts already with 'unsafe-inline' and no nonce or hash, where a hash would switch
// 'unsafe-inline' off), a same-origin worker and same-origin fetches ('self' added where the
// governing directive lacks it; a new worker-src/connect-src copied from the directive it falls
// back to when the fallback is what lacks it, so that nothing the page itself uses is taken
// away). A policy that allows all of it already is returned unchanged. Pure.
std::string allow_proof_in_csp(std::string_view policy, std::string_view hash_source);

// Answers the proof's requests to the verify path (handle_verify calls it for a query with
// `proof=`): the challenge (GET), the worker script (GET) and the answer (POST, with `c` and
// `a`). Anything else is 400 (405 for a POST that is not an answer). Thread-safe.
VerifyOutcome handle_proof(const ChallengeConfig& config, const KeyRing& keys, SpentSet& spent,
                           const VerifyRequest& request, std::string_view proof,
                           const std::optional<std::string>& c,
                           const std::optional<std::string>& a);

}  // namespace bawwab::challenge
