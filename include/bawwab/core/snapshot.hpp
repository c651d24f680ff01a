#pragma once
// Snapshot<T>: the current immutable version of something that reloads (config, rules).
// Readers pay one atomic load and keep the version they loaded for as long as they hold it;
// a reload builds a whole new T and swaps it in. Thread-safe.
#include <atomic>
#include <memory>

namespace bawwab {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

  [[nodiscard]] std::shared_ptr<const T> load() const noexcept {
    return current_.load(std::memory_order_acquire);
  }
  void store(std::shared_ptr<const T> next) noexcept {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
};

}  // namespace bawwab
