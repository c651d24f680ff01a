#include "bawwab/compress/encoding.hpp"

#include <catch2/catch.hpp>

using namespace bawwab::compress;

TEST_CASE("negotiate: what real clients send", "[encoding]") {
  // Chrome 123+, Edge, Firefox 126+.
  CHECK(negotiate("gzip, deflate, br, zstd") == Coding::br);
  // Safari, Googlebot, older Chrome and Firefox.
  CHECK(negotiate("gzip, deflate, br") == Coding::br);
  // curl 7.88.1 --compressed (Debian 12, built with brotli and zstd), recorded on this machine.
  CHECK(negotiate("deflate, gzip, br, zstd") == Coding::br);
  // python-requests 2.28 (without the brotli package), recorded.
  CHECK(negotiate("gzip, deflate") == Coding::gzip);
  // Wget 1.21.3, recorded: no coding.
  CHECK(negotiate("identity") == Coding::identity);
  // Go's net/http, and Wget with --compression=auto.
  CHECK(negotiate("gzip") == Coding::gzip);
  // IE 11 and old crawlers; Opera 12 with its extras.
  CHECK(negotiate("gzip, deflate, peerdist") == Coding::gzip);
  CHECK(negotiate("gzip, deflate, lzma, sdch") == Coding::gzip);
  // curl without --compressed and most scripts: no header at all.
  CHECK(negotiate("") == Coding::identity);
  // RFC 9110's own examples.
  CHECK(negotiate("compress, gzip") == Coding::gzip);
  CHECK(negotiate("*") == Coding::br);
  CHECK(negotiate("compress;q=0.5, gzip;q=1.0") == Coding::gzip);
  CHECK(negotiate("gzip;q=1.0, identity; q=0.5, *;q=0") == Coding::gzip);
}

TEST_CASE("negotiate: q-values", "[encoding]") {
  CHECK(negotiate("gzip;q=1, br;q=0.9") == Coding::gzip);
  CHECK(negotiate("gzip;q=0.8, br;q=0.9") == Coding::br);
  CHECK(negotiate("br;q=0, gzip") == Coding::gzip);
  CHECK(negotiate("gzip;q=0, br;q=0") == Coding::identity);
  CHECK(negotiate("gzip;q=0.000") == Coding::identity);
  CHECK(negotiate("gzip;q=0.001") == Coding::gzip);
  CHECK(negotiate("br;q=0.001, gzip;q=0.002") == Coding::gzip);
  // Equal q: br before gzip, a coding before identity.
  CHECK(negotiate("gzip;q=0.5, br;q=0.5") == Coding::br);
  CHECK(negotiate("gzip;q=0.5, identity;q=0.5") == Coding::gzip);
  // Identity explicitly preferred.
  CHECK(negotiate("identity, gzip;q=0.5") == Coding::identity);
  CHECK(negotiate("identity;q=0.6, gzip;q=0.5, br;q=0.4") == Coding::identity);
  // Identity not listed ranks below any acceptable coding, whatever its q.
  CHECK(negotiate("gzip;q=0.1") == Coding::gzip);
  // Lenient forms: more than three decimals cut, q above 1 is 1, ".5", "1.", upper-case Q,
  // spaces around ';' and '=', other parameters ignored.
  CHECK(negotiate("gzip;q=0.5000, br;q=0.4999") == Coding::gzip);
  CHECK(negotiate("br;q=0.0001, gzip;q=0") == Coding::br);  // positive stays acceptable
  CHECK(negotiate("gzip;q=1.5, br;q=1") == Coding::br);     // both 1: the tie goes to br
  CHECK(negotiate("br;q=.5, gzip;q=.4") == Coding::br);
  CHECK(negotiate("br;q=1., gzip;q=0.9") == Coding::br);
  CHECK(negotiate("br;Q=0, gzip") == Coding::gzip);
  CHECK(negotiate("br ; q = 0 , gzip") == Coding::gzip);
  CHECK(negotiate("br;level=11;q=0, gzip") == Coding::gzip);
  CHECK(negotiate("br;foo, gzip;q=0.5") == Coding::br);
}

TEST_CASE("negotiate: an invalid q ignores its element", "[encoding]") {
  CHECK(negotiate("br;q=high, gzip") == Coding::gzip);
  CHECK(negotiate("br;q=, gzip") == Coding::gzip);
  CHECK(negotiate("br;q=-1, gzip;q=0.1") == Coding::gzip);
  CHECK(negotiate("br;q=0.5x, gzip;q=0.1") == Coding::gzip);
  CHECK(negotiate("gzip;q=abc") == Coding::identity);
  // An ignored "identity;q=bad" does not exclude identity either.
  CHECK(negotiate("identity;q=x, gzip;q=0") == Coding::identity);
  // A q=0 with garbage after it is ignored too, so it does not exclude the coding by accident.
  CHECK(negotiate("gzip;q=0junk, *;q=0.5") == Coding::br);
}

TEST_CASE("negotiate: tokens, case, x-gzip, whitespace and empty elements", "[encoding]") {
  CHECK(negotiate("GZIP") == Coding::gzip);
  CHECK(negotiate("Br") == Coding::br);
  CHECK(negotiate("x-gzip") == Coding::gzip);
  CHECK(negotiate("X-GZIP;q=0.5, br;q=0.4") == Coding::gzip);
  CHECK(negotiate("  gzip  ,\tbr\t") == Coding::br);
  CHECK(negotiate(",,gzip,,") == Coding::gzip);
  CHECK(negotiate(" , ") == Coding::identity);
  CHECK(negotiate("deflate, zstd, compress") == Coding::identity);
  CHECK(negotiate("gzipx, brotli, b r") == Coding::identity);
  CHECK(negotiate("\"gzip\"") == Coding::identity);  // not a token
  // A coding named twice: its best q.
  CHECK(negotiate("gzip;q=0, gzip, br;q=0.5") == Coding::gzip);
  CHECK(negotiate("gzip;q=0.2, x-gzip;q=0.9, br;q=0.5") == Coding::gzip);
}

TEST_CASE("negotiate: several header lines joined with commas", "[encoding]") {
  // Accept-Encoding: gzip;q=0.5  +  Accept-Encoding: br;q=0.6
  CHECK(negotiate(std::string("gzip;q=0.5") + ", " + "br;q=0.6") == Coding::br);
  CHECK(negotiate(std::string("br;q=0") + ", " + "gzip") == Coding::gzip);
  CHECK(negotiate(std::string("") + ", " + "gzip") == Coding::gzip);  // an empty first line
}

TEST_CASE("negotiate: the asterisk", "[encoding]") {
  CHECK(negotiate("*") == Coding::br);
  CHECK(negotiate("*;q=0.5") == Coding::br);
  CHECK(negotiate("br;q=0, *") == Coding::gzip);
  CHECK(negotiate("gzip;q=0.3, *;q=0.5") == Coding::br);
  CHECK(negotiate("br;q=0.3, *;q=0.5") == Coding::gzip);
  // "*" covers identity: identity at 1 against gzip at 0.5.
  CHECK(negotiate("gzip;q=0.5, br;q=0.4, *") == Coding::identity);
  // "*;q=0" leaves only what is listed; with nothing acceptable, identity as the fallback.
  CHECK(negotiate("gzip, *;q=0") == Coding::gzip);
  CHECK(negotiate("*;q=0") == Coding::identity);
  CHECK(negotiate("identity;q=0") == Coding::identity);
  CHECK(negotiate("identity;q=0, *;q=0") == Coding::identity);
  CHECK(negotiate("identity;q=0, gzip;q=0.1") == Coding::gzip);
  CHECK(negotiate("identity;q=0, *") == Coding::br);
}

TEST_CASE("negotiate: what the server offers", "[encoding]") {
  const Offer gzip_only{.gzip = true, .br = false};
  const Offer br_only{.gzip = false, .br = true};
  const Offer none{.gzip = false, .br = false};
  CHECK(negotiate("gzip, deflate, br, zstd", gzip_only) == Coding::gzip);
  CHECK(negotiate("br", gzip_only) == Coding::identity);
  CHECK(negotiate("gzip, deflate", br_only) == Coding::identity);
  CHECK(negotiate("*", br_only) == Coding::br);
  CHECK(negotiate("br;q=0.1, gzip", br_only) == Coding::br);
  CHECK(negotiate("gzip, br", none) == Coding::identity);
}

TEST_CASE("content_encoding_token and coding_from_token", "[encoding]") {
  CHECK(content_encoding_token(Coding::gzip) == "gzip");
  CHECK(content_encoding_token(Coding::br) == "br");
  CHECK(content_encoding_token(Coding::identity) == "identity");
  CHECK(coding_from_token("gzip") == Coding::gzip);
  CHECK(coding_from_token(" X-Gzip ") == Coding::gzip);
  CHECK(coding_from_token("BR") == Coding::br);
  CHECK(coding_from_token("identity") == Coding::identity);
  CHECK_FALSE(coding_from_token("deflate").has_value());
  CHECK_FALSE(coding_from_token("gzip, br").has_value());
  CHECK_FALSE(coding_from_token("").has_value());
}

TEST_CASE("is_compressible", "[encoding]") {
  for (const char* yes : {"text/html",
                          "text/html; charset=utf-8",
                          "TEXT/HTML;charset=UTF-8",
                          "text/plain",
                          "text/css",
                          "text/javascript",
                          "text/xml",
                          "text/csv",
                          " text/html ",
                          "application/javascript",
                          "application/x-javascript",
                          "application/json",
                          "application/json; charset=utf-8",
                          "application/xml",
                          "image/svg+xml",
                          "application/rss+xml",
                          "application/atom+xml",
                          "application/ld+json",
                          "application/manifest+json",
                          "application/xhtml+xml",
                          "application/problem+json",
                          "application/wasm"}) {
    INFO(yes);
    CHECK(is_compressible(yes));
  }
  for (const char* no : {"",
                         ";charset=utf-8",
                         "text/",
                         "image/png",
                         "image/jpeg",
                         "image/webp",
                         "image/avif",
                         "image/gif",
                         "video/mp4",
                         "audio/mpeg",
                         "application/zip",
                         "application/gzip",
                         "application/octet-stream",
                         "application/pdf",
                         "font/woff2",
                         "font/woff",
                         "application/x-protobuf",
                         "multipart/form-data",
                         "html",
                         "application/jsonx",
                         "application/xml-dtd-not"}) {
    INFO(no);
    CHECK_FALSE(is_compressible(no));
  }
}
