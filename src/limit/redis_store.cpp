#include "bawwab/limit/redis_store.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "asio_hiredis.hpp"
#include "bawwab/core/log.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/limit/gcra.hpp"

namespace bawwab::limit {
namespace {

namespace asio = boost::asio;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// limiter.hpp's decide() in Lua, run atomically by Redis with Redis's clock. Times in
// microseconds (exact in Lua's doubles up to 2^53 us, i.e. for the next 250 years).
//   KEYS[1]  the TAT, expiring when fully drained (so idle keys cost Redis nothing)
//   KEYS[2]  the ban hash {until, count}, expiring ban_max after the ban ends: the offence count
//            is forgotten when a key stayed clean that long (as decide() does)
//   ARGV     T, tau (us); "1" to ban on exceed; first ban, escalation (>= 1), ban_max (ms)
// Returns {kind, remaining, retry_after, reset, wait}: kind 0 pass, 1 reject, 2 ban.
constexpr std::string_view gcra_script = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ban = redis.call('HMGET', KEYS[2], 'until', 'count')
local ban_until = tonumber(ban[1])
if ban_until and ban_until > now then
  return {2, 0, ban_until - now, ban_until - now, 0}
end
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cap = tau + T
local base = tonumber(redis.call('GET', KEYS[1])) or now
if base < now then base = now end
if base - now > cap then base = now + cap end
local ahead = base + T - now
if ahead <= cap then
  redis.call('SET', KEYS[1], string.format('%d', base + T), 'PX', math.ceil(ahead / 1000))
  return {0, math.floor((cap - ahead) / T), 0, ahead, base - now}
end
if ARGV[3] == '1' then
  local n = tonumber(ban[2]) or 0
  local first = tonumber(ARGV[4])
  local max = tonumber(ARGV[6])
  local len = max
  if first < max then len = math.min(math.floor(first * tonumber(ARGV[5]) ^ n), max) end
  redis.call('HSET', KEYS[2], 'until', string.format('%d', now + len * 1000), 'count', n + 1)
  redis.call('PEXPIRE', KEYS[2], len + max)
  return {2, 0, len * 1000, len * 1000, 0}
end
return {1, 0, base - tau - now, base - now, 0}
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr) != 1) {
    log::error("limit: SHA-1 unavailable in OpenSSL");
    std::abort();
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xF];
  }
  return out;
}

const std::string& script_sha() {
  static const std::string sha = sha1_hex(gcra_script);
  return sha;
}

template <class Int>
std::string digits(Int v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

bool parse_digits(std::string_view s, unsigned max, unsigned& out) {
  if (s.empty() || s.size() > 5) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > max) return false;
  out = v;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool valid_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
  });
}

nanoseconds from_us(long long us) { return us > 0 ? microseconds(us) : nanoseconds(0); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// URL

std::string RedisUrl::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? '[' + host + ']' : host) + ':' + std::to_string(port) + '/' +
         std::to_string(db);
}

Result<RedisUrl> parse_redis_url(std::string_view text, std::string* why) {
  const auto fail = [&](std::string reason) -> Result<RedisUrl> {
    if (why != nullptr) *why = std::move(reason);
    return make_error_code(Errc::config_invalid);
  };
  constexpr std::string_view scheme = "redis://";
  const auto lower_prefix = [&](std::string_view p) {
    if (text.size() < p.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const char c = text[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != p[i]) return false;
    }
    return true;
  };
  if (lower_prefix("rediss://")) return fail("TLS to Redis (rediss://) is not supported");
  if (!lower_prefix(scheme)) return fail("the store URL must start with redis://");
  std::string_view rest = text.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("no query or fragment allowed in the store URL");
  }
  for (const char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return fail("the store URL contains a space, control or non-ASCII character");
    }
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  RedisUrl url;
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return fail("credentials must be ':password@' or 'user:password@'");
    }
    if (!percent_decode(userinfo.substr(0, colon), url.user) ||
        !percent_decode(userinfo.substr(colon + 1), url.password)) {
      return fail("bad percent-encoding in the credentials");
    }
    if (url.password.empty()) return fail("empty password after ':'");
  }

  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("junk after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
    auto address = net::parse_address(host);
    if (!address || !address->is_v6()) return fail("bad IPv6 address in brackets");
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
      if (port_text.find(':') != std::string_view::npos) {
        return fail("an IPv6 address must be in brackets: redis://[::1]:6379");
      }
    }
    if (host.empty()) return fail("missing host");
    if (!valid_host_name(host)) return fail("bad host name");
  }
  url.host = std::string(host);
  if (!port_text.empty()) {
    unsigned port = 0;
    if (!parse_digits(port_text, 65535, port) || port == 0) {
      return fail("port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  if (!path.empty()) {
    if (!parse_digits(path, 65535, url.db)) return fail("the path must be a database number");
  }
  return url;
}

// ---------------------------------------------------------------------------------------------
// Store

struct RedisStore::Reply {
  enum class Status { ok, error, lost, timeout } status = Status::lost;
  std::array<long long, 5> values{};
  std::string error;
};

// One command's rendezvous between hiredis's reply callback and the waiting coroutine: the
// callback fills `reply` and cancels the timer the coroutine waits on (until its deadline). The
// callback's reference keeps it alive after a timeout, when nobody waits any more.
struct RedisStore::Pending {
  explicit Pending(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  bool done = false;
  Reply reply;
};

RedisStore::RedisStore(asio::io_context& ioc, StoreConfig config, LocalLimiter& fallback,
                       StoreStats& stats)
    : ioc_(ioc),
      config_(std::move(config)),
      fallback_(fallback),
      stats_(stats),
      reconnect_timer_(ioc),
      connect_timer_(ioc),
      resolver_(ioc) {
  std::string why;
  auto url = parse_redis_url(config_.url, &why);
  if (!url) {
    log::error("limit: invalid Redis store URL (the loader should have refused it): " + why);
    std::abort();
  }
  url_ = std::move(*url);
  (void)script_sha();  // computed once, before the first request needs it
  asio::post(ioc_, [this, life = std::weak_ptr<int>(life_)] {
    if (!life.expired()) start_connect();
  });
}

RedisStore::~RedisStore() {
  stopping_ = true;
  reconnect_timer_.cancel();
  connect_timer_.cancel();
  resolver_.cancel();
  if (redisAsyncContext* ac = std::exchange(ac_, nullptr)) {
    set_state(State::idle);
    redisAsyncFree(ac);  // outstanding commands complete as lost; their waiters fall back
  }
}

void RedisStore::set_state(State s) {
  if (state_ == State::connected && s != State::connected) {
    stats_.connected.fetch_sub(1, std::memory_order_relaxed);
  }
  if (state_ != State::connected && s == State::connected) {
    stats_.connected.fetch_add(1, std::memory_order_relaxed);
  }
  state_ = s;
}

asio::awaitable<Verdict> RedisStore::check(const LimitSpec& spec, const std::string& printable_key,
                                           std::uint64_t key_hash, TimePoint now) {
  stats_.checks.fetch_add(1, std::memory_order_relaxed);
  if (auto v = cached(spec, key_hash, now)) {
    stats_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    co_return *v;
  }
  // Not connected: the incident is already logged and a reconnect scheduled; decide now rather
  // than make the request wait for a connection.
  if (state_ != State::connected) co_return fail_over(spec, key_hash, now);
  if (in_flight_ >= config_.max_in_flight) {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    note_failure("more than " + std::to_string(config_.max_in_flight) + " commands outstanding");
    co_return fail_over(spec, key_hash, now);
  }
  const auto deadline = SteadyClock::now() + config_.timeout;
  Reply r = co_await call(spec, printable_key, !script_known_, deadline);
  if (r.status == Reply::Status::error && r.error.starts_with("NOSCRIPT") &&
      state_ == State::connected) {
    // The server lost its script cache (restart, SCRIPT FLUSH): send the script itself.
    script_known_ = false;
    r = co_await call(spec, printable_key, true, deadline);
  }
  switch (r.status) {
    case Reply::Status::ok: {
      script_known_ = true;
      stats_.answered.fetch_add(1, std::memory_order_relaxed);
      note_success();
      Verdict v;
      v.spec = &spec;
      v.shadow = spec.shadow;
      const auto& x = r.values;
      if (x[0] == 2) {
        v.kind = Verdict::Kind::ban;
        v.retry_after = v.reset = from_us(x[2]);
      } else if (x[0] == 1) {
        v.kind = Verdict::Kind::reject;
        v.retry_after = from_us(x[2]);
        v.reset = from_us(x[3]);
      } else {
        v.remaining = x[1] > 0 ? static_cast<std::uint64_t>(x[1]) : 0;
        v.reset = from_us(x[3]);
        if (spec.on_exceed == OnExceed::delay && x[4] > 0) {
          v.kind = Verdict::Kind::delay;
          v.wait = from_us(x[4]);
        }
      }
      remember(key_hash, v, now);
      co_return v;
    }
    case Reply::Status::timeout: {
      stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
      note_failure("no answer within " + std::to_string(config_.timeout.count()) + " ms");
      // A connection that answers nothing at all (a stopped or wedged server) is replaced, so
      // that later checks fail over at once instead of each waiting for its deadline.
      const auto stall = std::max<nanoseconds>(std::chrono::seconds(1), config_.timeout * 4);
      if (state_ == State::connected && in_flight_ > 0 &&
          SteadyClock::now() - last_progress_ > stall) {
        drop_connection("no answer for " +
                        std::to_string(std::chrono::duration_cast<milliseconds>(
                                           SteadyClock::now() - last_progress_)
                                           .count()) +
                        " ms");
      }
      break;
    }
    case Reply::Status::error:
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      note_failure("error reply: " + r.error.substr(0, 200));
      break;
    case Reply::Status::lost:
      stats_.errors.fetch_add(1, std::memory_order_relaxed);
      note_failure(r.error.empty() ? "connection lost" : r.error);
      break;
  }
  co_return fail_over(spec, key_hash, now);
}

asio::awaitable<RedisStore::Reply> RedisStore::call(const LimitSpec& spec,
                                                    const std::string& printable_key,
                                                    bool with_script,
                                                    SteadyClock::time_point deadline) {
  if (ac_ == nullptr || state_ != State::connected) co_return Reply{};
  const GcraParams p = gcra_params(spec);
  // Redis mode works in microseconds: a limit faster than 1e6/s is treated as 1e6/s.
  const std::int64_t t_us = std::max<std::int64_t>(p.emission_ns / 1000, 1);
  const std::int64_t tau_us = p.never ? 0 : p.tolerance_ns / 1000;
  const std::string tat_key = config_.key_prefix + '{' + printable_key + '}';
  const std::string ban_key = tat_key + ":ban";
  const std::array<std::string, 6> numbers = {
      digits(p.never ? std::int64_t{1} << 50 : t_us),  // never: one request per ~35 years
      digits(tau_us),
      spec.on_exceed == OnExceed::ban ? std::string("1") : std::string("0"),
      digits(std::chrono::duration_cast<milliseconds>(spec.ban_duration).count()),
      digits(std::max(spec.ban_escalation, 1.0)),
      digits(std::chrono::duration_cast<milliseconds>(spec.ban_max).count()),
  };
  std::array<const char*, 12> argv{};
  std::array<std::size_t, 12> lens{};
  const auto set = [&](std::size_t i, std::string_view s) {
    argv[i] = s.data();
    lens[i] = s.size();
  };
  set(0, with_script ? "EVAL" : "EVALSHA");
  set(1, with_script ? gcra_script : std::string_view(script_sha()));
  set(2, "2");
  set(3, tat_key);
  set(4, ban_key);
  for (std::size_t i = 0; i < numbers.size(); ++i) set(5 + i, numbers[i]);

  auto pending = std::make_shared<Pending>(ioc_);
  auto* holder = new std::shared_ptr<Pending>(pending);
  if (in_flight_ == 0) last_progress_ = SteadyClock::now();
  if (redisAsyncCommandArgv(ac_, &RedisStore::on_reply, holder, static_cast<int>(argv.size()),
                            argv.data(), lens.data()) != REDIS_OK) {
    delete holder;
    Reply r;
    r.error = "cannot send the command";
    co_return r;
  }
  ++in_flight_;
  pending->timer.expires_at(deadline);
  if (!pending->done) {
    co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!pending->done) {
    Reply r;
    r.status = Reply::Status::timeout;
    co_return r;
  }
  co_return std::move(pending->reply);
}

void RedisStore::on_reply(redisAsyncContext* ac, void* reply_ptr, void* privdata) {
  const std::unique_ptr<std::shared_ptr<Pending>> holder(
      static_cast<std::shared_ptr<Pending>*>(privdata));
  Pending& p = **holder;
  auto* store = static_cast<RedisStore*>(ac->data);
  const auto* reply = static_cast<const redisReply*>(reply_ptr);
  if (store != nullptr) {
    --store->in_flight_;
    if (reply != nullptr) store->last_progress_ = SteadyClock::now();
  }
  p.done = true;
  Reply& r = p.reply;
  if (reply == nullptr) {
    r.status = Reply::Status::lost;  // the connection went away with the command outstanding
  } else if (reply->type == REDIS_REPLY_ERROR) {
    r.status = Reply::Status::error;
    r.error.assign(reply->str, reply->len);
  } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == r.values.size() &&
             std::all_of(reply->element, reply->element + reply->elements,
                         [](const redisReply* e) { return e->type == REDIS_REPLY_INTEGER; })) {
    r.status = Reply::Status::ok;
    for (std::size_t i = 0; i < r.values.size(); ++i) r.values[i] = reply->element[i]->integer;
  } else {
    r.status = Reply::Status::error;
    r.error = "unexpected reply to the limit script";
  }
  p.timer.cancel();  // wakes the waiting coroutine (if it still waits)
}

Verdict RedisStore::fail_over(const LimitSpec& spec, std::uint64_t key_hash, TimePoint now) {
  stats_.fallbacks.fetch_add(1, std::memory_order_relaxed);
  Verdict v;
  if (config_.on_failure == StoreConfig::OnFailure::local) {
    v = fallback_.check(spec, key_hash, now);
  } else {
    v.kind = Verdict::Kind::reject;
    v.retry_after = v.reset = std::chrono::seconds(1);
    v.spec = &spec;
    v.shadow = spec.shadow;
  }
  v.fallback = true;
  return v;
}

std::optional<Verdict> RedisStore::cached(const LimitSpec& spec, std::uint64_t key_hash,
                                          TimePoint now) {
  if (cache_.empty()) return std::nullopt;
  const auto it = cache_.find(key_hash);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.until <= now) {
    cache_.erase(it);
    return std::nullopt;
  }
  Verdict v;
  v.kind = it->second.kind;
  v.retry_after = v.reset = it->second.until - now;
  v.spec = &spec;
  v.shadow = spec.shadow;
  return v;
}

void RedisStore::remember(std::uint64_t key_hash, const Verdict& v, TimePoint now) {
  if (config_.banned_cache_ttl.count() <= 0 || config_.cache_max_keys == 0) return;
  if (v.kind != Verdict::Kind::reject && v.kind != Verdict::Kind::ban) return;
  if (v.retry_after.count() <= 0) return;
  if (cache_.size() >= config_.cache_max_keys) {
    std::erase_if(cache_, [&](const auto& e) { return e.second.until <= now; });
    if (cache_.size() >= config_.cache_max_keys) cache_.clear();  // a flood: start over
  }
  const nanoseconds ttl = config_.banned_cache_ttl;
  cache_[key_hash] = Cached{now + std::min(v.retry_after, ttl), v.kind};
}

// ---------------------------------------------------------------------------------------------
// Connection

void RedisStore::start_connect() {
  if (stopping_ || state_ != State::idle) return;
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(url_.host, ec);
  if (!ec) {
    candidates_ = {ip.to_string()};
    connect_next();
    return;
  }
  // hiredis would call getaddrinfo itself and block the thread: resolve with Asio (its resolver
  // runs getaddrinfo on a private thread) and give hiredis addresses, tried in order.
  set_state(State::resolving);
  resolver_.async_resolve(
      url_.host, std::to_string(url_.port),
      [this, life = std::weak_ptr<int>(life_)](const boost::system::error_code& error,
                                               const asio::ip::tcp::resolver::results_type& r) {
        if (life.expired() || stopping_) return;
        set_state(State::idle);
        candidates_.clear();
        for (const auto& entry : r) {
          std::string a = entry.endpoint().address().to_string();
          if (std::find(candidates_.begin(), candidates_.end(), a) == candidates_.end()) {
            candidates_.push_back(std::move(a));
          }
        }
        if (error || candidates_.empty()) {
          connect_failed("cannot resolve " + url_.host + ": " +
                         (error ? error.message() : std::string("no address")));
          return;
        }
        connect_next();
      });
}

void RedisStore::connect_next() {
  const std::string ip = candidates_.front();
  candidates_.erase(candidates_.begin());
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), url_.port);  // non-blocking connect
  if (ac == nullptr) {
    connect_failed("out of memory");
    return;
  }
  if (ac->err != 0) {
    const std::string why = ac->errstr;
    redisAsyncFree(ac);
    connect_failed(why);
    return;
  }
  if (!detail::attach_asio(ac, ioc_)) {
    redisAsyncFree(ac);
    connect_failed("cannot watch the socket");
    return;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, &RedisStore::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisStore::on_disconnect);
  // Queued now, sent first once the socket is up. The connection counts as up (and takes
  // checks) only when every one of them succeeded.
  setup_pending_ = 0;
  if (!url_.password.empty()) {
    if (url_.user.empty()) {
      redisAsyncCommand(ac, &RedisStore::on_setup_reply, nullptr, "AUTH %b",
                        url_.password.data(), url_.password.size());
    } else {
      redisAsyncCommand(ac, &RedisStore::on_setup_reply, nullptr, "AUTH %b %b", url_.user.data(),
                        url_.user.size(), url_.password.data(), url_.password.size());
    }
    ++setup_pending_;
  }
  if (url_.db != 0) {
    redisAsyncCommand(ac, &RedisStore::on_setup_reply, nullptr, "SELECT %u", url_.db);
    ++setup_pending_;
  }
  ac_ = ac;
  set_state(State::connecting);
  connect_timer_.expires_after(std::max<milliseconds>(std::chrono::seconds(1), config_.timeout));
  connect_timer_.async_wait(
      [this, life = std::weak_ptr<int>(life_), ac](const boost::system::error_code& ec) {
        if (life.expired() || ec || ac_ != ac || state_ != State::connecting) return;
        ac_ = nullptr;
        set_state(State::idle);
        redisAsyncFree(ac);
        connect_failed("connect timed out");
      });
}

void RedisStore::connection_ready() {
  connect_timer_.cancel();
  candidates_.clear();
  set_state(State::connected);
  script_known_ = false;
  last_progress_ = SteadyClock::now();
  stats_.connects.fetch_add(1, std::memory_order_relaxed);
  // The first connection is news; reconnections are told by the incident's "answers again".
  const std::string text = "limit: connected to Redis store " + url_.to_string();
  if (!ever_connected_) {
    log::info(text);
  } else {
    log::debug(text);
  }
  ever_connected_ = true;
}

void RedisStore::on_connect(const redisAsyncContext* ac, int status) {
  auto* store = static_cast<RedisStore*>(ac->data);
  if (store == nullptr || ac != store->ac_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns (no on_disconnect for it).
    store->connect_timer_.cancel();
    store->ac_ = nullptr;
    store->set_state(State::idle);
    store->connect_failed(ac->errstr != nullptr ? ac->errstr : "connect failed");
    return;
  }
  if (store->setup_pending_ == 0) store->connection_ready();
}

void RedisStore::on_disconnect(const redisAsyncContext* ac, int) {
  auto* store = static_cast<RedisStore*>(ac->data);
  if (store == nullptr || ac != store->ac_) return;  // one we dropped on purpose
  const bool was_up = store->state_ == State::connected;
  store->ac_ = nullptr;
  store->set_state(State::idle);
  if (store->stopping_) return;
  const std::string why =
      ac->errstr != nullptr && ac->errstr[0] != '\0' ? ac->errstr : "closed by the server";
  if (was_up) {
    store->stats_.disconnects.fetch_add(1, std::memory_order_relaxed);
    store->note_failure("connection lost: " + why);
    store->schedule_reconnect();
  } else {
    store->connect_failed(why);  // lost while AUTH/SELECT were pending
  }
}

void RedisStore::on_setup_reply(redisAsyncContext* ac, void* reply_ptr, void*) {
  auto* store = static_cast<RedisStore*>(ac->data);
  const auto* reply = static_cast<const redisReply*>(reply_ptr);
  if (store == nullptr || reply == nullptr || ac != store->ac_) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    // Wrong password or database: no use talking on this connection. (Freeing inside a reply
    // callback is deferred by hiredis until the callback returns.)
    store->connect_timer_.cancel();
    store->ac_ = nullptr;
    store->set_state(State::idle);
    redisAsyncFree(ac);
    store->connect_failed("AUTH/SELECT refused: " + std::string(reply->str, reply->len));
    return;
  }
  if (--store->setup_pending_ == 0 && store->state_ == State::connecting) {
    store->connection_ready();
  }
}

void RedisStore::connect_failed(std::string_view why) {
  if (!candidates_.empty() && !stopping_) {
    // The host has more addresses: try the next one now (posted: this may run inside a
    // hiredis callback that is about to free the failed context).
    asio::post(ioc_, [this, life = std::weak_ptr<int>(life_)] {
      if (!life.expired() && !stopping_ && state_ == State::idle) connect_next();
    });
    return;
  }
  stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
  note_failure("cannot connect: " + std::string(why));
  schedule_reconnect();
}

void RedisStore::drop_connection(std::string_view why) {
  redisAsyncContext* ac = std::exchange(ac_, nullptr);
  if (state_ == State::connected) stats_.disconnects.fetch_add(1, std::memory_order_relaxed);
  set_state(State::idle);
  note_failure(why);
  if (ac != nullptr) redisAsyncFree(ac);  // outstanding commands complete as lost
  schedule_reconnect();
}

void RedisStore::schedule_reconnect() {
  if (stopping_ || reconnect_pending_) return;
  reconnect_pending_ = true;
  const milliseconds floor = std::max<milliseconds>(config_.reconnect_min, milliseconds(100));
  milliseconds delay = floor * (1LL << std::min(attempts_, 10u));
  delay = std::max(floor, std::min(delay, config_.reconnect_max));
  ++attempts_;
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait(
      [this, life = std::weak_ptr<int>(life_)](const boost::system::error_code& ec) {
        if (life.expired() || ec) return;
        reconnect_pending_ = false;
        start_connect();
      });
}

void RedisStore::note_failure(std::string_view why) {
  // One line per incident for all the stores of the process (they share stats_).
  if (stats_.degraded.exchange(true)) return;
  stats_.incidents.fetch_add(1, std::memory_order_relaxed);
  const bool local = config_.on_failure == StoreConfig::OnFailure::local;
  log::warning("limit: Redis store " + url_.to_string() + " is unreachable or slow (" +
               std::string(why) + "); " +
               (local ? "falling back to local limits" : "rejecting rate-limited requests") +
               " until it answers again");
}

void RedisStore::note_success() {
  attempts_ = 0;
  if (!stats_.degraded.load(std::memory_order_relaxed)) return;
  if (stats_.degraded.exchange(false)) {
    log::notice("limit: Redis store " + url_.to_string() + " answers again; limits are shared");
  }
}

asio::awaitable<Verdict> RedisStore::check(const LimitSpec& spec, const KeyInput& in,
                                           TimePoint now) {
  const Key key = make_key(spec, in);  // lives in this frame until the check completes
  co_return co_await check(spec, key.printable, key.hash, now);
}

}  // namespace bawwab::limit
