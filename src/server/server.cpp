#include "bawwab/server/server.hpp"

#include <systemd/sd-daemon.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <ctime>
#include <future>
#include <mutex>
#include <thread>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/proof_of_work.hpp"
#include "bawwab/core/log.hpp"
#include "bawwab/core/text.hpp"
#include "bawwab/detect/behaviour.hpp"
#include "bawwab/detect/crawler_verifier.hpp"
#include "bawwab/detect/dns_resolver.hpp"
#include "bawwab/limit/limiter.hpp"
#include "bawwab/limit/redis_store.hpp"
#include "bawwab/server/file_watch.hpp"
#include "bawwab/status/metrics.hpp"
#include "bawwab/status/status_server.hpp"
#include "worker.hpp"

namespace bawwab::server {
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

void log_diagnostics(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics) {
    if (d.severity == Diagnostic::Severity::error) log::error(d.format());
    else log::warning(d.format());
  }
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

std::vector<std::string> listener_addresses(const config::ServerConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& l : cfg.listeners) out.push_back(net::to_string(l.endpoint) + (l.tls() ? "/tls" : ""));
  return out;
}

}  // namespace

struct Server::Impl {
  explicit Impl(ConfigSource s) : source(std::move(s)), stats(status::default_registry()) {}

  ConfigSource source;
  ServerStats stats;
  proxy::UpstreamRegistry upstreams;
  std::unique_ptr<SharedState> shared;
  std::unique_ptr<accesslog::AccessLog> access_log;
  // Long-lived state of the deciding phases (pipeline::Services). Declared before the workers:
  // their Redis stores borrow the limiter and the store counters.
  std::unique_ptr<limit::LocalLimiter> limiter;
  limit::StoreStats store_stats;
  // The resolver before the verifier: the verifier's lookups borrow it, and its destruction
  // answers the lookups still running (into the verifier's state, which they keep alive).
  std::unique_ptr<detect::AresResolver> dns_resolver;
  std::unique_ptr<detect::CrawlerVerifier> crawler_verifier;
  std::unique_ptr<detect::BehaviourTracker> behaviour;
  std::unique_ptr<Snapshot<challenge::KeyRing>> keys;
  std::unique_ptr<challenge::SpentSet> spent;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  asio::io_context main_ioc{1};
  struct Acceptor {
    tcp::acceptor socket;
    std::size_t listener;
  };
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::vector<net::Endpoint> bound;
  std::unique_ptr<status::StatusServer> status_server;
  std::optional<net::Endpoint> status_bound;
  std::vector<std::string> initial_listeners;
  std::string initial_access_log;
  std::optional<net::Endpoint> initial_status;
  unsigned initial_workers = 0;
  std::string initial_store;

  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> next_worker{0};
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::mutex reload_mutex;
  struct ReloadResult {
    std::string result = "none";  // none | ok | failed
    std::string trigger;          // SIGHUP | file watch | api
    std::chrono::system_clock::time_point at{};
    std::vector<std::string> errors;
  };
  ReloadResult last_reload;  // guarded by reload_mutex
  std::uint64_t generation_number = 0;
  std::unique_ptr<FileWatch> file_watch;  // main loop only
  WatchPlan watched_plan;                 // what file_watch was last asked to watch

  bool start();
  bool start_services(const config::ServerConfig& cfg);
  bool rotate_keys(const config::ServerConfig& cfg);
  int run();
  void stop();
  bool reload(std::string_view trigger);
  void update_file_watch();
  asio::awaitable<void> accept_loop(Acceptor& a);
  asio::awaitable<void> drain();
  void start_worker_timers(Worker& w);
  void start_watchdog();
  void start_key_rotation();
  json::object status_document();
};

bool Server::Impl::start() {
  config::LoadResult loaded = source();
  log_diagnostics(loaded.diagnostics);
  if (!loaded.config) {
    log::error("configuration has errors; not starting");
    return false;
  }
  log::set_level(loaded.config->log_level);
  BuildResult built = build_generation(loaded.config, upstreams, ++generation_number);
  log_diagnostics(built.diagnostics);
  if (!built.generation) {
    log::error("configuration has errors; not starting");
    return false;
  }
  const auto& cfg = *loaded.config;
  log::info("rules " + std::string(built.generation->runtime->rules->version()) + ": " +
            std::to_string(built.generation->runtime->rules->size()) + " rules from " +
            std::to_string(cfg.rules.size()) + " source(s)");
  shared = std::make_unique<SharedState>(built.generation, stats);
  stats.config_generation.set(static_cast<std::int64_t>(generation_number));

  if (cfg.access_log.path != "off") {
    auto opened = accesslog::AccessLog::open(cfg.access_log.path, cfg.access_log.queue_lines);
    if (!opened) {
      log::error("cannot open access log '" + cfg.access_log.path + "': " + opened.error().message());
      return false;
    }
    access_log = std::move(*opened);
    shared->access_log = access_log.get();
  }

  unsigned n = cfg.workers == 0 ? std::max(1u, std::thread::hardware_concurrency()) : cfg.workers;
  for (unsigned i = 0; i < n; ++i) workers.push_back(std::make_unique<Worker>(*shared));
  if (!start_services(cfg)) return false;

  for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
    const auto& l = cfg.listeners[i];
    auto a = std::make_unique<Acceptor>(Acceptor{tcp::acceptor(main_ioc), i});
    boost::system::error_code ec;
    a->socket.open(l.endpoint.protocol(), ec);
    if (!ec) a->socket.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && l.endpoint.address().is_v6()) a->socket.set_option(asio::ip::v6_only(true), ec);
    if (!ec) a->socket.bind(l.endpoint, ec);
    if (!ec) a->socket.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      log::error("cannot listen on " + l.address + ": " + ec.message());
      return false;
    }
    const auto local = a->socket.local_endpoint(ec);
    bound.push_back(local);
    log::info("listening on " + net::to_string(local) + (l.tls() ? " (tls)" : " (plain)"));
    acceptors.push_back(std::move(a));
  }

  if (cfg.status.listen) {
    status::StatusProviders providers;
    providers.status = [this] { return status_document(); };
    providers.registry = &status::default_registry();
    providers.healthy = [this] { return !stopping.load(); };
    status_server = std::make_unique<status::StatusServer>(main_ioc, *cfg.status.listen,
                                                           std::move(providers));
    if (const auto ec = status_server->start()) {
      log::error("cannot listen on status address " + net::to_string(*cfg.status.listen) + ": " +
                 ec.message());
      return false;
    }
    status_bound = status_server->local_endpoint();
    log::info("status listening on " + net::to_string(*status_bound));
  }
  initial_listeners = listener_addresses(cfg);
  initial_access_log = cfg.access_log.path;
  initial_status = cfg.status.listen;
  initial_workers = cfg.workers;
  initial_store = cfg.rate_limits.store;
  return true;
}

// The challenge keys: from the key file (created and rotated there), or in memory when none is
// configured. A token must outlive neither its key: the longest token is the pass.
bool Server::Impl::rotate_keys(const config::ServerConfig& cfg) {
  const auto now = std::chrono::system_clock::now();
  const auto& c = cfg.challenge;
  if (c.key_file.empty()) {
    if (!keys) {
      keys = std::make_unique<Snapshot<challenge::KeyRing>>(
          std::make_shared<const challenge::KeyRing>(challenge::KeyRing::generate(now)));
      log::warning("challenge.key_file is not set: challenge passes are signed with a key kept in "
                   "memory and end with this process");
    }
    return true;
  }
  Diagnostics problems;
  const auto max_life = c.pass_ttl + std::chrono::seconds(300);
  auto ring = challenge::load_or_create(c.key_file, now, std::chrono::seconds(7 * 86'400),
                                        max_life, &problems);
  if (!ring) {
    for (const auto& d : problems) log::error(d.format());
    log::error("challenge key file " + c.key_file + ": " + ring.error().message());
    return false;
  }
  auto next = std::make_shared<const challenge::KeyRing>(std::move(*ring));
  if (keys) keys->store(std::move(next));
  else keys = std::make_unique<Snapshot<challenge::KeyRing>>(std::move(next));
  return true;
}

bool Server::Impl::start_services(const config::ServerConfig& cfg) {
  limit::LimiterConfig lc;
  lc.max_keys = cfg.rate_limits.max_keys;
  limiter = std::make_unique<limit::LocalLimiter>(lc);
  shared->limiter = limiter.get();
  for (auto& w : workers) w->set_limit_store(std::make_unique<limit::LocalStore>(*limiter));
  if (cfg.rate_limits.store != "local") {
    limit::StoreConfig sc;
    sc.url = cfg.rate_limits.store;
    sc.key_prefix = cfg.rate_limits.key_prefix;
    sc.timeout = cfg.rate_limits.store_timeout;
    sc.on_failure = cfg.rate_limits.reject_on_store_failure ? limit::StoreConfig::OnFailure::reject
                                                            : limit::StoreConfig::OnFailure::local;
    sc.max_keys = cfg.rate_limits.max_keys;
    for (auto& w : workers) {
      w->set_limit_store(
          std::make_unique<limit::RedisStore>(w->ioc(), sc, *limiter, store_stats));
    }
    std::string why;
    const auto url = limit::parse_redis_url(sc.url, &why);
    log::info("rate limits shared through " + (url ? url->to_string() : sc.url) +
              " (on failure: " + (cfg.rate_limits.reject_on_store_failure ? "reject" : "local") +
              ")");
  }

  detect::BehaviourConfig bc;
  bc.max_clients = cfg.detection.max_clients;
  bc.html_only_pages = cfg.detection.html_only_pages;
  bc.honeypot_paths = cfg.detection.honeypot_paths;
  behaviour = std::make_unique<detect::BehaviourTracker>(bc);
  if (cfg.detection.verify_dns) {
    detect::AresConfig ac;
    ac.timeout = cfg.detection.dns_timeout;
    auto resolver = detect::AresResolver::create(ac);
    if (!resolver) {
      log::error("detection.verify_dns: cannot start the DNS resolver (c-ares): " +
                 resolver.error().message());
      return false;
    }
    dns_resolver = std::move(*resolver);
    detect::VerifierConfig vc;
    vc.timeout = cfg.detection.dns_timeout;
    crawler_verifier = std::make_unique<detect::CrawlerVerifier>(vc, dns_resolver->resolver());
  }
  if (!rotate_keys(cfg)) return false;
  spent = std::make_unique<challenge::SpentSet>();
  shared->services.crawlers = crawler_verifier.get();
  shared->services.behaviour = behaviour.get();
  shared->services.keys = keys.get();
  shared->services.spent = spent.get();
  return true;
}

void Server::Impl::start_worker_timers(Worker& w) {
  // Every second: close pooled upstream connections idle for too long, and beat the heart the
  // systemd watchdog listens to (a stuck loop stops beating).
  asio::co_spawn(
      w.ioc(),
      [this, &w]() -> asio::awaitable<void> {
        asio::steady_timer timer(w.ioc());
        for (;;) {
          w.heartbeat.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
          const auto gen = shared->generation.load();
          w.pool().sweep(SteadyClock::now(), gen->runtime->config->timeouts.upstream_idle);
          if (&w == workers.front().get() && limiter) {  // one worker publishes the gauges
            const auto& ls = limiter->stats();
            stats.limit_keys.set(static_cast<std::int64_t>(ls.keys.load(std::memory_order_relaxed)));
            stats.limit_evictions.set(
                static_cast<std::int64_t>(ls.evictions.load(std::memory_order_relaxed)));
          }
          if (&w == workers.front().get() && crawler_verifier)
            stats.publish_crawler_verifier(crawler_verifier->stats());
          timer.expires_after(std::chrono::seconds(1));
          auto [ec] = co_await timer.async_wait(nothrow);
          if (ec) co_return;
        }
      },
      asio::detached);
}

// The challenge key file rotates only when read: once an hour is enough for weekly rotation and
// for dropping keys whose tokens have all expired.
void Server::Impl::start_key_rotation() {
  asio::co_spawn(
      main_ioc,
      [this]() -> asio::awaitable<void> {
        asio::steady_timer timer(main_ioc);
        for (;;) {
          timer.expires_after(std::chrono::hours(1));
          auto [ec] = co_await timer.async_wait(nothrow);
          if (ec || stopping.load()) co_return;
          std::lock_guard lock(reload_mutex);
          const auto gen = shared->generation.load();
          if (!rotate_keys(*gen->runtime->config)) {
            log::warning("challenge keys not rotated; the current ones stay");
          }
        }
      },
      asio::detached);
}

void Server::Impl::start_watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  const auto interval = std::chrono::microseconds(usec / 2);
  asio::co_spawn(
      main_ioc,
      [this, interval]() -> asio::awaitable<void> {
        asio::steady_timer timer(main_ioc);
        for (;;) {
          const auto now = SteadyClock::now().time_since_epoch().count();
          const auto limit = std::chrono::duration_cast<SteadyClock::duration>(
                                 interval + std::chrono::seconds(2)).count();
          bool alive = true;
          for (const auto& w : workers) {
            if (now - w->heartbeat.load(std::memory_order_relaxed) > limit) alive = false;
          }
          if (alive) notify("WATCHDOG=1");
          else log::error("a worker event loop is stuck; withholding the watchdog ping");
          timer.expires_after(interval);
          auto [ec] = co_await timer.async_wait(nothrow);
          if (ec) co_return;
        }
      },
      asio::detached);
}

asio::awaitable<void> Server::Impl::accept_loop(Acceptor& a) {
  for (;;) {
    Worker& w = *workers[next_worker.fetch_add(1, std::memory_order_relaxed) % workers.size()];
    auto [ec, socket] = co_await a.socket.async_accept(w.ioc(), nothrow);
    if (ec == asio::error::operation_aborted || stopping.load()) co_return;
    if (ec) {
      // EMFILE and friends: say so, then pause instead of spinning on the error.
      log::warning("accept failed: " + ec.message());
      asio::steady_timer pause(main_ioc, std::chrono::milliseconds(100));
      co_await pause.async_wait(nothrow);
      continue;
    }
    boost::system::error_code pec;
    const auto peer = socket.remote_endpoint(pec);
    if (pec) continue;
    const auto gen = shared->generation.load();
    const auto& limits = gen->runtime->config->limits;
    const auto ip = net::canonical(peer.address());
    switch (shared->gate.admit(ip, limits.max_connections, limits.max_connections_per_ip)) {
      case ConnectionGate::Verdict::admitted:
        break;
      case ConnectionGate::Verdict::over_total:
        stats.connections_rejected_total_limit.inc();
        socket.close(pec);
        continue;
      case ConnectionGate::Verdict::over_per_ip:
        stats.connections_rejected_per_ip_limit.inc();
        socket.close(pec);
        continue;
    }
    stats.connections_total.inc();
    w.start_session(std::move(socket), a.listener, gen->tls[a.listener]);
  }
}

int Server::Impl::run() {
  for (auto& w : workers) {
    start_worker_timers(*w);
    threads.emplace_back([&w = *w] {
      auto guard = asio::make_work_guard(w.ioc());
      w.ioc().run();
    });
  }
  for (auto& a : acceptors) asio::co_spawn(main_ioc, accept_loop(*a), asio::detached);

  asio::signal_set stop_signals(main_ioc, SIGTERM, SIGINT);
  asio::signal_set hup(main_ioc, SIGHUP);
  asio::signal_set usr1(main_ioc, SIGUSR1);
  std::function<void()> wait_stop = [&] {
    stop_signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log::notice(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                  ", stopping gracefully");
      stop();
    });
  };
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      log::notice("received SIGHUP, reloading configuration");
      reload("SIGHUP");
      wait_hup();
    });
  };
  std::function<void()> wait_usr1 = [&] {
    usr1.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      if (access_log) access_log->reopen();
      log::notice("received SIGUSR1, reopened the access log");
      wait_usr1();
    });
  };
  wait_stop();
  wait_hup();
  wait_usr1();
  start_watchdog();
  start_key_rotation();
  file_watch = std::make_unique<FileWatch>(main_ioc, [this](const std::string& changed) {
    if (stopping.load()) return;
    log::notice("file watch: " + changed + " changed, reloading configuration");
    reload("file watch");
  });
  update_file_watch();
  notify("READY=1");
  log::info("ready");

  main_ioc.run();

  for (auto& t : threads) t.join();
  if (access_log) access_log->flush_and_stop();
  log::info("stopped");
  return 0;
}

void Server::Impl::stop() {
  asio::post(main_ioc, [this] {
    if (stopping.exchange(true)) return;
    notify("STOPPING=1");
    boost::system::error_code ignored;
    for (auto& a : acceptors) a->socket.close(ignored);
    for (auto& w : workers) w->begin_drain();
    asio::co_spawn(main_ioc, drain(), asio::detached);
  });
}

asio::awaitable<void> Server::Impl::drain() {
  const auto gen = shared->generation.load();
  const auto deadline = SteadyClock::now() + gen->runtime->config->timeouts.drain;
  asio::steady_timer timer(main_ioc);
  while (shared->gate.total() > 0 && SteadyClock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(nothrow);
  }
  if (shared->gate.total() > 0) {
    log::warning("drain timeout: closing " + std::to_string(shared->gate.total()) +
                 " connection(s) still open");
    for (auto& w : workers) w->force_close();
    const auto hard = SteadyClock::now() + std::chrono::seconds(2);
    while (shared->gate.total() > 0 && SteadyClock::now() < hard) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(nothrow);
    }
  }
  if (status_server) status_server->stop();
  for (auto& w : workers) w->ioc().stop();
  main_ioc.stop();
}

bool Server::Impl::reload(std::string_view trigger) {
  std::unique_lock lock(reload_mutex);
  const auto mono = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count();
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(mono));
  config::LoadResult loaded = source();
  Diagnostics diagnostics = loaded.diagnostics;
  GenerationPtr next;
  if (loaded.config) {
    const auto& cfg = *loaded.config;
    if (listener_addresses(cfg) != initial_listeners) {
      diagnostics.push_back(Diagnostic{cfg.source, 0, 0,
                                       "listeners changed: listener changes need a restart; "
                                       "nothing was reloaded"});
    } else {
      BuildResult built = build_generation(loaded.config, upstreams, generation_number + 1);
      diagnostics.insert(diagnostics.end(), built.diagnostics.begin(), built.diagnostics.end());
      next = built.generation;
      if (next) {
        if (cfg.access_log.path != initial_access_log)
          log::warning("access_log.path changes need a restart; still writing to " + initial_access_log);
        if (cfg.status.listen != initial_status)
          log::warning("status.listen changes need a restart");
        if (cfg.workers != initial_workers) log::warning("workers changes need a restart");
        if (cfg.rate_limits.store != initial_store)
          log::warning("rate_limits.store changes need a restart; still using " + initial_store);
        if (!rotate_keys(cfg)) log::warning("challenge keys not reloaded; the old ones stay");
      }
    }
  }
  ReloadResult result;
  result.trigger = std::string(trigger);
  result.at = std::chrono::system_clock::now();
  if (!next || has_errors(diagnostics)) {
    log_diagnostics(diagnostics);
    log::error("reload failed; still serving configuration generation " +
               std::to_string(generation_number));
    result.result = "failed";
    for (const auto& d : diagnostics) {
      if (d.severity == Diagnostic::Severity::error) result.errors.push_back(d.format());
    }
    stats.reloads_failed.inc();
    last_reload = std::move(result);
    lock.unlock();
    update_file_watch();  // the old configuration's files: a fix of the broken one reloads
    notify("READY=1");
    return false;
  }
  log_diagnostics(diagnostics);  // warnings
  log::set_level(loaded.config->log_level);
  ++generation_number;
  shared->generation.store(next);
  stats.reloads_ok.inc();
  stats.config_generation.set(static_cast<std::int64_t>(generation_number));
  result.result = "ok";
  last_reload = std::move(result);
  if (access_log) access_log->reopen();
  log::notice("reloaded configuration: generation " + std::to_string(generation_number));
  lock.unlock();
  update_file_watch();
  notify("READY=1");
  return true;
}

void Server::Impl::update_file_watch() {
  if (!file_watch) return;
  const auto gen = shared->generation.load();
  const auto& cfg = *gen->runtime->config;
  if (!cfg.reload.watch) {
    if (file_watch->watched_directories() > 0) log::info("file watch: off");
    file_watch->stop();
    watched_plan = WatchPlan{};
    return;
  }
  const WatchPlan plan = plan_watches(config_watch_paths(cfg, *gen->runtime->rules));
  const auto problems = file_watch->watch(plan, cfg.reload.debounce);
  for (const std::string& problem : problems) log::warning("file watch: " + problem);
  if (plan != watched_plan || !problems.empty()) {
    log::info("file watch: watching " + std::to_string(plan.names()) + " path(s) in " +
              std::to_string(file_watch->watched_directories()) + " directories");
  }
  watched_plan = plan;
}

json::object Server::Impl::status_document() {
  json::object doc;
  const auto gen = shared->generation.load();
  const auto& rt = *gen->runtime;
  doc["version"] = BAWWAB_VERSION;
  doc["pid"] = static_cast<std::int64_t>(::getpid());
  doc["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now() - started_at).count();
  doc["started_at"] = utc_timestamp(started_at);
  doc["state"] = stopping.load() ? "draining" : "serving";
  doc["workers"] = static_cast<std::int64_t>(workers.size());

  json::object config;
  config["source"] = rt.config->source;
  config["generation"] = rt.generation;
  config["loaded_at"] = utc_timestamp(rt.loaded_at);
  config["rules_version"] = std::string(rt.rules->version());
  config["watch"] = rt.config->reload.watch;
  doc["config"] = std::move(config);
  {
    std::lock_guard lock(reload_mutex);
    json::object r;
    r["result"] = last_reload.result;
    if (last_reload.result != "none") {
      r["at"] = utc_timestamp(last_reload.at);
      r["trigger"] = last_reload.trigger;
    }
    json::array errors;
    for (const auto& e : last_reload.errors) errors.emplace_back(e);
    r["errors"] = std::move(errors);
    r["ok_total"] = stats.reloads_ok.value();
    r["failed_total"] = stats.reloads_failed.value();
    doc["last_reload"] = std::move(r);
  }

  json::object conns;
  conns["active"] = stats.connections_active.value();
  conns["accepted_total"] = stats.connections_total.value();
  conns["rejected_total"] = stats.connections_rejected_total_limit.value() +
                            stats.connections_rejected_per_ip_limit.value();
  doc["connections"] = std::move(conns);

  json::object requests;
  static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto v = stats.requests_by_class[i]->value();
    requests[kClasses[i]] = v;
    total += v;
  }
  requests["total"] = total;
  doc["requests"] = std::move(requests);

  json::array ups;
  const auto now = SteadyClock::now();
  for (const auto& [name, group] : gen->upstreams->groups()) {
    for (const auto* s : group->servers) {
      json::object o;
      o["group"] = name;
      o["server"] = s->url();
      o["state"] = s->available(now) ? "up" : "down";
      o["consecutive_failures"] = s->consecutive_failures();
      o["requests"] = s->requests();
      o["failures"] = s->failures();
      o["connections_opened"] = s->connects();
      o["active"] = s->active();
      ups.push_back(std::move(o));
    }
  }
  doc["upstreams"] = std::move(ups);

  // The verifier's own counts, fresher than /metrics (published once a second).
  json::object crawlers;
  crawlers["verify_dns"] = crawler_verifier != nullptr;
  if (crawler_verifier) {
    const auto cs = crawler_verifier->stats();
    crawlers["lookups"] = cs.lookups;
    crawlers["cache_hits"] = cs.hits;
    crawlers["dns_started"] = cs.started;
    crawlers["dns_completed"] = cs.completed;
    crawlers["dns_failures"] = cs.failures;
    crawlers["dns_timeouts"] = cs.timeouts;
    crawlers["dns_not_started"] = cs.not_started;
    crawlers["dns_in_flight"] = static_cast<std::uint64_t>(cs.in_flight);
    crawlers["cache_entries"] = static_cast<std::uint64_t>(cs.entries);
    crawlers["cache_evictions"] = cs.evictions;
  }
  doc["crawler_verifier"] = std::move(crawlers);

  json::object alog;
  alog["path"] = access_log ? access_log->path() : std::string("off");
  alog["written"] = access_log ? access_log->written() : 0;
  alog["dropped"] = access_log ? access_log->dropped() : 0;
  doc["access_log"] = std::move(alog);
  return doc;
}

Server::Server(ConfigSource source) : impl_(std::make_unique<Impl>(std::move(source))) {}
Server::~Server() {
  for (auto& w : impl_->workers) w->ioc().stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}
bool Server::start() { return impl_->start(); }
int Server::run() { return impl_->run(); }
void Server::stop() { impl_->stop(); }
bool Server::reload() {
  // Run on the main loop so a reload never races the drain or the status document.
  std::promise<bool> done;
  auto result = done.get_future();
  asio::post(impl_->main_ioc, [this, &done] { done.set_value(impl_->reload("api")); });
  return result.get();
}
std::vector<net::Endpoint> Server::listening() const { return impl_->bound; }
std::optional<net::Endpoint> Server::status_endpoint() const { return impl_->status_bound; }

}  // namespace bawwab::server
