#pragma once
// Path normalisation before matching, so that /%61rticles/../articles//x cannot dodge a rule on
// /articles/: percent-decoding of unreserved characters (RFC 3986 §2.3; other escapes are kept,
// with upper-case hex), dot-segments removed (§5.2.4), runs of '/' folded into one. The query is
// not part of the result.
#include <string>
#include <string_view>

namespace bawwab::rules {

// `target` is an origin-form request target ("/a/b?x=1"); returns the normalised path ("/a/b").
std::string normalize_path(std::string_view target);

}  // namespace bawwab::rules
