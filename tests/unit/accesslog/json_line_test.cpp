#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <string>

#include "bawwab/accesslog/access_log.hpp"

using namespace bawwab::accesslog;
using namespace std::chrono;

namespace {

// 2024-05-01T12:34:56.789Z
system_clock::time_point sample_time() {
  return sys_days{year{2024} / May / 1} + 12h + 34min + 56s + 789ms;
}

AccessRecord sample_record() {
  AccessRecord r;
  r.time = sample_time();
  r.request_id = 42;
  r.client_ip = "203.0.113.7";
  r.peer = "10.0.0.1:51234";
  r.site = "news";
  r.host = "example.org";
  r.method = "GET";
  r.path = "/article/1?x=2";
  r.tls = true;
  r.status = 200;
  r.bytes_in = 312;
  r.bytes_out = 10240;
  r.duration_ms = 12.3456;
  r.upstream_ms = 10.5;
  r.upstream = "http://127.0.0.1:8080";
  r.user_agent = "Mozilla/5.0";
  r.referer = "https://example.org/";
  return r;
}

boost::json::object parse_object(const std::string& line) {
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);  // exactly one line
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);  // also validates UTF-8
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.as_object();
}

}  // namespace

TEST_CASE("access log line: fixed keys in a stable order", "[accesslog]") {
  const std::string expected =
      R"({"time":"2024-05-01T12:34:56.789Z","request_id":42,"client_ip":"203.0.113.7",)"
      R"("peer":"10.0.0.1:51234","site":"news","host":"example.org","method":"GET",)"
      R"("path":"/article/1?x=2","http_version":"1.1","tls":true,"status":200,"bytes_in":312,)"
      R"("bytes_out":10240,"duration_ms":12.346,"upstream_ms":10.500,)"
      R"("upstream":"http://127.0.0.1:8080","error":"","user_agent":"Mozilla/5.0",)"
      R"("referer":"https://example.org/"})"
      "\n";
  CHECK(to_json_line(sample_record()) == expected);
}

TEST_CASE("access log line: defaults and missing upstream time", "[accesslog]") {
  AccessRecord r;
  r.time = system_clock::time_point{};  // the epoch
  const auto o = parse_object(to_json_line(r));
  CHECK(o.at("time").as_string() == "1970-01-01T00:00:00.000Z");
  CHECK(o.at("upstream_ms").is_null());
  CHECK(o.at("referer").as_string() == "");
  CHECK(o.at("tls").as_bool() == false);
  CHECK(o.size() == 19);
}

TEST_CASE("access log line: quotes, backslashes and control characters are escaped",
          "[accesslog]") {
  AccessRecord r;
  r.path = std::string("/a\"b\\c\nd\re\tf\x01g\x1Fh\x7Fi\bj\fk") + std::string(1, '\0') + "l";
  const std::string line = to_json_line(r);
  CHECK(line.find(R"("path":"/a\"b\\c\nd\re\tf\u0001g\u001fh\u007fi\bj\fk\u0000l")") !=
        std::string::npos);
  CHECK(parse_object(line).at("path").as_string() == r.path);  // and reads back exactly
}

TEST_CASE("access log line: invalid UTF-8 becomes U+FFFD, valid UTF-8 is kept", "[accesslog]") {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
      {"a\xFF" "b", "a" + fffd + "b"},                 // never valid in UTF-8
      {"\xC0\xAF", fffd + fffd},                       // overlong '/'
      {"\xE2\x82", fffd + fffd},                       // truncated at the end
      {"\xE2\x82" "x", fffd + fffd + "x"},             // truncated in the middle
      {"\xED\xA0\x80", fffd + fffd + fffd},            // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd}, // above U+10FFFF
      {"\x80", fffd},                                  // lone continuation byte
  };
  for (const auto& c : cases) {
    AccessRecord r;
    r.user_agent = c.in;
    const auto o = parse_object(to_json_line(r));
    CAPTURE(c.in);
    CHECK(std::string(o.at("user_agent").as_string()) == c.out);
  }
}

TEST_CASE("access log line: extra fields", "[accesslog]") {
  AccessRecord r = sample_record();
  boost::json::object signals;
  signals["ua_bot"] = true;
  signals["bad\xFFkey"] = 1.5;
  r.extra.emplace_back("decision", "block");
  r.extra.emplace_back("score", 0.75);
  r.extra.emplace_back("whole", 2.0);
  r.extra.emplace_back("signals", signals);
  r.extra.emplace_back("rules", boost::json::array{"r1", -3, nullptr});
  r.extra.emplace_back("status", "collides");  // a fixed key: written as x_status
  const std::string line = to_json_line(r);
  CHECK(line.find(R"("decision":"block","score":0.75,"whole":2.0,)") != std::string::npos);
  CHECK(line.find(R"("rules":["r1",-3,null],"x_status":"collides"})") != std::string::npos);
  const auto o = parse_object(line);
  CHECK(o.at("status").as_int64() == 200);
  CHECK(o.at("signals").at("ua_bot").as_bool());
  CHECK(o.at("signals").at("bad\xEF\xBF\xBDkey").as_double() == 1.5);
}

TEST_CASE("access log line: non-finite numbers are null", "[accesslog]") {
  AccessRecord r;
  r.duration_ms = std::numeric_limits<double>::quiet_NaN();
  r.upstream_ms = std::numeric_limits<double>::infinity();
  r.extra.emplace_back("score", std::numeric_limits<double>::infinity());
  const auto o = parse_object(to_json_line(r));
  CHECK(o.at("duration_ms").is_null());
  CHECK(o.at("upstream_ms").is_null());
  CHECK(o.at("score").is_null());
}

TEST_CASE("access log line: round trip through parse_json_line", "[accesslog]") {
  AccessRecord r = sample_record();
  r.duration_ms = 12.5;
  r.error = "bad_request: obs-fold";
  r.http_version = "1.0";
  r.path = "/q?a=\"b\"&c=\\\n";
  r.extra.emplace_back("decision", "challenge");
  r.extra.emplace_back("score", 0.25);
  r.extra.emplace_back("status", "collides");
  r.extra.emplace_back("x_custom", 7);

  const auto back = parse_json_line(to_json_line(r));
  REQUIRE(back.has_value());
  const AccessRecord& b = *back;
  CHECK(b.time == r.time);
  CHECK(b.request_id == r.request_id);
  CHECK(b.client_ip == r.client_ip);
  CHECK(b.peer == r.peer);
  CHECK(b.site == r.site);
  CHECK(b.host == r.host);
  CHECK(b.method == r.method);
  CHECK(b.path == r.path);
  CHECK(b.http_version == r.http_version);
  CHECK(b.tls == r.tls);
  CHECK(b.status == r.status);
  CHECK(b.bytes_in == r.bytes_in);
  CHECK(b.bytes_out == r.bytes_out);
  CHECK(b.duration_ms == r.duration_ms);
  CHECK(b.upstream_ms == r.upstream_ms);
  CHECK(b.upstream == r.upstream);
  CHECK(b.error == r.error);
  CHECK(b.user_agent == r.user_agent);
  CHECK(b.referer == r.referer);
  CHECK(b.extra == r.extra);
  // And the line it writes again is the same line.
  CHECK(to_json_line(b) == to_json_line(r));
}

TEST_CASE("access log line: the time is kept to the millisecond", "[accesslog]") {
  AccessRecord r;
  r.time = sample_time() + 654us;
  const auto back = parse_json_line(to_json_line(r));
  REQUIRE(back.has_value());
  CHECK(back->time == sample_time());
}

TEST_CASE("parse_json_line reads other writers' times and missing keys", "[accesslog]") {
  auto r = parse_json_line(R"({"time":"2024-05-01T12:34:56Z","status":404})");
  REQUIRE(r.has_value());
  CHECK(r->time == sys_days{year{2024} / May / 1} + 12h + 34min + 56s);
  CHECK(r->status == 404);
  CHECK(r->http_version == "1.1");
  CHECK_FALSE(r->upstream_ms.has_value());

  r = parse_json_line(R"({"time":"2024-05-01T12:34:56.123456789Z"})");
  REQUIRE(r.has_value());
  CHECK(r->time == sys_days{year{2024} / May / 1} + 12h + 34min + 56s + 123456789ns);
}

TEST_CASE("parse_json_line rejects what it cannot read", "[accesslog]") {
  CHECK_FALSE(parse_json_line("").has_value());
  CHECK_FALSE(parse_json_line("not json").has_value());
  CHECK_FALSE(parse_json_line(R"({"status":200)").has_value());
  CHECK_FALSE(parse_json_line("[1,2]").has_value());
  CHECK_FALSE(parse_json_line(R"({"status":"200"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"status":-1})").has_value());
  CHECK_FALSE(parse_json_line(R"({"bytes_in":1.5})").has_value());
  CHECK_FALSE(parse_json_line(R"({"tls":1})").has_value());
  CHECK_FALSE(parse_json_line(R"({"path":null})").has_value());
  CHECK_FALSE(parse_json_line(R"({"upstream_ms":"x"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":"2024-13-01T00:00:00Z"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":"2024-02-30T00:00:00Z"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":"2024-05-01 12:34:56Z"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":"2024-05-01T12:34:56"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":"2024-05-01T12:34:56.Z"})").has_value());
  CHECK_FALSE(parse_json_line(R"({"time":1714566896})").has_value());
}
