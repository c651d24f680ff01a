#include <catch2/catch.hpp>

#include <string>

#include "bawwab/http/head_scan.hpp"

using bawwab::http::HeadLimits;
using bawwab::http::HeadScan;
using bawwab::http::scan_request_head;
using namespace std::string_literals;

namespace {

const HeadLimits kLimits{8192, 16384, 100};

struct Case {
  const char* name;
  std::string raw;
  unsigned status;          // 0: complete
  std::string_view reason;  // when refused
};

}  // namespace

TEST_CASE("scan_request_head: complete heads", "[http][head_scan]") {
  const std::string get = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  auto s = scan_request_head(get, kLimits);
  REQUIRE(s.state == HeadScan::State::complete);
  CHECK(s.head_size == get.size());
  CHECK(s.start == 0);

  SECTION("the body and pipelined requests are not looked at") {
    const std::string with_body = get + "\x00\x01 garbage\n\r"s;
    s = scan_request_head(with_body, kLimits);
    REQUIRE(s.state == HeadScan::State::complete);
    CHECK(s.head_size == get.size());
  }
  SECTION("leading empty lines are skipped, and start says where the request line is") {
    s = scan_request_head("\r\n\r\n" + get, kLimits);
    REQUIRE(s.state == HeadScan::State::complete);
    CHECK(s.start == 4);
    CHECK(s.head_size == get.size() + 4);
  }
  SECTION("no fields at all (HTTP/1.0)") {
    s = scan_request_head("GET / HTTP/1.0\r\n\r\n", kLimits);
    REQUIRE(s.state == HeadScan::State::complete);
    CHECK(s.head_size == 18);
  }
  SECTION("values may hold HTAB, obs-text and empty values") {
    s = scan_request_head("GET / HTTP/1.1\r\nX:\tcaf\xc3\xa9 \t\r\nY:\r\nZ: \r\n\r\n", kLimits);
    CHECK(s.state == HeadScan::State::complete);
  }
  SECTION("absolute-form, asterisk-form and unusual but valid methods") {
    for (const char* line : {"GET http://a.example/x?y HTTP/1.1", "OPTIONS * HTTP/1.1",
                             "M-SEARCH * HTTP/1.1", "get / HTTP/1.0"}) {
      CAPTURE(line);
      CHECK(scan_request_head(std::string(line) + "\r\n\r\n", kLimits).state ==
            HeadScan::State::complete);
    }
  }
}

TEST_CASE("scan_request_head: incomplete input is never refused early", "[http][head_scan]") {
  const std::string get =
      "\r\nGET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nAccept: */*\r\n\r\n";
  for (std::size_t n = 0; n < get.size(); ++n) {
    CAPTURE(n);
    const auto s = scan_request_head(std::string_view(get).substr(0, n), kLimits);
    CHECK(s.state == HeadScan::State::incomplete);
    CHECK(s.status == 0);
  }
  CHECK(scan_request_head(get, kLimits).state == HeadScan::State::complete);
}

TEST_CASE("scan_request_head: refusals", "[http][head_scan]") {
  const std::string ok_line = "GET / HTTP/1.1\r\n";
  const std::vector<Case> cases = {
      // Line endings.
      {"bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF"},
      {"bare LF ending a field", ok_line + "Host: a\nX: b\r\n\r\n", 400, "bare LF"},
      {"bare LF as the blank line", ok_line + "Host: a\r\n\n", 400, "bare LF"},
      {"bare LF as a leading empty line", "\nGET / HTTP/1.1\r\n\r\n", 400, "bare LF"},
      {"bare CR inside a value", ok_line + "X: a\rTransfer-Encoding: chunked\r\n\r\n", 400,
       "bare CR"},
      {"bare CR after the request line", "GET / HTTP/1.1\rX: a\r\n\r\n", 400, "bare CR"},
      {"bare CR as the blank line", ok_line + "Host: a\r\n\rX", 400, "bare CR"},
      {"CR CR LF", ok_line + "Host: a\r\r\n\r\n", 400, "bare CR"},
      {"too many leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400,
       "too many empty lines"},
      // Control characters.
      {"NUL in a value", ok_line + "X: a\0b\r\n\r\n"s, 400, "control character in field"},
      {"VT before chunked", ok_line + "Transfer-Encoding:\x0b" "chunked\r\n\r\n", 400,
       "control character in field"},
      {"DEL in a value", ok_line + "X: a\x7f\r\n\r\n", 400, "control character in field"},
      {"NUL in the target", "GET /a\0b HTTP/1.1\r\n\r\n"s, 400, "bad request line"},
      {"NUL in the method", "GE\0T / HTTP/1.1\r\n\r\n"s, 400, "bad request line"},
      {"non-ASCII in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 400,
       "non-ASCII in target"},
      // Request line shape.
      {"two spaces after the method", "GET  / HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"two spaces before the version", "GET /  HTTP/1.1\r\n\r\n", 400, "bad HTTP version"},
      {"tab as separator", "GET\t/ HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"tab in the target", "GET /a\tb HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"leading space", " GET / HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"empty method", " / HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"non-tchar in the method", "GE(T / HTTP/1.1\r\n\r\n", 400, "bad request line"},
      {"missing version (HTTP/0.9)", "GET /\r\n\r\n", 400, "bad request line"},
      {"missing target and version", "GET\r\n\r\n", 400, "bad request line"},
      {"lowercase version", "GET / http/1.1\r\n\r\n", 400, "bad HTTP version"},
      {"two-digit minor", "GET / HTTP/1.10\r\n\r\n", 400, "bad HTTP version"},
      {"trailing space", "GET / HTTP/1.1 \r\n\r\n", 400, "bad HTTP version"},
      {"version without minor", "GET / HTTP/1\r\n\r\n", 400, "bad HTTP version"},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505, "HTTP version not supported"},
      {"HTTP/2.0 on a GET", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported"},
      {"HTTP/0.9 spelled out", "GET / HTTP/0.9\r\n\r\n", 505, "HTTP version not supported"},
      {"HTTP/2 prior-knowledge preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400,
       "HTTP/2 preface"},
      // Field lines.
      {"obs-fold with SP", ok_line + "X: a\r\n b\r\n\r\n", 400, "obs-fold"},
      {"obs-fold hiding Transfer-Encoding",
       ok_line + "X: a\r\n\tTransfer-Encoding: chunked\r\n\r\n", 400, "obs-fold"},
      {"whitespace before the first field", ok_line + " Host: a\r\n\r\n", 400,
       "whitespace before first field"},
      {"space before colon", ok_line + "Content-Length : 5\r\n\r\n", 400,
       "whitespace before colon"},
      {"tab before colon", ok_line + "Transfer-Encoding\t: chunked\r\n\r\n", 400,
       "whitespace before colon"},
      {"space inside the name", ok_line + "Transfer Encoding: chunked\r\n\r\n", 400,
       "whitespace before colon"},
      {"no colon", ok_line + "Transfer-Encoding chunked\r\n\r\n", 400,
       "whitespace before colon"},
      {"no colon, one word", ok_line + "Junk\r\n\r\n", 400, "field without colon"},
      {"empty name", ok_line + ": value\r\n\r\n", 400, "empty field name"},
      {"non-tchar in the name", ok_line + "X(a): b\r\n\r\n", 400, "bad field name"},
      {"non-ASCII in the name", ok_line + "X\xc3\xa9: b\r\n\r\n", 400, "bad field name"},
      {"name starting with a non-tchar", ok_line + "@x: b\r\n\r\n", 400, "bad field name"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto s = scan_request_head(c.raw, kLimits);
    CHECK(s.state == HeadScan::State::reject);
    CHECK(s.status == c.status);
    CHECK(s.reason == c.reason);
  }
}

TEST_CASE("scan_request_head: limits", "[http][head_scan]") {
  const HeadLimits small{32, 128, 3};

  SECTION("a request line of exactly the limit is fine; one byte more is 414") {
    const std::string line = "GET /" + std::string(32 - 14, 'a') + " HTTP/1.1";  // 32 bytes
    REQUIRE(line.size() == 32);
    CHECK(scan_request_head(line + "\r\n\r\n", small).state == HeadScan::State::complete);
    const auto s = scan_request_head("GET /a" + line.substr(5) + "\r\n\r\n", small);
    CHECK(s.state == HeadScan::State::reject);
    CHECK(s.status == 414);
  }
  SECTION("414 is decided as soon as the limit is passed, without waiting for CRLF") {
    const std::string partial = "GET /" + std::string(27, 'a');  // 32 bytes, no CRLF yet
    CHECK(scan_request_head(partial, small).state == HeadScan::State::incomplete);
    const auto s = scan_request_head(partial + "a", small);
    CHECK(s.state == HeadScan::State::reject);
    CHECK(s.status == 414);
    CHECK(s.reason == "request line too long");
  }
  SECTION("a head of exactly max_header_bytes is fine; one more byte is 431") {
    const std::string start = "GET / HTTP/1.1\r\nX: ";
    const std::string full = start + std::string(128 - start.size() - 4, 'v') + "\r\n\r\n";
    REQUIRE(full.size() == 128);
    const auto s = scan_request_head(full, small);
    CHECK(s.state == HeadScan::State::complete);
    CHECK(s.head_size == 128);
    const std::string over = start + std::string(128 - start.size() - 3, 'v') + "\r\n\r\n";
    const auto r = scan_request_head(over, small);
    CHECK(r.status == 431);
    CHECK(r.reason == "header too large");
    // ...and without waiting for the end of the head.
    CHECK(scan_request_head(over.substr(0, 129), small).status == 431);
    CHECK(scan_request_head(over.substr(0, 128), small).state == HeadScan::State::incomplete);
  }
  SECTION("leading empty lines count toward max_header_bytes") {
    const std::string head = "GET / HTTP/1.1\r\n\r\n";
    const HeadLimits tight{32, head.size(), 3};
    CHECK(scan_request_head(head, tight).state == HeadScan::State::complete);
    CHECK(scan_request_head("\r\n" + head, tight).status == 431);
  }
  SECTION("max_header_count fields are fine; one more is 431 at its first byte") {
    const std::string three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
    CHECK(scan_request_head(three + "\r\n", small).state == HeadScan::State::complete);
    const auto s = scan_request_head(three + "D", small);
    CHECK(s.status == 431);
    CHECK(s.reason == "too many fields");
  }
  SECTION("the default limits pass a realistic browser head") {
    std::string head = "GET /news/2024/article-1234?utm_source=x HTTP/1.1\r\nHost: example.com\r\n";
    for (int i = 0; i < 20; ++i) head += "X-Header-" + std::to_string(i) + ": value\r\n";
    head += "\r\n";
    CHECK(scan_request_head(head, kLimits).state == HeadScan::State::complete);
  }
}

TEST_CASE("scan_request_head: a verdict never changes as bytes arrive", "[http][head_scan]") {
  const HeadLimits small{32, 128, 3};
  const std::vector<std::string> inputs = {
      "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
      "GET /" + std::string(40, 'x') + " HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.3\r\n\r\n",
  };
  for (const auto& in : inputs) {
    const auto final = scan_request_head(in, small);
    REQUIRE(final.state != HeadScan::State::incomplete);
    for (std::size_t n = 0; n <= in.size(); ++n) {
      const auto s = scan_request_head(std::string_view(in).substr(0, n), small);
      if (s.state == HeadScan::State::incomplete) continue;
      CAPTURE(in, n);
      CHECK(s.state == final.state);
      CHECK(s.status == final.status);
      CHECK(s.reason == final.reason);
      CHECK(s.head_size == final.head_size);
    }
  }
}
