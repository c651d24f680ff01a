#include <catch2/catch.hpp>

#include <boost/beast/http/write.hpp>

#include <sstream>

#include "bawwab/http/replies.hpp"

namespace bh = boost::beast::http;
using bawwab::http::error_reply;
using bawwab::http::LocalReply;
using bawwab::http::to_response;

TEST_CASE("error_reply: a page for each status the proxy answers itself", "[http][replies]") {
  struct Page {
    unsigned status;
    std::string_view title;
    bool close;
  };
  const Page pages[] = {
      {400, "400 Bad Request", true},       {404, "404 Not Found", false},
      {405, "405 Method Not Allowed", true}, {408, "408 Request Timeout", true},
      {413, "413 Content Too Large", true}, {414, "414 URI Too Long", true},
      {417, "417 Expectation Failed", true}, {421, "421 Misdirected Request", false},
      {431, "431 Request Header Fields Too Large", true}, {502, "502 Bad Gateway", false},
      {503, "503 Service Unavailable", false}, {504, "504 Gateway Timeout", false},
      {505, "505 HTTP Version Not Supported", true},
  };
  for (const auto& p : pages) {
    CAPTURE(p.status);
    const auto r = error_reply(p.status);
    CHECK(r.status == p.status);
    CHECK(r.close == p.close);
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(r.body.find("<title>" + std::string(p.title) + "</title>") != std::string::npos);
    CHECK(r.body.find("<h1>" + std::string(p.title) + "</h1>") != std::string::npos);
    CHECK(r.body.size() < 512);
  }
  // Other statuses: Beast's reason phrase, or a plain "Error".
  CHECK(error_reply(422).body.find("<h1>422 Unprocessable Entity</h1>") != std::string::npos);
  CHECK(error_reply(460).body.find("<h1>460 Error</h1>") != std::string::npos);
  CHECK_FALSE(error_reply(422).close);
}

TEST_CASE("error_reply: the detail is escaped", "[http][replies]") {
  const auto r = error_reply(400, "<script>alert('x')</script> & \"q\"");
  CHECK(r.body.find("<script>") == std::string::npos);
  CHECK(r.body.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;") !=
        std::string::npos);
}

TEST_CASE("to_response", "[http][replies]") {
  SECTION("HTTP/1.1 with close") {
    const auto res = to_response(error_reply(400), 11, false);
    CHECK(res.version() == 11);
    CHECK(res.result_int() == 400);
    CHECK(res[bh::field::connection] == "close");
    CHECK(res[bh::field::cache_control] == "no-store");
    CHECK(res[bh::field::content_type] == "text/html; charset=utf-8");
    CHECK(res[bh::field::content_length] == std::to_string(res.body().size()));
    CHECK(res.count(bh::field::server) == 0);
    CHECK(!res.body().empty());
    std::ostringstream out;
    out << res;
    CHECK(out.str().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  }
  SECTION("keep-alive: no Connection on 1.1, keep-alive on 1.0") {
    auto r = error_reply(404);
    CHECK(to_response(r, 11, false).count(bh::field::connection) == 0);
    CHECK(to_response(r, 10, false)[bh::field::connection] == "keep-alive");
    r.close = true;
    CHECK(to_response(r, 10, false)[bh::field::connection] == "close");
  }
  SECTION("HEAD: no body, Content-Length of the body it would have had") {
    const auto r = error_reply(404);
    const auto res = to_response(r, 11, true);
    CHECK(res.body().empty());
    CHECK(res[bh::field::content_length] == std::to_string(r.body.size()));
  }
  SECTION("extra headers; injection attempts dropped; framing is ours") {
    LocalReply r;
    r.status = 429;
    r.body = "slow down";
    r.content_type = "text/plain";
    r.headers = {{"Retry-After", "3"},
                 {"Location", "/x\r\nSet-Cookie: evil=1"},
                 {"Bad Name", "1"},
                 {"X-Nul", std::string("a\0b", 3)},
                 {"Content-Length", "999"},
                 {"Connection", "keep-alive"},
                 {"Cache-Control", "no-cache"}};
    const auto res = to_response(r, 11, false);
    CHECK(res["Retry-After"] == "3");
    CHECK(res.count("Location") == 0);
    CHECK(res.count("Set-Cookie") == 0);
    CHECK(res.count("X-Nul") == 0);
    CHECK(res[bh::field::content_length] == "9");
    CHECK(res.count(bh::field::connection) == 0);
    CHECK(res[bh::field::cache_control] == "no-cache");
    CHECK(res.body() == "slow down");
  }
  SECTION("204 and 304 have no body and no Content-Length") {
    for (unsigned s : {204u, 304u}) {
      LocalReply r;
      r.status = s;
      r.body = "ignored";
      const auto res = to_response(r, 11, false);
      CHECK(res.count(bh::field::content_length) == 0);
      CHECK(res.count(bh::field::content_type) == 0);
      CHECK(res.body().empty());
    }
  }
  SECTION("a status out of range becomes 500 instead of throwing") {
    LocalReply r;
    r.status = 1000;
    CHECK(to_response(r, 11, false).result_int() == 500);
  }
}
