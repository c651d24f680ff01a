#pragma once
// A counting allocator for zlib and libbrotli (both take malloc-like hooks with an opaque
// pointer): each block carries its size in a 16-byte prefix (keeps malloc's alignment), so an
// encoder can report what it holds. Internal to the module.
#include <cstddef>
#include <cstdlib>
#include <string>

namespace bawwab::compress::detail {

struct AllocCounter {
  std::size_t current = 0;
  std::size_t peak = 0;

  void* allocate(std::size_t bytes) noexcept {
    auto* block = static_cast<std::max_align_t*>(std::malloc(bytes + kPrefix));
    if (block == nullptr) return nullptr;
    *reinterpret_cast<std::size_t*>(block) = bytes;
    current += bytes;
    if (current > peak) peak = current;
    return reinterpret_cast<char*>(block) + kPrefix;
  }
  void release(void* p) noexcept {
    if (p == nullptr) return;
    char* block = static_cast<char*>(p) - kPrefix;
    current -= *reinterpret_cast<std::size_t*>(block);
    std::free(block);
  }

  static constexpr std::size_t kPrefix = alignof(std::max_align_t) > sizeof(std::size_t)
                                             ? alignof(std::max_align_t)
                                             : sizeof(std::size_t);
};

// Room for the library to write into: grows `out` by up to `want` bytes and returns where the
// new part starts. The caller shrinks it back to what was written.
inline char* grow(std::string& out, std::size_t want) {
  const std::size_t old = out.size();
  out.resize(old + want);
  return out.data() + old;
}

// Output room added per library call.
inline constexpr std::size_t kMaxStep = 16384;

// Output room for one encoder call: enough for the usual case in one step (compressed text is
// smaller than its input; a flush adds a few bytes), bounded so a 1-byte piece does not cost a
// 16 KB zero fill.
inline std::size_t encode_step(std::size_t in_size) noexcept {
  const std::size_t want = in_size + in_size / 8 + 64;
  return want < 64 ? 64 : want > kMaxStep ? kMaxStep : want;
}

// Output room for one decoder call: 16 KB, or one byte more than the limit still allows, so
// that reaching the limit is seen as going over it.
inline std::size_t decode_step(std::size_t max_output, std::size_t total_out) noexcept {
  const std::size_t remaining = max_output - total_out;  // total_out <= max_output
  return remaining >= kMaxStep ? kMaxStep : remaining + 1;
}

}  // namespace bawwab::compress::detail
