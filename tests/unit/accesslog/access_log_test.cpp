#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/status/metrics.hpp"

using namespace bawwab::accesslog;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() /
            ("bawwab_accesslog_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

AccessRecord record(std::uint64_t id, std::string path = "/") {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.request_id = id;
  r.method = "GET";
  r.path = std::move(path);
  r.status = 200;
  return r;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::uint64_t registry_value(const char* name) {
  const auto o = bawwab::status::default_registry().to_json();
  const auto* v = o.if_contains(name);
  return v ? v->to_number<std::uint64_t>() : 0;
}

}  // namespace

TEST_CASE("access log to a file: one JSON line per record", "[accesslog]") {
  TempDir dir;
  const fs::path file = dir / "access.log";
  const std::uint64_t lines_before = registry_value("bawwab_access_log_lines_total");

  auto log = AccessLog::open(file.string(), 1024);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  CHECK(al.enabled());
  for (std::uint64_t i = 1; i <= 100; ++i) al.submit(record(i, "/p" + std::to_string(i)));
  al.flush_and_stop();
  CHECK(al.written() == 100);
  CHECK(al.dropped() == 0);
  CHECK(registry_value("bawwab_access_log_lines_total") - lines_before >= 100);

  const auto lines = read_lines(file);
  REQUIRE(lines.size() == 100);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto r = parse_json_line(lines[i]);
    REQUIRE(r.has_value());
    CHECK(r->request_id == i + 1);  // one submitter: order kept
    CHECK(r->path == "/p" + std::to_string(i + 1));
  }

  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK((st.st_mode & 0777) == (0640 & ~mask));
}

TEST_CASE("access log appends to an existing file", "[accesslog]") {
  TempDir dir;
  const fs::path file = dir / "access.log";
  std::ofstream(file) << "existing line\n";
  {
    auto log = AccessLog::open(file.string(), 16);
    REQUIRE(log.has_value());
    (*log)->submit(record(1));
  }  // the destructor flushes
  const auto lines = read_lines(file);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "existing line");
  CHECK(parse_json_line(lines[1]).has_value());
}

TEST_CASE("access log reopen after rename (log rotation)", "[accesslog]") {
  TempDir dir;
  const fs::path file = dir / "access.log";
  const fs::path rotated = dir / "access.log.1";
  auto log = AccessLog::open(file.string(), 64);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  al.submit(record(1));
  al.submit(record(2));
  REQUIRE(wait_for([&] { return al.written() == 2; }));

  fs::rename(file, rotated);
  al.submit(record(3));  // still goes to the renamed file: same descriptor
  REQUIRE(wait_for([&] { return al.written() == 3; }));
  al.reopen();
  al.submit(record(4));
  al.submit(record(5));
  al.flush_and_stop();

  const auto old_lines = read_lines(rotated);
  const auto new_lines = read_lines(file);
  REQUIRE(old_lines.size() == 3);
  REQUIRE(new_lines.size() == 2);
  CHECK(parse_json_line(old_lines[2])->request_id == 3);
  CHECK(parse_json_line(new_lines[0])->request_id == 4);
  CHECK(parse_json_line(new_lines[1])->request_id == 5);
}

TEST_CASE("access log reopen failure keeps the old file", "[accesslog]") {
  TempDir dir;
  const fs::path sub = dir / "logs";
  fs::create_directories(sub);
  const fs::path file = sub / "access.log";
  auto log = AccessLog::open(file.string(), 64);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  fs::rename(sub, dir / "logs.old");  // the directory is gone: reopen cannot create the file
  al.reopen();
  al.submit(record(1));
  al.flush_and_stop();
  CHECK(al.written() == 1);
  CHECK(read_lines(dir / "logs.old" / "access.log").size() == 1);
}

TEST_CASE("access log drops lines when the sink is slow and the queue full", "[accesslog]") {
  TempDir dir;
  const fs::path fifo = dir / "slow.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The reader end first, so that opening the writer end does not block; nobody reads yet, so
  // the writer thread blocks once the pipe buffer (64 KiB) is full.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  const std::uint64_t dropped_before = registry_value("bawwab_access_log_dropped_total");

  auto log = AccessLog::open(fifo.string(), 8);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  const std::string long_path = "/" + std::string(500, 'x');  // > 64 KiB in 2000 lines
  constexpr std::uint64_t total = 2000;
  for (std::uint64_t i = 0; i < total; ++i) al.submit(record(i, long_path));  // never blocks
  CHECK(al.dropped() > 0);
  CHECK(registry_value("bawwab_access_log_dropped_total") - dropped_before >= al.dropped());

  // Drain the pipe so that the writer can finish.
  std::string received;
  std::thread drain([&] {
    ::fcntl(reader, F_SETFL, 0);  // blocking reads from here on
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(reader, buf, sizeof buf);
      if (n <= 0) break;  // EOF once the writer closed its end
      received.append(buf, static_cast<std::size_t>(n));
    }
  });
  al.flush_and_stop();
  drain.join();
  ::close(reader);
  CHECK(al.written() + al.dropped() == total);
  CHECK(static_cast<std::uint64_t>(std::count(received.begin(), received.end(), '\n')) ==
        al.written());
}

TEST_CASE("access log flush_and_stop drains the queue; later submits are dropped",
          "[accesslog]") {
  TempDir dir;
  const fs::path file = dir / "access.log";
  auto log = AccessLog::open(file.string(), 100000);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  for (std::uint64_t i = 0; i < 5000; ++i) al.submit(record(i));
  al.flush_and_stop();
  CHECK(al.written() == 5000);
  CHECK(al.dropped() == 0);
  al.submit(record(9999));
  CHECK(al.dropped() == 1);
  al.flush_and_stop();  // idempotent
  CHECK(read_lines(file).size() == 5000);
}

TEST_CASE("access log from several threads: every line accounted for", "[accesslog]") {
  TempDir dir;
  const fs::path file = dir / "access.log";
  auto log = AccessLog::open(file.string(), 256);
  REQUIRE(log.has_value());
  AccessLog& al = **log;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&al, t] {
      for (std::uint64_t i = 0; i < 2000; ++i) al.submit(record(t * 10000 + i));
    });
  }
  for (auto& t : threads) t.join();
  al.flush_and_stop();
  CHECK(al.written() + al.dropped() == 8000);
  const auto lines = read_lines(file);
  CHECK(lines.size() == al.written());
  for (const auto& line : lines) REQUIRE(parse_json_line(line).has_value());  // no torn lines
}

TEST_CASE("access log off and stderr", "[accesslog]") {
  auto off = AccessLog::open("off", 16);
  REQUIRE(off.has_value());
  CHECK_FALSE((*off)->enabled());
  (*off)->submit(record(1));
  (*off)->reopen();
  (*off)->flush_and_stop();
  CHECK((*off)->written() == 0);
  CHECK((*off)->dropped() == 0);

  auto err = AccessLog::open("-", 16);
  REQUIRE(err.has_value());
  CHECK((*err)->enabled());
  (*err)->submit(record(7, "/to-stderr"));
  (*err)->flush_and_stop();
  CHECK((*err)->written() == 1);
  CHECK(::fcntl(STDERR_FILENO, F_GETFD) != -1);  // stderr is not closed
}

TEST_CASE("access log open reports the errno", "[accesslog]") {
  const auto r = AccessLog::open("/nonexistent-dir-bawwab/access.log", 16);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == boost::system::error_code(ENOENT, boost::system::system_category()));
}
