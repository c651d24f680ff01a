#include "reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "bawwab/config/loader.hpp"

namespace bawwab::rules::detail {
namespace {

std::string errno_text(int e) { return std::generic_category().message(e); }

}  // namespace

Loc loc_of(const YAML::Node& n, Loc fallback) {
  // yaml-cpp marks an empty value ("key:" and nothing) at the next token, often the next line.
  if (!n.IsDefined() || n.IsNull()) return fallback;
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0 || m.column < 0) return fallback;
  return Loc{m.line + 1, m.column + 1};
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return quote(n.Scalar());
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

At child(const At& parent, std::string_view key, Loc loc) {
  const std::string k = valid_name(key, 64) ? std::string(key) : quote(key);
  return At{parent.src, parent.rule, parent.path.empty() ? k : parent.path + "." + k, loc};
}

At item(const At& parent, std::size_t index, Loc loc) {
  return At{parent.src, parent.rule, parent.path + "[" + std::to_string(index) + "]", loc};
}

const Entry* find(const Entries& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::string hint(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string h = config::did_you_mean(word, candidates);
  return h.empty() ? std::string() : " (did you mean '" + h + "'?)";
}

bool read_file(const fs::path& path, std::size_t max, std::string& out, std::string& problem) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    problem = errno_text(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
    ::close(fd);
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max) {
    problem = "larger than " + config::format_size(max);
    ::close(fd);
    return false;
  }
  out.clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = errno_text(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > max) {
      problem = "larger than " + config::format_size(max);
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

}  // namespace bawwab::rules::detail
