#pragma once
// Header values for a limited answer: Retry-After (RFC 9110 §10.2.3) and the IETF draft
// "RateLimit header fields for HTTP", draft-ietf-httpapi-ratelimit-headers-10 (Sept 2025; the
// -07+ syntax of two Structured-Field Lists, research notes §1.5):
//   RateLimit-Policy: "article-per-ip";q=10;w=1;bawwab-burst=5
//   RateLimit: "article-per-ip";r=0;t=1
// Policy: q = the limit's count, w = its period in seconds (what the operator wrote: 10/s). The
// burst goes into the vendor parameter bawwab-burst. An intermediary may advertise a policy
// stricter than the one it enforces, never a looser one: a GCRA limit lets up to count + burst
// requests through in one window, so q = count is on the safe side.
// RateLimit: r = requests the key may still send now, t = seconds until more quota is available
// (draft -10 wording: "until additional quota is made available", not "until the window
// resets"), rounded up; on a reject or ban t equals Retry-After, which the draft wants no earlier
// than t. No `pk` (partition key): it would hand clients the key's hash for nothing.
// Pure functions, thread-safe.
#include <chrono>
#include <string>
#include <vector>

#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/spec.hpp"

namespace bawwab::limit {

// Whole seconds, rounded up ("1" for 1 ns, "0" for zero or negative).
std::string retry_after_value(std::chrono::nanoseconds retry_after);

// One policy item: "name";q=<count>;w=<period seconds>;bawwab-burst=<burst> (the burst parameter
// only when burst > 0). Characters an SF String cannot hold are replaced by '_'.
std::string ratelimit_policy_item(const LimitSpec& spec);

// One RateLimit item for the verdict's limit: "name";r=<remaining>;t=<seconds>. Empty when the
// verdict has no spec.
std::string ratelimit_item(const Verdict& verdict);

// The field values for several verdicts (one item each, in order, verdicts without a spec
// skipped), joined with ", ". Empty when there is nothing to say.
std::string ratelimit_policy_value(const std::vector<Verdict>& verdicts);
std::string ratelimit_value(const std::vector<Verdict>& verdicts);

// Seconds until the key of a passed or delayed request gets one more request of quota (the `t`
// above): 0 when it has its full burst. Rejects and bans: their retry_after.
std::chrono::nanoseconds more_quota_in(const Verdict& verdict) noexcept;

}  // namespace bawwab::limit
