#pragma once
// The interstitial pages a challenged request gets: complete, small (a few KB) HTML documents with
// inline CSS and script, no external resource, every variable part HTML-escaped. Three levels:
//   js          proof of work in Web Workers (plain-JS SHA-256: crypto.subtle does not exist on
//               plain-HTTP origins), then a redirect to the verifier; <noscript> and always-visible
//               links lead to the two other levels;
//   nojs        a meta refresh to the verifier after ChallengeConfig::nojs_delay, with a check
//               cookie set by the response (weaker, see config.hpp);
//   accessible  a plain-text explanation, the contact address, and a link into the no-JS check:
//               no script, no timing, no visual test; made for screen readers.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/challenge/config.hpp"
#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/pass_token.hpp"

namespace bawwab::challenge {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A complete local reply: the session adds framing (Content-Length) and its usual headers.
struct ChallengeReply {
  unsigned status = 403;
  // Content-Type, Cache-Control: no-store, Content-Security-Policy, and for the js and nojs levels
  // the Set-Cookie of the challenge's check cookie. Several Set-Cookie entries may appear: each
  // is its own header line.
  Headers headers;
  std::string body;
};

// The answer to a request the rules decided to challenge: issues a challenge bound to `context`
// and to the request's `target` (made safe by safe_return_path; the reader returns there), and
// renders the page of `level` (`difficulty` is used by the js level only; see difficulty_for).
// Status config.page_status. `tls` adds Secure to the cookie. Thread-safe.
ChallengeReply challenge_reply(const ChallengeConfig& config, const KeyRing& keys, Level level,
                               unsigned difficulty, const PassContext& context,
                               std::string_view target, bool tls, WallTime now);

// The headers every challenge page carries (Content-Type, no-store, CSP). Pure.
Headers page_headers();

// The check cookie of a challenge: named after its nonce, so that challenges opened in several
// tabs do not overwrite one another's cookie; scoped to the verify path. Pure.
std::string check_cookie_name(const ChallengeConfig& config, std::string_view nonce_text);

// The proof-of-work worker (plain-JS SHA-256): message {c, d, s, k} (challenge, bits, first
// counter, step), posts {n} with an answer and {p} every 16384 tries. The js page embeds it; the
// silent proof loads it as a same-origin script (challenge/proof.hpp). Pure.
std::string_view worker_script() noexcept;

// The page bodies alone, from an issued challenge. Pure, thread-safe.
std::string render_js_page(const ChallengeConfig& config, std::string_view challenge,
                           unsigned difficulty, std::string_view return_path);
std::string render_nojs_page(const ChallengeConfig& config, std::string_view challenge,
                             std::string_view return_path);
// `cookie_problem`: the check cookie did not come back; the page says so first.
std::string render_accessible_page(const ChallengeConfig& config, std::string_view return_path,
                                   bool cookie_problem = false);

}  // namespace bawwab::challenge
