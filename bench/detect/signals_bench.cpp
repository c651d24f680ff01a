// Cost of the signals phase (detect::collect_signals) per request, without TLS parsing: the
// target is a median of at most 3 µs. Rules: the shipped rules/default.yaml (its UA lists, crawler
// networks and weights), or a small inline rule text when it does not load.
#include <benchmark/benchmark.h>

#include <array>
#include <boost/beast/http/fields.hpp>
#include <cstdio>
#include <string>

#include "bawwab/core/clock.hpp"
#include "bawwab/detect/detector.hpp"
#include "bawwab/detect/header_consistency.hpp"
#include "bawwab/detect/user_agent.hpp"
#include "bawwab/rules/loader.hpp"

namespace {

using namespace bawwab;
namespace bh = boost::beast::http;

constexpr std::string_view kInlineRules = R"(
lists:
  ai-crawlers:
    signal: ua.ai_crawler
    patterns:
      - { pattern: 'GPTBot', label: OpenAI }
      - { pattern: 'ClaudeBot', label: Anthropic }
      - { pattern: 'CCBot', label: Common Crawl }
  http-libraries:
    signal: ua.http_library
    patterns:
      - { pattern: '^curl/', label: curl }
      - { pattern: '^python-requests/', label: python-requests }
      - { pattern: '^Wget/', label: wget }
  headless:
    signal: ua.headless
    patterns:
      - { pattern: 'HeadlessChrome', label: HeadlessChrome }
rules:
  - id: ai
    when: { signal: ua.ai_crawler }
    then: [ { block: 403 } ]
)";

const rules::RuleSet& bench_rules() {
  static const rules::RuleSetPtr rs = [] {
    auto r = rules::load_rules({std::string(BAWWAB_SOURCE_DIR) + "/rules/default.yaml"});
    if (r.rules) {
      std::fprintf(stderr, "rules: rules/default.yaml (%zu rules)\n", r.rules->size());
      return r.rules;
    }
    std::fprintf(stderr, "rules/default.yaml did not load; using the inline rules\n");
    auto inline_rules = rules::load_rules_text(kInlineRules, "inline.yaml");
    return inline_rules.rules ? inline_rules.rules : rules::empty_rule_set();
  }();
  return *rs;
}

bh::fields make(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  bh::fields f;
  for (const auto& [n, v] : list) f.insert(n, v);
  return f;
}

const bh::fields& chrome_fields() {
  static const bh::fields f = make({
      {"Host", "news.example"},
      {"Connection", "keep-alive"},
      {"sec-ch-ua", "\"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\""},
      {"sec-ch-ua-mobile", "?0"},
      {"sec-ch-ua-platform", "\"Windows\""},
      {"Upgrade-Insecure-Requests", "1"},
      {"User-Agent",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
       "Gecko) Chrome/120.0.0.0 Safari/537.36"},
      {"Accept",
       "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
       "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
      {"Sec-Fetch-Site", "same-origin"},
      {"Sec-Fetch-Mode", "navigate"},
      {"Sec-Fetch-User", "?1"},
      {"Sec-Fetch-Dest", "document"},
      {"Referer", "https://news.example/"},
      {"Accept-Encoding", "gzip, deflate, br"},
      {"Accept-Language", "ar-EG,ar;q=0.9,en-US;q=0.8,en;q=0.7"},
      {"Cookie", "bawwab_pass=v1.abcdef0123456789; _ga=GA1.2.3.4"},
  });
  return f;
}

const bh::fields& curl_fields() {
  static const bh::fields f =
      make({{"Host", "news.example"}, {"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}});
  return f;
}

const bh::fields& gptbot_fields() {
  static const bh::fields f = make({
      {"Host", "news.example"},
      {"User-Agent",
       "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; "
       "+https://openai.com/gptbot"},
      {"Accept", "*/*"},
      {"Accept-Encoding", "gzip, br"},
  });
  return f;
}

// 1024 clients, so that the behaviour table is exercised like a live one (not one hot entry).
net::Address client(std::size_t i) {
  return boost::asio::ip::address_v4(0xc6336400u + static_cast<std::uint32_t>(i % 1024));
}

void run(benchmark::State& state, const bh::fields& fields, bool tls, bool with_tracker) {
  const rules::RuleSet& rs = bench_rules();
  detect::BehaviourTracker tracker(detect::BehaviourConfig{});
  // A resolver that never answers: the bench measures the request path, not DNS.
  detect::DnsResolver dns;
  dns.reverse = [](const net::Address&, TimePoint, detect::ReverseHandler) {};
  dns.forward = [](const std::string&, TimePoint, detect::ForwardHandler) {};
  detect::CrawlerVerifier verifier(detect::VerifierConfig{}, dns);
  ManualClock clock;
  detect::DetectInput in;
  in.headers = &fields;
  in.method = "GET";
  in.host = "news.example";
  in.path = "/article/2026/11/30/some-headline";
  in.tls = tls;
  std::size_t i = 0;
  int score = 0;
  for (auto _ : state) {
    in.ip = client(i++);
    clock.advance(std::chrono::milliseconds(3));
    const auto s =
        detect::collect_signals(in, rs, &verifier, with_tracker ? &tracker : nullptr, clock.now());
    score += s.score;
    benchmark::DoNotOptimize(s.list.data());
  }
  state.counters["score"] = static_cast<double>(score) / static_cast<double>(state.iterations());
}

void BM_Signals_Browser(benchmark::State& state) { run(state, chrome_fields(), true, true); }
void BM_Signals_Browser_NoBehaviour(benchmark::State& state) {
  run(state, chrome_fields(), true, false);
}
void BM_Signals_Curl(benchmark::State& state) { run(state, curl_fields(), false, true); }
void BM_Signals_GPTBot(benchmark::State& state) { run(state, gptbot_fields(), true, true); }

// The parts, for reading the total.
void BM_Signals_Part_HeaderSummary(benchmark::State& state) {
  for (auto _ : state) {
    auto h = detect::summarize_headers(chrome_fields());
    benchmark::DoNotOptimize(h);
  }
}
void BM_Signals_Part_HeaderCheck(benchmark::State& state) {
  const auto h = detect::summarize_headers(chrome_fields());
  const auto claim = detect::parse_browser_claim(h.user_agent);
  const detect::RequestFacts facts{"GET", "news.example", 11, true, false};
  for (auto _ : state) {
    auto c = detect::check_headers(h, facts, claim);
    benchmark::DoNotOptimize(c.reasons.data());
  }
}
void BM_Signals_Part_UaMatch(benchmark::State& state) {
  const rules::RuleSet& rs = bench_rules();
  const auto ua = detect::summarize_headers(chrome_fields()).user_agent;
  std::vector<rules::UaMatch> out;
  for (auto _ : state) {
    out.clear();
    rs.match_user_agent(ua, out);
    benchmark::DoNotOptimize(rs.claimed_crawler(ua));
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_Signals_Browser);
BENCHMARK(BM_Signals_Browser_NoBehaviour);
BENCHMARK(BM_Signals_Curl);
BENCHMARK(BM_Signals_GPTBot);
BENCHMARK(BM_Signals_Part_HeaderSummary);
BENCHMARK(BM_Signals_Part_HeaderCheck);
BENCHMARK(BM_Signals_Part_UaMatch);

}  // namespace
