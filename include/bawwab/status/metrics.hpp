#pragma once
// Metrics: counters, gauges and histograms that every module declares once (in its Stats struct)
// and bumps on the hot path with relaxed atomics. The registry owns them, renders the Prometheus
// text format for /metrics and a JSON object for /status.
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bawwab::status {

// {{"class", "2xx"}, {"site", "news"}}. Order does not matter: the registry sorts by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonic count. Thread-safe, lock-free; lives as long as its Registry.
// alignas(64): two hot counters bumped from different threads never share a cache line.
class alignas(64) Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (open connections, config version). Thread-safe, lock-free.
class alignas(64) Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// A distribution over fixed upper bounds (Prometheus "le" semantics: v <= bound). observe() is
// thread-safe and lock-free. A scrape racing with observe() may see the sum of one observation
// that its buckets do not show yet; count always equals the +Inf bucket.
class Histogram {
 public:
  // Bounds are sorted and deduplicated; non-finite ones are dropped (+Inf is implicit).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN is ignored: one bad measurement must not poison the sum for the life of the process.
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf; cumulative like "le"
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Thread-safe.
  Snapshot snapshot() const;
  // Thread-safe.
  std::uint64_t count() const noexcept;
  // Thread-safe.
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// The Prometheus client default buckets (seconds): .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> default_buckets();

// Owner of all metrics. Registration takes a mutex (start-up, reload); the returned references
// stay valid as long as the Registry. Registering the same name and labels again returns the same
// metric, so a module rebuilt on reload keeps its counts. A name registered with another type, an
// invalid metric or label name, or a duplicate label name aborts with a message: names are
// constants in the code, so this is a programming error found by the first test run.
class Registry {
 public:
  enum class ProcessMetrics { off, on };
  // ProcessMetrics::on adds process_* families (start time, resident memory, open fds, CPU) to
  // each exposition, read from /proc at scrape time.
  explicit Registry(ProcessMetrics process = ProcessMetrics::off);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Thread-safe.
  Counter& counter(std::string name, std::string help, Labels labels = {});
  // Thread-safe.
  Gauge& gauge(std::string name, std::string help, Labels labels = {});
  // Thread-safe. Empty bounds mean default_buckets(). A histogram registered again keeps the
  // bounds it was first created with.
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds,
                       Labels labels = {});

  // Text exposition format 0.0.4, families sorted by name, each with one # HELP and # TYPE.
  // Thread-safe.
  std::string prometheus_text() const;
  // name -> value for an unlabelled metric; name -> {"k=v,k2=v2": value} when labelled;
  // a histogram's value is {"count", "sum", "buckets": {"le": cumulative}}. Thread-safe.
  boost::json::object to_json() const;

 private:
  struct Family;
  struct Child;
  Family& family_locked(std::string& name, std::string& help, int type);
  Child* find_child_locked(Family& f, const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // sorted by name
  ProcessMetrics process_;
};

// The process-wide registry (with process metrics) that modules register their Stats in.
// Thread-safe; lives until exit.
Registry& default_registry();

// Prometheus label-value escaping: backslash, double quote and newline; invalid UTF-8 becomes
// U+FFFD so that the exposition stays valid UTF-8. Exposed for tests.
std::string escape_label_value(std::string_view v);

}  // namespace bawwab::status
