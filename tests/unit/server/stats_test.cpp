#include "bawwab/server/stats.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace bawwab;

TEST_CASE("the crawler verifier's counts reach the registry", "[stats]") {
  status::Registry registry;
  server::ServerStats stats(registry);
  detect::CrawlerVerifier::Stats s;
  s.lookups = 10;
  s.hits = 4;
  s.started = 6;
  s.completed = 5;
  s.failures = 2;
  s.timeouts = 1;
  s.not_started = 3;
  s.evictions = 7;
  s.entries = 8;
  s.in_flight = 1;
  stats.publish_crawler_verifier(s);
  CHECK(stats.crawler_lookups.value() == 10);
  CHECK(stats.crawler_cache_hits.value() == 4);
  CHECK(stats.crawler_dns_started.value() == 6);
  CHECK(stats.crawler_dns_completed.value() == 5);
  CHECK(stats.crawler_dns_failures.value() == 2);
  CHECK(stats.crawler_dns_timeouts.value() == 1);
  CHECK(stats.crawler_dns_not_started.value() == 3);
  CHECK(stats.crawler_cache_evictions.value() == 7);
  CHECK(stats.crawler_cache_entries.value() == 8);
  CHECK(stats.crawler_dns_in_flight.value() == 1);

  // Published again: counters catch up, never go down; gauges follow.
  s.lookups = 15;
  s.in_flight = 0;
  stats.publish_crawler_verifier(s);
  CHECK(stats.crawler_lookups.value() == 15);
  CHECK(stats.crawler_dns_in_flight.value() == 0);
  s.lookups = 3;
  stats.publish_crawler_verifier(s);
  CHECK(stats.crawler_lookups.value() == 15);

  const std::string text = registry.prometheus_text();
  CHECK(text.find("# TYPE bawwab_crawler_verifier_dns_timeouts_total counter") !=
        std::string::npos);
  CHECK(text.find("bawwab_crawler_verifier_lookups_total 15") != std::string::npos);
  CHECK(text.find("# TYPE bawwab_crawler_verifier_dns_in_flight gauge") != std::string::npos);
}
