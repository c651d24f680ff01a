#include <catch2/catch.hpp>

#include <string>

#include "bawwab/http/validate.hpp"
#include "request_util.hpp"

namespace bh = boost::beast::http;
using bawwab::http::validate_request_head;
using bawwab::http::test::head;
using bawwab::http::test::verdict;

namespace {

struct Case {
  const char* name;
  std::string raw;
  unsigned status;  // 0: forwarded
};

std::string post(std::initializer_list<std::string> fields, const char* version = "HTTP/1.1") {
  std::string s = std::string("POST /submit ") + version + "\r\nHost: example.com\r\n";
  for (const auto& f : fields) s += f + "\r\n";
  return s + "\r\n";
}

std::string get_host(const char* host_line) {
  return std::string("GET / HTTP/1.1\r\n") + host_line + "\r\n\r\n";
}

}  // namespace

// Every smuggling payload of research §7 item 9 that can be decided on the head, and the Host and
// target rules, through the whole phase (scan, Beast, validate) as the session runs it.
TEST_CASE("request head phase: smuggling payloads and header rules", "[http][validate]") {
  const std::vector<Case> cases = {
      // Accepted.
      {"plain GET", "GET /a?b HTTP/1.1\r\nHost: example.com\r\n\r\n", 0},
      {"Content-Length", post({"Content-Length: 5"}), 0},
      {"Content-Length with leading zeros", post({"Content-Length: 005"}), 0},
      {"Content-Length zero", post({"Content-Length: 0"}), 0},
      {"chunked", post({"Transfer-Encoding: chunked"}), 0},
      {"Chunked in capitals", post({"Transfer-Encoding: Chunked"}), 0},
      {"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0},
      {"absolute-form, authority differs from Host",
       "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n", 0},
      {"absolute-form https, port, no path",
       "GET HTTPS://a.example:8443 HTTP/1.1\r\nHost: a.example\r\n\r\n", 0},
      {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n", 0},
      {"Expect: 100-continue", post({"Expect: 100-Continue", "Content-Length: 5"}), 0},
      {"IPv4 Host", get_host("Host: 192.0.2.1:8080"), 0},
      {"IPv6 Host", get_host("Host: [2001:db8::1]:443"), 0},
      {"empty Host", get_host("Host:"), 0},
      // Framing: CL and TE.
      {"CL then TE", post({"Content-Length: 6", "Transfer-Encoding: chunked"}), 400},
      {"TE then CL", post({"Transfer-Encoding: chunked", "Content-Length: 6"}), 400},
      {"TE gzip then CL", post({"Transfer-Encoding: gzip", "Content-Length: 5"}), 400},
      {"TE chunked, gzip", post({"Transfer-Encoding: chunked, gzip"}), 400},
      {"TE gzip", post({"Transfer-Encoding: gzip"}), 400},
      {"TE identity", post({"Transfer-Encoding: identity"}), 400},
      {"TE xchunked", post({"Transfer-Encoding: xchunked"}), 400},
      {"TE chunked twice on one line", post({"Transfer-Encoding: chunked, chunked"}), 400},
      {"TE chunked on two lines",
       post({"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"}), 400},
      {"TE chunked, gzip, chunked", post({"Transfer-Encoding: chunked, gzip, chunked"}), 400},
      {"TE with a parameter", post({"Transfer-Encoding: chunked;q=1"}), 400},
      {"TE trailing comma", post({"Transfer-Encoding: chunked,"}), 400},
      {"TE empty", post({"Transfer-Encoding:"}), 400},
      {"TE gzip, chunked (valid, unsupported)", post({"Transfer-Encoding: gzip, chunked"}), 501},
      {"TE on HTTP/1.0", post({"Transfer-Encoding: chunked"}, "HTTP/1.0"), 400},
      {"TE obs-fold", post({"Transfer-Encoding:", " chunked"}), 400},
      {"TE behind obs-fold", post({"X: a", "\tTransfer-Encoding: chunked"}), 400},
      {"TE with VT", post({"Transfer-Encoding:\x0b" "chunked"}), 400},
      {"TE space before colon", post({"Transfer-Encoding : chunked"}), 400},
      {"CL space before colon", post({"Content-Length : 5"}), 400},
      {"CL +5", post({"Content-Length: +5"}), 400},
      {"CL 0x5", post({"Content-Length: 0x5"}), 400},
      {"CL -1", post({"Content-Length: -1"}), 400},
      {"CL 1 0", post({"Content-Length: 1 0"}), 400},
      {"CL 5.0", post({"Content-Length: 5.0"}), 400},
      {"CL empty", post({"Content-Length:"}), 400},
      {"CL overflow", post({"Content-Length: 18446744073709551616"}), 400},
      {"CL differing lines", post({"Content-Length: 5", "Content-Length: 6"}), 400},
      {"CL same value twice", post({"Content-Length: 5", "Content-Length: 5"}), 400},
      {"CL list 5, 5", post({"Content-Length: 5, 5"}), 400},
      {"CL list 5, 6", post({"Content-Length: 5, 6"}), 400},
      // Line and byte level (decided by the scan).
      {"bare LF", "GET / HTTP/1.1\nHost: example.com\n\n", 400},
      {"bare CR", post({"X: a\rTransfer-Encoding: chunked"}), 400},
      {"NUL", post({std::string("X: a\0b", 6)}), 400},
      // Host.
      {"missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two Host lines", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400},
      {"two Host lines, same value", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
      {"Host list", get_host("Host: a.example, b.example"), 400},
      {"Host with userinfo", get_host("Host: user@a.example"), 400},
      {"Host with a space", get_host("Host: a.example b.example"), 400},
      {"Host with a slash", get_host("Host: a.example/x"), 400},
      {"Host with bad port", get_host("Host: a.example:http"), 400},
      {"Host with port too big", get_host("Host: a.example:65536"), 400},
      {"Host with empty port", get_host("Host: a.example:"), 400},
      {"Host IPv6 without brackets", get_host("Host: 2001:db8::1"), 400},
      {"Host IPv6 zone id", get_host("Host: [fe80::1%25eth0]"), 400},
      {"Host IPv6 bad", get_host("Host: [2001:db8:::1:2:3:4:5:6:7]"), 400},
      {"Host percent-encoded", get_host("Host: a%2eexample"), 400},
      {"Host on HTTP/1.0 still checked", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400},
      // Targets.
      {"absolute-form with userinfo",
       "GET http://user@evil.example/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
      {"absolute-form ftp", "GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
      {"absolute-form without host", "GET http:///x HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
      {"absolute-form bad port", "GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"fragment", "GET /a#b HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
      {"asterisk-form with GET", "GET * HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
      {"authority-form with GET", "GET example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
       400},
      {"relative path", "GET a/b HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
      // Methods and expectations.
      {"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405},
      {"TRACE", "TRACE / HTTP/1.1\r\nHost: example.com\r\n\r\n", 405},
      {"Expect unknown", post({"Expect: 100-continuex", "Content-Length: 1"}), 417},
      {"Expect twice", post({"Expect: 100-continue", "Expect: 100-continue"}), 417},
      // Versions.
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: example.com\r\n\r\n", 505},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(verdict(c.raw) == c.status);
  }
}

// Beast 1.81 refuses some of these itself; validate_request_head must refuse them on its own
// too, since it is the line of defence that does not depend on the parser's version.
TEST_CASE("validate_request_head without Beast's own checks", "[http][validate]") {
  using V = bh::verb;
  struct Built {
    const char* name;
    bh::request_header<> h;
    unsigned status;
    std::string_view reason;
  };
  const std::vector<Built> cases = {
      {"ok", head(V::get, "/", 11, {{"Host", "a"}}), 0, ""},
      {"TE gzip then CL",
       head(V::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "gzip"},
                               {"Content-Length", "5"}}),
       400, "Content-Length with Transfer-Encoding"},
      {"TE on 1.0", head(V::post, "/", 10, {{"Transfer-Encoding", "chunked"}}), 400,
       "Transfer-Encoding on HTTP/1.0"},
      {"TE chunked, gzip", head(V::post, "/", 11, {{"Host", "a"},
                                                   {"Transfer-Encoding", "chunked, gzip"}}),
       400, "final coding not chunked"},
      {"TE chunked x2", head(V::post, "/", 11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"},
                                                {"transfer-encoding", "CHUNKED"}}),
       400, "chunked twice"},
      {"TE gzip, chunked", head(V::post, "/", 11, {{"Host", "a"},
                                                   {"Transfer-Encoding", "gzip, chunked"}}),
       501, "unsupported transfer coding"},
      {"TE bad token", head(V::post, "/", 11, {{"Host", "a"},
                                               {"Transfer-Encoding", "g zip, chunked"}}),
       400, "bad Transfer-Encoding"},
      {"CL 5, 5", head(V::post, "/", 11, {{"Host", "a"}, {"Content-Length", "5, 5"}}), 400,
       "bad Content-Length"},
      {"CL twice", head(V::post, "/", 11, {{"Host", "a"}, {"Content-Length", "5"},
                                           {"content-length", "5"}}),
       400, "several Content-Length"},
      {"CL max", head(V::post, "/", 11, {{"Host", "a"},
                                         {"Content-Length", "18446744073709551615"}}),
       0, ""},
      {"CL overflow", head(V::post, "/", 11, {{"Host", "a"},
                                              {"Content-Length", "18446744073709551616"}}),
       400, "bad Content-Length"},
      {"CL 21 digits of zeros", head(V::post, "/", 11, {{"Host", "a"},
                                                        {"Content-Length", std::string(21, '0')}}),
       400, "bad Content-Length"},
      {"CR in a value", head(V::get, "/", 11, {{"Host", "a"}, {"X", "a\r\nInjected: 1"}}), 400,
       "control character in field"},
      {"NUL in a value", head(V::get, "/", 11, {{"Host", "a"}, {"X", std::string_view("a\0b", 3)}}),
       400, "control character in field"},
      {"space in a name", head(V::get, "/", 11, {{"Host", "a"}, {"X Y", "1"}}), 400,
       "bad field name"},
      {"non-ASCII target", head(V::get, "/caf\xc3\xa9", 11, {{"Host", "a"}}), 400, "bad target"},
      {"space in target", head(V::get, "/a b", 11, {{"Host", "a"}}), 400, "bad target"},
      {"HTTP/2.0 version", head(V::get, "/", 20, {{"Host", "a"}}), 505,
       "HTTP version not supported"},
      {"missing Host", head(V::get, "/", 11, {}), 400, "missing Host"},
      {"CONNECT without port", head(V::connect, "example.com", 11, {{"Host", "example.com"}}), 400,
       "bad target"},
      {"CONNECT", head(V::connect, "[2001:db8::1]:443", 11, {{"Host", "a"}}), 405,
       "CONNECT not allowed"},
      {"TRACE", head(V::trace, "/", 11, {{"Host", "a"}}), 405, "TRACE not allowed"},
      {"Expect", head(V::get, "/", 11, {{"Host", "a"}, {"Expect", "foo"}}), 417,
       "unknown expectation"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto v = validate_request_head(c.h);
    CHECK(v.status == c.status);
    CHECK(v.reason == c.reason);
    CHECK(v.ok() == (c.status == 0));
  }
}

TEST_CASE("is_valid_authority", "[http][validate]") {
  using bawwab::http::is_valid_authority;
  for (const char* ok : {"example.com", "EXAMPLE.com:80", "a", "a-b.c_d~e", "192.0.2.1",
                         "192.0.2.1:65535", "[::1]", "[2001:db8::1]:443",
                         "[::ffff:192.0.2.1]", "localhost:0"}) {
    CAPTURE(ok);
    CHECK(is_valid_authority(ok));
  }
  for (const char* bad : {"", ":80", "a:", "a:65536", "a:123456", "a:-1", "a:8x", "u@a", "a b",
                          "a/b", "a?b", "a#b", "[::1", "[::1]x", "[::1]:", "[]", "[zz::1]",
                          "[fe80::1%25eth0]", "[v1.x]", "2001:db8::1", "a:1:2", "a%2e"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_authority(bad));
  }
}

TEST_CASE("request_authority: absolute-form wins over Host", "[http][validate]") {
  using bawwab::http::request_authority;
  using V = bh::verb;
  CHECK(request_authority(head(V::get, "/x", 11, {{"Host", "b.example:8080"}})) ==
        "b.example:8080");
  CHECK(request_authority(head(V::get, "http://a.example/x", 11, {{"Host", "b.example"}})) ==
        "a.example");
  CHECK(request_authority(head(V::get, "https://a.example:8443?q", 11, {{"Host", "b"}})) ==
        "a.example:8443");
  CHECK(request_authority(head(V::get, "HTTP://A.example", 11, {{"Host", "b"}})) == "A.example");
  CHECK(request_authority(head(V::get, "/", 10, {})).empty());
}

TEST_CASE("host_without_port", "[http][validate]") {
  using bawwab::http::host_without_port;
  CHECK(host_without_port("Example.COM:8080") == "example.com");
  CHECK(host_without_port("example.com") == "example.com");
  CHECK(host_without_port("example.com.") == "example.com");
  CHECK(host_without_port("example.com.:443") == "example.com");
  CHECK(host_without_port("[2001:DB8::1]:443") == "[2001:db8::1]");
  CHECK(host_without_port("[::1]") == "[::1]");
  CHECK(host_without_port("192.0.2.1:80") == "192.0.2.1");
  CHECK(host_without_port("").empty());
}

TEST_CASE("origin_form_target", "[http][validate]") {
  using bawwab::http::origin_form_target;
  CHECK(origin_form_target("http://example.com/a?b") == "/a?b");
  CHECK(origin_form_target("HTTPS://example.com:8443/a/b/") == "/a/b/");
  CHECK(origin_form_target("http://example.com") == "/");
  CHECK(origin_form_target("http://example.com?q=1") == "/?q=1");
  CHECK(origin_form_target("http://[2001:db8::1]:80/x") == "/x");
  CHECK(origin_form_target("/already/origin?x") == "/already/origin?x");
  CHECK(origin_form_target("*") == "*");
}
