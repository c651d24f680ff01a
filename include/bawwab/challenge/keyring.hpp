#pragma once
// The HMAC-SHA256 keys that sign challenges and pass cookies, kept in a file so that passes survive
// restarts, and rotated: the newest key signs, every listed key verifies, and a key stays listed
// until every token it signed has expired.
//
// The file (e.g. /var/lib/bawwab/challenge.keys, mode 0600) has one key a line:
//   <id> <base64 of 32 bytes> <created, unix seconds>
// '#' starts a comment line; blank lines are ignored. Several bawwab processes may share one file
// (the read-modify-write is serialised by flock on the file's directory); instances on several
// machines need the same file copied to each, with rotation done in one place.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bawwab/core/diagnostic.hpp"
#include "bawwab/core/error.hpp"

namespace bawwab::challenge {

// Tokens carry wall-clock expiries (they outlive a process), so this module uses the system clock,
// always injected: no function here reads the clock itself.
using WallTime = std::chrono::system_clock::time_point;

struct Key {
  std::uint32_t id = 0;  // > 0; unique in a ring
  std::array<std::uint8_t, 32> secret{};
  std::int64_t created_unix = 0;
};

// An immutable set of keys, newest last. Held as Snapshot<KeyRing> and swapped whole after a
// reload/rotation. Thread-safe (read-only after construction).
class KeyRing {
 public:
  // `keys` must not be empty and ids must be unique (aborts otherwise: a bug, not input). They are
  // sorted by creation time (then id); the last one signs.
  explicit KeyRing(std::vector<Key> keys);

  // A ring with one fresh random key, kept only in memory (no key file configured: passes are lost
  // on restart).
  static KeyRing generate(WallTime now);

  const Key& signing_key() const noexcept { return keys_.back(); }
  // The key with this id, or nullptr: a token signed by a dropped (or foreign) key.
  const Key* find(std::uint32_t id) const noexcept;
  const std::vector<Key>& keys() const noexcept { return keys_; }

 private:
  std::vector<Key> keys_;
};

// Loads the key file at `path`, creating it (mode 0600) with one fresh random key when missing,
// then rotates: adds a new key when the newest is older than `rotate_every`, and drops a key once
// `max_token_life` has passed since its successor was created (the moment it stopped signing;
// with rotation on schedule, that is `rotate_every + max_token_life` after its own creation).
// `max_token_life` must cover the longest-lived token: the pass TTL (and the challenge TTL).
// Changes are written atomically (temporary file in the same directory, fsync, rename). The file
// is never rewritten when nothing changed, and never replaced when it cannot be parsed: a broken
// key file is the operator's to fix (Errc::config_invalid, each problem with its line in
// `problems` when given). I/O failures return the system error. The directory must exist (systemd
// StateDirectory=). Call it at start-up and then periodically (e.g. hourly) or on reload: a ring in
// memory never rotates by itself. Not for the request path (file I/O); thread-safe.
Result<KeyRing> load_or_create(const std::string& path, WallTime now,
                               std::chrono::seconds rotate_every,
                               std::chrono::seconds max_token_life,
                               Diagnostics* problems = nullptr);

}  // namespace bawwab::challenge
