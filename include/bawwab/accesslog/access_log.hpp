#pragma once
// The access log: one JSON line per request, formatted and written by a thread of its own so that
// the event loop never waits for a disk. The session fills an AccessRecord on every path (logging
// always runs last) and submits it; when the queue is full the line is dropped and counted.
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bawwab/core/error.hpp"

namespace bawwab::status {
class Counter;
}

namespace bawwab::accesslog {

// One request. Every field is always written (stable keys for log tools); "" means absent.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request started; logged to the ms
  std::uint64_t request_id = 0;
  std::string client_ip;  // after trusted-proxy resolution
  std::string peer;       // the TCP peer, "1.2.3.4:5678"
  std::string site;
  std::string host;
  std::string method;
  std::string path;  // origin-form target (absolute-form is reduced to it)
  std::string http_version = "1.1";
  bool tls = false;
  unsigned status = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double duration_ms = 0;
  std::optional<double> upstream_ms;
  std::string upstream;  // the upstream server's url, or ""
  std::string error;     // "" or a short reason: "upstream_timeout", "bad_request: obs-fold"
  std::string user_agent;
  std::string referer;
  // Fields added by later stages (decision, rule, score, signals), written after the fixed ones
  // in this order. A key that collides with a fixed field is written under "x_" + key.
  std::vector<std::pair<std::string, boost::json::value>> extra;
};

// One line of JSON with a trailing '\n'. Keys are stable snake_case in a fixed order; the time is
// UTC ISO 8601 to the millisecond ("2024-05-01T12:34:56.789Z"), durations have microsecond
// precision, a missing upstream_ms and non-finite numbers are null. Any bytes give valid JSON:
// control characters are escaped and each byte of invalid UTF-8 becomes U+FFFD. Thread-safe.
std::string to_json_line(const AccessRecord& r);

// Reads a line written by to_json_line back (for `bawwab replay`). Unknown keys go to extra;
// missing keys keep their defaults. Errors: invalid JSON, a non-object, a key of the wrong type
// or an unreadable time. Thread-safe.
Result<AccessRecord> parse_json_line(std::string_view line);

// The writer. Thread-safe: submit() from any number of threads; reopen() and flush_and_stop()
// from any thread (not from a signal handler: use an asio::signal_set). The destructor calls
// flush_and_stop().
class AccessLog {
 public:
  // path "-" = stderr, "off" = disabled (submit does nothing), else a file opened for append
  // (created with mode 0640 before umask). queue_lines bounds the records waiting for the writer
  // (at least 1). The open error is the errno of open(2).
  static Result<std::unique_ptr<AccessLog>> open(std::string path, std::size_t queue_lines);

  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Never blocks on I/O: queues the record, or drops and counts it when the queue is full (or
  // after flush_and_stop()).
  void submit(AccessRecord r) noexcept;
  // Log rotation: the writer reopens the path before its next write. If the reopen fails the old
  // file is kept and a warning logged. No effect for stderr or "off".
  void reopen();
  // Writes what is queued, then joins the writer thread. Idempotent.
  void flush_and_stop();

  // Lines written / dropped (queue full, stopped, or a failed write) by this instance.
  std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  bool enabled() const noexcept { return mode_ != Mode::off; }
  const std::string& path() const noexcept { return path_; }

 private:
  enum class Mode { off, stderr_stream, file };
  AccessLog(Mode mode, std::string path, int fd, std::size_t queue_lines);
  void run();
  void write_batch(std::vector<AccessRecord>& batch, std::string& buffer);
  void reopen_now();
  void drop(std::uint64_t n) noexcept;

  const Mode mode_;
  const std::string path_;
  int fd_ = -1;                 // touched only by the writer thread once it runs
  bool write_failing_ = false;  // writer thread only
  const std::size_t capacity_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<AccessRecord> queue_;  // guarded by mutex_
  bool stopping_ = false;            // guarded by mutex_
  bool reopen_requested_ = false;    // guarded by mutex_

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  status::Counter& lines_total_;
  status::Counter& dropped_total_;

  std::thread writer_;
  std::once_flag stopped_once_;
};

}  // namespace bawwab::accesslog
