#pragma once
// A file compiled into the binary (see cmake/Embed.cmake). Immutable, lives for the whole program.
#include <span>
#include <string_view>

namespace bawwab {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedding root, '/' separated, e.g. "demo/site/index.html"
  std::string_view data;
};

}  // namespace bawwab
