#include "bawwab/challenge/keyring.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "bawwab/core/log.hpp"
#include "crypto.hpp"

namespace bawwab::challenge {
namespace {

std::int64_t to_unix(WallTime t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

boost::system::error_code last_error() noexcept {
  return {errno, boost::system::system_category()};
}

// Closes a file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

Key fresh_key(std::uint32_t id, std::int64_t created) {
  Key k;
  k.id = id;
  k.created_unix = created;
  crypto::random_bytes(k.secret);
  return k;
}

void sort_keys(std::vector<Key>& keys) {
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.created_unix != b.created_unix ? a.created_unix < b.created_unix : a.id < b.id;
  });
}

template <class Int>
bool parse_int(std::string_view s, Int& out) noexcept {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

struct Parser {
  const std::string& path;
  Diagnostics diagnostics;

  void problem(int line, int column, std::string message) {
    diagnostics.push_back({path, line, column, std::move(message), Diagnostic::Severity::error});
  }

  // Splits on runs of spaces/tabs; records each field's 1-based column.
  static std::vector<std::pair<std::string_view, int>> fields(std::string_view line) {
    std::vector<std::pair<std::string_view, int>> out;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) out.emplace_back(line.substr(start, i - start), static_cast<int>(start) + 1);
    }
    return out;
  }

  std::vector<Key> parse(std::string_view text) {
    std::vector<Key> keys;
    int line_no = 0;
    while (!text.empty()) {
      ++line_no;
      const auto nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const auto f = fields(line);
      if (f.empty() || f[0].first.front() == '#') continue;
      if (f.size() != 3) {
        problem(
            line_no, f[0].second,
            "expected 'id base64key created_unix', got " + std::to_string(f.size()) + " fields");
        continue;
      }
      Key k;
      bool ok = true;
      if (!parse_int(f[0].first, k.id) || k.id == 0) {
        problem(line_no, f[0].second, "key id must be a whole number from 1 to 4294967295");
        ok = false;
      }
      std::string secret;
      if (!crypto::base64_decode(f[1].first, secret)) {
        problem(line_no, f[1].second, "key is not valid base64");
        ok = false;
      } else if (secret.size() != k.secret.size()) {
        problem(line_no, f[1].second, "key must be 32 bytes, got " + std::to_string(secret.size()));
        ok = false;
      } else {
        std::memcpy(k.secret.data(), secret.data(), k.secret.size());
      }
      if (!parse_int(f[2].first, k.created_unix) || k.created_unix < 0) {
        problem(line_no, f[2].second, "creation time must be unix seconds");
        ok = false;
      }
      if (ok && std::any_of(keys.begin(), keys.end(), [&](const Key& o) { return o.id == k.id; })) {
        problem(line_no, f[0].second, "duplicate key id " + std::to_string(k.id));
        ok = false;
      }
      if (ok) keys.push_back(k);
    }
    return keys;
  }
};

std::string serialize(const std::vector<Key>& keys) {
  std::string out =
      "# bawwab challenge keys (HMAC-SHA256): id base64key created_unix. Secret: keep mode 0600.\n"
      "# The last key signs; all of them verify. bawwab rotates this file itself.\n";
  for (const Key& k : keys) {
    out += std::to_string(k.id);
    out += ' ';
    out += crypto::base64_encode(k.secret);
    out += ' ';
    out += std::to_string(k.created_unix);
    out += '\n';
  }
  return out;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Reads the whole file. ENOENT is reported as such so the caller can create it.
boost::system::error_code read_file(const std::string& path, std::string& out, mode_t& mode) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return last_error();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_error();
  mode = st.st_mode;
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20)) return make_error_code(Errc::config_invalid);  // not a key file
  }
  return {};
}

// tmp + fsync + rename + fsync(dir): after a crash the file is either the old one or the new one.
boost::system::error_code write_atomically(const std::string& path, int dir_fd,
                                           const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return last_error();
    // The umask may only remove bits, but a leftover tmp file could have had others.
    if (::fchmod(fd.get(), 0600) != 0) return last_error();
    std::size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const auto ec = last_error();
        ::unlink(tmp.c_str());
        return ec;
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      const auto ec = last_error();
      ::unlink(tmp.c_str());
      return ec;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto ec = last_error();
    ::unlink(tmp.c_str());
    return ec;
  }
  ::fsync(dir_fd);  // best effort: the rename is durable once the directory is
  return {};
}

}  // namespace

KeyRing::KeyRing(std::vector<Key> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) {
    std::fprintf(stderr, "bawwab: fatal: KeyRing built without keys\n");
    std::abort();
  }
  sort_keys(keys_);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    for (std::size_t j = i + 1; j < keys_.size(); ++j) {
      if (keys_[i].id == keys_[j].id) {
        std::fprintf(stderr, "bawwab: fatal: KeyRing built with duplicate key ids\n");
        std::abort();
      }
    }
  }
}

KeyRing KeyRing::generate(WallTime now) { return KeyRing({fresh_key(1, to_unix(now))}); }

const Key* KeyRing::find(std::uint32_t id) const noexcept {
  for (const Key& k : keys_)  // a handful of keys: linear beats any index
    if (k.id == id) return &k;
  return nullptr;
}

Result<KeyRing> load_or_create(const std::string& path, WallTime now,
                               std::chrono::seconds rotate_every,
                               std::chrono::seconds max_token_life, Diagnostics* problems) {
  auto fail = [&](boost::system::error_code ec, std::string what) -> Result<KeyRing> {
    if (problems) {
      problems->push_back(
          {path, 0, 0, std::move(what) + ": " + ec.message(), Diagnostic::Severity::error});
    }
    return ec;
  };

  const std::string dir = directory_of(path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return fail(last_error(), "cannot open the key file's directory " + dir);
  // Serialises rotation between processes sharing the file; released when dir_fd closes.
  while (::flock(dir_fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(last_error(), "cannot lock " + dir);
  }

  std::string text;
  mode_t mode = 0;
  std::vector<Key> keys;
  bool changed = false;
  if (const auto ec = read_file(path, text, mode)) {
    if (ec != boost::system::errc::no_such_file_or_directory) {
      return fail(ec, "cannot read the key file");
    }
    changed = true;  // create it
  } else {
    Parser parser{path, {}};
    keys = parser.parse(text);
    if (!parser.diagnostics.empty()) {
      if (problems) {
        problems->insert(problems->end(), parser.diagnostics.begin(), parser.diagnostics.end());
      }
      return make_error_code(Errc::config_invalid);
    }
    if ((mode & 077) != 0) {
      log::warning("challenge key file " + path +
                   " is readable by other users; it should be mode 0600");
    }
  }

  sort_keys(keys);
  const std::int64_t now_s = to_unix(now);
  if (keys.empty()) {
    keys.push_back(fresh_key(1, now_s));
    changed = true;
  } else if (now_s - keys.back().created_unix >= rotate_every.count()) {
    std::uint32_t max_id = 0;
    for (const Key& k : keys) max_id = std::max(max_id, k.id);
    if (max_id == UINT32_MAX)
      return fail(make_error_code(Errc::config_invalid), "key ids exhausted");
    keys.push_back(fresh_key(max_id + 1, now_s));
    changed = true;
  }
  // A key stopped signing when its successor was created; once the longest-lived token has had
  // time to expire after that, nothing it signed is still valid.
  std::size_t drop = 0;
  while (drop + 1 < keys.size() && now_s - keys[drop + 1].created_unix >= max_token_life.count()) {
    ++drop;
  }
  if (drop > 0) {
    keys.erase(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(drop));
    changed = true;
  }

  if (changed) {
    if (const auto ec = write_atomically(path, dir_fd.get(), serialize(keys))) {
      return fail(ec, "cannot write the key file");
    }
  }
  return KeyRing(std::move(keys));
}

}  // namespace bawwab::challenge
