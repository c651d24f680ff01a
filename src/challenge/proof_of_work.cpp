#include "bawwab/challenge/proof_of_work.hpp"

#include <algorithm>
#include <cstring>

#include "bawwab/challenge/config.hpp"
#include "binding.hpp"
#include "crypto.hpp"

namespace bawwab::challenge {
namespace {

constexpr std::string_view kTag = "bawwab/challenge";
constexpr std::string_view kVersion = "1";
constexpr std::size_t kNonceChars = 22;  // base64url of 16 bytes
constexpr std::size_t kMacChars = 43;
constexpr std::size_t kMaxChallengeChars = 160;
constexpr std::size_t kMaxAnswerDigits = 16;

crypto::Digest challenge_mac(const Key& key, std::int64_t expiry, unsigned difficulty,
                             const Nonce& nonce, const PassContext& context,
                             std::string_view return_path) {
  std::string in;
  in.reserve(192 + context.tls_fingerprint.size());
  in.append(kTag);
  crypto::append_u8(in, 0);
  in.append(kVersion);
  crypto::append_u32(in, key.id);
  crypto::append_u64(in, static_cast<std::uint64_t>(expiry));
  crypto::append_u8(in, static_cast<std::uint8_t>(difficulty));
  in.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  detail::append_context(in, context);
  const auto path_hash = crypto::sha256(return_path);
  in.append(reinterpret_cast<const char*>(path_hash.data()), path_hash.size());
  return crypto::hmac_sha256(key.secret, in);
}

bool valid_answer(std::string_view answer) noexcept {
  if (answer.empty() || answer.size() > kMaxAnswerDigits) return false;
  for (char ch : answer)
    if (ch < '0' || ch > '9') return false;
  return true;
}

}  // namespace

std::string_view to_string(ChallengeCheck check) noexcept {
  switch (check) {
    case ChallengeCheck::valid: return "valid";
    case ChallengeCheck::malformed: return "malformed";
    case ChallengeCheck::unknown_key: return "unknown_key";
    case ChallengeCheck::bad_mac: return "bad_mac";
    case ChallengeCheck::expired: return "expired";
    case ChallengeCheck::wrong_kind: return "wrong_kind";
    case ChallengeCheck::too_early: return "too_early";
    case ChallengeCheck::no_check_cookie: return "no_check_cookie";
    case ChallengeCheck::insufficient_work: return "insufficient_work";
    case ChallengeCheck::replayed: return "replayed";
  }
  return "unknown";
}

std::string issue_challenge(const KeyRing& keys, const PassContext& context, unsigned difficulty,
                            std::string_view return_path, WallTime now, std::chrono::seconds ttl) {
  difficulty = std::min(difficulty, kMaxDifficulty);
  const Key& key = keys.signing_key();
  const std::int64_t expiry = detail::to_unix(now) + ttl.count();
  Nonce nonce{};
  crypto::random_bytes(nonce);
  const auto mac = challenge_mac(key, expiry, difficulty, nonce, context, return_path);
  std::string out(kVersion);
  out += '.';
  out += std::to_string(key.id);
  out += '.';
  out += std::to_string(expiry);
  out += '.';
  out += std::to_string(difficulty);
  out += '.';
  out += crypto::base64url_encode(nonce);
  out += '.';
  out += crypto::base64url_encode(mac);
  return out;
}

ChallengeCheck open_challenge(const KeyRing& keys, std::string_view challenge,
                              const PassContext& context, std::string_view return_path,
                              WallTime now, Challenge* out) {
  if (challenge.empty() || challenge.size() > kMaxChallengeChars) return ChallengeCheck::malformed;
  std::string_view part[6];
  if (!detail::split_dots(challenge, part) || part[0] != kVersion) {
    return ChallengeCheck::malformed;
  }
  Challenge c;
  std::string nonce, mac;
  if (!detail::parse_decimal(part[1], c.key_id, 10) ||
      !detail::parse_decimal(part[2], c.expiry_unix, 18) ||
      !detail::parse_decimal(part[3], c.difficulty, 2) || c.difficulty > kMaxDifficulty ||
      part[4].size() != kNonceChars || !crypto::base64url_decode(part[4], nonce) ||
      part[5].size() != kMacChars || !crypto::base64url_decode(part[5], mac)) {
    return ChallengeCheck::malformed;
  }
  std::memcpy(c.nonce.data(), nonce.data(), c.nonce.size());
  c.nonce_text = std::string(part[4]);
  const Key* key = keys.find(c.key_id);
  if (key == nullptr) return ChallengeCheck::unknown_key;
  const auto expected =
      challenge_mac(*key, c.expiry_unix, c.difficulty, c.nonce, context, return_path);
  if (!crypto::equal(expected, crypto::bytes(mac))) return ChallengeCheck::bad_mac;
  const bool expired = c.expiry_unix <= detail::to_unix(now);
  if (out) *out = std::move(c);
  return expired ? ChallengeCheck::expired : ChallengeCheck::valid;
}

bool meets_difficulty(std::string_view challenge, std::string_view answer, unsigned bits) noexcept {
  if (!valid_answer(answer)) return false;
  std::string input;
  input.reserve(challenge.size() + 1 + answer.size());
  input.append(challenge);
  input.push_back(':');
  input.append(answer);
  const auto h = crypto::sha256(input);
  for (std::uint8_t byte : h) {
    if (bits == 0) return true;
    if (bits >= 8) {
      if (byte != 0) return false;
      bits -= 8;
    } else {
      return (byte >> (8 - bits)) == 0;
    }
  }
  return bits == 0;
}

std::size_t SpentSet::NonceHash::operator()(const Nonce& n) const noexcept {
  // Nonces reach the set only after their MAC checked out: they are ours, uniformly random.
  std::size_t h = 0;
  std::memcpy(&h, n.data(), sizeof h);
  return h;
}

SpentSet::SpentSet(std::size_t max_entries, std::size_t shards)
    : per_shard_(std::max<std::size_t>(1, max_entries / std::max<std::size_t>(1, shards))) {
  shards = std::max<std::size_t>(1, shards);
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

bool SpentSet::mark_spent(const Nonce& nonce, WallTime expiry, WallTime now) {
  Shard& s = *shards_[nonce[15] % shards_.size()];
  const std::int64_t now_s = detail::to_unix(now);
  std::lock_guard lock(s.mutex);
  while (!s.fifo.empty() && s.fifo.front().first <= now_s) {
    s.set.erase(s.fifo.front().second);
    s.fifo.pop_front();
  }
  if (s.set.contains(nonce)) {
    replays_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (s.fifo.size() >= per_shard_) {
    s.set.erase(s.fifo.front().second);
    s.fifo.pop_front();
    evicted_.fetch_add(1, std::memory_order_relaxed);
  }
  s.set.insert(nonce);
  s.fifo.emplace_back(detail::to_unix(expiry), nonce);
  return true;
}

std::size_t SpentSet::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mutex);
    n += s->set.size();
  }
  return n;
}

ChallengeCheck verify_solution(const KeyRing& keys, std::string_view challenge,
                               std::string_view answer, const PassContext& context,
                               std::string_view return_path, WallTime now, SpentSet& spent,
                               Challenge* out) {
  Challenge c;
  const ChallengeCheck opened = open_challenge(keys, challenge, context, return_path, now, &c);
  if (opened == ChallengeCheck::valid || opened == ChallengeCheck::expired) {
    if (out) *out = c;
  }
  if (opened != ChallengeCheck::valid) return opened;
  if (c.difficulty == 0) return ChallengeCheck::wrong_kind;
  if (!valid_answer(answer)) return ChallengeCheck::malformed;
  if (!meets_difficulty(challenge, answer, c.difficulty)) return ChallengeCheck::insufficient_work;
  const WallTime expiry{std::chrono::seconds(c.expiry_unix)};
  if (!spent.mark_spent(c.nonce, expiry, now)) return ChallengeCheck::replayed;
  return ChallengeCheck::valid;
}

}  // namespace bawwab::challenge
