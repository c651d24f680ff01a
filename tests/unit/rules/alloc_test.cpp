// A warm evaluation allocates nothing of its own: only what goes into the Decision (matched ids,
// tags, header edits) and the trace. Counted with a replacement of the global operator new for
// this test binary (it only counts while a test asks it to).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>

#include "rules_test_util.hpp"

namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The nothrow form too: std::get_temporary_buffer (stable_sort) allocates with it and frees with
// the plain delete below, so both halves must be ours (ASan reports a mismatch otherwise).
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (g_counting) ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
// GCC cannot tell that these are the replacements of the operator new above (free() of what
// malloc() gave), and warns about a new/delete mismatch that is not one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

using namespace bawwab;
using namespace bawwab::rules;
using test::Request;

namespace {

// Allocations made by one evaluation of `view`, after a few warm-up runs (RE2's DFA states and
// the per-thread scratch area are built on first use).
std::size_t allocations(const RuleSet& rs, const RequestView& view) {
  for (int i = 0; i < 5; ++i) (void)rs.evaluate(view);
  g_allocations = 0;
  g_counting = true;
  const Decision d = rs.evaluate(view);
  g_counting = false;
  return g_allocations;
}

}  // namespace

TEST_CASE("a warm evaluation that matches nothing allocates nothing") {
  std::string yaml = R"(
lists:
  bots: { signal: ua.ai_crawler, patterns: [GPTBot, '^curl/', 'python-requests'] }
networks:
  office: [10.0.0.0/8, "2001:db8::/32"]
thresholds: { challenge: 50, block: 90 }
rules:
  - { id: bots, when: { user_agent: { list: bots } }, then: block }
  - { id: office, when: { ip: { network: office } }, then: allow }
  - { id: feed, when: { path: { prefix: /feed } }, then: { tag: feed } }
  - { id: glob, when: { path: "/tag/*/page-*" }, then: challenge }
  - { id: regex, when: { path: { regex: '^/api/v[0-9]+/' } }, then: block }
  - { id: exact, when: { path: /secret }, then: block }
  - { id: header, when: { header: { name: Accept-Language, regex: '^fr' } }, then: block }
  - { id: header-absent, when: { header: { name: Accept-Language, absent: true } }, then: block }
  - { id: cookie, when: { cookie: { name: theme, regex: '^light' } }, then: block }
  - { id: query, when: { query: { param: page, regex: '^[0-9]{3}$' } }, then: block }
  - { id: query-value, when: { query: { param: utm_source, value: "y z" } }, then: block }
  - { id: signal, when: { signal: { name: ua.ai_crawler, value: OpenAI } }, then: block }
  - { id: method, when: { method: POST }, then: block }
  - { id: host, when: { host: "*.internal.example" }, then: block }
  - { id: score, when: { score: ">= 40" }, then: block }
  - { id: any, when: { any: [ { method: PUT }, { not: { host: news.example } } ] }, then: block }
  - { id: not-empty, when: { user_agent: { empty: true } }, then: challenge }
)";
  const auto rs = test::compile(yaml);
  auto r = Request()
               .target("/articles/2025/budget?utm_source=x&page=2")
               .header("Accept-Language", "en-GB")
               .header("Cookie", "consent=1; theme=dark")
               .ip("203.0.113.9");
  const RequestView v = r.view();
  const Decision d = rs->evaluate(v);
  REQUIRE(d.matched.empty());
  CHECK(allocations(*rs, v) == 0);
}

TEST_CASE("a warm evaluation allocates only for what the Decision holds") {
  const auto rs = test::compile(R"(
rules:
  - { id: one, when: { path: { prefix: /a } }, then: { score: 10 } }
  - { id: two, when: { path: { prefix: /a/b } }, then: block }
)");
  auto r = Request().target("/a/b");
  const RequestView v = r.view();
  // matched gets two ids: at most two allocations of its vector, none of ours.
  CHECK(allocations(*rs, v) <= 2);
}
