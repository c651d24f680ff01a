#include "bawwab/server/file_watch.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fnmatch.h>
#include <sys/inotify.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "bawwab/config/config.hpp"
#include "bawwab/core/log.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::server {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// What a directory watch reports. Not IN_MODIFY (one event per write(2)): IN_CLOSE_WRITE says
// the writer is done. IN_ATTRIB: a chmod that makes a file readable, and `touch`, the operator's
// way to ask for a reload.
constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR;

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

bool WatchPlan::matches(std::string_view directory, std::string_view name) const {
  const auto it = directories.find(std::string(directory));
  if (it == directories.end()) return false;
  // Kubernetes ConfigMap and Secret volumes: the files are symlinks through "..data", which the
  // kubelet swaps atomically ("..2026_11_30_..." then a rename to "..data").
  if (name.starts_with("..")) return true;
  const std::string n(name);
  for (const std::string& p : it->second) {
    if (has_glob_chars(p) ? ::fnmatch(p.c_str(), n.c_str(), FNM_PERIOD) == 0 : p == n) return true;
  }
  return false;
}

std::size_t WatchPlan::names() const {
  std::size_t n = 0;
  for (const auto& [dir, names] : directories) n += names.size();
  return n;
}

WatchPlan plan_watches(const std::vector<std::string>& paths) {
  WatchPlan plan;
  for (const std::string& p : paths) {
    const fs::path path = fs::path(p).lexically_normal();
    const std::string dir = path.parent_path().string();
    const std::string name = path.filename().string();
    if (dir.empty() || name.empty() || has_glob_chars(dir)) continue;
    auto& names = plan.directories[dir];
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return plan;
}

std::vector<std::string> config_watch_paths(const config::ServerConfig& cfg,
                                            const rules::RuleSet& rules) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (p.empty()) return;
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec);
    out.push_back((ec ? fs::path(p) : abs).lexically_normal().string());
  };
  if (cfg.source != "<command line>") add(cfg.source);
  for (const auto& listener : cfg.listeners) {
    for (const auto& c : listener.certificates) {
      add(c.cert_file);
      add(c.key_file);
    }
  }
  for (const std::string& p : rules.watch_paths()) add(p);
  return out;
}

class FileWatch::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& ioc, Callback cb) : ioc_(ioc), timer_(ioc), callback_(std::move(cb)) {}

  std::vector<std::string> watch(const WatchPlan& plan, std::chrono::milliseconds debounce) {
    std::vector<std::string> problems;
    debounce_ = debounce;
    if (plan.empty()) {
      stop();
      return problems;
    }
    if (!fd_) {
      const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
      if (fd < 0) {
        problems.push_back("cannot start the file watch (inotify_init1): " + errno_text(errno));
        return problems;
      }
      fd_ = std::make_unique<asio::posix::stream_descriptor>(ioc_, fd);
      ++instance_;
    }
    // Directories no longer needed first: the watch limit is per user.
    for (auto it = dir_wd_.begin(); it != dir_wd_.end();) {
      if (plan.directories.contains(it->first)) {
        ++it;
        continue;
      }
      ::inotify_rm_watch(fd_->native_handle(), it->second);
      wd_dir_.erase(it->second);
      it = dir_wd_.erase(it);
    }
    for (const auto& [dir, names] : plan.directories) {
      const int wd = ::inotify_add_watch(fd_->native_handle(), dir.c_str(), kMask);
      if (wd < 0) {
        const int e = errno;
        std::string why = errno_text(e);
        if (e == ENOSPC) why = "the inotify watch limit is reached (sysctl fs.inotify.max_user_watches)";
        problems.push_back("cannot watch " + dir + ": " + why);
        if (const auto old = dir_wd_.find(dir); old != dir_wd_.end()) {
          wd_dir_.erase(old->second);
          dir_wd_.erase(old);
        }
        continue;
      }
      dir_wd_[dir] = wd;
      wd_dir_[wd] = dir;
    }
    plan_ = plan;
    if (!reading_) read();
    return problems;
  }

  std::size_t watched() const { return dir_wd_.size(); }

  void stop() {
    boost::system::error_code ignored;
    timer_.cancel();
    pending_.clear();
    if (fd_) fd_->close(ignored);  // closes the inotify instance: every watch goes with it
    fd_.reset();
    reading_ = false;
    dir_wd_.clear();
    wd_dir_.clear();
    plan_ = WatchPlan{};
  }

 private:
  void read() {
    if (!fd_) return;
    reading_ = true;
    fd_->async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this(), instance = instance_](boost::system::error_code ec,
                                                          std::size_t n) {
          // A stop() or a new inotify instance since: this read belonged to the old one.
          if (!self->fd_ || self->instance_ != instance) return;
          self->reading_ = false;
          if (ec) {
            if (ec == asio::error::operation_aborted) return;
            log::warning("file watch stopped: " + ec.message() + "; SIGHUP still reloads");
            self->stop();
            return;
          }
          self->parse(n);
          self->read();
        });
  }

  void parse(std::size_t n) {
    std::size_t off = 0;
    while (off + sizeof(inotify_event) <= n) {
      inotify_event ev;
      std::memcpy(&ev, buffer_.data() + off, sizeof ev);
      const char* name_ptr = buffer_.data() + off + sizeof ev;
      off += sizeof ev + ev.len;
      const std::string name =
          ev.len > 0 ? std::string(name_ptr, ::strnlen(name_ptr, ev.len)) : std::string();
      if (ev.mask & IN_Q_OVERFLOW) {
        changed("(inotify queue overflow: some change was missed)");
        continue;
      }
      const auto it = wd_dir_.find(ev.wd);
      if (it == wd_dir_.end()) continue;
      const std::string dir = it->second;
      if (ev.mask & IN_IGNORED) {
        // The directory went away (deleted, renamed or unmounted): the reload that follows says
        // what is missing; the next successful reload watches again.
        log::warning("file watch: " + dir + " is gone; no longer watching it");
        dir_wd_.erase(dir);
        wd_dir_.erase(it);
        changed(dir);
        continue;
      }
      if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        changed(dir);
        continue;
      }
      if (plan_.matches(dir, name)) changed((fs::path(dir) / name).string());
    }
  }

  // One burst of changes, one callback: once it has been quiet for debounce_. A burst that never
  // goes quiet (a file rewritten in a loop) still reloads after kMaxDelay.
  void changed(std::string path) {
    const auto now = std::chrono::steady_clock::now();
    static constexpr auto kMaxDelay = std::chrono::seconds(5);
    if (pending_.empty()) {
      pending_ = std::move(path);
      burst_started_ = now;
    } else if (now - burst_started_ >= std::max<std::chrono::steady_clock::duration>(
                                           kMaxDelay, debounce_ * 4)) {
      return;  // the timer already set fires soon; do not push it back again
    }
    timer_.expires_after(debounce_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->pending_.empty()) return;
      const std::string p = std::move(self->pending_);
      self->pending_.clear();
      self->callback_(p);
    });
  }

  asio::io_context& ioc_;
  asio::steady_timer timer_;
  Callback callback_;
  std::unique_ptr<asio::posix::stream_descriptor> fd_;
  std::map<std::string, int> dir_wd_;
  std::map<int, std::string> wd_dir_;
  WatchPlan plan_;
  std::chrono::milliseconds debounce_{500};
  std::string pending_;  // the first changed path of the current burst; "" = none
  std::chrono::steady_clock::time_point burst_started_{};
  bool reading_ = false;
  std::uint64_t instance_ = 0;  // counts inotify instances: a read of an old one is ignored
  std::array<char, 64 * 1024> buffer_{};
};

FileWatch::FileWatch(asio::io_context& ioc, Callback on_change)
    : impl_(std::make_shared<Impl>(ioc, std::move(on_change))) {}

FileWatch::~FileWatch() { impl_->stop(); }

std::vector<std::string> FileWatch::watch(const WatchPlan& plan,
                                          std::chrono::milliseconds debounce) {
  return impl_->watch(plan, debounce);
}

std::size_t FileWatch::watched_directories() const { return impl_->watched(); }

void FileWatch::stop() { impl_->stop(); }

}  // namespace bawwab::server
