#pragma once
// Stateless challenges: everything a challenge needs is in the string the client carries,
//   "1.<key id>.<expiry unix>.<difficulty>.<nonce, 16 random bytes base64url>.<mac base64url>"
// with an HMAC-SHA256 over those fields, the client's context (as for the pass cookie) and the
// SHA-256 of the return path. The client proves work by finding an answer (a decimal counter)
// such that SHA-256(challenge + ":" + answer) starts with `difficulty` zero bits. Difficulty 0
// marks a no-JS challenge (no work; redeemed with a check cookie after a delay).
// The only state is the SpentSet: a redeemed challenge cannot be redeemed again.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/pass_token.hpp"

namespace bawwab::challenge {

using Nonce = std::array<std::uint8_t, 16>;

// What an authenticated challenge says.
struct Challenge {
  std::uint32_t key_id = 0;
  std::int64_t expiry_unix = 0;
  unsigned difficulty = 0;  // 0: a no-JS challenge
  Nonce nonce{};
  std::string nonce_text;  // the nonce as written (22 chars base64url): names the check cookie
};

enum class ChallengeCheck {
  valid,
  malformed,    // not a challenge string, or a bad answer / query
  unknown_key,  // signed by a key no longer (or never) in the ring
  bad_mac,      // forged, altered, or from another client context or return path
  expired,
  wrong_kind,         // a no-JS challenge redeemed as proof of work, or the reverse
  too_early,          // a no-JS challenge redeemed before its delay
  no_check_cookie,    // the check cookie set with the challenge did not come back
  insufficient_work,  // the answer's hash has too few leading zero bits
  replayed,           // already redeemed
};

// "valid", "bad_mac", ... for logs and metrics labels.
std::string_view to_string(ChallengeCheck check) noexcept;

// A new challenge for this client and return path, signed with the ring's newest key, valid for
// `ttl` from `now`. `difficulty` 0 makes a no-JS challenge; else it must be 1..kMaxDifficulty
// (clamped). The nonce comes from OpenSSL's CSPRNG. Thread-safe.
std::string issue_challenge(const KeyRing& keys, const PassContext& context, unsigned difficulty,
                            std::string_view return_path, WallTime now,
                            std::chrono::seconds ttl = std::chrono::seconds(300));

// Parses and authenticates a challenge string (shape, key, MAC over the context and
// `return_path`, constant-time), then checks its expiry. Fills `out` (when given) as soon as the
// MAC holds, so the caller may trust `out` for `valid` and `expired`. Pure, thread-safe.
ChallengeCheck open_challenge(const KeyRing& keys, std::string_view challenge,
                              const PassContext& context, std::string_view return_path,
                              WallTime now, Challenge* out = nullptr);

// Whether SHA-256(challenge + ":" + answer) has at least `bits` leading zero bits. The answer must
// be 1-16 decimal digits. Pure, thread-safe.
bool meets_difficulty(std::string_view challenge, std::string_view answer, unsigned bits) noexcept;

// Redeemed challenge nonces, kept until their challenge expires, so a solved challenge yields one
// pass only. Bounded: `max_entries` over `shards` shards, each a FIFO (all challenges share one
// TTL, so insertion order is expiry order) pruned of expired entries on every insert. When a shard
// is full its oldest entry is evicted early (counted in evicted()): a replay of that one challenge
// becomes possible again, still only from the client context it is bound to, which beats refusing
// every real reader while someone floods us with solved challenges. Memory: about 100 bytes an
// entry. Thread-safe (a mutex per shard).
class SpentSet {
 public:
  explicit SpentSet(std::size_t max_entries = 200'000, std::size_t shards = 16);

  // Records `nonce` as spent until `expiry`. false when it already was (a replay).
  bool mark_spent(const Nonce& nonce, WallTime expiry, WallTime now);

  std::size_t size() const;
  std::uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }
  std::uint64_t replays() const noexcept { return replays_.load(std::memory_order_relaxed); }

 private:
  struct NonceHash {
    std::size_t operator()(const Nonce& n) const noexcept;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_set<Nonce, NonceHash> set;
    std::deque<std::pair<std::int64_t, Nonce>> fifo;  // (expiry unix, nonce), oldest first
  };
  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t per_shard_;
  std::atomic<std::uint64_t> evicted_{0};
  std::atomic<std::uint64_t> replays_{0};
};

// Full check of a proof-of-work redemption: open_challenge, then kind (not a no-JS challenge),
// work, and finally the SpentSet (only a valid redemption spends the challenge). The check cookie
// is the verify endpoint's business. `out` as for open_challenge. Thread-safe.
ChallengeCheck verify_solution(const KeyRing& keys, std::string_view challenge,
                               std::string_view answer, const PassContext& context,
                               std::string_view return_path, WallTime now, SpentSet& spent,
                               Challenge* out = nullptr);

}  // namespace bawwab::challenge
