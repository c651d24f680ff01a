#include "bawwab/challenge/pass_token.hpp"

#include "binding.hpp"
#include "crypto.hpp"
#include "web.hpp"

namespace bawwab::challenge {
namespace {

// Domain separation: challenges are signed with the same keys, and a challenge must never be
// accepted as a pass (nor the reverse).
constexpr std::string_view kTag = "bawwab/pass";
constexpr std::string_view kVersion = "1";
constexpr std::size_t kMacChars = 43;         // base64url of 32 bytes, no padding
constexpr std::size_t kMaxCookieChars = 128;  // "1." + 10 + "." + 19 + "." + 43, with room

crypto::Digest pass_mac(const Key& key, std::int64_t expiry, const PassContext& context) {
  std::string in;
  in.reserve(128 + context.tls_fingerprint.size());
  in.append(kTag);
  crypto::append_u8(in, 0);
  in.append(kVersion);
  crypto::append_u32(in, key.id);
  crypto::append_u64(in, static_cast<std::uint64_t>(expiry));
  detail::append_context(in, context);
  return crypto::hmac_sha256(key.secret, in);
}

}  // namespace

std::string_view to_string(PassCheck check) noexcept {
  switch (check) {
    case PassCheck::valid: return "valid";
    case PassCheck::absent: return "absent";
    case PassCheck::expired: return "expired";
    case PassCheck::bad_mac: return "bad_mac";
    case PassCheck::malformed: return "malformed";
    case PassCheck::unknown_key: return "unknown_key";
  }
  return "unknown";
}

std::string issue_pass(const KeyRing& keys, const PassContext& context, WallTime expiry) {
  const Key& key = keys.signing_key();
  const std::int64_t exp = detail::to_unix(expiry);
  const auto mac = pass_mac(key, exp, context);
  std::string out(kVersion);
  out += '.';
  out += std::to_string(key.id);
  out += '.';
  out += std::to_string(exp);
  out += '.';
  out += crypto::base64url_encode(mac);
  return out;
}

PassCheck verify_pass(const KeyRing& keys, std::string_view cookie_value,
                      const PassContext& context, WallTime now) {
  if (cookie_value.empty()) return PassCheck::absent;
  if (cookie_value.size() > kMaxCookieChars) return PassCheck::malformed;
  std::string_view part[4];
  if (!detail::split_dots(cookie_value, part) || part[0] != kVersion) return PassCheck::malformed;
  std::uint32_t id = 0;
  std::int64_t expiry = 0;
  std::string mac;
  if (!detail::parse_decimal(part[1], id, 10) || !detail::parse_decimal(part[2], expiry, 18) ||
      part[3].size() != kMacChars || !crypto::base64url_decode(part[3], mac)) {
    return PassCheck::malformed;
  }
  const Key* key = keys.find(id);
  if (key == nullptr) return PassCheck::unknown_key;
  // The MAC before the expiry: a forged cookie is reported as forged, whatever date it claims.
  const auto expected = pass_mac(*key, expiry, context);
  if (!crypto::equal(expected, crypto::bytes(mac))) return PassCheck::bad_mac;
  if (expiry <= detail::to_unix(now)) return PassCheck::expired;
  return PassCheck::valid;
}

PassCheck check_pass_cookie(const KeyRing& keys, std::span<const std::string_view> cookie_headers,
                            std::string_view cookie_name, const PassContext& context,
                            WallTime now) {
  PassCheck first = PassCheck::absent;
  bool seen = false;
  const bool found_valid = detail::for_each_cookie(cookie_headers, cookie_name, [&](auto value) {
    const PassCheck c = verify_pass(keys, value, context, now);
    if (c == PassCheck::valid) return true;
    if (!seen) {
      first = c;
      seen = true;
    }
    return false;
  });
  return found_valid ? PassCheck::valid : first;
}

}  // namespace bawwab::challenge
