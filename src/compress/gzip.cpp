// gzip encoder and decoder on zlib's deflate/inflate with a gzip wrapper (windowBits + 16).
#include <zlib.h>

#include <algorithm>

#include "alloc.hpp"
#include "bawwab/compress/decoder.hpp"
#include "bawwab/compress/encoder.hpp"

namespace bawwab::compress {
namespace {

constexpr int kGzipWrapper = 16;         // windowBits + 16: gzip header and trailer, not zlib's

voidpf zalloc(voidpf opaque, uInt items, uInt size) {
  return static_cast<detail::AllocCounter*>(opaque)->allocate(std::size_t{items} * size);
}
void zfree(voidpf opaque, voidpf p) { static_cast<detail::AllocCounter*>(opaque)->release(p); }

}  // namespace

struct GzipEncoder::Impl {
  detail::AllocCounter counter;
  z_stream strm{};
  bool initialized = false;
  ~Impl() {
    if (initialized) deflateEnd(&strm);
  }
};

GzipEncoder::GzipEncoder(const GzipOptions& options, std::size_t size_hint)
    : impl_(std::make_unique<Impl>()) {
  int window_bits = std::clamp(options.window_bits, 9, 15);
  int mem_level = std::clamp(options.mem_level, 1, 9);
  // nginx's rule (ngx_http_gzip_filter_module): halve the window and the hash table while the
  // body still fits in half the window (262: deflate's MIN_LOOKAHEAD).
  if (size_hint > 0) {
    while (window_bits > 9 && size_hint < (std::size_t{1} << (window_bits - 1)) - 262) {
      --window_bits;
      mem_level = std::max(mem_level - 1, 1);
    }
  }
  z_stream& s = impl_->strm;
  s.zalloc = zalloc;
  s.zfree = zfree;
  s.opaque = &impl_->counter;
  const int rc = deflateInit2(&s, std::clamp(options.level, 0, 9), Z_DEFLATED,
                              window_bits + kGzipWrapper, mem_level, Z_DEFAULT_STRATEGY);
  impl_->initialized = rc == Z_OK;
  failed_ = rc != Z_OK;
}

GzipEncoder::~GzipEncoder() = default;

std::size_t GzipEncoder::memory_bytes() const noexcept { return impl_->counter.current; }

void GzipEncoder::on_data(std::string_view in, std::string& out, bool last) {
  if (failed_ || ended_) return;
  if (in.empty() && !last) return;  // nothing new: no flush, no bytes
  // zlib counts in 32 bits: a (theoretical) piece over 1 GB goes in slices, flushed once.
  constexpr std::size_t kSlice = std::size_t{1} << 30;
  while (in.size() > kSlice) {
    if (!deflate_all(in.substr(0, kSlice), out, Z_NO_FLUSH)) return;
    in.remove_prefix(kSlice);
  }
  deflate_all(in, out, last ? Z_FINISH : Z_SYNC_FLUSH);
}

bool GzipEncoder::deflate_all(std::string_view in, std::string& out, int flush) {
  z_stream& s = impl_->strm;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    const std::size_t step = detail::encode_step(s.avail_in);
    char* room = detail::grow(out, step);
    s.next_out = reinterpret_cast<Bytef*>(room);
    s.avail_out = static_cast<uInt>(step);
    const int rc = deflate(&s, flush);
    out.resize(out.size() - s.avail_out);
    if (rc == Z_STREAM_END) {
      ended_ = true;
      return true;
    }
    if (rc == Z_STREAM_ERROR) {
      failed_ = true;
      return false;
    }
    // Z_OK or Z_BUF_ERROR (no progress possible). A flush is complete when deflate left room
    // in the output and took all the input; Z_FINISH loops until Z_STREAM_END.
    if (flush != Z_FINISH && s.avail_out != 0 && s.avail_in == 0) return true;
    if (rc == Z_BUF_ERROR && s.avail_out != 0) {  // cannot happen with room and our flush modes
      failed_ = true;
      return false;
    }
  }
}

struct GzipDecoder::Impl {
  detail::AllocCounter counter;
  z_stream strm{};
  bool initialized = false;
  ~Impl() {
    if (initialized) inflateEnd(&strm);
  }
};

GzipDecoder::GzipDecoder(const DecoderOptions& options)
    : impl_(std::make_unique<Impl>()), max_output_(options.max_output) {
  z_stream& s = impl_->strm;
  s.zalloc = zalloc;
  s.zfree = zfree;
  s.opaque = &impl_->counter;
  impl_->initialized = inflateInit2(&s, MAX_WBITS + kGzipWrapper) == Z_OK;
  if (!impl_->initialized) error_ = "gzip decoder setup failed";
}

GzipDecoder::~GzipDecoder() = default;

void GzipDecoder::on_data(std::string_view in, std::string& out, bool last) {
  if (failed() || ended_) return;
  constexpr std::size_t kSlice = std::size_t{1} << 30;  // zlib counts in 32 bits
  while (in.size() > kSlice) {
    on_data(in.substr(0, kSlice), out, false);
    if (failed()) return;
    in.remove_prefix(kSlice);
  }
  z_stream& s = impl_->strm;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (!in_member_) {
      if (s.avail_in == 0) break;
      // A member starts: the first, or one concatenated after the previous trailer (anything
      // else there is not a gzip header, and inflate says so).
      if (inflateReset(&s) != Z_OK) {
        error_ = "gzip decoder reset failed";
        return;
      }
      in_member_ = true;
    }
    const std::size_t room_size = detail::decode_step(max_output_, total_out_);
    char* room = detail::grow(out, room_size);
    s.next_out = reinterpret_cast<Bytef*>(room);
    s.avail_out = static_cast<uInt>(room_size);
    const int rc = inflate(&s, Z_NO_FLUSH);
    out.resize(out.size() - s.avail_out);
    total_out_ += room_size - s.avail_out;
    if (total_out_ > max_output_) {
      error_ = "decoded body over the limit";
      return;
    }
    if (rc == Z_STREAM_END) {
      in_member_ = false;
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
      error_ = "corrupt gzip stream";
      return;
    }
    if (rc == Z_MEM_ERROR) {
      error_ = "gzip decoder out of memory";
      return;
    }
    // inflate returns when the input is used up or the output is full: room left means it
    // needs more input; a full output may have more pending, so go round again.
    if (s.avail_out != 0) break;
  }
  if (last) {
    ended_ = true;
    if (in_member_) error_ = "truncated gzip stream";
  }
}

}  // namespace bawwab::compress
