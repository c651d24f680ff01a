#pragma once
// Streaming compressors as body filters: the session feeds a response body piece by piece (the
// relay's 16 KB reads) and sends what comes out with Content-Encoding: gzip or br.
//
// Each on_data call that brings input is compressed and FLUSHED (zlib Z_SYNC_FLUSH, brotli
// BROTLI_OPERATION_FLUSH): the client can decode everything received so far, so a slow or long
// page streams as the origin sends it instead of arriving at the end. The last call finishes the
// stream (gzip trailer, brotli last meta-block); an empty body still gives a valid, empty stream.
// Nothing is held back between calls (held_bytes() is 0): what a flush produces is in `out`.
//
// Defaults, measured on the demo pages, the seed article and 2 MB pages fed in 16 KB pieces
// (bench/compress; figures in the module's commit): gzip level 7, windowBits 15, memLevel 7 is
// within 0.1 % of one-shot `gzip -6` on pages up to 16 KB (2 % in 4 KB pieces) and within 3-7 %
// on 2 MB (level 6 pays 9-13 % there for the blocks each flush closes), in 198 KB per response;
// brotli quality 5 with a 64 KB window is 4-12 % smaller than `gzip -6` but holds 0.6-0.8 MB
// (0.96 MB on a long body): brotli's match finder alone is 512 KB at any quality >= 4.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "bawwab/compress/encoding.hpp"
#include "bawwab/core/body_filter.hpp"

namespace bawwab::compress {

// zlib: level 7 (not nginx's 6): its longer lazy matching makes up for the blocks each flush
// closes; windowBits 15 (32 KB, as gzip and nginx); memLevel 7 (the hash table and symbol buffer
// at half of zlib's default 8: 198 KB instead of 262 KB, no measurable size loss).
inline constexpr int kDefaultGzipLevel = 7;
inline constexpr int kDefaultGzipWindowBits = 15;
inline constexpr int kDefaultGzipMemLevel = 7;
// brotli: quality 5 (nginx-brotli ships 6: same size here), lgwin 16 (64 KB: larger windows
// gained nothing on the pages measured, and above 16 quality 5 switches to a 1 MB hash table).
inline constexpr int kDefaultBrotliQuality = 5;
inline constexpr int kDefaultBrotliWindowBits = 16;

struct GzipOptions {
  int level = kDefaultGzipLevel;             // 1..9 (0 = stored)
  int window_bits = kDefaultGzipWindowBits;  // 9..15: window of 2^n bytes
  int mem_level = kDefaultGzipMemLevel;      // 1..9
};

struct BrotliOptions {
  int quality = kDefaultBrotliQuality;         // 0..11
  int window_bits = kDefaultBrotliWindowBits;  // lgwin 10..24
};

struct EncoderOptions {
  GzipOptions gzip;
  BrotliOptions br;
  // The body's expected size when known (the origin's Content-Length), 0 if unknown. For gzip a
  // small body gets a smaller window and hash table, as nginx's gzip filter does (a 9 KB page:
  // 16 KB window, about 100 KB instead of 200 KB); a body larger than the hint is still correct.
  // Not passed to brotli: there it only matters at quality 4, where >= 1 MB picks a 16 MB table.
  std::size_t size_hint = 0;
};

// gzip (RFC 1952) via zlib's deflate. One per response; not thread-safe.
class GzipEncoder final : public BodyFilter {
 public:
  explicit GzipEncoder(const GzipOptions& options = {}, std::size_t size_hint = 0);
  ~GzipEncoder() override;
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  void on_data(std::string_view in, std::string& out, bool last) override;
  std::string_view name() const noexcept override { return "gzip"; }
  // Setup (out of memory) or zlib failed: nothing more is emitted; the response is broken and
  // must be aborted. make_encoder() returns nullptr instead of a failed encoder.
  bool failed() const noexcept { return failed_; }
  // Bytes zlib holds for this instance now (its window, hash chains and buffers).
  std::size_t memory_bytes() const noexcept;

 private:
  bool deflate_all(std::string_view in, std::string& out, int flush);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool failed_ = false;
  bool ended_ = false;
};

// br (RFC 7932) via libbrotlienc's streaming API. One per response; not thread-safe.
class BrotliEncoder final : public BodyFilter {
 public:
  explicit BrotliEncoder(const BrotliOptions& options = {});
  ~BrotliEncoder() override;
  BrotliEncoder(const BrotliEncoder&) = delete;
  BrotliEncoder& operator=(const BrotliEncoder&) = delete;

  void on_data(std::string_view in, std::string& out, bool last) override;
  std::string_view name() const noexcept override { return "br"; }
  bool failed() const noexcept { return failed_; }
  // Bytes libbrotlienc holds for this instance now (ring buffer, hash tables, command buffer);
  // it grows with the first pieces and stays there. The command buffer follows the largest
  // piece: 16 KB pieces keep it under 1 MB, a single 1 MB piece takes it to 1.7 MB.
  std::size_t memory_bytes() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool failed_ = false;
  bool ended_ = false;
};

// A compressor for `coding`; nullptr for identity, and also when the encoder could not be set up
// (out of memory): then send the body uncompressed, without Content-Encoding. Thread-safe.
std::unique_ptr<BodyFilter> make_encoder(Coding coding, const EncoderOptions& options = {});

}  // namespace bawwab::compress
