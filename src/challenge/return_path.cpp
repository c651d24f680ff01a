#include "bawwab/challenge/return_path.hpp"

namespace bawwab::challenge {
namespace {

// RFC 3986 characters of a path and query (pchar, '/', '?', '%' of pct-encoded) and '#'; the
// rest (and everything outside printable ASCII) is refused rather than repaired.
bool allowed(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '\\':
    case '"':
    case '<':
    case '>':
    case '`':
    case '{':
    case '}':
    case '|':
    case '^': return false;
    default: return true;
  }
}

}  // namespace

std::string safe_return_path(std::string_view candidate) {
  if (candidate.empty() || candidate.size() > kMaxReturnPath || candidate[0] != '/') return "/";
  if (candidate.size() > 1 && (candidate[1] == '/' || candidate[1] == '\\')) return "/";
  for (char c : candidate)
    if (!allowed(c)) return "/";
  return std::string(candidate);
}

}  // namespace bawwab::challenge
