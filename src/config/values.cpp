#include "bawwab/config/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <vector>

#include "bawwab/config/loader.hpp"

namespace bawwab::config {
namespace detail {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool looks_numeric(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// Says what is wrong with an address that net::parse_endpoint refused.
std::string explain_endpoint(std::string_view text) {
  if (text.empty()) return "expected host:port like 0.0.0.0:80 or [::]:443, got nothing";
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return "missing port (write [" + std::string(host) + "]:80)";
    if (rest.front() != ':') return "expected ':' and a port after ']'";
    port = rest.substr(1);
    bracketed = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      if (!text.empty() && std::all_of(text.begin(), text.end(), is_digit)) {
        return "a port alone is not an address; write 0.0.0.0:" + std::string(text) +
               " or [::]:" + std::string(text);
      }
      return "missing port (write host:port, e.g. 0.0.0.0:80)";
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "IPv6 addresses must be in brackets, e.g. [::1]:8080";
    }
  }
  std::uint64_t p = 0;
  if (port.empty()) return "missing port after ':'";
  switch (parse_u64(port, p)) {
    case Number::bad: return "port " + quote(port) + " is not a number";
    case Number::too_large: return "port " + quote(port) + " is out of range (0-65535)";
    case Number::ok:
      if (p > 65535) return "port " + std::string(port) + " is out of range (0-65535)";
  }
  if (!bracketed && (host.empty() || host == "*")) return "not a valid address";
  const auto a = net::parse_address(host);
  if (!a) {
    if (bracketed) return quote(host) + " is not an IPv6 address";
    return quote(host) +
           " is not an IP address (names are not allowed: bawwab binds, it does not "
           "resolve)";
  }
  if (bracketed && !a->is_v6())
    return "brackets are for IPv6 addresses; write " + std::string(host) + ":" + std::string(port);
  return "not a valid address";
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::string x = lowercase(a);
  const std::string y = lowercase(b);
  std::vector<std::vector<std::size_t>> d(x.size() + 1, std::vector<std::size_t>(y.size() + 1));
  for (std::size_t i = 0; i <= x.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= y.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= x.size(); ++i) {
    for (std::size_t j = 1; j <= y.size(); ++j) {
      const std::size_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[x.size()][y.size()];
}

}  // namespace

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

Number parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) return Number::bad;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc::result_out_of_range) return Number::too_large;
  return (ec == std::errc() && ptr == s.data() + s.size()) ? Number::ok : Number::bad;
}

// User text inside a message: clipped, with control and non-ASCII bytes escaped so that binary
// garbage cannot mangle a terminal or split a log line.
std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  std::size_t n = 0;
  for (unsigned char c : s) {
    if (++n > max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string quote(std::string_view s, std::size_t max) { return "'" + printable(s, max) + "'"; }

// A name as used for upstream groups: it appears in status output and logs.
bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A DNS name: dot-separated labels of letters, digits, '-' and '_' (underscores are not valid in
// host names, but they exist in the wild and are harmless here).
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

// RFC 9110 tchar: what may appear as the pseudonym in "Via: 1.1 <pseudonym>".
bool valid_token(std::string_view s) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

bool parse_listen_address(std::string_view text, net::Endpoint& out, std::string& why) {
  auto e = net::parse_endpoint(text);
  if (!e) {
    why = "bad address " + quote(text) + ": " + explain_endpoint(text);
    return false;
  }
  out = *e;
  return true;
}

bool is_loopback(const net::Endpoint& e) { return net::canonical(e.address()).is_loopback(); }

std::string explain_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const auto a = net::parse_address(text.substr(0, slash));
  if (!a) return "expected an address or a network like 10.0.0.0/8 or 2001:db8::/32";
  const unsigned max_len = a->is_v4() ? 32 : 128;
  std::uint64_t len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view prefix = text.substr(slash + 1);
    if (parse_u64(prefix, len) != Number::ok || prefix.size() > 3) {
      return "bad prefix length " + quote(prefix);
    }
    if (len > max_len) {
      return "prefix length " + std::string(prefix) + " is out of range for " +
             (a->is_v4() ? "IPv4 (0-32)" : "IPv6 (0-128)");
    }
  }
  // The remaining failure is host bits below the prefix: suggest the network the operator meant.
  auto clear = [len](auto bytes) {
    for (std::size_t bit = len; bit < bytes.size() * 8; ++bit) {
      bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    return bytes;
  };
  net::Address network;
  if (a->is_v4()) {
    network = boost::asio::ip::address_v4(clear(a->to_v4().to_bytes()));
  } else {
    network = boost::asio::ip::address_v6(clear(a->to_v6().to_bytes()));
  }
  return "host bits are set (did you mean " + network.to_string() + "/" + std::to_string(len) +
         "?)";
}

bool parse_upstream_url(std::string_view text, UpstreamServer& out, std::string& why) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    why = "expected a URL like http://127.0.0.1:8081";
    return false;
  }
  const std::string scheme = lowercase(text.substr(0, scheme_end));
  if (scheme == "https") {
    why = "https upstreams are not supported yet; use http://";
    return false;
  }
  if (scheme != "http") {
    why = "unsupported scheme " + quote(scheme) + "; use http://";
    return false;
  }
  const std::string_view rest = text.substr(scheme_end + 3);
  const auto end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (!tail.empty() && tail != "/") {
    why = "a path, query or fragment is not supported (" + quote(tail) +
          "): the client's own path is forwarded";
    return false;
  }
  if (authority.find('@') != std::string_view::npos) {
    why = "user information (user@) is not supported";
    return false;
  }
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' after the IPv6 address";
      return false;
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      why = "expected ':' and a port after ']'";
      return false;
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    const auto a = net::parse_address(host);
    if (!a || !a->is_v6()) {
      why = quote(host) + " is not an IPv6 address";
      return false;
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        why = "IPv6 addresses must be in brackets, e.g. http://[::1]:8081";
        return false;
      }
    }
    if (host.empty()) {
      why = "missing host";
      return false;
    }
    if (looks_numeric(host)) {
      const auto a = net::parse_address(host);
      if (!a || !a->is_v4()) {
        why = quote(host) + " is not an IPv4 address";
        return false;
      }
    } else if (!valid_hostname(host)) {
      why = quote(host) + " is not a valid host name";
      return false;
    }
  }
  std::uint64_t p = 80;
  if (has_port && (parse_u64(port, p) != Number::ok || p == 0 || p > 65535)) {
    why = port.empty() ? "missing port after ':'"
                       : "port " + quote(port) + " is out of range (1-65535)";
    return false;
  }
  out.url = std::string(text);
  out.host = lowercase(host);
  out.port = static_cast<std::uint16_t>(p);
  return true;
}

bool parse_workers(std::string_view text, unsigned& out, std::string& why) {
  if (text == "auto") {
    out = 0;
    return true;
  }
  std::uint64_t n = 0;
  if (parse_u64(text, n) != Number::ok || n < 1 || n > 256) {
    why = "expected 'auto' or a number between 1 and 256, got " + quote(text);
    return false;
  }
  out = static_cast<unsigned>(n);
  return true;
}

bool check_host_pattern(std::string_view host, std::string& why) {
  if (host == "*") return true;
  std::string_view name = host;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.size() > 2 && name.front() == '[' && name.back() == ']' && name.size() == host.size()) {
    const auto a = net::parse_address(name.substr(1, name.size() - 2));
    if (a && a->is_v6()) return true;
  }
  if (name.find(':') != std::string_view::npos) {
    why = "a site host has no port (ports are ignored when matching; IPv6 literals need brackets)";
    return false;
  }
  if (!valid_hostname(name)) {
    why = "expected a name like news.example, a wildcard like *.news.example, or \"*\"";
    return false;
  }
  return true;
}

}  // namespace detail

using namespace detail;

Result<Millis> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  const std::string_view unit = text.substr(digits);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return make_error_code(Errc::config_invalid);
  }
  std::uint64_t n = 0;
  switch (parse_u64(text.substr(0, digits), n)) {
    case Number::bad: return make_error_code(Errc::config_invalid);
    case Number::too_large:
      return boost::system::errc::make_error_code(boost::system::errc::value_too_large);
    case Number::ok: break;
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max());
  if (n > max / scale) {
    return boost::system::errc::make_error_code(boost::system::errc::value_too_large);
  }
  return Millis(static_cast<Millis::rep>(n * scale));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t scale = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K': scale = 1ull << 10; break;
      case 'm':
      case 'M': scale = 1ull << 20; break;
      case 'g':
      case 'G': scale = 1ull << 30; break;
      default: break;
    }
    if (scale != 1) digits.remove_suffix(1);
  }
  std::uint64_t n = 0;
  switch (parse_u64(digits, n)) {
    case Number::bad: return make_error_code(Errc::config_invalid);
    case Number::too_large:
      return boost::system::errc::make_error_code(boost::system::errc::value_too_large);
    case Number::ok: break;
  }
  if (n > std::numeric_limits<std::uint64_t>::max() / scale) {
    return boost::system::errc::make_error_code(boost::system::errc::value_too_large);
  }
  return n * scale;
}

std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "g";
  if (bytes != 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "m";
  if (bytes != 0 && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "k";
  return std::to_string(bytes);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view c : candidates) {
    // Cheap bound first: the distance is at least the difference in length.
    const std::size_t gap =
        word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (gap > 2) continue;
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && d < c.size()) {
      best = c;
      best_distance = d;
    }
  }
  return std::string(best);
}

}  // namespace bawwab::config
