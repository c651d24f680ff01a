#include "bawwab/cli/cli.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bawwab/config/loader.hpp"
#include "bawwab/core/log.hpp"
#include "bawwab/demo/assets.hpp"
#include "bawwab/demo/origin.hpp"
#include "bawwab/proxy/upstream.hpp"
#include "bawwab/server/generation.hpp"
#include "bawwab/server/server.hpp"
#include "tuning.hpp"

namespace bawwab::cli {
namespace {

constexpr const char* kDefaultConfig = "/etc/bawwab/bawwab.yaml";

constexpr const char* kUsage =
    "usage: bawwab <command> [options]\n"
    "\n"
    "bawwab is a reverse proxy that keeps a news site's content for its readers.\n"
    "\n"
    "commands:\n"
    "  run       run the proxy\n"
    "  check     validate the configuration and exit (0 valid, 1 invalid), like nginx -t\n"
    "  demo      run the built-in demo news site behind bawwab\n"
    "  explain   show what the rules would do with one request, and why\n"
    "  replay    re-evaluate an access log under new rules: which decisions would change\n"
    "  version   print the version\n"
    "\n"
    "Run 'bawwab <command> --help' for the options of a command.\n";

constexpr const char* kRunOptions =
    "options:\n"
    "  --config FILE        configuration file (default /etc/bawwab/bawwab.yaml; not read when\n"
    "                       --upstream is given without --config)\n"
    "  --listen ADDR        listen on ADDR (e.g. 127.0.0.1:8080, [::]:80), replacing the listeners\n"
    "  --upstream URL       forward to URL (http://host:port), replacing upstreams and sites\n"
    "  --rules PATH         rule file, directory or glob, replacing the rules list\n"
    "  --status ADDR        status listener (loopback), e.g. 127.0.0.1:9090\n"
    "  --workers N|auto     worker threads\n"
    "  --access-log PATH    access log file, '-' for stderr, 'off' to disable\n"
    "  --help               this text\n";

struct Parsed {
  std::optional<std::string> config;
  config::Overrides overrides;
  bool help = false;
};

// Parses "--flag value" and "--flag=value". Returns an error message on a usage error.
std::optional<std::string> parse_flags(int argc, char** argv, int first, Parsed& out,
                                       const std::vector<std::string_view>& allowed) {
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) return "unexpected argument '" + std::string(arg) + "'";
    std::string name;
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return "unknown option '" + name + "'";
    }
    if (!value) {
      if (i + 1 >= argc) return "option '" + name + "' needs a value";
      value = argv[++i];
    }
    if (name == "--config") out.config = *value;
    else if (name == "--listen") out.overrides.listen = *value;
    else if (name == "--upstream") out.overrides.upstream = *value;
    else if (name == "--rules") out.overrides.rules = *value;
    else if (name == "--status") out.overrides.status = *value;
    else if (name == "--workers") out.overrides.workers = *value;
    else if (name == "--access-log") out.overrides.access_log = *value;
  }
  return std::nullopt;
}

const std::vector<std::string_view> kRunFlags = {"--config", "--listen",  "--upstream",
                                                 "--rules",  "--status",  "--workers",
                                                 "--access-log"};

// The configuration source for run/check: a file (given, or the default), or flags alone.
server::Server::ConfigSource source_for(const Parsed& p) {
  if (!p.config && p.overrides.upstream) {
    return [o = p.overrides] { return config::config_from_flags(o); };
  }
  const std::string path = p.config.value_or(kDefaultConfig);
  return [path, o = p.overrides] { return config::load_config_file(path, o); };
}

int usage_error(const std::string& message, const char* help) {
  std::fprintf(stderr, "bawwab: %s\n\n%s", message.c_str(), help);
  return 2;
}

int run_server(server::Server::ConfigSource source) {
  server::Server server(std::move(source));
  if (!server.start()) return 1;
  return server.run();
}

int cmd_run(int argc, char** argv) {
  Parsed p;
  if (auto err = parse_flags(argc, argv, 2, p, kRunFlags)) return usage_error(*err, kRunOptions);
  if (p.help) {
    std::printf("usage: bawwab run [options]\n\nRuns the proxy in the foreground (systemd "
                "Type=notify). SIGHUP reloads, SIGTERM drains and stops, SIGUSR1 reopens the "
                "access log.\n\n%s", kRunOptions);
    return 0;
  }
  return run_server(source_for(p));
}

int cmd_check(int argc, char** argv) {
  Parsed p;
  if (auto err = parse_flags(argc, argv, 2, p, kRunFlags)) return usage_error(*err, kRunOptions);
  if (p.help) {
    std::printf("usage: bawwab check [options]\n\nValidates the configuration (every problem as "
                "file:line:column: message) without starting; exit 0 when valid, 1 when not.\n\n%s",
                kRunOptions);
    return 0;
  }
  const config::LoadResult loaded = source_for(p)();
  Diagnostics all = loaded.diagnostics;
  if (loaded.config) {
    proxy::UpstreamRegistry scratch;
    const server::BuildResult built = server::build_generation(loaded.config, scratch, 1);
    all.insert(all.end(), built.diagnostics.begin(), built.diagnostics.end());
  }
  for (const auto& d : all) std::fprintf(stderr, "%s\n", d.format().c_str());
  const std::string name = loaded.config ? loaded.config->source
                                         : p.config.value_or(p.overrides.upstream ? "<command line>"
                                                                                  : kDefaultConfig);
  if (has_errors(all)) {
    std::fprintf(stderr, "bawwab: configuration %s is invalid\n", name.c_str());
    return 1;
  }
  std::fprintf(stderr, "bawwab: configuration %s is valid\n", name.c_str());
  return 0;
}

// A desktop Firefox's User-Agent, for the demo's "a reader" hint.
constexpr const char* kDemoReaderAgent =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

// How the person who started the demo can run this same binary from where they are: the path
// relative to the working directory when it is below it (build/bawwab), else the absolute path,
// else argv[0]. The hints then work as printed, whether or not bawwab is on the PATH.
std::string binary_path_for_hints(const char* argv0) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) return argv0;
  const std::filesystem::path rel = exe.lexically_proximate(std::filesystem::current_path(ec));
  if (!ec && !rel.empty() && *rel.begin() != "..") return rel.string();
  return exe.string();
}

int cmd_demo(int argc, char** argv) {
  Parsed p;
  const std::vector<std::string_view> flags = {"--listen", "--status", "--access-log", "--workers"};
  const char* help =
      "options:\n"
      "  --listen ADDR   where the proxy listens (default 127.0.0.1:8080; port 0 = any free port)\n"
      "  --status ADDR   status listener (default 127.0.0.1:9090)\n"
      "  --access-log P  access log (default '-', stderr)\n"
      "  --help          this text\n";
  if (auto err = parse_flags(argc, argv, 2, p, flags)) return usage_error(*err, help);
  if (p.help) {
    std::printf("usage: bawwab demo [options]\n\nStarts a built-in demo origin serving a sample "
                "Arabic news site on loopback, and bawwab in front of it with the shipped demo "
                "configuration.\n\n%s", help);
    return 0;
  }
  std::string_view demo_yaml;
  for (const auto& f : demo::assets::files()) {
    if (f.path == "config/demo.yaml") demo_yaml = f.data;
  }
  if (demo_yaml.empty()) {
    std::fprintf(stderr, "bawwab: the demo configuration is missing from this build\n");
    return 1;
  }

  boost::asio::io_context origin_ioc{1};
  auto origin = demo::DemoOrigin::open(
      origin_ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  if (!origin) {
    std::fprintf(stderr, "bawwab: cannot start the demo origin: %s\n",
                 origin.error().message().c_str());
    return 1;
  }
  (*origin)->start();
  std::thread origin_thread([&] { origin_ioc.run(); });
  struct StopOrigin {
    boost::asio::io_context& ioc;
    std::thread& t;
    ~StopOrigin() {
      ioc.stop();
      t.join();
    }
  } stop_origin{origin_ioc, origin_thread};

  // The shipped rules travel inside the binary; the rules loader reads files (includes, network
  // lists), so they are unpacked into a private temporary directory for the demo's lifetime.
  char dir_template[] = "/tmp/bawwab-demo-XXXXXX";
  const char* rules_dir = ::mkdtemp(dir_template);
  if (rules_dir == nullptr) {
    std::fprintf(stderr, "bawwab: cannot create a temporary directory for the demo rules\n");
    return 1;
  }
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } remove_rules{rules_dir};
  for (const auto& f : demo::assets::files()) {
    if (!f.path.starts_with("rules/")) continue;
    const std::filesystem::path out = std::filesystem::path(rules_dir) / std::string(f.path);
    std::error_code ec;
    std::filesystem::create_directories(out.parent_path(), ec);
    std::ofstream file(out, std::ios::binary);
    file.write(f.data.data(), static_cast<std::streamsize>(f.data.size()));
    if (!file) {
      std::fprintf(stderr, "bawwab: cannot write %s\n", out.c_str());
      return 1;
    }
  }

  config::Overrides o = p.overrides;
  o.upstream = "http://" + net::to_string((*origin)->local_endpoint());
  if (!o.rules) o.rules = std::string(rules_dir) + "/rules/default.yaml";
  const std::string yaml(demo_yaml);
  server::Server server([yaml, o] { return config::load_config_text(yaml, "demo.yaml", o); });
  if (!server.start()) return 1;
  const auto proxy = server.listening().front();
  std::string base = "http://" + net::to_string(proxy);
  std::string article = "/";
  for (const auto& f : demo::assets::files()) {
    if (f.path.starts_with("demo/site/articles/")) {
      article = std::string(f.path.substr(std::string_view("demo/site").size()));
      break;
    }
  }
  const std::string self = binary_path_for_hints(argv[0]);
  const std::string a = base + article;
  std::fprintf(stderr,
               "\nbawwab demo: a sample news site (Arabic, right-to-left) behind bawwab.\n"
               "Open in a browser:\n"
               "  front page:   %s/\n"
               "  an article:   %s\n"
               "  RSS feed:     %s/feed.xml\n"
               "  robots.txt:   %s/robots.txt\n",
               base.c_str(), a.c_str(), base.c_str(), base.c_str());
  if (const auto st = server.status_endpoint()) {
    const std::string s = "http://" + net::to_string(*st);
    std::fprintf(stderr, "  status:       %s/status   metrics: %s/metrics\n", s.c_str(), s.c_str());
  }
  std::fprintf(stderr,
               "Try it with curl. Plain curl gets 403 on articles by design: it is an HTTP library,\n"
               "not a reader. A request that looks like a browser's gets 2 pages that carry the silent\n"
               "proof a real browser runs unseen; curl never runs it, so its 3rd page is a challenge:\n"
               "  a reader:     curl --compressed -A '%s' -H 'Accept: text/html' -H 'Accept-Language: ar' %s\n"
               "  plain curl:   curl -i %s   (403: an HTTP library)\n"
               "  AI crawler:   curl -i -A 'GPTBot/1.2' %s   (403: the site's policy)\n"
               "  a refusal:    curl -i -X TRACE %s/   (405: bawwab never forwards it)\n"
               "  why:          %s explain --rules %s/rules/default.yaml --ua 'GPTBot/1.2' --path %s\n"
               "  origin:       http://%s/ (the demo origin, unprotected)\n"
               "Press Ctrl-C to stop.\n\n",
               kDemoReaderAgent, a.c_str(), a.c_str(), a.c_str(), base.c_str(), self.c_str(),
               rules_dir, article.c_str(), net::to_string((*origin)->local_endpoint()).c_str());
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "version" && argc > 2 && std::string_view(argv[2]) == "--help") {
    std::printf("usage: bawwab version\n\nPrints the version of this bawwab binary.\n");
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("bawwab %s\n", BAWWAB_VERSION);
    return 0;
  }
  if (cmd == "run") return cmd_run(argc, argv);
  if (cmd == "check") return cmd_check(argc, argv);
  if (cmd == "demo") return cmd_demo(argc, argv);
  if (cmd == "explain") return cmd_explain(argc, argv);
  if (cmd == "replay") return cmd_replay(argc, argv);
  std::fprintf(stderr, "bawwab: unknown command '%s'\n\n%s", argv[1], kUsage);
  return 2;
}

}  // namespace bawwab::cli
