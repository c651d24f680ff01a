#pragma once
// Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and must not cross the proxy.
#include <boost/beast/http/fields.hpp>

namespace bawwab::http {

// Removes Connection and every field it names (all Connection lines, comma lists,
// case-insensitive), and Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization,
// TE, Trailer, Transfer-Encoding and Upgrade. A Connection token naming Host or Content-Length is
// ignored: dropping those in transit is an attack on whoever is behind us, never a client's need.
// Pure, not thread-safe on the same `f`.
//
// For the caller: read what the connection needs first (Beast's keep_alive(), chunked(),
// upgrade), since the fields that said it are gone afterwards; and set the framing of the
// forwarded message again (chunked(true) or content_length), as Transfer-Encoding is removed.
void remove_hop_by_hop(boost::beast::http::fields& f);

}  // namespace bawwab::http
