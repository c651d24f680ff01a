#pragma once
// A rate limit as an operator defines it in a rules file (`limits:` section), compiled by the
// rules loader. Plain data: the limiter (limit/limiter.hpp) keeps the state, keyed by `name`, so
// counters and bans survive rule reloads.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bawwab::limit {

// What a request's key is made of; several parts combine into one key.
enum class KeyPart {
  ip,          // the client IP (after trusted proxies)
  ip_prefix,   // the client's IPv4 /ipv4_prefix or IPv6 /ipv6_prefix network
  header,      // value of header `name` (absent = empty)
  cookie,      // value of cookie `name`
  user_agent,  // the User-Agent value
  tls_ja4,     // the TLS fingerprint (empty on plain HTTP)
  host,        // the request's host
  path_group,  // the first segment of the normalised path ("/articles/x" -> "/articles")
  rule,        // the id of the rule that applied the limit
};

struct KeyComponent {
  KeyPart part = KeyPart::ip;
  std::string name;  // header or cookie name (header names lower-cased)
};

enum class OnExceed {
  reject,  // 429 with Retry-After
  delay,   // queue up to the burst, like nginx limit_req without nodelay; beyond it, reject
  ban,     // block the key for ban_duration (escalating on repeat)
};

struct LimitSpec {
  std::string name;  // unique across the rule set; the state's key
  std::vector<KeyComponent> key;  // never empty (defaults to {ip})
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 64;

  // The rate as written ("10/s", "300/h"): `count` requests per `period`.
  std::uint64_t count = 0;
  std::chrono::seconds period{1};
  std::string rate_text;
  // Requests allowed above the steady rate at once (GCRA tolerance = burst * period / count).
  std::uint32_t burst = 0;

  OnExceed on_exceed = OnExceed::reject;
  unsigned status = 429;                          // reply status when rejecting
  std::chrono::milliseconds max_delay{0};         // delay: longest wait; 0 = burst's worth
  std::chrono::seconds ban_duration{600};         // ban: first ban
  double ban_escalation = 1.0;                    // ban: multiplier for each repeat offence
  std::chrono::seconds ban_max{86'400};           // ban: cap on an escalated ban
  bool shadow = false;  // count and log exceeds, never enforce
  // How a refusal (reject, or ban) is answered: `status` (429 with Retry-After), or a JS
  // challenge at more than the challenge settings' max_difficulty, even for a client that holds
  // a pass. Keyed by the pass cookie, that revokes a pass that read past its budget: the client
  // proves itself again, harder each time (pipeline::apply_limits).
  bool answer_challenge = false;

  // Where it was defined, for diagnostics and `explain`.
  std::string file;
  int line = 0;

  // The emission interval T = period / count, in nanoseconds.
  std::chrono::nanoseconds emission_interval() const noexcept {
    return count == 0 ? std::chrono::nanoseconds::max()
                      : std::chrono::duration_cast<std::chrono::nanoseconds>(period) /
                            static_cast<std::int64_t>(count);
  }
};

}  // namespace bawwab::limit
