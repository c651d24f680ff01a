// The file watch: which directories and names a configuration depends on (pure), and the inotify
// watch itself on a temporary directory (real files, an io_context run for a bounded time; no
// sockets). The reload it triggers is tested through the binary (test_reload_watch.py).
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bawwab/config/config.hpp"
#include "bawwab/rules/loader.hpp"
#include "bawwab/server/file_watch.hpp"
#include "support/temp_dir.hpp"

using namespace bawwab;
using namespace bawwab::server;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// As editors and deployment tools do: a new file renamed over the old one.
void replace(const fixture::TempDir& d, const std::string& name, const std::string& text) {
  d.write(name + ".tmp", text);
  fs::rename(d.path / (name + ".tmp"), d.path / name);
}

// Runs the io_context until `changes` has grown by one or `limit` passed.
bool wait_for_change(boost::asio::io_context& ioc, const std::vector<std::string>& changes,
                     std::size_t before, std::chrono::milliseconds limit = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (changes.size() == before && std::chrono::steady_clock::now() < end) {
    ioc.restart();
    ioc.run_for(10ms);
  }
  return changes.size() > before;
}

void run_quietly(boost::asio::io_context& ioc, std::chrono::milliseconds d) {
  ioc.restart();
  ioc.run_for(d);
}

}  // namespace

TEST_CASE("plan_watches: per directory, the names and patterns that matter") {
  const WatchPlan plan = plan_watches({"/etc/bawwab/bawwab.yaml", "/etc/bawwab/rules/default.yaml",
                                       "/etc/bawwab/rules/*.yaml", "/etc/bawwab/rules/*.yaml",
                                       "/etc/bawwab/./tls/../rules/x.txt", "/srv/*/rules/a.yaml"});
  REQUIRE(plan.directories.size() == 2);
  CHECK(plan.directories.at("/etc/bawwab") == std::vector<std::string>{"bawwab.yaml"});
  CHECK(plan.directories.at("/etc/bawwab/rules") ==
        std::vector<std::string>{"default.yaml", "*.yaml", "x.txt"});
  CHECK(plan.names() == 4);

  CHECK(plan.matches("/etc/bawwab", "bawwab.yaml"));
  CHECK_FALSE(plan.matches("/etc/bawwab", "bawwab.yaml.swp"));
  CHECK_FALSE(plan.matches("/etc/bawwab", "access.log"));
  CHECK(plan.matches("/etc/bawwab/rules", "new-site.yaml"));
  CHECK_FALSE(plan.matches("/etc/bawwab/rules", ".new-site.yaml.swp"));
  CHECK_FALSE(plan.matches("/etc/bawwab/rules", ".hidden.yaml"));  // as glob(3) skips it
  CHECK(plan.matches("/etc/bawwab/rules", "x.txt"));
  CHECK_FALSE(plan.matches("/etc/bawwab/other", "x.txt"));
  // A Kubernetes ConfigMap volume swapping its data.
  CHECK(plan.matches("/etc/bawwab", "..data"));
  CHECK(plan.matches("/etc/bawwab", "..2026_11_30_07_00_00.123"));
}

TEST_CASE("config_watch_paths: the config, the certificates and every rules file") {
  fixture::TempDir d;
  d.write("site.yaml", "pages: { legal: legal.html }\nrules: []\n");
  d.write("legal.html", "<p>{{ status }}</p>");
  const auto loaded = rules::load_rules({(d.path / "site.yaml").string()});
  REQUIRE(loaded.rules);
  config::ServerConfig cfg;
  cfg.source = (d.path / "bawwab.yaml").string();
  config::ListenerConfig tls;
  tls.certificates.push_back({"/etc/ssl/site.pem", "/etc/ssl/private/site.key"});
  cfg.listeners.push_back(tls);
  const auto paths = config_watch_paths(cfg, *loaded.rules);
  const auto has = [&](const fs::path& p) {
    return std::find(paths.begin(), paths.end(), p.string()) != paths.end();
  };
  CHECK(has(d.path / "bawwab.yaml"));
  CHECK(has("/etc/ssl/site.pem"));
  CHECK(has("/etc/ssl/private/site.key"));
  CHECK(has(d.path / "site.yaml"));
  CHECK(has(d.path / "legal.html"));

  cfg.source = "<command line>";  // flags only: no config file to watch
  const auto flags_only = config_watch_paths(cfg, *loaded.rules);
  CHECK(flags_only.size() == paths.size() - 1);
  CHECK(std::find(flags_only.begin(), flags_only.end(), "<command line>") == flags_only.end());
}

TEST_CASE("FileWatch: a burst of changes is one callback, after the quiet time",
          "[inotify]") {
  fixture::TempDir d;
  d.write("rules.yaml", "a");
  d.write("other.txt", "a");
  boost::asio::io_context ioc;
  std::vector<std::string> changes;
  FileWatch watch(ioc, [&](const std::string& p) { changes.push_back(p); });
  const WatchPlan plan = plan_watches({(d.path / "rules.yaml").string(),
                                       (d.path / "*.yaml").string()});
  CHECK(watch.watch(plan, 100ms).empty());
  CHECK(watch.watched_directories() == 1);

  SECTION("a rename over the file, a write in place, a new file, a chmod") {
    replace(d, "rules.yaml", "b");
    REQUIRE(wait_for_change(ioc, changes, 0));
    CHECK(changes.back() == (d.path / "rules.yaml").string());
    d.write("rules.yaml", "c");
    REQUIRE(wait_for_change(ioc, changes, 1));
    d.write("new.yaml", "x");
    REQUIRE(wait_for_change(ioc, changes, 2));
    CHECK(changes.back() == (d.path / "new.yaml").string());
    fs::permissions(d.path / "rules.yaml", fs::perms::owner_read | fs::perms::owner_write);
    REQUIRE(wait_for_change(ioc, changes, 3));
  }
  SECTION("debounced: ten quick writes, one callback") {
    for (int i = 0; i < 10; ++i) d.write("rules.yaml", std::to_string(i));
    REQUIRE(wait_for_change(ioc, changes, 0));
    run_quietly(ioc, 300ms);
    CHECK(changes.size() == 1);
  }
  SECTION("files that do not matter are ignored") {
    d.write("other.txt", "b");
    d.write(".rules.yaml.swp", "b");
    CHECK_FALSE(wait_for_change(ioc, changes, 0, 400ms));
  }
  SECTION("an empty plan, or stop(), watches nothing") {
    CHECK(watch.watch(WatchPlan{}, 100ms).empty());
    CHECK(watch.watched_directories() == 0);
    d.write("rules.yaml", "b");
    CHECK_FALSE(wait_for_change(ioc, changes, 0, 400ms));
    // And it can watch again.
    CHECK(watch.watch(plan, 100ms).empty());
    d.write("rules.yaml", "c");
    CHECK(wait_for_change(ioc, changes, 0));
  }
  SECTION("a directory that cannot be watched is reported; the others still are") {
    const WatchPlan two = plan_watches({(d.path / "rules.yaml").string(),
                                        "/nonexistent-bawwab-dir/x.yaml"});
    const auto problems = watch.watch(two, 100ms);
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::Contains("/nonexistent-bawwab-dir"));
    CHECK(watch.watched_directories() == 1);
    d.write("rules.yaml", "b");
    CHECK(wait_for_change(ioc, changes, 0));
  }
}
