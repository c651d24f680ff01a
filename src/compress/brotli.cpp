// br encoder and decoder on libbrotlienc / libbrotlidec's streaming APIs.
#include <brotli/decode.h>
#include <brotli/encode.h>

#include <algorithm>

#include "alloc.hpp"
#include "bawwab/compress/decoder.hpp"
#include "bawwab/compress/encoder.hpp"

namespace bawwab::compress {
namespace {


void* brotli_alloc(void* opaque, std::size_t size) {
  return static_cast<detail::AllocCounter*>(opaque)->allocate(size);
}
void brotli_free(void* opaque, void* p) { static_cast<detail::AllocCounter*>(opaque)->release(p); }

}  // namespace

struct BrotliEncoder::Impl {
  detail::AllocCounter counter;
  BrotliEncoderState* state = nullptr;
  ~Impl() {
    if (state != nullptr) BrotliEncoderDestroyInstance(state);
  }
};

BrotliEncoder::BrotliEncoder(const BrotliOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->state = BrotliEncoderCreateInstance(brotli_alloc, brotli_free, &impl_->counter);
  BrotliEncoderState* st = impl_->state;
  failed_ =
      st == nullptr ||
      !BrotliEncoderSetParameter(st, BROTLI_PARAM_QUALITY,
                                 static_cast<std::uint32_t>(std::clamp(
                                     options.quality, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY))) ||
      !BrotliEncoderSetParameter(
          st, BROTLI_PARAM_LGWIN,
          static_cast<std::uint32_t>(
              std::clamp(options.window_bits, BROTLI_MIN_WINDOW_BITS, BROTLI_MAX_WINDOW_BITS)));
}

BrotliEncoder::~BrotliEncoder() = default;

std::size_t BrotliEncoder::memory_bytes() const noexcept { return impl_->counter.current; }

void BrotliEncoder::on_data(std::string_view in, std::string& out, bool last) {
  if (failed_ || ended_) return;
  if (in.empty() && !last) return;  // nothing new: no flush, no bytes
  BrotliEncoderState* st = impl_->state;
  const auto op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  std::size_t avail_in = in.size();
  for (;;) {
    const std::size_t step = detail::encode_step(avail_in);
    auto* next_out = reinterpret_cast<std::uint8_t*>(detail::grow(out, step));
    std::size_t avail_out = step;
    const bool ok =
        BrotliEncoderCompressStream(st, op, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.resize(out.size() - avail_out);
    if (!ok) {
      failed_ = true;
      return;
    }
    if (last) {
      if (BrotliEncoderIsFinished(st)) {
        ended_ = true;
        return;
      }
    } else if (avail_in == 0 && !BrotliEncoderHasMoreOutput(st)) {
      return;  // the flush is complete: everything so far is in `out`
    }
  }
}

struct BrotliDecoder::Impl {
  detail::AllocCounter counter;
  BrotliDecoderState* state = nullptr;
  ~Impl() {
    if (state != nullptr) BrotliDecoderDestroyInstance(state);
  }
};

BrotliDecoder::BrotliDecoder(const DecoderOptions& options)
    : impl_(std::make_unique<Impl>()), max_output_(options.max_output) {
  impl_->state = BrotliDecoderCreateInstance(brotli_alloc, brotli_free, &impl_->counter);
  if (impl_->state == nullptr) error_ = "brotli decoder setup failed";
}

BrotliDecoder::~BrotliDecoder() = default;

void BrotliDecoder::on_data(std::string_view in, std::string& out, bool last) {
  if (failed() || ended_) return;
  total_in_ += in.size();
  const auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  std::size_t avail_in = in.size();
  while (!done_ && (avail_in > 0 || BrotliDecoderHasMoreOutput(impl_->state))) {
    const std::size_t step = detail::decode_step(max_output_, total_out_);
    auto* next_out = reinterpret_cast<std::uint8_t*>(detail::grow(out, step));
    std::size_t avail_out = step;
    const BrotliDecoderResult rc = BrotliDecoderDecompressStream(impl_->state, &avail_in, &next_in,
                                                                 &avail_out, &next_out, nullptr);
    out.resize(out.size() - avail_out);
    total_out_ += step - avail_out;
    if (total_out_ > max_output_) {
      error_ = "decoded body over the limit";
      return;
    }
    if (rc == BROTLI_DECODER_RESULT_ERROR) {
      error_ = "corrupt brotli stream";
      return;
    }
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) done_ = true;
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) break;  // all input taken
  }
  if (done_ && avail_in > 0) {
    error_ = "data after the end of the brotli stream";
    return;
  }
  if (last) {
    ended_ = true;
    if (!done_ && total_in_ > 0) error_ = "truncated brotli stream";
  }
}

}  // namespace bawwab::compress
