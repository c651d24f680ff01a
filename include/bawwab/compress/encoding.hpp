#pragma once
// Content codings bawwab produces itself (it asks the origin for an uncompressed body when it
// rewrites a page, and compresses what it sends): which one a request accepts, which responses
// are worth compressing, and the Content-Encoding token. All pure and thread-safe.
#include <cstdint>
#include <optional>
#include <string_view>

namespace bawwab::compress {

enum class Coding : std::uint8_t { identity, gzip, br };

// The codings the server is willing to produce (config may switch one off).
struct Offer {
  bool gzip = true;
  bool br = true;
};

// The coding to use for a response, from the request's Accept-Encoding value (RFC 9110
// §12.5.3). Several header lines are passed joined with ", " (the field's list semantics); an
// absent or empty header gives identity (like nginx: no coding unless asked for).
// - tokens are case-insensitive; "x-gzip" is gzip; unknown codings (deflate, zstd) are ignored;
// - q-values 0..1 (q=0: not acceptable); an element whose q is not a number is ignored, q > 1
//   counts as 1, more than 3 decimals are cut (but a positive q never becomes 0);
// - "*" gives its q to every coding not listed, identity included;
// - the highest q wins; at equal q br beats gzip, and a coding beats identity;
// - identity not listed (and no "*") is acceptable but ranks below any coding with q > 0;
// - nothing acceptable (e.g. "*;q=0" or "identity;q=0" alone): identity, the representation that
//   is always available (RFC 9110 lets the server send it rather than a 415).
// Pure; thread-safe; no allocation.
Coding negotiate(std::string_view accept_encoding, Offer offer = {}) noexcept;

// The Content-Encoding token: "gzip", "br"; "identity" for identity (never sent as a header).
std::string_view content_encoding_token(Coding coding) noexcept;

// The coding a Content-Encoding value names ("gzip", "x-gzip", "br", "identity", any case,
// surrounding whitespace ignored); nullopt for anything else (several codings, "deflate"...).
std::optional<Coding> coding_from_token(std::string_view token) noexcept;

// Whether a response of this Content-Type is worth compressing: text/*, JavaScript, JSON, XML
// and the +xml / +json suffixes (image/svg+xml, application/rss+xml, application/atom+xml,
// application/ld+json...). Parameters (charset) and case are ignored. Not images (except SVG),
// audio, video, fonts, archives or application/octet-stream, nor an empty type. Pure.
bool is_compressible(std::string_view content_type) noexcept;

}  // namespace bawwab::compress
