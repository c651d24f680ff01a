#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "bawwab/core/text.hpp"

using namespace bawwab;

TEST_CASE("utc_timestamp: ISO 8601 in UTC, whole seconds") {
  using namespace std::chrono;
  CHECK(utc_timestamp(system_clock::time_point(seconds(0))) == "1970-01-01T00:00:00Z");
  CHECK(utc_timestamp(system_clock::time_point(seconds(1'796'000'000) + milliseconds(999))) ==
        "2026-11-30T00:53:20Z");
}

TEST_CASE("append_json_escaped: always valid JSON string content") {
  std::string out;
  append_json_escaped(out, "a\"b\\c\n\t\x01\x7f أخبار \xff\xc0\xaf");
  CHECK(out == "a\\\"b\\\\c\\n\\t\\u0001\\u007f أخبار \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}
