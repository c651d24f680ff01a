// normalize_path: what rules see of a request target, and the bypass attempts it defeats.
#include "bawwab/rules/normalize.hpp"

#include <catch2/catch.hpp>

using bawwab::rules::normalize_path;

TEST_CASE("normalize_path: plain paths are unchanged") {
  CHECK(normalize_path("/") == "/");
  CHECK(normalize_path("/articles/x") == "/articles/x");
  CHECK(normalize_path("/articles/") == "/articles/");
  CHECK(normalize_path("/a-b_c~d.e") == "/a-b_c~d.e");
}

TEST_CASE("normalize_path: the query is stripped") {
  CHECK(normalize_path("/a?b=1") == "/a");
  CHECK(normalize_path("/a/../b?c=/../d") == "/b");
  CHECK(normalize_path("/?") == "/");
  CHECK(normalize_path("?x") == "/");
}

TEST_CASE("normalize_path: unreserved escapes are decoded, others kept in upper case") {
  CHECK(normalize_path("/%61rticles") == "/articles");
  CHECK(normalize_path("/%41%5a%30%2D%2e%5F%7E") == "/AZ0-._~");
  CHECK(normalize_path("/a%2fb") == "/a%2Fb");  // an encoded '/' is not a separator
  CHECK(normalize_path("/a%2Fb") == "/a%2Fb");
  CHECK(normalize_path("/caf%c3%a9") == "/caf%C3%A9");
  CHECK(normalize_path("/a%20b") == "/a%20b");
  CHECK(normalize_path("/a%3Fb") == "/a%3Fb");  // an encoded '?' does not start the query
  CHECK(normalize_path("/a%00b") == "/a%00b");
  CHECK(normalize_path("/%252e") == "/%252e");  // decoded once only: "%25" is '%', reserved
  // A '%' without two hex digits stays as it is.
  CHECK(normalize_path("/a%") == "/a%");
  CHECK(normalize_path("/a%4") == "/a%4");
  CHECK(normalize_path("/a%zz") == "/a%zz");
}

TEST_CASE("normalize_path: dot-segments are removed (RFC 3986 5.2.4)") {
  CHECK(normalize_path("/a/./b") == "/a/b");
  CHECK(normalize_path("/a/../b") == "/b");
  CHECK(normalize_path("/a/b/../../c") == "/c");
  CHECK(normalize_path("/../a") == "/a");  // nothing above the root
  CHECK(normalize_path("/../../..") == "/");
  CHECK(normalize_path("/a/.") == "/a/");
  CHECK(normalize_path("/a/..") == "/");
  CHECK(normalize_path("/a/b/..") == "/a/");
  CHECK(normalize_path("/.") == "/");
  CHECK(normalize_path("/..") == "/");
  // Only whole segments are dot-segments; trailing dots in names stay.
  CHECK(normalize_path("/a./b..") == "/a./b..");
  CHECK(normalize_path("/a/...") == "/a/...");
  CHECK(normalize_path("/.hidden") == "/.hidden");
  CHECK(normalize_path("/articles./x") == "/articles./x");
}

TEST_CASE("normalize_path: runs of '/' are folded") {
  CHECK(normalize_path("//a") == "/a");
  CHECK(normalize_path("/a//b///c") == "/a/b/c");
  CHECK(normalize_path("/a//") == "/a/");
  // Folded before dot-segments are resolved, as nginx does ("//.." is one level up).
  CHECK(normalize_path("/a/b//../c") == "/a/c");
}

TEST_CASE("normalize_path: bypass attempts land on the path they aim at") {
  CHECK(normalize_path("/%61rticles/../articles//x") == "/articles/x");
  CHECK(normalize_path("/articles/./x") == "/articles/x");
  CHECK(normalize_path("/x/%2e%2e/articles/y") == "/articles/y");
  CHECK(normalize_path("/x/%2E%2e/articles/y") == "/articles/y");
  CHECK(normalize_path("/x/.%2e/articles/y") == "/articles/y");
  CHECK(normalize_path("/articles/%2e/x") == "/articles/x");
  CHECK(normalize_path("/%2e%2e/articles") == "/articles");
  CHECK(normalize_path("///articles//x") == "/articles/x");
  CHECK(normalize_path("/articles/x/.") == "/articles/x/");
  // %2F stays encoded: it is part of a segment name, never a separator.
  CHECK(normalize_path("/articles%2Fx/../y") == "/y");
  CHECK(normalize_path("/articles%2F..%2Fx") == "/articles%2F..%2Fx");
  // Case is significant: normalisation does not fold it.
  CHECK(normalize_path("/ARTICLES/x") == "/ARTICLES/x");
}

TEST_CASE("normalize_path: targets not in origin form") {
  CHECK(normalize_path("http://news.example/a/../b?q") == "/b");
  CHECK(normalize_path("https://news.example") == "/");
  CHECK(normalize_path("http://news.example?x") == "/");
  CHECK(normalize_path("") == "/");
  CHECK(normalize_path("a/b") == "/a/b");
  CHECK(normalize_path("*") == "/*");
}
