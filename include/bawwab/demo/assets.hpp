#pragma once
// The files compiled into the binary by cmake/Embed.cmake (target bawwab_demo_assets): every file
// under demo/site/ and config/demo.yaml, so `bawwab demo` runs without the source tree.
#include <span>

#include "bawwab/core/embedded.hpp"

namespace bawwab::demo::assets {

// Thread-safe: immutable static data, sorted by path, paths relative to the repository root
// ("demo/site/index.html"). Lives for the whole program.
std::span<const bawwab::EmbeddedFile> files();

}  // namespace bawwab::demo::assets
