// The tools operators tune rules with: `bawwab explain` (one request, every rule and why) and
// `bawwab replay` (last week's access log under new rules: which decisions would change). Both run
// the same pure phases as the proxy, so what they say is what the proxy would do.
#include "tuning.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>

#include <iostream>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/config/loader.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/pipeline/phases.hpp"
#include "bawwab/proxy/upstream.hpp"
#include "bawwab/rules/signals.hpp"
#include "bawwab/server/generation.hpp"

namespace bawwab::cli {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

constexpr const char* kExplainHelp =
    "usage: bawwab explain [--config FILE] [--rules PATH] [request options]\n"
    "\n"
    "Shows what bawwab would do with one request: the signals it would see, each rule that\n"
    "matched and why, the score and the final decision. No request is sent anywhere.\n"
    "\n"
    "request options:\n"
    "  --request FILE     a raw HTTP/1.1 request head (as captured on the wire), or '-' for stdin\n"
    "  --method M         default GET\n"
    "  --host H           default: the first host of the first site, else localhost\n"
    "  --path P           request target, e.g. /articles/x?page=2 (default /)\n"
    "  --ua UA            User-Agent\n"
    "  --header 'N: v'    another header (repeatable); overrides the browser-like defaults\n"
    "  --ip IP            client address (default 203.0.113.10)\n"
    "  --tls              as if it came over TLS\n"
    "  --ja4 FP           the TLS fingerprint (with --tls)\n"
    "  --bare             no default headers: only what is given (like curl)\n"
    "  --verbose          also list the rules that did not match\n"
    "\n"
    "Without --request and --bare, the request carries the headers a current desktop Chrome\n"
    "sends, so that a UA alone is judged as that browser would be.\n";

constexpr const char* kReplayHelp =
    "usage: bawwab replay [--config FILE] [--rules PATH] --log ACCESS_LOG\n"
    "                     [--against OTHER_CONFIG] [--examples N]\n"
    "\n"
    "Re-evaluates the requests of bawwab's JSON access log under the rules of --config and\n"
    "prints, per action and per rule, how many decisions would change, with examples.\n"
    "Without --against, the baseline is the decision recorded in the log; with it, the baseline\n"
    "is OTHER_CONFIG's rules evaluated the same way.\n"
    "\n"
    "The log records the signals of each request, so they are reused (re-weighted by the new\n"
    "rules' weights); of the headers only User-Agent and Referer are logged, so rules on other\n"
    "headers see them absent.\n";

int usage(const std::string& message, const char* help) {
  std::fprintf(stderr, "bawwab: %s\n\n%s", message.c_str(), help);
  return 2;
}

// The options of explain and replay, in the order given.
struct Options {
  std::vector<std::pair<std::string, std::string>> given;  // (name, value); switches get ""
  bool help = false;
};

// Parses "--name value", "--name=value" and switches. Returns a message on a usage error.
std::optional<std::string> parse_options(int argc, char** argv,
                                         std::initializer_list<std::string_view> with_value,
                                         std::initializer_list<std::string_view> switches,
                                         Options& out) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string name(arg), value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos && arg.starts_with("--")) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      has_value = true;
    }
    if (name == "--help" || name == "-h") {
      out.help = true;
      continue;
    }
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      out.given.emplace_back(name, "");
      continue;
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      return "unknown option '" + name + "'";
    }
    if (!has_value) {
      if (i + 1 >= argc) return "option '" + name + "' needs a value";
      value = argv[++i];
    }
    out.given.emplace_back(std::move(name), std::move(value));
  }
  return std::nullopt;
}

// Loads config + rules the way `run` would, printing every problem. Null on errors.
server::GenerationPtr load_generation(const std::optional<std::string>& config_path,
                                      const config::Overrides& overrides) {
  config::LoadResult loaded;
  if (config_path) {
    loaded = config::load_config_file(*config_path, overrides);
  } else {
    config::Overrides o = overrides;
    if (!o.upstream) o.upstream = "http://127.0.0.1:1";  // explain never connects anywhere
    if (!o.listen) o.listen = "127.0.0.1:0";             // nor listens
    loaded = config::config_from_flags(o);
  }
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!loaded.config) return nullptr;
  static proxy::UpstreamRegistry scratch;
  server::BuildResult built = server::build_generation(loaded.config, scratch, 1);
  for (const auto& d : built.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  return built.generation;
}

std::string describe_action(const rules::Decision& d) {
  std::string out(rules::action_name(d.action));
  if (const auto* b = std::get_if<rules::Block>(&d.action)) {
    out += b->drop ? " (drop)" : " " + std::to_string(b->status);
    if (!b->page.empty()) out += " with page '" + b->page + "'";
  } else if (const auto* c = std::get_if<rules::Challenge>(&d.action)) {
    out += " " + c->level;
    if (c->difficulty != 0) out += " difficulty " + std::to_string(c->difficulty);
  } else if (const auto* t = std::get_if<rules::Tarpit>(&d.action)) {
    out += " " + std::to_string(t->delay.count()) + "ms then " + std::to_string(t->status);
  }
  return out;
}

std::string first_site_host(const config::ServerConfig& cfg) {
  for (const auto& site : cfg.sites) {
    for (const auto& h : site.hosts) {
      if (h != "*" && !h.starts_with("*.")) return h;
    }
  }
  return "localhost";
}

// Headers a current desktop Chrome sends on a navigation, in its order. With `ua` given, the
// defaults agree with it: Chrome's client hints carry its major version; other browsers send none.
void add_browser_headers(bhttp::request_header<>& req, bool tls,
                         const std::optional<std::string>& ua) {
  std::string agent = ua.value_or(
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/130.0.0.0 Safari/537.36");
  std::string major;
  if (const auto at = agent.find("Chrome/"); at != std::string::npos) {
    major = agent.substr(at + 7, agent.find('.', at + 7) - (at + 7));
  }
  if (!major.empty()) {
    req.set("sec-ch-ua", "\"Chromium\";v=\"" + major + "\", \"Google Chrome\";v=\"" + major +
                             "\", \"Not?A_Brand\";v=\"99\"");
    req.set("sec-ch-ua-mobile", "?0");
    req.set("sec-ch-ua-platform", "\"Linux\"");
  }
  req.set("Upgrade-Insecure-Requests", "1");
  req.set(bhttp::field::user_agent, agent);
  req.set(bhttp::field::accept,
          "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
          "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7");
  // Chrome sends Sec-Fetch-* only to secure contexts: https, and loopback hosts.
  const std::string_view host = req[bhttp::field::host];
  if (tls || host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]")) {
    req.set("Sec-Fetch-Site", "none");
    req.set("Sec-Fetch-Mode", "navigate");
    req.set("Sec-Fetch-User", "?1");
    req.set("Sec-Fetch-Dest", "document");
  }
  req.set(bhttp::field::accept_encoding, "gzip, deflate, br, zstd");
  req.set(bhttp::field::accept_language, "ar,en-US;q=0.9,en;q=0.8");
}

void print_signals(const rules::Signals& signals) {
  std::printf("signals (score %d):\n", signals.score);
  if (signals.list.empty()) std::printf("  none\n");
  for (const auto& s : signals.list) {
    std::printf("  %-28s %s%s%+d\n", std::string(s.name).c_str(),
                s.value.empty() ? "" : ("= " + s.value).c_str(), s.value.empty() ? "" : "  ",
                s.weight);
  }
}

}  // namespace

int cmd_explain(int argc, char** argv) {
  std::optional<std::string> config_path;
  config::Overrides overrides;
  std::optional<std::string> request_file;
  std::string method = "GET", path = "/", ip_text = "203.0.113.10", ja4;
  std::optional<std::string> host, ua;
  std::vector<std::string> headers;
  bool tls = false, bare = false, verbose = false;
  Options opts;
  if (auto err = parse_options(argc, argv,
                               {"--config", "--rules", "--request", "--method", "--host",
                                "--path", "--ua", "--header", "--ip", "--ja4"},
                               {"--tls", "--bare", "--verbose"}, opts)) {
    return usage(*err, kExplainHelp);
  }
  if (opts.help) {
    std::printf("%s", kExplainHelp);
    return 0;
  }
  for (const auto& [name, value] : opts.given) {
    if (name == "--tls") tls = true;
    else if (name == "--bare") bare = true;
    else if (name == "--verbose") verbose = true;
    else if (name == "--config") config_path = value;
    else if (name == "--rules") overrides.rules = value;
    else if (name == "--request") request_file = value;
    else if (name == "--method") method = value;
    else if (name == "--host") host = value;
    else if (name == "--path") path = value;
    else if (name == "--ua") ua = value;
    else if (name == "--header") headers.push_back(value);
    else if (name == "--ip") ip_text = value;
    else if (name == "--ja4") ja4 = value;
  }
  const auto ip = net::parse_address(ip_text);
  if (!ip) return usage("--ip: not an IP address: '" + ip_text + "'", kExplainHelp);

  const server::GenerationPtr gen = load_generation(config_path, overrides);
  if (!gen) {
    std::fprintf(stderr, "bawwab: configuration is invalid\n");
    return 1;
  }
  const pipeline::Runtime& rt = *gen->runtime;

  // The request: a raw head from a file, or built from the flags.
  bhttp::request_parser<bhttp::empty_body> parser;
  bhttp::request<bhttp::empty_body> built;
  const bhttp::request_header<>* head = nullptr;
  if (request_file) {
    std::string raw;
    if (*request_file == "-") {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      raw = ss.str();
    } else {
      std::ifstream in(*request_file, std::ios::binary);
      if (!in) return usage("cannot read '" + *request_file + "'", kExplainHelp);
      std::ostringstream ss;
      ss << in.rdbuf();
      raw = ss.str();
    }
    // Files written by hand often end lines with a bare LF: accept that here (only here).
    std::string wire;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) wire += '\r';
      wire += raw[i];
    }
    if (wire.find("\r\n\r\n") == std::string::npos) wire += "\r\n";
    parser.eager(false);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(wire), ec);
    if (ec || !parser.is_header_done()) {
      std::fprintf(stderr, "bawwab: %s: not a valid HTTP request head: %s\n",
                   request_file->c_str(), ec ? ec.message().c_str() : "incomplete");
      return 1;
    }
    head = &parser.get().base();
  } else {
    built.method_string(method);
    built.target(path);
    built.version(11);
    built.set(bhttp::field::host, host.value_or(first_site_host(*rt.config)));
    if (!bare) add_browser_headers(built.base(), tls, ua);
    if (ua && bare) built.set(bhttp::field::user_agent, *ua);
    for (const auto& h : headers) {
      const auto colon = h.find(':');
      if (colon == std::string::npos || colon == 0) {
        return usage("--header: expected 'Name: value', got '" + h + "'", kExplainHelp);
      }
      std::string v = h.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      built.set(h.substr(0, colon), v);
    }
    head = &built.base();
  }

  pipeline::RequestContext ctx;
  ctx.request = head;
  ctx.client.peer = *ip;
  ctx.client.ip = *ip;
  ctx.client.tls = tls;
  ctx.client.ja4 = ja4;
  ctx.client.listener = rt.config->listeners.size();  // no listener: no HTTPS redirect
  ctx.started = SteadyClock::now();

  std::printf("request: %s %s%s from %s%s\n", std::string(head->method_string()).c_str(),
              std::string((*head)[bhttp::field::host]).c_str(),
              std::string(head->target()).c_str(), ip->to_string().c_str(),
              tls ? " over TLS" : "");
  std::printf("rules:   %zu rules, version %s\n", rt.rules->size(),
              std::string(rt.rules->version()).c_str());
  if (auto local = pipeline::admit_request(ctx, rt)) {
    std::printf("decision: answered before the rules: %u (%s)\n", local->status,
                local->status == 421 ? "no site serves this host" : "request refused");
    return 0;
  }
  std::printf("path:    %s (normalised)\n", ctx.path.c_str());
  // Judged as a client's first request: a fresh behaviour table (so a browser is within its
  // grace pages, and no flag or refusal is carried over from anything).
  detect::BehaviourConfig bc;
  bc.honeypot_paths = rt.config->detection.honeypot_paths;
  detect::BehaviourTracker first_visit(bc);
  pipeline::Services services;
  services.behaviour = &first_visit;
  pipeline::collect_signals(ctx, rt, services, SteadyClock::now());
  std::printf("client:  as a first visit (behaviour, grace and refusals start empty)\n");
  print_signals(ctx.signals);

  rules::Trace trace;
  const rules::Decision d = pipeline::evaluate_rules(ctx, rt, &trace);
  std::printf("rules that matched:\n");
  bool any = false;
  for (const auto& t : trace) {
    if (!t.matched && !verbose) continue;
    any = any || t.matched;
    std::printf("  %s %s (%s:%d)\n      %s\n", t.matched ? "+" : "-",
                std::string(t.rule_id).c_str(), std::string(t.file).c_str(), t.line,
                t.why.c_str());
  }
  if (!any) std::printf("  none\n");
  for (const auto& hit : d.shadow_hits) {
    rules::Decision tmp;
    tmp.action = hit.action;
    std::printf("shadow:  rule '%s' would have applied %s\n", std::string(hit.rule_id).c_str(),
                describe_action(tmp).c_str());
  }
  if (!d.tags.empty()) {
    std::printf("tags:   ");
    for (auto t : d.tags) std::printf(" %s", std::string(t).c_str());
    std::printf("\n");
  }
  for (const auto* h : d.request_headers) {
    std::printf("request header:  %s: %s\n", h->name.c_str(), h->value.c_str());
  }
  for (const auto* h : d.response_headers) {
    std::printf("response header: %s: %s\n", h->name.c_str(), h->value.c_str());
  }
  std::printf("score:   %d\n", d.score);
  std::string by = d.source == rules::Decision::Source::rule ? "by rule '" + d.rule_id + "'"
                   : d.source == rules::Decision::Source::threshold
                       ? std::string("by the score thresholds")
                                             : std::string("by default (no rule decided)");
  std::printf("decision: %s %s%s\n", describe_action(d).c_str(), by.c_str(),
              d.shadow ? " [shadow: logged only, the request goes through]" : "");
  return 0;
}

namespace {

struct Replayed {
  std::string action;  // "block 403", "allow", ...
  std::string rule;    // deciding rule or "(threshold)" / "(default)"
};

// Rebuilds what the log line knows of a request and evaluates it under `rt`.
Replayed replay_one(const accesslog::AccessRecord& r, const pipeline::Runtime& rt,
                    const json::object* logged_signals) {
  bhttp::request<bhttp::empty_body> req;
  req.method_string(r.method.empty() ? "GET" : r.method);
  req.target(r.path.empty() ? "/" : r.path);
  req.version(r.http_version == "1.0" ? 10 : 11);
  req.set(bhttp::field::host, r.host);
  if (!r.user_agent.empty()) req.set(bhttp::field::user_agent, r.user_agent);
  if (!r.referer.empty()) req.set(bhttp::field::referer, r.referer);

  pipeline::RequestContext ctx;
  ctx.request = &req.base();
  ctx.http_version = req.version() == 10 ? 10 : 11;
  ctx.host = r.host;
  ctx.authority = r.host;
  ctx.target = r.path.empty() ? "/" : r.path;
  pipeline::split_target(ctx);
  if (auto ip = net::parse_address(r.client_ip)) ctx.client.ip = *ip;
  ctx.client.peer = ctx.client.ip;
  ctx.client.tls = r.tls;
  if (logged_signals != nullptr) {
    for (const auto& [name, value] : *logged_signals) {
      const std::string_view n(name.data(), name.size());
      if (n == "tls.ja4" && value.is_string()) ctx.client.ja4 = std::string(value.as_string());
      ctx.signals.add(n, value.is_string() ? std::string(value.as_string()) : std::string(),
                      rt.rules->weight(n));
    }
  }
  const rules::Decision d = pipeline::evaluate_rules(ctx, rt);
  Replayed out;
  // Compared by action name: the log records the name, not the status or level.
  out.action = d.shadow ? "allow" : std::string(rules::action_name(d.action));
  out.rule = d.source == rules::Decision::Source::rule
                 ? d.rule_id
                 : "(" + std::string(rules::source_name(d.source)) + ")";
  return out;
}

std::string example_of(const accesslog::AccessRecord& r) {
  std::string ua = r.user_agent.size() > 60 ? r.user_agent.substr(0, 57) + "..." : r.user_agent;
  return r.method + " " + r.host + r.path + " from " + r.client_ip + " ua=\"" + ua + "\"";
}

}  // namespace

int cmd_replay(int argc, char** argv) {
  std::optional<std::string> config_path, against, log_path;
  config::Overrides overrides;
  std::size_t examples = 3;
  Options opts;
  if (auto err = parse_options(argc, argv,
                               {"--config", "--rules", "--log", "--against", "--examples"}, {},
                               opts)) {
    return usage(*err, kReplayHelp);
  }
  if (opts.help) {
    std::printf("%s", kReplayHelp);
    return 0;
  }
  for (const auto& [name, value] : opts.given) {
    if (name == "--config") config_path = value;
    else if (name == "--rules") overrides.rules = value;
    else if (name == "--log") log_path = value;
    else if (name == "--against") against = value;
    else if (name == "--examples") {
      try {
        examples = std::stoul(value);
      } catch (...) {
        return usage("--examples: expected a number, got '" + value + "'", kReplayHelp);
      }
    }
  }
  if (!log_path) return usage("--log is required", kReplayHelp);

  const server::GenerationPtr gen = load_generation(config_path, overrides);
  if (!gen) {
    std::fprintf(stderr, "bawwab: configuration is invalid\n");
    return 1;
  }
  server::GenerationPtr base_gen;
  if (against) {
    base_gen = load_generation(*against, config::Overrides{});
    if (!base_gen) {
      std::fprintf(stderr, "bawwab: configuration %s is invalid\n", against->c_str());
      return 1;
    }
  }

  std::ifstream in(*log_path);
  if (!in) {
    std::fprintf(stderr, "bawwab: cannot read access log '%s'\n", log_path->c_str());
    return 1;
  }
  std::size_t total = 0, skipped = 0, changed = 0, line_no = 0;
  struct Bucket {
    std::size_t count = 0;
    std::vector<std::string> examples;
  };
  std::map<std::string, Bucket> by_action;  // "before -> after"
  std::map<std::string, Bucket> by_rule;    // the rule that now decides differently
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto rec = accesslog::parse_json_line(line);
    if (!rec) {
      if (skipped < 5) {
        std::fprintf(stderr, "%s:%zu: skipped: %s\n", log_path->c_str(), line_no,
                     rec.error().message().c_str());
      }
      ++skipped;
      continue;
    }
    const accesslog::AccessRecord& r = *rec;
    if (r.method.empty()) {  // refused before the head was read: no rules ran
      ++skipped;
      continue;
    }
    const json::object* signals = nullptr;
    std::string logged_action, logged_rule;
    bool logged_shadow = false;
    std::string decided_by = "default";
    for (const auto& [key, value] : r.extra) {
      if (key == "shadow" && value.is_bool()) logged_shadow = value.as_bool();
      if (key == "decided_by" && value.is_string()) decided_by = value.as_string().c_str();
      if (key == "signals" && value.is_object()) signals = &value.as_object();
      if (key == "decision" && value.is_string()) logged_action = value.as_string().c_str();
      if (key == "rule" && value.is_string()) logged_rule = value.as_string().c_str();
    }
    ++total;
    const Replayed now = replay_one(r, *gen->runtime, signals);
    Replayed before;
    if (base_gen) {
      before = replay_one(r, *base_gen->runtime, signals);
    } else {
      before.action = logged_action.empty() || logged_shadow ? "allow" : logged_action;
      before.rule = logged_rule.empty() ? "(" + decided_by + ")" : logged_rule;
    }
    if (before.action == now.action && before.rule == now.rule) continue;
    ++changed;
    auto add = [&](Bucket& b) {
      ++b.count;
      if (b.examples.size() < examples) b.examples.push_back(example_of(r));
    };
    add(by_action[before.action + " -> " + now.action]);
    add(by_rule[before.rule + " -> " + now.rule]);
  }

  std::printf("replayed %zu requests from %s", total, log_path->c_str());
  if (skipped > 0) std::printf(" (%zu lines skipped)", skipped);
  std::printf("\nbaseline: %s\n", against ? against->c_str() : "the decisions recorded in the log");
  std::printf("decisions that would change: %zu of %zu (%.1f %%)\n", changed, total,
              total == 0 ? 0.0 : 100.0 * static_cast<double>(changed) / static_cast<double>(total));
  auto print = [&](const char* title, const std::map<std::string, Bucket>& m) {
    if (m.empty()) return;
    std::vector<std::pair<std::string, const Bucket*>> rows;
    for (const auto& [k, b] : m) rows.emplace_back(k, &b);
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second->count > b.second->count; });
    std::printf("\n%s\n", title);
    for (const auto& [k, b] : rows) {
      std::printf("  %7zu  %s\n", b->count, k.c_str());
      for (const auto& e : b->examples) std::printf("           e.g. %s\n", e.c_str());
    }
  };
  print("by action (before -> after):", by_action);
  print("by deciding rule (before -> after):", by_rule);
  return 0;
}

}  // namespace bawwab::cli
