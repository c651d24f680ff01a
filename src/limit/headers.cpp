#include "bawwab/limit/headers.hpp"

#include <algorithm>

#include "bawwab/limit/gcra.hpp"

namespace bawwab::limit {
namespace {

using std::chrono::nanoseconds;

std::int64_t ceil_seconds(nanoseconds d) noexcept {
  if (d.count() <= 0) return 0;
  return (d.count() - 1) / 1'000'000'000 + 1;
}

// An SF String (RFC 9651 §3.3.3): printable ASCII, with '"' and '\' escaped.
void append_sf_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c > 0x7E) {
      out += '_';
    } else {
      out += ch;
    }
  }
  out += '"';
}

template <class F>
std::string join(const std::vector<Verdict>& verdicts, F item) {
  std::string out;
  for (const Verdict& v : verdicts) {
    if (v.spec == nullptr) continue;
    if (!out.empty()) out += ", ";
    out += item(v);
  }
  return out;
}

}  // namespace

std::string retry_after_value(nanoseconds retry_after) {
  return std::to_string(ceil_seconds(retry_after));
}

std::string ratelimit_policy_item(const LimitSpec& spec) {
  std::string out;
  append_sf_string(out, spec.name);
  out += ";q=";
  out += std::to_string(spec.count);
  out += ";w=";
  out += std::to_string(spec.period.count());
  if (spec.burst > 0) {
    out += ";bawwab-burst=";
    out += std::to_string(spec.burst);
  }
  return out;
}

nanoseconds more_quota_in(const Verdict& verdict) noexcept {
  if (verdict.kind == Verdict::Kind::reject || verdict.kind == Verdict::Kind::ban ||
      verdict.spec == nullptr) {
    return verdict.retry_after;
  }
  // remaining + 1 requests conform once TAT - now has shrunk to tau - remaining * T, that is
  // after reset - tau + remaining * T (gcra.hpp's arithmetic, solved for the time).
  const GcraParams p = gcra_params(*verdict.spec);
  if (p.never) return nanoseconds(p.emission_ns);
  const auto remaining = static_cast<std::int64_t>(
      std::min<std::uint64_t>(verdict.remaining, gcra_max_interval_ns / p.emission_ns));
  const nanoseconds at = verdict.reset - nanoseconds(p.tolerance_ns) +
                         nanoseconds(remaining * p.emission_ns);
  return std::max(nanoseconds(0), at);
}

std::string ratelimit_item(const Verdict& verdict) {
  if (verdict.spec == nullptr) return {};
  std::string out;
  append_sf_string(out, verdict.spec->name);
  out += ";r=";
  out += std::to_string(verdict.remaining);
  out += ";t=";
  out += std::to_string(ceil_seconds(more_quota_in(verdict)));
  return out;
}

std::string ratelimit_policy_value(const std::vector<Verdict>& verdicts) {
  return join(verdicts, [](const Verdict& v) { return ratelimit_policy_item(*v.spec); });
}

std::string ratelimit_value(const std::vector<Verdict>& verdicts) {
  return join(verdicts, [](const Verdict& v) { return ratelimit_item(v); });
}

}  // namespace bawwab::limit
