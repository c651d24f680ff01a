#include "bawwab/compress/decoder.hpp"
#include "bawwab/compress/encoder.hpp"

namespace bawwab::compress {

std::unique_ptr<BodyFilter> make_encoder(Coding coding, const EncoderOptions& options) {
  switch (coding) {
    case Coding::gzip: {
      auto e = std::make_unique<GzipEncoder>(options.gzip, options.size_hint);
      if (e->failed()) return nullptr;
      return e;
    }
    case Coding::br: {
      auto e = std::make_unique<BrotliEncoder>(options.br);
      if (e->failed()) return nullptr;
      return e;
    }
    case Coding::identity:
      break;
  }
  return nullptr;
}

std::unique_ptr<BodyFilter> make_decoder(Coding coding, const DecoderOptions& options) {
  switch (coding) {
    case Coding::gzip:
      return std::make_unique<GzipDecoder>(options);
    case Coding::br:
      return std::make_unique<BrotliDecoder>(options);
    case Coding::identity:
      break;
  }
  return nullptr;
}

}  // namespace bawwab::compress
