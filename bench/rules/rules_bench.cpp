// Rules: load + compile time and evaluation time of a big rule set, the issue's benchmark:
// the shipped rules (rules/default.yaml, or a stand-in when absent) plus generated rules
// - 1,000 extra user-agent patterns (a list file, one rule),
// - 200 path rules (exact, prefix, glob, regex),
// - 10,000 CIDRs (a network file, one rule),
// written into a temporary directory as YAML + list files and loaded BEFORE the shipped rules,
// so that every request walks all of them (the shipped set ends in a near catch-all rule).
//
// Figures: BM_LoadAndCompile (target <= 200 ms), BM_EvaluateMix (median ns per evaluation over
// a mix of realistic requests; target <= 2 us), and a few more for context. Run with
// --benchmark_repetitions=5 (bench/rules/run.sh does). Nothing here asserts a time.
#include <benchmark/benchmark.h>

#include <boost/beast/http/fields.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bawwab/rules/loader.hpp"
#include "bawwab/rules/normalize.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace bawwab;

// A stand-in for rules/default.yaml when the shipped rules are not there.
constexpr std::string_view kStandIn = R"(
lists:
  ai-crawlers:
    signal: ua.ai_crawler
    patterns: [GPTBot, ClaudeBot, CCBot, PerplexityBot, Bytespider]
  http-libraries:
    signal: ua.http_library
    patterns: ['^curl/', '^Wget/', 'python-requests', '^Go-http-client']
limits:
  - { name: page-per-ip, rate: 10/s, burst: 50 }
rules:
  - { id: robots, when: { path: /robots.txt }, then: allow }
  - id: ai
    when: { any: [ { signal: ua.ai_crawler }, { user_agent: { list: ai-crawlers } } ] }
    then: block
  - { id: libs, when: { user_agent: { list: http-libraries } }, then: block }
  - { id: assets, when: { path: { regex: '\.(css|js|png|jpg|svg|woff2)$' } }, then: allow }
  - { id: pages, when: { score: '< 60' }, then: { rate_limit: page-per-ip } }
)";

struct Generated {
  fs::path dir;
  std::vector<std::string> sources;
  ~Generated() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

std::string ipv4(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

// Writes the generated files; the sources list is [generated rules, shipped rules].
Generated& generated() {
  static Generated g = [] {
    Generated out;
    char tmpl[] = "/tmp/bawwab-rules-bench-XXXXXX";
    out.dir = ::mkdtemp(tmpl);
    std::mt19937 rng(42);

    // 1,000 user-agent patterns: mostly product names, some with classes and alternations, as
    // operators write them.
    std::ofstream uas(out.dir / "extra-uas.txt");
    uas << "# generated: 1,000 user-agent patterns\n";
    static const char* kWords[] = {"Fetch",   "Crawl", "Spider", "Scan",    "Index",
                                   "Harvest", "Grab",  "Probe",  "Collect", "Mine"};
    for (int i = 0; i < 1000; ++i) {
      const std::string word = kWords[rng() % 10];
      switch (i % 5) {
        case 0:
          uas << word << "er" << i << "Bot\n";
          break;
        case 1:
          uas << "^" << word << "-agent-" << i << "/\n";
          break;
        case 2:
          uas << "(?:Alpha|Beta|Gamma)" << word << i << "\n";
          break;
        case 3:
          uas << word << "Tool/[0-9]+\\." << i << "\n";
          break;
        default:
          uas << "\\b" << word << "_" << i << "\\b\n";
          break;
      }
    }
    uas.close();

    // 10,000 CIDRs: IPv4 /16../32 and some IPv6 /32../64, away from the requests' addresses
    // except where a request is meant to hit one.
    std::ofstream cidrs(out.dir / "extra-networks.txt");
    cidrs << "# generated: 10,000 CIDRs\n";
    for (int i = 0; i < 10000; ++i) {
      if (i % 10 == 9) {
        char buf[64];
        const unsigned len = 32 + rng() % 33;
        const auto a = static_cast<unsigned>(rng() % 16);
        const auto b = static_cast<unsigned>(rng() % 65536);
        const auto c = static_cast<unsigned>(rng() % 65536) & (len >= 48 ? 0xFFFFu : 0u);
        std::snprintf(buf, sizeof buf, "2a0%x:%x:%x::/%u", a, b, c, len >= 48 ? 48u : 32u);
        cidrs << buf << "\n";
      } else {
        const unsigned len = 16 + rng() % 17;
        std::uint32_t a = 0x20000000u + (rng() % 0xA0000000u);  // 32.0.0.0 .. 191.255.255.255
        a &= len == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> len);
        cidrs << ipv4(a) << "/" << len << "\n";
      }
    }
    cidrs << "100.64.7.0/24\n";  // a request comes from here
    cidrs.close();

    std::ofstream yaml(out.dir / "extra.yaml");
    yaml << "# generated: the issue's benchmark set\n"
            "lists:\n  extra-bots: { file: extra-uas.txt }\n"
            "networks:\n  extra-networks: { file: extra-networks.txt }\n"
            "rules:\n"
            "  - { id: extra-bots, when: { user_agent: { list: extra-bots } }, then: block }\n"
            "  - { id: extra-networks, when: { ip: { network: extra-networks } },"
            " then: [ { score: 20 }, { tag: listed-network } ] }\n";
    for (int i = 0; i < 200; ++i) {
      yaml << "  - { id: path-" << i << ", when: { path: ";
      switch (i % 4) {
        case 0:
          yaml << "/section-" << i << "/special";
          break;
        case 1:
          yaml << "{ prefix: /archive/" << i << "/ }";
          break;
        case 2:
          yaml << "'/tag/*/page-" << i << "'";
          break;
        default:
          yaml << "{ regex: '^/api/v" << i << "/[a-z]+$' }";
          break;
      }
      yaml << " }, then: " << (i % 2 ? "{ tag: path-" + std::to_string(i) + " }" : "challenge")
           << " }\n";
    }
    yaml.close();
    out.sources.push_back((out.dir / "extra.yaml").string());

    const fs::path shipped = BAWWAB_SOURCE_DIR "/rules/default.yaml";
    if (fs::exists(shipped)) {
      out.sources.push_back(shipped.string());
    } else {
      std::ofstream(out.dir / "stand-in.yaml") << kStandIn;
      out.sources.push_back((out.dir / "stand-in.yaml").string());
    }
    return out;
  }();
  return g;
}

rules::RuleSetPtr load_or_die() {
  const auto r = rules::load_rules(generated().sources);
  if (!r.rules) {
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
    std::abort();
  }
  return r.rules;
}

const rules::RuleSet& rule_set() {
  static const rules::RuleSetPtr rs = load_or_die();
  return *rs;
}

// One request of the mix, with the storage its view points into.
struct Sample {
  std::string method = "GET";
  std::string target;
  std::string ua;
  std::string ip;
  std::vector<std::pair<std::string, std::string>> headers;
  http::fields fields;
  std::string path;
  std::string query;
  rules::Signals signals;
  rules::RequestView view;
};

constexpr std::string_view kChrome =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36";
constexpr std::string_view kFirefox =
    "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
constexpr std::string_view kSafari =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/26.1 Mobile/15E148 Safari/604.1";

std::vector<std::unique_ptr<Sample>> make_mix(const rules::RuleSet& rs) {
  const std::vector<std::array<std::string_view, 3>> mix = {
      {kChrome, "/", "198.51.100.23"},
      {kChrome, "/articles/2025/11/budget-vote?utm_source=x", "203.0.113.77"},
      {kFirefox, "/articles/2025/11/budget-vote", "2001:db8:44::9"},
      {kSafari, "/sport/football/live", "192.0.2.200"},
      {kChrome, "/static/app.3f2a.css", "198.51.100.23"},
      {kFirefox, "/images/lead-photo.jpg", "203.0.113.8"},
      {kSafari, "/feed.xml", "100.64.7.12"},
      {kChrome, "/search?q=election+results", "100.64.7.13"},
      {"curl/8.5.0", "/articles/2025/11/budget-vote", "203.0.113.200"},
      {"python-requests/2.31.0", "/archive/2019/", "198.51.100.99"},
      {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
       "+https://openai.com/gptbot)",
       "/articles/2025/11/budget-vote", "20.171.206.1"},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
       "/articles/2025/11/budget-vote", "66.249.66.1"},
      {"", "/", "203.0.113.50"},
      {kChrome, "/tag/politics/page-2", "198.51.100.23"},
      {kFirefox, "/api/v7/comments", "203.0.113.9"},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "HeadlessChrome/120.0.0.0 Safari/537.36",
       "/articles/x", "34.1.2.3"},
  };
  std::vector<std::unique_ptr<Sample>> out;
  for (const auto& [ua, target, ip] : mix) {
    auto s = std::make_unique<Sample>();
    s->target = target;
    s->ua = ua;
    s->ip = ip;
    if (!s->ua.empty()) s->fields.insert(http::field::user_agent, s->ua);
    s->fields.insert(http::field::host, "news.example");
    s->fields.insert(http::field::accept, "text/html,application/xhtml+xml");
    s->fields.insert(http::field::accept_language, "en-GB,en;q=0.9");
    s->fields.insert(http::field::accept_encoding, "gzip, br");
    s->fields.insert(http::field::cookie, "consent=1; theme=dark");
    s->path = rules::normalize_path(s->target);
    const auto q = s->target.find('?');
    s->query = q == std::string::npos ? "" : s->target.substr(q + 1);
    // The signals the detection phase would add for this UA (from the lists' signals).
    std::vector<rules::UaMatch> matches;
    rs.match_user_agent(s->ua, matches);
    for (const auto& m : matches) {
      if (!m.signal.empty()) s->signals.add(m.signal, std::string(m.label), rs.weight(m.signal));
    }
    if (s->ua.empty()) s->signals.add("ua.empty", "", rs.weight("ua.empty"));
    s->view.method = s->method;
    s->view.host = "news.example";
    s->view.path = s->path;
    s->view.query = s->query;
    s->view.headers = &s->fields;
    s->view.ip = boost::asio::ip::make_address(s->ip);
    s->view.signals = &s->signals;
    out.push_back(std::move(s));
  }
  return out;
}

void BM_LoadAndCompile(benchmark::State& state) {
  const auto& sources = generated().sources;
  std::size_t rules = 0;
  for (auto _ : state) {
    const auto r = rules::load_rules(sources);
    benchmark::DoNotOptimize(r.rules);
    rules = r.rules ? r.rules->size() : 0;
  }
  state.counters["rules"] = static_cast<double>(rules);
}
BENCHMARK(BM_LoadAndCompile)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// A full evaluation, cycling through the mix: the figure the issue asks for.
void BM_EvaluateMix(benchmark::State& state) {
  const rules::RuleSet& rs = rule_set();
  const auto mix = make_mix(rs);
  // Warm the RE2 DFA caches, as a running proxy's are.
  for (int i = 0; i < 100; ++i) {
    for (const auto& s : mix) benchmark::DoNotOptimize(rs.evaluate(s->view));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const rules::Decision d = rs.evaluate(mix[i]->view);
    benchmark::DoNotOptimize(d);
    if (++i == mix.size()) i = 0;
  }
  state.counters["rules"] = static_cast<double>(rs.size());
}
BENCHMARK(BM_EvaluateMix);

// One request type at a time, for context: a reader's browser walks every rule.
void BM_EvaluateOne(benchmark::State& state) {
  const rules::RuleSet& rs = rule_set();
  const auto mix = make_mix(rs);
  const auto& s = *mix[static_cast<std::size_t>(state.range(0))];
  for (int i = 0; i < 100; ++i) benchmark::DoNotOptimize(rs.evaluate(s.view));
  for (auto _ : state) benchmark::DoNotOptimize(rs.evaluate(s.view));
  const rules::Decision d = rs.evaluate(s.view);
  state.SetLabel(std::string(rules::action_name(d.action)) + " by " +
                 (d.rule_id.empty() ? std::string(bawwab::rules::source_name(d.source)) : d.rule_id) + ": " +
                 s.ua.substr(0, 24) + " " + s.target.substr(0, 24));
}
BENCHMARK(BM_EvaluateOne)->Arg(1)->Arg(8)->Arg(10)->Arg(12);

// The detection phase's UA classification (one RE2::Set pass over all list patterns).
void BM_MatchUserAgent(benchmark::State& state) {
  const rules::RuleSet& rs = rule_set();
  const std::string ua(kChrome);
  std::vector<rules::UaMatch> out;
  for (auto _ : state) {
    out.clear();
    rs.match_user_agent(ua, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MatchUserAgent);

void BM_NormalizePath(benchmark::State& state) {
  const std::string target = "/%61rticles/2025/../2025//11/./budget-vote?utm_source=x";
  for (auto _ : state) benchmark::DoNotOptimize(rules::normalize_path(target));
}
BENCHMARK(BM_NormalizePath);

}  // namespace

BENCHMARK_MAIN();
