#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "bawwab/status/metrics.hpp"

using namespace bawwab::status;

TEST_CASE("counter and gauge count", "[metrics]") {
  Registry reg;
  Counter& c = reg.counter("t_total", "help");
  CHECK(c.value() == 0);
  c.inc();
  c.inc(41);
  CHECK(c.value() == 42);

  Gauge& g = reg.gauge("t_gauge", "help");
  g.set(10);
  g.add(5);
  g.sub(20);
  CHECK(g.value() == -5);
}

TEST_CASE("counter increments from two threads are not lost", "[metrics]") {
  Registry reg;
  Counter& c = reg.counter("t_total", "help");
  Gauge& g = reg.gauge("t_gauge", "help");
  const auto work = [&] {
    for (int i = 0; i < 100000; ++i) {
      c.inc();
      g.add(2);
      g.sub(1);
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  CHECK(c.value() == 200000);
  CHECK(g.value() == 200000);
}

TEST_CASE("histogram buckets use le semantics", "[metrics]") {
  Histogram h({1, 0.1, 0.5, 0.5, std::numeric_limits<double>::infinity()});
  REQUIRE(h.bounds() == std::vector<double>{0.1, 0.5, 1});  // sorted, deduplicated, +Inf implicit
  h.observe(0.1);  // on the bound: counts in le="0.1"
  h.observe(0.2);
  h.observe(1);
  h.observe(7);
  h.observe(std::nan(""));  // ignored
  const auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(s.count == 4);
  CHECK(s.sum == Approx(8.3));
  CHECK(h.count() == 4);
  CHECK(h.sum() == Approx(8.3));
}

TEST_CASE("histogram observations from two threads are all counted", "[metrics]") {
  Registry reg;
  Histogram& h = reg.histogram("t_seconds", "help", {0.5});
  const auto work = [&] {
    for (int i = 0; i < 50000; ++i) h.observe(i % 2 == 0 ? 0.25 : 1.0);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  const auto s = h.snapshot();
  CHECK(s.cumulative == std::vector<std::uint64_t>{50000, 100000});
  CHECK(s.sum == 50000 * 0.25 + 50000 * 1.0);  // exact: all summands are binary fractions
}

TEST_CASE("registering the same name and labels returns the same metric", "[metrics]") {
  Registry reg;
  Counter& a = reg.counter("t_total", "help", {{"class", "2xx"}, {"site", "x"}});
  Counter& b = reg.counter("t_total", "other help", {{"site", "x"}, {"class", "2xx"}});
  Counter& c = reg.counter("t_total", "help", {{"class", "5xx"}, {"site", "x"}});
  CHECK(&a == &b);
  CHECK(&a != &c);
  a.inc();
  CHECK(b.value() == 1);

  Gauge& g1 = reg.gauge("t_gauge", "help");
  CHECK(&g1 == &reg.gauge("t_gauge", "help"));
  Histogram& h1 = reg.histogram("t_seconds", "help", {1, 2});
  Histogram& h2 = reg.histogram("t_seconds", "help", {5});
  CHECK(&h1 == &h2);
  CHECK(h2.bounds() == std::vector<double>{1, 2});  // keeps the first bounds
}

TEST_CASE("empty histogram bounds mean the default buckets", "[metrics]") {
  Registry reg;
  CHECK(reg.histogram("t_seconds", "help", {}).bounds() == default_buckets());
}

TEST_CASE("prometheus text of a small registry", "[metrics]") {
  Registry reg;
  reg.counter("bawwab_requests_total", "Requests answered, by class.", {{"class", "2xx"}}).inc(3);
  reg.counter("bawwab_requests_total", "ignored", {{"class", "5xx"}}).inc();
  Gauge& g = reg.gauge("bawwab_connections", "Open connections.");
  g.set(7);
  g.sub(2);
  Histogram& h = reg.histogram("bawwab_request_seconds", "Request duration.\nIn s \\ wall.",
                               {1, 0.1, 0.5}, {{"site", "news"}});
  h.observe(0.25);
  h.observe(0.5);
  h.observe(0.75);
  h.observe(3);
  reg.histogram("bawwab_empty_seconds", "Nothing yet.", {2.5});

  const std::string expected =
      "# HELP bawwab_connections Open connections.\n"
      "# TYPE bawwab_connections gauge\n"
      "bawwab_connections 5\n"
      "# HELP bawwab_empty_seconds Nothing yet.\n"
      "# TYPE bawwab_empty_seconds histogram\n"
      "bawwab_empty_seconds_bucket{le=\"2.5\"} 0\n"
      "bawwab_empty_seconds_bucket{le=\"+Inf\"} 0\n"
      "bawwab_empty_seconds_sum 0\n"
      "bawwab_empty_seconds_count 0\n"
      "# HELP bawwab_request_seconds Request duration.\\nIn s \\\\ wall.\n"
      "# TYPE bawwab_request_seconds histogram\n"
      "bawwab_request_seconds_bucket{site=\"news\",le=\"0.1\"} 0\n"
      "bawwab_request_seconds_bucket{site=\"news\",le=\"0.5\"} 2\n"
      "bawwab_request_seconds_bucket{site=\"news\",le=\"1\"} 3\n"
      "bawwab_request_seconds_bucket{site=\"news\",le=\"+Inf\"} 4\n"
      "bawwab_request_seconds_sum{site=\"news\"} 4.5\n"
      "bawwab_request_seconds_count{site=\"news\"} 4\n"
      "# HELP bawwab_requests_total Requests answered, by class.\n"
      "# TYPE bawwab_requests_total counter\n"
      "bawwab_requests_total{class=\"2xx\"} 3\n"
      "bawwab_requests_total{class=\"5xx\"} 1\n";
  CHECK(reg.prometheus_text() == expected);
}

TEST_CASE("label values are escaped", "[metrics]") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_label_value("caf\xC3\xA9") == "caf\xC3\xA9");               // valid UTF-8 kept
  CHECK(escape_label_value("x\xFFy") == "x\xEF\xBF\xBDy");                  // invalid byte
  CHECK(escape_label_value("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated sequence
  CHECK(escape_label_value("\xED\xA0\x80") ==
        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a UTF-16 surrogate is not UTF-8

  Registry reg;
  reg.counter("t_total", "help", {{"host", "a\"b\\c\nd"}}).inc();
  CHECK(reg.prometheus_text().find("t_total{host=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
}

TEST_CASE("to_json gives values by name and by label", "[metrics]") {
  Registry reg;
  reg.counter("t_total", "help").inc(2);
  reg.counter("t_class_total", "help", {{"class", "2xx"}}).inc(5);
  reg.counter("t_class_total", "help", {{"class", "4xx"}, {"site", "a"}}).inc(1);
  reg.gauge("t_gauge", "help").set(-3);
  reg.histogram("t_seconds", "help", {1}).observe(0.5);

  const boost::json::object o = reg.to_json();
  CHECK(o.at("t_total").as_uint64() == 2);
  CHECK(o.at("t_class_total").at("class=2xx").as_uint64() == 5);
  CHECK(o.at("t_class_total").at("class=4xx,site=a").as_uint64() == 1);
  CHECK(o.at("t_gauge").as_int64() == -3);
  const auto& h = o.at("t_seconds").as_object();
  CHECK(h.at("count").as_uint64() == 1);
  CHECK(h.at("sum").as_double() == 0.5);
  CHECK(h.at("buckets").at("1").as_uint64() == 1);
  CHECK(h.at("buckets").at("+Inf").as_uint64() == 1);
  CHECK(o.find("process_open_fds") == o.end());  // only registries that ask for them
}

TEST_CASE("the default registry adds process metrics", "[metrics]") {
  const std::string text = default_registry().prometheus_text();
  for (const char* family : {"process_start_time_seconds", "process_resident_memory_bytes",
                             "process_open_fds", "process_max_fds", "process_cpu_seconds_total"}) {
    CAPTURE(family);
    CHECK(text.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  const boost::json::object o = default_registry().to_json();
  CHECK(o.at("process_resident_memory_bytes").as_int64() > 0);
  CHECK(o.at("process_open_fds").as_int64() >= 3);  // stdin, stdout, stderr at least
  const double start = o.at("process_start_time_seconds").as_double();
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(start <= now + 1);
  CHECK(start > now - 3600);  // this test process started recently
  CHECK(&default_registry() == &default_registry());
}
