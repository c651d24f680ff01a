#pragma once
// The response body's way to the client: a chain of body filters that the response-plan phase
// (pipeline::plan_response) chooses per response and the session's relay runs on every piece it
// reads from the origin. A filter is pure: bytes in, bytes out, in order; no I/O, no clock, no
// suspension, so it is unit-tested by feeding it strings split anywhere.
//
// Contract of a filter, one object per response (never shared, never reused):
// - on_data(in, out, last) is called with consecutive pieces of the body, split at arbitrary
//   bytes (inside a tag, a UTF-8 sequence, a gzip block...). The filter appends to `out` what is
//   ready to go to the client and may hold back a bounded tail (a tag split across pieces) for
//   the next call; held_bytes() says how much, and must stay within a few KB whatever the input.
// - The call with last = true comes exactly once, at the end of the body (`in` may be empty); the
//   filter then flushes everything it holds. No call follows it.
// - finished() true: the filter has emitted the end of the body itself (truncation: the page
//   ends after </head>). The chain stops feeding it; the session stops reading the origin, ends
//   the response with what was emitted, and does not reuse that origin connection.
// - changes_bytes() false: an observer whose output is its input (robots.txt learning): the
//   response keeps its Content-Length, ETag and Last-Modified.
// - idle() true: from now on the filter neither changes nor needs the bytes (a rewriter whose
//   insertions are all made). When every filter of a chain is idle, the relay stops calling it
//   and sends the rest of the body straight from its read buffer, with no copy and no extra
//   memory. Once idle, always idle; the filter then gets no last call.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab {

class BodyFilter {
 public:
  virtual ~BodyFilter() = default;
  virtual void on_data(std::string_view in, std::string& out, bool last) = 0;
  virtual bool finished() const noexcept { return false; }
  virtual std::size_t held_bytes() const noexcept { return 0; }
  virtual bool changes_bytes() const noexcept { return true; }
  virtual bool idle() const noexcept { return false; }
  // A short name for logs and tests ("robots", "html", "gzip").
  virtual std::string_view name() const noexcept = 0;
};

// Filters applied in order: the output of one is the input of the next. Empty: passthrough.
// Not thread-safe (one per response). Keeps one scratch string per inner step, reused across
// calls, so a steady stream allocates nothing after the first pieces.
class FilterChain {
 public:
  FilterChain() = default;
  FilterChain(FilterChain&&) noexcept = default;
  FilterChain& operator=(FilterChain&&) noexcept = default;

  void add(std::unique_ptr<BodyFilter> filter);
  bool empty() const noexcept { return filters_.empty(); }
  std::size_t size() const noexcept { return filters_.size(); }
  const BodyFilter& at(std::size_t i) const { return *filters_.at(i); }

  // Appends to `out` what the chain lets through for `in`. After finished(), does nothing.
  void on_data(std::string_view in, std::string& out, bool last);
  // Some filter ended the body early: nothing more is to be read or sent.
  bool finished() const noexcept { return finished_; }
  // Whether any filter may change the bytes (then the length and validators are dropped).
  bool changes_bytes() const noexcept;
  // Every filter is idle: the rest of the body may bypass the chain (see BodyFilter::idle).
  bool idle() const noexcept;
  // Bytes held back by all filters now (the per-response memory bound, for tests and benches).
  std::size_t held_bytes() const noexcept;

 private:
  std::vector<std::unique_ptr<BodyFilter>> filters_;
  std::vector<std::string> scratch_;  // scratch_[i]: the output of filter i (all but the last)
  bool finished_ = false;
  bool ended_ = false;  // the last = true call was made
};

}  // namespace bawwab
