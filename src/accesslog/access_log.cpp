#include "bawwab/accesslog/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "bawwab/core/log.hpp"
#include "bawwab/status/metrics.hpp"
#include "json_line_detail.hpp"

namespace bawwab::accesslog {
namespace {

constexpr int open_flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
constexpr mode_t open_mode = 0640;

status::Counter& lines_counter() {
  return status::default_registry().counter("bawwab_access_log_lines_total",
                                            "Access log lines written.");
}

status::Counter& dropped_counter() {
  return status::default_registry().counter(
      "bawwab_access_log_dropped_total",
      "Access log lines dropped: queue full, log stopped, or a failed write.");
}

// strerror() is not thread-safe; error_code::message() is.
std::string errno_text(int e) {
  return boost::system::error_code(e, boost::system::system_category()).message();
}

}  // namespace

Result<std::unique_ptr<AccessLog>> AccessLog::open(std::string path, std::size_t queue_lines) {
  Mode mode = Mode::file;
  int fd = -1;
  if (path == "off") {
    mode = Mode::off;
  } else if (path == "-") {
    mode = Mode::stderr_stream;
    fd = STDERR_FILENO;
  } else {
    fd = ::open(path.c_str(), open_flags, open_mode);
    if (fd < 0) return boost::system::error_code(errno, boost::system::system_category());
  }
  return std::unique_ptr<AccessLog>(new AccessLog(mode, std::move(path), fd, queue_lines));
}

AccessLog::AccessLog(Mode mode, std::string path, int fd, std::size_t queue_lines)
    : mode_(mode),
      path_(std::move(path)),
      fd_(fd),
      capacity_(std::max<std::size_t>(queue_lines, 1)),
      lines_total_(lines_counter()),
      dropped_total_(dropped_counter()) {
  if (mode_ != Mode::off) writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() { flush_and_stop(); }

void AccessLog::drop(std::uint64_t n) noexcept {
  dropped_.fetch_add(n, std::memory_order_relaxed);
  dropped_total_.inc(n);
}

void AccessLog::submit(AccessRecord r) noexcept {
  if (mode_ == Mode::off) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) {
      // Dropping a log line is better than making a request wait for the disk.
      drop(1);
      return;
    }
    try {
      queue_.push_back(std::move(r));
    } catch (...) {  // bad_alloc: the same answer as a full queue
      drop(1);
      return;
    }
    wake = queue_.size() == 1;  // the writer sleeps only when the queue is empty
  }
  if (wake) wake_.notify_one();
}

void AccessLog::reopen() {
  if (mode_ != Mode::file) return;
  {
    std::lock_guard lock(mutex_);
    reopen_requested_ = true;
  }
  wake_.notify_one();
}

void AccessLog::flush_and_stop() {
  std::call_once(stopped_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable()) writer_.join();
  });
}

void AccessLog::run() {
  std::vector<AccessRecord> batch;
  std::string buffer;
  for (;;) {
    bool reopen = false;
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || reopen_requested_ || !queue_.empty(); });
      batch.swap(queue_);  // submitters go on filling the (emptied, capacity-keeping) other one
      reopen = std::exchange(reopen_requested_, false);
      stop = stopping_;  // nothing is queued after stopping_ is seen: submit() drops then
    }
    if (reopen) reopen_now();
    if (!batch.empty()) write_batch(batch, buffer);
    batch.clear();
    if (stop) break;
  }
  if (mode_ == Mode::file && fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AccessLog::write_batch(std::vector<AccessRecord>& batch, std::string& buffer) {
  buffer.clear();
  std::size_t formatted = 0;
  try {
    for (const AccessRecord& r : batch) {
      detail::append_json_line(buffer, r);
      ++formatted;
    }
  } catch (...) {  // bad_alloc: write what was formatted, count the rest as dropped
    drop(batch.size() - formatted);
  }
  // One write(2) per batch; more only when the kernel takes part of it (pipes, full disks).
  std::size_t done = 0;
  int error = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::write(fd_, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // Lines are whole only up to the last newline written.
  const auto lines = static_cast<std::uint64_t>(
      std::count(buffer.data(), buffer.data() + done, '\n'));
  written_.fetch_add(lines, std::memory_order_relaxed);
  lines_total_.inc(lines);
  if (error != 0) {
    drop(formatted - lines);
    // One warning per failure streak, not one per batch while the disk stays full.
    if (!write_failing_) {
      log::warning("access log " + path_ + ": write failed: " + errno_text(error) +
                   "; dropping lines until it works again");
    }
    write_failing_ = true;
  } else if (write_failing_) {
    log::notice("access log " + path_ + ": writing again");
    write_failing_ = false;
  }
}

void AccessLog::reopen_now() {
  const int fd = ::open(path_.c_str(), open_flags, open_mode);
  if (fd < 0) {
    log::warning("access log " + path_ + ": reopen failed: " + errno_text(errno) +
                 "; still writing to the old file");
    return;
  }
  ::close(fd_);
  fd_ = fd;
  log::info("access log " + path_ + ": reopened");
}

}  // namespace bawwab::accesslog
