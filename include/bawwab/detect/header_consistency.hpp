#pragma once
// Header consistency: a User-Agent that claims a browser, checked against what that browser
// ALWAYS sends in the request's situation (method, secure context, HTTP version), and our own
// header-order fingerprint (not JA4H, whose licence forbids our use).
//
// The worst failure here is a false positive: a reader blocked. So every check is limited to the
// situations where the claimed browser was seen (recorded, tests/fixtures/detect/) to send the
// header every time; anything we are unsure about is not checked. Notably, recorded on Chromium
// 156: over plain HTTP to a non-loopback host Chromium sends no Sec-Fetch-*, no sec-ch-ua, and
// "Accept-Encoding: gzip, deflate" (no br); on https and on http://127.0.0.1 it sends all of them.
#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/detect/user_agent.hpp"

namespace bawwab::detect {

// What the checks need from the request's fields, gathered in one pass in wire order. Views
// point into the fields; valid while they are.
struct HeaderSummary {
  std::string_view user_agent, accept, accept_encoding, accept_language, sec_ch_ua, sec_fetch_site,
      sec_fetch_mode, sec_fetch_dest;
  bool has_user_agent = false, has_accept = false, has_accept_encoding = false,
       has_accept_language = false, has_sec_ch_ua = false, has_upgrade = false, has_range = false;
  // 1-based wire positions (first occurrence) of the headers whose relative order browsers fix;
  // 0 when absent.
  unsigned pos_host = 0, pos_connection = 0, pos_user_agent = 0, pos_accept = 0,
           pos_accept_encoding = 0, pos_accept_language = 0;
  unsigned count = 0;            // field lines
  std::uint64_t order_hash = 0;  // header_order_hash of the same fields
};

// One pass over the fields. Pure, thread-safe, no allocation.
HeaderSummary summarize_headers(const boost::beast::http::fields& fields) noexcept;

// Our header-order fingerprint: 64-bit FNV-1a over the lower-cased field names in wire order,
// each followed by '\n' (duplicates included). Pure, thread-safe, no allocation.
std::uint64_t header_order_hash(const boost::beast::http::fields& fields) noexcept;
// 16 lower-case hex digits (the value of the headers.order signal).
std::string header_order_hex(std::uint64_t hash);

// The request's situation.
struct RequestFacts {
  std::string_view method;     // "GET"
  std::string_view host;       // lower-case, without port
  unsigned http_version = 11;  // 10 or 11
  bool tls = false;
  // Reached us through a trusted proxy: the HTTP version and the header order are the proxy's
  // (nginx talks HTTP/1.0 upstream by default), so they say nothing about the client.
  bool via_proxy = false;
};

struct HeaderCheck {
  std::vector<std::string_view> reasons;  // static texts; empty when consistent
  bool order_mismatch = false;            // order unlike the claimed browser's
};

// Checks the headers against the claim. Only known families are checked (BrowserClaim::known()),
// only GET and HEAD without Upgrade (browsers' WebSocket handshakes and preflights differ).
// Reasons:
//   "no Accept", "no Accept-Language", "Accept-Encoding without gzip or br" (also when absent;
//   not on Range requests, where media players ask for identity),
//   "no Sec-Fetch-* on a secure navigation" (Chromium >= 80 on https or a loopback host;
//   Firefox >= 90 and Safari >= 16.4 on https; navigation = Accept with text/html),
//   "no sec-ch-ua on a secure navigation" (Chrome, Edge, Opera >= 90, top-level document),
//   "sec-ch-ua from a browser without client hints" (Firefox, Safari),
//   "sec-ch-ua Chromium version differs from the UA",
//   "HTTP/1.0 from a modern browser" (not via a proxy).
// Pure, thread-safe; allocates only when there are reasons.
HeaderCheck check_headers(const HeaderSummary& headers, const RequestFacts& request,
                          const BrowserClaim& claim);
HeaderCheck check_headers(const boost::beast::http::fields& fields, const RequestFacts& request,
                          const BrowserClaim& claim);

// Relative order of a few headers each engine emits in a fixed order (recorded; conservative):
//   Chromium: Host first, Connection < Accept < Accept-Encoding < Accept-Language, and
//             User-Agent < Accept;
//   Firefox:  Host first, Accept < Accept-Language < Accept-Encoding.
// Safari's order varies between versions: never a mismatch. Absent headers are skipped. Pure.
bool order_mismatch(const HeaderSummary& headers, const BrowserClaim& claim) noexcept;

// The Chromium "Chromium" brand's major version in a sec-ch-ua value, 0 when absent
// ("\"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"" -> 156). Pure.
int sec_ch_ua_chromium_major(std::string_view sec_ch_ua) noexcept;

// localhost, *.localhost, 127.0.0.0/8, ::1: hosts Chromium treats as a secure context over
// plain HTTP. Pure.
bool is_loopback_host(std::string_view host) noexcept;

}  // namespace bawwab::detect
