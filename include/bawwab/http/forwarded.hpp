#pragma once
// Who the client is, and what the origin is told about it: X-Forwarded-*, Forwarded (RFC 7239),
// X-Real-IP and Via (RFC 9110 §7.6.3). A client-supplied chain is believed only when the socket
// peer is a configured trusted proxy.
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

#include <string_view>

#include "bawwab/core/net.hpp"

namespace bawwab::http {

struct ForwardedContext {
  boost::asio::ip::address peer;   // socket peer
  bool tls = false;                // client connection was TLS
  std::string_view host;           // authority the client asked for (request_authority)
  std::string_view via_pseudonym;  // "bawwab"; empty means "bawwab"
  unsigned http_minor = 1;         // client's HTTP/1.x for the Via protocol version
};

// The client IP: the peer, unless the peer is in `trusted`, in which case X-Forwarded-For (all its
// lines, as one list; or, without any, the for= of Forwarded) is walked from the right, trusted
// hops skipped, and the first untrusted address is the client (nginx real_ip_recursive). A
// malformed entry ("unknown", "_hidden", garbage, an empty element) stops the walk and the last
// good address wins; if every entry is trusted, the leftmost does. An empty X-Forwarded-For element
// is malformed; an empty Forwarded element is skipped (RFC 9110 §5.6.1). Entries may carry a port
// ("192.0.2.1:80", "[2001:db8::1]:443"). The result is canonical (IPv4-mapped IPv6 unmapped).
// Pure, thread-safe; call it on the fields as received, before remove_hop_by_hop.
boost::asio::ip::address resolve_client_ip(const boost::beast::http::fields& f,
                                           const boost::asio::ip::address& peer,
                                           const bawwab::net::CidrList& trusted);

// Rewrites the request fields to forward (after remove_hop_by_hop). Pure, not thread-safe on `f`.
// - X-Forwarded-For: the incoming list plus the peer when peer_trusted, else just the peer
//   (never pass on a chain the client made up); one line.
// - X-Real-IP: client_ip (replacing any incoming one, which anyone can send).
// - X-Forwarded-Proto: kept when peer_trusted and it is "http" or "https", else ours.
// - X-Forwarded-Host: kept when peer_trusted and a valid authority, else c.host (removed when
//   c.host is empty).
// - Forwarded: the incoming elements when peer_trusted and they parse (dropped otherwise: an open
//   quote would swallow ours), then ours: for=<peer>;proto=<http|https>[;host=<c.host>],
//   IPv6 as for="[2001:db8::1]".
// - Via: appended "1.1 bawwab" ("1.0 bawwab" for an HTTP/1.0 client), after incoming values.
void set_forwarding_headers(boost::beast::http::fields& f, const ForwardedContext& c,
                            const boost::asio::ip::address& client_ip, bool peer_trusted);

// Response direction: removes hop-by-hop fields (remove_hop_by_hop, so read the upstream's
// keep-alive and framing first) and appends Via "1.<upstream_http_minor> <pseudonym>"
// (empty pseudonym means "bawwab"). Pure, not thread-safe on `f`.
void prepare_response_fields(boost::beast::http::fields& f, std::string_view via_pseudonym,
                             unsigned upstream_http_minor);

}  // namespace bawwab::http
