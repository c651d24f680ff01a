#include "bawwab/status/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bawwab/core/log.hpp"
#include "bawwab/core/text.hpp"

namespace bawwab::status {
namespace {

enum Type { counter_type = 0, gauge_type = 1, histogram_type = 2 };

const char* type_name(int t) {
  switch (t) {
    case counter_type: return "counter";
    case gauge_type: return "gauge";
    default: return "histogram";
  }
}

[[noreturn]] void fail(const std::string& message) {
  log::error("metrics registry: " + message);
  std::abort();
}

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty() || n.starts_with("__")) return false;  // "__" is reserved for Prometheus
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}


// Help text escaping (format 0.0.4): backslash and newline only.
std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// {a="x",b="y"} with an optional extra label (the histogram's le) at the end; "" when empty.
std::string label_text(const Labels& labels, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

// /status keys for labelled values: "class=2xx,site=news".
std::string label_key(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

// ---- process metrics (Linux /proc), read at scrape time --------------------------------------

const auto static_start_time = std::chrono::system_clock::now();

// Start time of this process from the kernel (boot time + starttime ticks), like the Prometheus
// Go client; falls back to the time this library was initialised.
double process_start_time_seconds() {
  static const double value = [] {
    const double fallback =
        std::chrono::duration<double>(static_start_time.time_since_epoch()).count();
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line)) return fallback;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return fallback;
    std::istringstream fields(line.substr(close + 1));
    std::string token;
    unsigned long long start_ticks = 0;
    for (int field = 3; fields >> token; ++field) {  // field 3 (state) follows "(comm)"
      if (field == 22) {
        start_ticks = std::strtoull(token.c_str(), nullptr, 10);
        break;
      }
    }
    std::ifstream proc_stat("/proc/stat");
    unsigned long long btime = 0;
    while (std::getline(proc_stat, line)) {
      if (line.starts_with("btime ")) btime = std::strtoull(line.c_str() + 6, nullptr, 10);
    }
    const long ticks = ::sysconf(_SC_CLK_TCK);
    if (btime == 0 || start_ticks == 0 || ticks <= 0) return fallback;
    return static_cast<double>(btime) + static_cast<double>(start_ticks) / ticks;
  }();
  return value;
}

struct ProcessValues {
  double start_time = 0;
  double cpu_seconds = 0;
  long long resident_bytes = -1;
  long long virtual_bytes = -1;
  long long open_fds = -1;
  long long max_fds = -1;
};

ProcessValues read_process_values() {
  ProcessValues p;
  p.start_time = process_start_time_seconds();
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    const auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    p.cpu_seconds = secs(ru.ru_utime) + secs(ru.ru_stime);
  }
  if (std::FILE* f = std::fopen("/proc/self/statm", "re")) {
    unsigned long long size = 0, resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
      const long page = ::sysconf(_SC_PAGESIZE);
      p.virtual_bytes = static_cast<long long>(size) * page;
      p.resident_bytes = static_cast<long long>(resident) * page;
    }
    std::fclose(f);
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    long long n = 0;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    p.open_fds = n > 0 ? n - 1 : 0;  // not counting the descriptor we just read it with
  }
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    p.max_fds = static_cast<long long>(rl.rlim_cur);
  return p;
}

void append_sample(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type, std::string_view value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

// ---- Histogram ---------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds) {
  std::erase_if(bounds, [](double b) { return !std::isfinite(b); });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds_ = std::move(bounds);
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  // First bound >= v ("le"); past the end is the +Inf bucket.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ---- Registry ----------------------------------------------------------------------------------

struct Registry::Child {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct Registry::Family {
  std::string name;
  std::string help;
  int type = counter_type;
  std::vector<std::unique_ptr<Child>> children;  // in registration order
};

Registry::Registry(ProcessMetrics process) : process_(process) {
  if (process_ == ProcessMetrics::on) process_start_time_seconds();  // read it once, early
}

Registry::~Registry() = default;

Registry::Family& Registry::family_locked(std::string& name, std::string& help, int type) {
  if (!valid_metric_name(name)) fail("invalid metric name \"" + name + "\"");
  auto it = std::lower_bound(families_.begin(), families_.end(), name,
                             [](const auto& f, const std::string& n) { return f->name < n; });
  if (it != families_.end() && (*it)->name == name) {
    if ((*it)->type != type) {
      fail("metric " + name + " registered as " + type_name(type) + " but already is a " +
           type_name((*it)->type));
    }
    return **it;
  }
  auto f = std::make_unique<Family>();
  f->name = std::move(name);
  f->help = std::move(help);
  f->type = type;
  return **families_.insert(it, std::move(f));
}

Registry::Child* Registry::find_child_locked(Family& f, const Labels& labels) {
  for (auto& c : f.children)
    if (c->labels == labels) return c.get();
  return nullptr;
}

namespace {

Labels canonical_labels(Labels labels, const std::string& metric, bool histogram) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& n = labels[i].first;
    if (!valid_label_name(n)) fail("metric " + metric + ": invalid label name \"" + n + "\"");
    if (histogram && n == "le") fail("metric " + metric + ": label \"le\" is reserved");
    if (i > 0 && labels[i - 1].first == n) fail("metric " + metric + ": duplicate label " + n);
  }
  return labels;
}

}  // namespace

Counter& Registry::counter(std::string name, std::string help, Labels labels) {
  labels = canonical_labels(std::move(labels), name, false);
  std::lock_guard lock(mutex_);
  Family& f = family_locked(name, help, counter_type);
  if (Child* c = find_child_locked(f, labels)) return *c->counter;
  auto c = std::make_unique<Child>();
  c->labels = std::move(labels);
  c->counter = std::make_unique<Counter>();
  f.children.push_back(std::move(c));
  return *f.children.back()->counter;
}

Gauge& Registry::gauge(std::string name, std::string help, Labels labels) {
  labels = canonical_labels(std::move(labels), name, false);
  std::lock_guard lock(mutex_);
  Family& f = family_locked(name, help, gauge_type);
  if (Child* c = find_child_locked(f, labels)) return *c->gauge;
  auto c = std::make_unique<Child>();
  c->labels = std::move(labels);
  c->gauge = std::make_unique<Gauge>();
  f.children.push_back(std::move(c));
  return *f.children.back()->gauge;
}

Histogram& Registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                               Labels labels) {
  labels = canonical_labels(std::move(labels), name, true);
  std::lock_guard lock(mutex_);
  Family& f = family_locked(name, help, histogram_type);
  if (Child* c = find_child_locked(f, labels)) return *c->histogram;
  if (bounds.empty()) bounds = default_buckets();
  auto c = std::make_unique<Child>();
  c->labels = std::move(labels);
  c->histogram = std::make_unique<Histogram>(std::move(bounds));
  f.children.push_back(std::move(c));
  return *f.children.back()->histogram;
}

std::string Registry::prometheus_text() const {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
      out += "# HELP ";
      out += f->name;
      out += ' ';
      out += escape_help(f->help);
      out += "\n# TYPE ";
      out += f->name;
      out += ' ';
      out += type_name(f->type);
      out += '\n';
      for (const auto& c : f->children) {
        if (f->type == counter_type || f->type == gauge_type) {
          out += f->name;
          out += label_text(c->labels);
          out += ' ';
          out += f->type == counter_type ? std::to_string(c->counter->value())
                                         : std::to_string(c->gauge->value());
          out += '\n';
          continue;
        }
        const Histogram::Snapshot s = c->histogram->snapshot();
        const auto& bounds = c->histogram->bounds();
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          out += f->name;
          out += "_bucket";
          out += label_text(c->labels, "le", i < bounds.size() ? format_double(bounds[i]) : "+Inf");
          out += ' ';
          out += std::to_string(s.cumulative[i]);
          out += '\n';
        }
        const std::string labels = label_text(c->labels);
        out += f->name + "_sum" + labels + ' ' + format_double(s.sum) + '\n';
        out += f->name + "_count" + labels + ' ' + std::to_string(s.count) + '\n';
      }
    }
  }
  if (process_ == ProcessMetrics::on) {
    const ProcessValues p = read_process_values();
    append_sample(out, "process_cpu_seconds_total",
                  "Total user and system CPU time spent in seconds.", "counter",
                  format_double(p.cpu_seconds));
    if (p.open_fds >= 0)
      append_sample(out, "process_open_fds", "Number of open file descriptors.", "gauge",
                    std::to_string(p.open_fds));
    if (p.max_fds >= 0)
      append_sample(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
                    std::to_string(p.max_fds));
    if (p.resident_bytes >= 0)
      append_sample(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                    "gauge", std::to_string(p.resident_bytes));
    if (p.virtual_bytes >= 0)
      append_sample(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge",
                    std::to_string(p.virtual_bytes));
    append_sample(out, "process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.", "gauge",
                  format_double(p.start_time));
  }
  return out;
}

boost::json::object Registry::to_json() const {
  boost::json::object out;
  const auto value_of = [](int type, const Child& c) -> boost::json::value {
    if (type == counter_type) return c.counter->value();
    if (type == gauge_type) return c.gauge->value();
    const Histogram::Snapshot s = c.histogram->snapshot();
    boost::json::object h;
    h["count"] = s.count;
    h["sum"] = std::isfinite(s.sum) ? boost::json::value(s.sum) : boost::json::value(nullptr);
    boost::json::object buckets;
    const auto& bounds = c.histogram->bounds();
    for (std::size_t i = 0; i <= bounds.size(); ++i)
      buckets[i < bounds.size() ? format_double(bounds[i]) : "+Inf"] = s.cumulative[i];
    h["buckets"] = std::move(buckets);
    return h;
  };
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
      if (f->children.size() == 1 && f->children.front()->labels.empty()) {
        out[f->name] = value_of(f->type, *f->children.front());
        continue;
      }
      boost::json::object per_label;
      for (const auto& c : f->children) per_label[label_key(c->labels)] = value_of(f->type, *c);
      out[f->name] = std::move(per_label);
    }
  }
  if (process_ == ProcessMetrics::on) {
    const ProcessValues p = read_process_values();
    out["process_cpu_seconds_total"] = p.cpu_seconds;
    if (p.open_fds >= 0) out["process_open_fds"] = p.open_fds;
    if (p.max_fds >= 0) out["process_max_fds"] = p.max_fds;
    if (p.resident_bytes >= 0) out["process_resident_memory_bytes"] = p.resident_bytes;
    if (p.virtual_bytes >= 0) out["process_virtual_memory_bytes"] = p.virtual_bytes;
    out["process_start_time_seconds"] = p.start_time;
  }
  return out;
}

Registry& default_registry() {
  // Never destroyed: modules' static Stats may still bump counters during exit.
  static Registry* const registry = new Registry(Registry::ProcessMetrics::on);
  return *registry;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      const std::size_t len = utf8_sequence_length(v, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
        continue;
      }
      out.append(v.substr(i, len));
      i += len;
      continue;
    }
    ++i;
  }
  return out;
}

}  // namespace bawwab::status
