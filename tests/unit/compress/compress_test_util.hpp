#pragma once
// Pages and independent one-shot codecs for the compress tests: zlib and libbrotlidec called
// directly, so that a round trip does not only check our encoders against our decoders.
#include <brotli/decode.h>
#include <zlib.h>

#include <cstddef>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/body_filter.hpp"

namespace bawwab::compress::test {

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string demo_page(std::string_view rel) {
  return slurp(std::string(BAWWAB_SOURCE_DIR) + "/demo/site/" + std::string(rel));
}

inline const std::vector<std::string>& demo_pages() {
  static const std::vector<std::string> pages = [] {
    std::vector<std::string> v;
    for (const char* p : {"index.html", "articles/bilateral-efforts-against-cybercrime.html",
                          "articles/european-capitals-praise-moroccan-security.html",
                          "articles/hammouchi-moroccan-security-partnerships-europe.html",
                          "articles/hammouchi-spain-counter-terrorism.html",
                          "articles/interpol-general-assembly-marrakech-2025.html",
                          "articles/morocco-germany-sports-security.html",
                          "articles/morocco-stability-in-troubled-region.html",
                          "articles/morocco-us-periodic-security-meetings.html",
                          "articles/paris-2024-olympics-moroccan-expertise.html",
                          "articles/world-cup-2030-security-readiness.html"}) {
      v.push_back(demo_page(p));
    }
    v.push_back(slurp(std::string(BAWWAB_FIXTURES) + "/compress/seed_article.txt"));
    return v;
  }();
  return pages;
}

inline const std::string& article() {
  static const std::string a = demo_page("articles/hammouchi-spain-counter-terrorism.html");
  return a;
}

// The 2 MB page: the article's <article> element repeated between its head and its footer.
inline const std::string& big_page() {
  static const std::string page = [] {
    const std::string& a = article();
    const std::size_t b = a.find("<article");
    const std::size_t e = a.find("</article>") + 10;
    std::string p = a.substr(0, b);
    while (p.size() < 2'000'000) p += a.substr(b, e - b);
    return p + a.substr(e);
  }();
  return page;
}

// Feeds `in` to `f` in pieces of the sizes `next_size` returns, then the last call.
inline std::string feed(BodyFilter& f, std::string_view in,
                        const std::function<std::size_t()>& next_size) {
  std::string out;
  while (!in.empty()) {
    const std::size_t n = std::min(in.size(), std::max<std::size_t>(next_size(), 1));
    const bool last = n == in.size();
    f.on_data(in.substr(0, n), out, last);  // the last piece carries data: last=true with data
    in.remove_prefix(n);
    if (last) return out;
  }
  f.on_data({}, out, true);
  return out;
}

inline std::string feed_fixed(BodyFilter& f, std::string_view in, std::size_t piece) {
  return feed(f, in, [piece] { return piece; });
}

// Random piece sizes in [1, max], fixed seed.
inline std::string feed_random(BodyFilter& f, std::string_view in, std::uint32_t seed,
                               std::size_t max) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> d(1, max);
  return feed(f, in, [&] { return d(rng); });
}

// One-shot gzip, as `gzip -6` (or any level) of the whole page.
inline std::string gzip_one_shot(std::string_view in, int level) {
  z_stream s{};
  deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, in.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? s.total_out : 0);
  deflateEnd(&s);
  return out;
}

// zlib's inflate over the whole stream in one call. `complete`: Z_STREAM_END was reached (a
// flushed prefix of a stream decodes fully but is not complete).
struct Inflated {
  std::string data;
  bool ok = false;
  bool complete = false;
};
inline Inflated inflate_whole(std::string_view gz, std::size_t expect) {
  Inflated r;
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) return r;
  r.data.resize(expect + 1024);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  s.avail_in = static_cast<uInt>(gz.size());
  s.next_out = reinterpret_cast<Bytef*>(r.data.data());
  s.avail_out = static_cast<uInt>(r.data.size());
  const int rc = inflate(&s, Z_SYNC_FLUSH);
  r.data.resize(s.total_out);
  r.complete = rc == Z_STREAM_END && s.avail_in == 0;
  r.ok = rc == Z_STREAM_END || rc == Z_OK || rc == Z_BUF_ERROR;
  inflateEnd(&s);
  return r;
}

// BrotliDecoderDecompress in one go (complete streams only).
inline Inflated unbrotli_whole(std::string_view br, std::size_t expect) {
  Inflated r;
  std::size_t size = expect + 1024;
  r.data.resize(size);
  const auto rc = BrotliDecoderDecompress(br.size(), reinterpret_cast<const uint8_t*>(br.data()),
                                          &size, reinterpret_cast<uint8_t*>(r.data.data()));
  r.ok = r.complete = rc == BROTLI_DECODER_RESULT_SUCCESS;
  r.data.resize(r.ok ? size : 0);
  return r;
}

// libbrotlidec's streaming API over a flushed prefix: everything it can decode so far.
inline Inflated unbrotli_prefix(std::string_view br, std::size_t expect) {
  Inflated r;
  BrotliDecoderState* st = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  r.data.resize(expect + 1024);
  std::size_t avail_in = br.size(), avail_out = r.data.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(br.data());
  auto* next_out = reinterpret_cast<uint8_t*>(r.data.data());
  const auto rc =
      BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
  r.data.resize(r.data.size() - avail_out);
  r.ok = rc != BROTLI_DECODER_RESULT_ERROR;
  r.complete = rc == BROTLI_DECODER_RESULT_SUCCESS;
  BrotliDecoderDestroyInstance(st);
  return r;
}

}  // namespace bawwab::compress::test
