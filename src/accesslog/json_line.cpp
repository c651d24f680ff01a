// AccessRecord <-> one JSON line. Written by hand rather than through boost::json::serialize
// because the strings come from the network: boost::json copies invalid UTF-8 through as is,
// which makes the line unreadable to jq, Loki or Elasticsearch.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/errc.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "bawwab/accesslog/access_log.hpp"
#include "bawwab/core/text.hpp"
#include "json_line_detail.hpp"

namespace bawwab::accesslog {
namespace {

using namespace std::chrono;

// The fixed keys, in the order they are written. Extra keys that collide get an "x_" prefix.
// Extra keys that start with "x_" get one too, so that reading strips exactly one prefix.
constexpr std::array<std::string_view, 19> fixed_keys = {
    "time",      "request_id", "client_ip",   "peer",        "site",     "host",  "method",
    "path",      "http_version", "tls",       "status",      "bytes_in", "bytes_out",
    "duration_ms", "upstream_ms", "upstream", "error",       "user_agent", "referer"};

bool is_fixed_key(std::string_view k) {
  for (std::string_view f : fixed_keys)
    if (f == k) return true;
  return false;
}


void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;  // fixed keys are plain ASCII; extra keys go through append_string
  out += "\":";
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Milliseconds with microsecond precision: "12.345".
void append_ms(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  out.append(buf, r.ptr);
}

// Shortest form that reads back as the same double, and as a double (1.0 -> "1.0", not "1").
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void append_time(std::string& out, system_clock::time_point t) {
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[40];
  const int n = std::snprintf(
      buf, sizeof buf, "\"%04d-%02u-%02uT%02d:%02d:%02d.%03dZ\"", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  out.append(buf, static_cast<std::size_t>(n));
}

void append_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: append_int(out, v.get_int64()); break;
    case boost::json::kind::uint64: append_uint(out, v.get_uint64()); break;
    case boost::json::kind::double_: append_double(out, v.get_double()); break;
    case boost::json::kind::string: detail::append_string(out, v.get_string()); break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_value(out, e);
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        detail::append_string(out, kv.key());
        out += ':';
        append_value(out, kv.value());
      }
      out += '}';
      break;
    }
  }
}

// ---- parsing ---------------------------------------------------------------------------------

boost::system::error_code invalid() {
  return make_error_code(boost::system::errc::invalid_argument);
}

bool parse_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z"
bool parse_time(std::string_view s, system_clock::time_point& out) {
  int y, mo, d, h, mi, sec;
  if (!parse_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !parse_digits(s, 5, 2, mo) ||
      s[7] != '-' || !parse_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !parse_digits(s, 11, 2, h) || s[13] != ':' || !parse_digits(s, 14, 2, mi) || s[16] != ':' ||
      !parse_digits(s, 17, 2, sec)) {
    return false;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return false;
  std::size_t i = 19;
  long long nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (i + 1 != s.size() || (s[i] != 'Z' && s[i] != 'z')) return false;
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + nanoseconds{nanos};
  out = time_point_cast<system_clock::duration>(tp);
  return true;
}

bool get_string(const boost::json::value& v, std::string& out) {
  if (!v.is_string()) return false;
  out.assign(v.get_string().data(), v.get_string().size());
  return true;
}

bool get_uint(const boost::json::value& v, std::uint64_t& out) {
  if (v.is_uint64()) {
    out = v.get_uint64();
    return true;
  }
  if (v.is_int64() && v.get_int64() >= 0) {
    out = static_cast<std::uint64_t>(v.get_int64());
    return true;
  }
  return false;
}

bool get_double(const boost::json::value& v, double& out) {
  if (!v.is_number()) return false;
  out = v.to_number<double>();
  return true;
}

bool assign_fixed(AccessRecord& r, std::string_view key, const boost::json::value& v, bool& ok) {
  ok = true;
  if (key == "time") {
    std::string t;
    ok = get_string(v, t) && parse_time(t, r.time);
  } else if (key == "request_id") {
    ok = get_uint(v, r.request_id);
  } else if (key == "client_ip") {
    ok = get_string(v, r.client_ip);
  } else if (key == "peer") {
    ok = get_string(v, r.peer);
  } else if (key == "site") {
    ok = get_string(v, r.site);
  } else if (key == "host") {
    ok = get_string(v, r.host);
  } else if (key == "method") {
    ok = get_string(v, r.method);
  } else if (key == "path") {
    ok = get_string(v, r.path);
  } else if (key == "http_version") {
    ok = get_string(v, r.http_version);
  } else if (key == "tls") {
    ok = v.is_bool();
    if (ok) r.tls = v.get_bool();
  } else if (key == "status") {
    std::uint64_t s = 0;
    ok = get_uint(v, s) && s <= 999;
    r.status = static_cast<unsigned>(s);
  } else if (key == "bytes_in") {
    ok = get_uint(v, r.bytes_in);
  } else if (key == "bytes_out") {
    ok = get_uint(v, r.bytes_out);
  } else if (key == "duration_ms") {
    ok = v.is_null() || get_double(v, r.duration_ms);  // null: a non-finite value was logged
  } else if (key == "upstream_ms") {
    if (v.is_null()) {
      r.upstream_ms.reset();
    } else {
      double d = 0;
      ok = get_double(v, d);
      r.upstream_ms = d;
    }
  } else if (key == "upstream") {
    ok = get_string(v, r.upstream);
  } else if (key == "error") {
    ok = get_string(v, r.error);
  } else if (key == "user_agent") {
    ok = get_string(v, r.user_agent);
  } else if (key == "referer") {
    ok = get_string(v, r.referer);
  } else {
    return false;
  }
  return true;
}

}  // namespace

namespace detail {

void append_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

void append_json_line(std::string& out, const AccessRecord& r) {
  out += '{';
  append_key(out, "time");
  append_time(out, r.time);
  out += ',';
  append_key(out, "request_id");
  append_uint(out, r.request_id);
  const auto str = [&](std::string_view key, std::string_view value) {
    out += ',';
    append_key(out, key);
    append_string(out, value);
  };
  str("client_ip", r.client_ip);
  str("peer", r.peer);
  str("site", r.site);
  str("host", r.host);
  str("method", r.method);
  str("path", r.path);
  str("http_version", r.http_version);
  out += ',';
  append_key(out, "tls");
  out += r.tls ? "true" : "false";
  out += ',';
  append_key(out, "status");
  append_uint(out, r.status);
  out += ',';
  append_key(out, "bytes_in");
  append_uint(out, r.bytes_in);
  out += ',';
  append_key(out, "bytes_out");
  append_uint(out, r.bytes_out);
  out += ',';
  append_key(out, "duration_ms");
  append_ms(out, r.duration_ms);
  out += ',';
  append_key(out, "upstream_ms");
  if (r.upstream_ms) append_ms(out, *r.upstream_ms);
  else out += "null";
  str("upstream", r.upstream);
  str("error", r.error);
  str("user_agent", r.user_agent);
  str("referer", r.referer);
  for (const auto& [key, value] : r.extra) {
    out += ',';
    append_string(out, is_fixed_key(key) || key.starts_with("x_") ? "x_" + key : key);
    out += ':';
    append_value(out, value);
  }
  out += "}\n";
}

}  // namespace detail

std::string to_json_line(const AccessRecord& r) {
  std::string out;
  out.reserve(384 + r.path.size() + r.user_agent.size() + r.referer.size());
  detail::append_json_line(out, r);
  return out;
}

Result<AccessRecord> parse_json_line(std::string_view line) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(line, ec);
  if (ec) return ec;
  if (!doc.is_object()) return invalid();
  AccessRecord r;
  for (const auto& kv : doc.get_object()) {
    const std::string_view key = kv.key();
    bool ok = true;
    if (assign_fixed(r, key, kv.value(), ok)) {
      if (!ok) return invalid();
      continue;
    }
    // An extra key written with the collision prefix reads back under its own name.
    std::string_view extra_key = key;
    if (key.starts_with("x_")) {
      const std::string_view rest = key.substr(2);
      if (is_fixed_key(rest) || rest.starts_with("x_")) extra_key = rest;
    }
    r.extra.emplace_back(std::string(extra_key), kv.value());
  }
  return r;
}

}  // namespace bawwab::accesslog
