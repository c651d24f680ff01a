#pragma once
// Where the verifier sends a reader back: the URL they first asked for, made safe.
#include <string>
#include <string_view>

namespace bawwab::challenge {

// The longest return path kept; a longer one becomes "/" (a challenge link must stay small).
inline constexpr std::size_t kMaxReturnPath = 2048;

// `candidate` if it is a same-site path (origin-form: "/" then path and query), else "/". Refused:
// anything not starting with exactly one '/' ("//evil.com", "/\evil.com" — browsers read a
// backslash as a slash — "https://evil.com", "evil.com", "%2F%2Fevil.com"), and any byte outside
// printable ASCII or not allowed in a URI ('\\', '"', '<', '>', '`', '{', '}', '|', '^', spaces,
// controls: browsers strip tabs and newlines from URLs, which would turn "/\t/evil.com" into
// "//evil.com"), or longer than kMaxReturnPath. Pure, thread-safe.
std::string safe_return_path(std::string_view candidate);

}  // namespace bawwab::challenge
