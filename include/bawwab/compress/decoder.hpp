#pragma once
// Decompressors as body filters: the tests' round trips, and later an origin's gzip or br body
// that bawwab must rewrite. Traffic decides what they see, so a bad stream is a state, never a
// crash or a throw: failed() turns true, error() says why, and no further byte is emitted.
//
// Bounds: output is written into `out` in 16 KB steps as the library produces it, and the total
// is capped by max_output (a decompression bomb - gzip expands up to 1032:1, brotli far more -
// fails at the cap instead of filling memory). The libraries' own state is bounded by the
// stream's window (gzip: 32 KB + 7 KB; brotli: up to 16 MB for lgwin 24, as the sender chose).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "bawwab/compress/encoding.hpp"
#include "bawwab/core/body_filter.hpp"

namespace bawwab::compress {

inline constexpr std::size_t kDefaultMaxDecodedBytes = std::size_t{64} << 20;  // 64 MiB

struct DecoderOptions {
  std::size_t max_output = kDefaultMaxDecodedBytes;  // total decoded bytes before failing
};

// gzip (one or more members, as `gzip -d` accepts). One per body; not thread-safe.
// An empty body decodes to nothing (origins send Content-Encoding: gzip on empty 200s).
class GzipDecoder final : public BodyFilter {
 public:
  explicit GzipDecoder(const DecoderOptions& options = {});
  ~GzipDecoder() override;
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  void on_data(std::string_view in, std::string& out, bool last) override;
  std::string_view name() const noexcept override { return "gunzip"; }
  bool failed() const noexcept { return !error_.empty(); }
  // Why it failed ("corrupt gzip stream", "truncated gzip stream", "decoded body over the
  // limit"...); empty while it has not. A static string.
  std::string_view error() const noexcept { return error_; }
  std::size_t total_out() const noexcept { return total_out_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t max_output_;
  std::size_t total_out_ = 0;
  std::string_view error_;
  bool in_member_ = false;  // inside a member: its end has not been seen
  bool ended_ = false;
};

// br. One per body; not thread-safe. An empty body decodes to nothing.
class BrotliDecoder final : public BodyFilter {
 public:
  explicit BrotliDecoder(const DecoderOptions& options = {});
  ~BrotliDecoder() override;
  BrotliDecoder(const BrotliDecoder&) = delete;
  BrotliDecoder& operator=(const BrotliDecoder&) = delete;

  void on_data(std::string_view in, std::string& out, bool last) override;
  std::string_view name() const noexcept override { return "unbr"; }
  bool failed() const noexcept { return !error_.empty(); }
  std::string_view error() const noexcept { return error_; }
  std::size_t total_out() const noexcept { return total_out_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t max_output_;
  std::size_t total_out_ = 0;
  std::size_t total_in_ = 0;
  std::string_view error_;
  bool done_ = false;  // the stream's last meta-block was decoded
  bool ended_ = false;
};

// A decompressor for `coding`; nullptr for identity. Thread-safe.
std::unique_ptr<BodyFilter> make_decoder(Coding coding, const DecoderOptions& options = {});

}  // namespace bawwab::compress
