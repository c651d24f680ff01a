#pragma once
// The "request head" phase, step one: a strict scan of the raw bytes of a request head before
// Beast parses them. Beast 1.81 unfolds obs-fold, tolerates some bytes RFC 9112 tells a proxy to
// refuse and does not count fields; a front-end that lets such heads through is how request
// smuggling starts (research §3.3, RFC 9112 §2.2, §3, §5).
#include <cstddef>
#include <string_view>

namespace bawwab::http {

struct HeadScan {
  enum class State { incomplete, complete, reject };
  State state = State::incomplete;
  // When complete: bytes up to and including the blank line, counted from the start of `bytes`
  // (so including skipped leading empty lines).
  std::size_t head_size = 0;
  // When complete: offset of the request line, after the leading empty lines RFC 9112 §2.2 lets
  // us skip. Beast 1.81 does not skip them itself: give it bytes [start, head_size).
  std::size_t start = 0;
  unsigned status = 0;      // when reject: 400, 414, 431 or 505
  std::string_view reason;  // when reject: short static text for logs, e.g. "obs-fold"
};

struct HeadLimits {
  std::size_t max_request_line = 8192;  // request line without its CRLF; longer -> 414
  std::size_t max_header_bytes = 16384;  // the whole head including the blank line; more -> 431
  std::size_t max_header_count = 100;    // field lines; more -> 431
};

// Looks at the bytes received so far for one request head and says whether it is complete,
// needs more bytes, or must be refused (the session answers `status` and closes). Pure,
// thread-safe, linear in bytes.size(); call it again with the longer buffer as bytes arrive.
// Bytes after the head (a body, a pipelined request) are not looked at.
//
// A verdict never changes as more bytes arrive: a reject (or complete) for a prefix is the same
// reject (or complete) for any longer input, because every check is decided at the first byte
// that breaks a rule, in byte order. So a 414 or 431 comes as soon as the limit is passed.
//
// Refused: bare CR, bare LF, CTLs other than HTAB (NUL, DEL...), more than 4 leading empty lines,
// a request line that is not exactly `method SP target SP HTTP/d.d` (400), a target with bytes
// outside 0x21..0x7E (400), HTTP/1.x other than 1.0 and 1.1 or another major (505; the HTTP/2
// preface "PRI * HTTP/2.0" is 400), whitespace before the first field line or obs-fold (400), a
// field line without colon, with an empty name, a non-tchar in the name or whitespace before
// the colon (400).
HeadScan scan_request_head(std::string_view bytes, const HeadLimits& limits);

}  // namespace bawwab::http
