#include "bawwab/config/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "bawwab/limit/redis_store.hpp"
#include "tls_files.hpp"
#include "bawwab/config/values.hpp"

namespace bawwab::config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;
using Severity = Diagnostic::Severity;

constexpr std::string_view kCommandLine = "<command line>";
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;  // a config is a few KiB; refuse a log file
constexpr Millis kMaxTimeout = 24h;

std::string errno_text(int e) { return std::generic_category().message(e); }

// ---------------------------------------------------------------------------------------------
// Reading the YAML tree

struct Loc {
  int line = 0;
  int column = 0;
};

// Where a value came from: a place in the file (path like "listeners[0].address"), or a flag.
struct Origin {
  std::string path;  // prefixes the message; a flag name ("--listen") for flags
  Loc loc;
  bool flag = false;
};

Origin flag_origin(std::string_view flag) { return Origin{std::string(flag), {}, true}; }

Loc loc_of(const YAML::Node& n, Loc fallback) {
  // yaml-cpp marks an empty value ("key:" and nothing) at the next token, often the next line.
  if (!n.IsDefined() || n.IsNull()) return fallback;
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0 || m.column < 0) return fallback;
  return Loc{m.line + 1, m.column + 1};
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return quote(n.Scalar());
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "nothing";
}

Origin child(const Origin& parent, std::string_view key, Loc loc) {
  const std::string k = valid_name(key) ? std::string(key) : quote(key);
  return Origin{parent.path.empty() ? k : parent.path + "." + k, loc, false};
}

Origin item(const Origin& parent, std::size_t index, Loc loc) {
  return Origin{parent.path + "[" + std::to_string(index) + "]", loc, false};
}

struct Entry {
  std::string key;
  Loc key_loc;
  YAML::Node value;
  Origin at;  // the value's path and position (the key's position when the value is empty)
};
using Entries = std::vector<Entry>;

const Entry* find(const Entries& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

constexpr std::array<std::string_view, 16> kRootKeys = {
    "workers",    "log",         "via",       "listeners", "upstreams", "sites",
    "timeouts",   "limits",      "trusted_proxies", "status", "access_log", "rules",
    "rate_limits", "detection",  "challenge", "reload"};
constexpr std::array<std::string_view, 2> kReloadKeys = {"watch", "debounce"};
constexpr std::array<std::string_view, 6> kRateLimitKeys = {
    "store", "key_prefix", "store_timeout", "on_store_failure", "max_keys", "draft_headers"};
constexpr std::array<std::string_view, 5> kDetectionKeys = {
    "honeypot_paths", "html_only_pages", "max_clients", "verify_dns", "dns_timeout"};
constexpr std::array<std::string_view, 12> kChallengeKeys = {
    "key_file",    "contact",          "site_name", "lang",         "dir",
    "pass_ttl",    "min_difficulty",   "max_difficulty", "cookie_name", "proof_difficulty",
    "nojs",        "nojs_pass_ttl"};
constexpr std::array<std::string_view, 4> kListenerKeys = {"address", "tls", "redirect_https",
                                                           "redirect_https_port"};
constexpr std::array<std::string_view, 1> kTlsKeys = {"certificates"};
constexpr std::array<std::string_view, 2> kCertificateKeys = {"cert", "key"};
constexpr std::array<std::string_view, 4> kUpstreamKeys = {"servers", "max_fails", "fail_timeout",
                                                           "keepalive"};
constexpr std::array<std::string_view, 2> kSiteKeys = {"hosts", "upstream"};
constexpr std::array<std::string_view, 2> kStatusKeys = {"listen", "allow_non_loopback"};
constexpr std::array<std::string_view, 2> kAccessLogKeys = {"path", "queue_lines"};
constexpr std::array<std::string_view, 1> kLogKeys = {"level"};
constexpr std::array<std::string_view, 5> kLogLevels = {"debug", "info", "notice", "warning",
                                                        "error"};

struct TimeoutKey {
  std::string_view name;
  Millis Timeouts::*field;
  Millis min;
};
// expect_continue 0 = send our own 100 at once; drain 0 = close at once on SIGTERM.
constexpr std::array<TimeoutKey, 9> kTimeoutKeys = {{
    {"client_header", &Timeouts::client_header, 1ms},
    {"client_idle", &Timeouts::client_idle, 1ms},
    {"client_body", &Timeouts::client_body, 1ms},
    {"client_send", &Timeouts::client_send, 1ms},
    {"upstream_connect", &Timeouts::upstream_connect, 1ms},
    {"upstream_read", &Timeouts::upstream_read, 1ms},
    {"upstream_idle", &Timeouts::upstream_idle, 1ms},
    {"expect_continue", &Timeouts::expect_continue, 0ms},
    {"drain", &Timeouts::drain, 0ms},
}};
constexpr std::array<std::string_view, 7> kLimitKeys = {
    "max_header_bytes", "max_header_count",       "max_request_line",           "max_request_body",
    "max_connections",  "max_connections_per_ip", "max_requests_per_connection"};

template <std::size_t N>
std::span<const std::string_view> names(const std::array<std::string_view, N>& a) {
  return {a.data(), a.size()};
}

class Loader {
 public:
  Loader(std::string file, fs::path base_dir, const Overrides& overrides)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), overrides_(overrides) {
    config_.source = file_;
  }

  LoadResult load_text(std::string_view yaml) {
    std::optional<YAML::Node> root = parse(yaml);
    if (root) read_root(*root);
    apply_overrides();
    if (root && root_ok_) check_whole();
    return finish();
  }

  LoadResult load_flags_only() {
    flags_only_ = true;
    if (!overrides_.listen) error(flag_origin("--listen"), "required when no config file is given");
    if (!overrides_.upstream) {
      error(flag_origin("--upstream"), "required when no config file is given");
    }
    apply_overrides();
    check_whole();
    return finish();
  }

 private:
  // --- reporting

  void report(const Origin& at, Severity severity, std::string_view message) {
    Diagnostic d;
    d.file = at.flag ? std::string(kCommandLine) : file_;
    d.line = at.flag ? 0 : at.loc.line;
    d.column = at.flag ? 0 : at.loc.column;
    d.message = at.path.empty() ? std::string(message) : at.path + ": " + std::string(message);
    d.severity = severity;
    diagnostics_.push_back(std::move(d));
  }
  void error(const Origin& at, std::string_view message) { report(at, Severity::error, message); }
  void warning(const Origin& at, std::string_view message) {
    report(at, Severity::warning, message);
  }

  // "line 12" or "--listen": the other place in a "duplicate" message, seen from `here` (with the
  // column when both are on one line).
  static std::string where(const Origin& at, const Origin& here) {
    if (at.flag) return at.path;
    std::string out = "line " + std::to_string(at.loc.line);
    if (!here.flag && here.loc.line == at.loc.line) {
      out += ", column " + std::to_string(at.loc.column);
    }
    return out;
  }

  LoadResult finish() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       const bool a_flag = a.file == kCommandLine;
                       const bool b_flag = b.file == kCommandLine;
                       if (a_flag != b_flag) return a_flag;
                       if (a.line != b.line) return a.line < b.line;
                       return a.column < b.column;
                     });
    LoadResult result;
    result.diagnostics = std::move(diagnostics_);
    if (!has_errors(result.diagnostics)) {
      result.config = std::make_shared<const ServerConfig>(std::move(config_));
    }
    return result;
  }

  // --- YAML

  // The one document of the file, or nullopt after reporting why there is none.
  //
  // Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, on a stray ',' at the top
  // level (",: }"; yaml-cpp PR #1319, fixed after 0.8): the parser then returns an empty document
  // without consuming the token, again and again. So first walk the documents with an event
  // handler, at most three, and call it a syntax error when one starts where the previous one did.
  std::optional<YAML::Node> parse(std::string_view yaml) {
    const std::string text(yaml);
    try {
      std::istringstream in(text);
      YAML::Parser parser(in);
      DocumentStarts starts;
      std::vector<YAML::Mark> documents;
      while (documents.size() < 3 && parser.HandleNextDocument(starts)) {
        if (!documents.empty() && starts.start.pos == documents.back().pos) {
          const YAML::Mark at = documents.back();
          const auto pos = static_cast<std::size_t>(at.pos);
          error(Origin{"", Loc{at.line + 1, at.column + 1}},
                "YAML syntax error: unexpected " +
                    (pos < text.size() ? quote(text.substr(pos, 1)) : std::string("character")));
          return std::nullopt;
        }
        documents.push_back(starts.start);
      }
      if (documents.size() > 1) {
        error(Origin{"", Loc{documents[1].line + 1, documents[1].column + 1}},
              "only one YAML document is allowed; this is a second one ('---')");
        return std::nullopt;
      }
      if (documents.empty()) return YAML::Node();  // empty, or only comments
      // Parses the first document only.
      return YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      const Loc at = e.mark.is_null() ? Loc{} : Loc{e.mark.line + 1, e.mark.column + 1};
      error(Origin{"", at}, "YAML syntax error: " + printable(e.msg, 200));
    } catch (const YAML::Exception& e) {
      error(Origin{}, "YAML error: " + printable(e.msg, 200));
    }
    return std::nullopt;
  }

  // Records where each document starts; the events themselves are not needed.
  struct DocumentStarts final : YAML::EventHandler {
    YAML::Mark start;
    void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };

  // --- generic readers

  // The entries of a mapping; reports non-scalar keys, unknown keys (with a suggestion) and
  // duplicates (yaml-cpp keeps both). An empty `known` accepts any key (upstream group names).
  Entries read_map(const YAML::Node& map, const Origin& at,
                   std::span<const std::string_view> known) {
    Entries out;
    std::map<std::string, Origin> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const Loc key_loc = loc_of(key, at.loc);
      if (!key.IsScalar()) {
        error(Origin{at.path, key_loc}, "expected a plain key, got " + describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
        std::string message = "unknown key " + quote(name);
        if (const std::string hint = did_you_mean(name, known); !hint.empty()) {
          message += " (did you mean '" + hint + "'?)";
        }
        error(Origin{at.path, key_loc}, message);
        continue;
      }
      const Origin key_at{at.path, key_loc};
      if (const auto [first, inserted] = seen.emplace(name, key_at); !inserted) {
        error(key_at,
              "duplicate key " + quote(name) + " (first at " + where(first->second, key_at) + ")");
        continue;
      }
      out.push_back(Entry{name, key_loc, value, child(at, name, loc_of(value, key_loc))});
    }
    return out;
  }

  bool expect(bool ok, const YAML::Node& n, const Origin& at, std::string_view what) {
    if (!ok) error(at, "expected " + std::string(what) + ", got " + describe(n));
    return ok;
  }
  bool expect_map(const YAML::Node& n, const Origin& at, std::string_view what) {
    return expect(n.IsMap(), n, at, what);
  }
  bool expect_list(const YAML::Node& n, const Origin& at, std::string_view what) {
    return expect(n.IsSequence(), n, at, what);
  }

  std::optional<std::string> read_scalar(const YAML::Node& n, const Origin& at,
                                         std::string_view what) {
    if (!expect(n.IsScalar(), n, at, what)) return std::nullopt;
    return n.Scalar();
  }
  std::optional<std::string> read_string(const Entry& e) {
    return read_scalar(e.value, e.at, "a string");
  }

  // A file or directory name; relative ones are relative to the config file's directory.
  std::optional<std::string> read_path(const YAML::Node& n, const Origin& at) {
    auto s = read_scalar(n, at, "a path");
    if (!s) return std::nullopt;
    if (s->empty()) {
      error(at, "expected a path, got an empty string");
      return std::nullopt;
    }
    if (s->find('\0') != std::string::npos) {
      error(at, "a path cannot contain a NUL byte");
      return std::nullopt;
    }
    return resolve(*s);
  }
  std::string resolve(const std::string& path) const {
    const fs::path p(path);
    if (p.is_absolute() || base_dir_.empty()) return path;
    return (base_dir_ / p).string();
  }

  std::optional<bool> read_bool(const Entry& e) {
    auto s = read_scalar(e.value, e.at, "true or false");
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "yes" || *s == "on") return true;
    if (*s == "false" || *s == "no" || *s == "off") return false;
    error(e.at, "expected true or false, got " + quote(*s));
    return std::nullopt;
  }

  std::optional<std::uint64_t> read_number(const Entry& e, std::uint64_t min, std::uint64_t max) {
    auto s = read_scalar(e.value, e.at, "a whole number");
    if (!s) return std::nullopt;
    std::uint64_t n = 0;
    const Number r = parse_u64(*s, n);
    if (r == Number::bad) {
      error(e.at, "expected a whole number, got " + quote(*s));
      return std::nullopt;
    }
    if (r == Number::too_large || n < min || n > max) {
      error(e.at, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + (r == Number::ok ? std::to_string(n) : quote(*s)));
      return std::nullopt;
    }
    return n;
  }

  std::optional<Millis> read_duration(const Entry& e, Millis min, Millis max) {
    auto s = read_scalar(e.value, e.at, "a duration like 10s");
    if (!s) return std::nullopt;
    const auto d = parse_duration(*s);
    if (!d && d.error() == make_error_code(Errc::config_invalid)) {
      error(e.at, "expected a duration like 10s (units: ms, s, m, h), got " + quote(*s));
      return std::nullopt;
    }
    if (!d || *d < min || *d > max) {
      error(e.at, "must be between " + format_duration(min) + " and " + format_duration(max) +
                      ", got " + quote(*s));
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::uint64_t> read_size(const Entry& e, std::uint64_t min, std::uint64_t max) {
    auto s = read_scalar(e.value, e.at, "a size like 16k");
    if (!s) return std::nullopt;
    const auto n = parse_size(*s);
    if (!n && n.error() == make_error_code(Errc::config_invalid)) {
      error(e.at, "expected a size like 16k (units: k, m, g; none = bytes), got " + quote(*s));
      return std::nullopt;
    }
    if (!n || *n < min || *n > max) {
      error(e.at, "must be between " + format_size(min) + " and " + format_size(max) + ", got " +
                      quote(*s));
      return std::nullopt;
    }
    return *n;
  }

  // --- sections

  void read_root(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) return;  // empty file: defaults (and flags)
    if (!root.IsMap()) {
      error(Origin{"", loc_of(root, Loc{1, 1})},
            "expected a mapping of settings (key: value) at the top level, got " + describe(root));
      root_ok_ = false;
      return;
    }
    for (const Entry& e : read_map(root, Origin{}, names(kRootKeys))) {
      // A section replaced by a flag is not read at all (see Overrides).
      if (e.key == "workers") {
        if (!overrides_.workers) read_workers(e);
      } else if (e.key == "log") {
        read_log(e);
      } else if (e.key == "via") {
        read_via(e);
      } else if (e.key == "listeners") {
        listeners_key_ = e.key_loc;
        if (!overrides_.listen) read_listeners(e);
      } else if (e.key == "upstreams") {
        if (!overrides_.upstream) read_upstreams(e);
      } else if (e.key == "sites") {
        sites_key_ = e.key_loc;
        if (!overrides_.upstream) read_sites(e);
      } else if (e.key == "timeouts") {
        read_timeouts(e);
      } else if (e.key == "limits") {
        read_limits(e);
      } else if (e.key == "trusted_proxies") {
        read_trusted_proxies(e);
      } else if (e.key == "status") {
        if (!overrides_.status) read_status(e);
      } else if (e.key == "access_log") {
        read_access_log(e);
      } else if (e.key == "rules") {
        if (!overrides_.rules) read_rules(e);
      } else if (e.key == "rate_limits") {
        read_rate_limits(e);
      } else if (e.key == "detection") {
        read_detection(e);
      } else if (e.key == "challenge") {
        read_challenge(e);
      } else if (e.key == "reload") {
        read_reload(e);
      }
    }
  }

  void read_workers(const Entry& e) {
    auto s = read_scalar(e.value, e.at, "'auto' or a number between 1 and 256");
    std::string why;
    if (s && !parse_workers(*s, config_.workers, why)) error(e.at, why);
  }

  void read_log(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { level: info }")) return;
    for (const Entry& f : read_map(e.value, e.at, names(kLogKeys))) {
      auto s = read_string(f);
      if (!s) continue;
      if (!log::parse_level(*s, config_.log_level)) {
        std::string message =
            "expected one of debug, info, notice, warning, error, got " + quote(*s);
        if (const std::string hint = did_you_mean(*s, names(kLogLevels)); !hint.empty()) {
          message += " (did you mean '" + hint + "'?)";
        }
        error(f.at, message);
      }
    }
  }

  void read_via(const Entry& e) {
    auto s = read_string(e);
    if (!s) return;
    if (!valid_token(*s)) {
      error(e.at, "expected a single word (letters, digits and !#$%&'*+-.^_`|~, at most 64), got " +
                      quote(*s));
      return;
    }
    config_.via = *s;
  }

  void read_listeners(const Entry& e) {
    listeners_given_ = true;  // broken or not: "no listeners" would only be noise
    if (!expect_list(e.value, e.at, "a list of listeners")) return;
    if (e.value.size() == 0) listeners_given_ = false;
    std::size_t index = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++index) {
      const YAML::Node n = *it;
      read_listener(n, item(e.at, index, loc_of(n, e.at.loc)));
    }
  }

  void read_listener(const YAML::Node& n, const Origin& at) {
    if (!expect_map(n, at, "a listener like { address: 0.0.0.0:80 }")) return;
    const Entries entries = read_map(n, at, names(kListenerKeys));
    ListenerConfig listener;
    const Entry* address = find(entries, "address");
    bool address_ok = false;
    if (address == nullptr) {
      error(at, "missing 'address'");
    } else if (auto s = read_string(*address)) {
      std::string why;
      address_ok = parse_listen_address(*s, listener.endpoint, why);
      if (address_ok) {
        listener.address = *s;
      } else {
        error(address->at, why);
      }
    }
    if (const Entry* tls = find(entries, "tls")) read_tls(*tls, listener);
    const Entry* redirect = find(entries, "redirect_https");
    if (redirect != nullptr) {
      if (auto b = read_bool(*redirect)) listener.redirect_https = *b;
      if (listener.redirect_https && find(entries, "tls") != nullptr) {
        error(redirect->at, "redirect_https is for plain listeners, and this one has tls");
      }
    }
    if (const Entry* port = find(entries, "redirect_https_port")) {
      if (auto p = read_number(*port, 1, 65535)) {
        listener.redirect_https_port = static_cast<std::uint16_t>(*p);
      }
      if (!listener.redirect_https) warning(port->at, "has no effect without redirect_https: true");
    }
    if (address_ok) {
      config_.listeners.push_back(std::move(listener));
      listener_at_.push_back(address->at);
    }
  }

  void read_tls(const Entry& e, ListenerConfig& listener) {
    if (!expect_map(e.value, e.at, "a mapping with 'certificates'")) return;
    const Entries entries = read_map(e.value, e.at, names(kTlsKeys));
    const Entry* certs = find(entries, "certificates");
    if (certs == nullptr) {
      error(e.at, "missing 'certificates'");
      return;
    }
    if (!expect_list(certs->value, certs->at, "a list of { cert: ..., key: ... }")) return;
    if (certs->value.size() == 0) {
      error(certs->at, "needs at least one { cert: ..., key: ... }");
      return;
    }
    std::size_t index = 0;
    for (auto it = certs->value.begin(); it != certs->value.end(); ++it, ++index) {
      const YAML::Node n = *it;
      const Origin at = item(certs->at, index, loc_of(n, certs->at.loc));
      if (!expect_map(n, at, "a mapping like { cert: /path/cert.pem, key: /path/key.pem }")) {
        continue;
      }
      const Entries pair = read_map(n, at, names(kCertificateKeys));
      const Entry* cert = find(pair, "cert");
      const Entry* key = find(pair, "key");
      if (cert == nullptr) error(at, "missing 'cert'");
      if (key == nullptr) error(at, "missing 'key'");
      if (cert == nullptr || key == nullptr) continue;
      auto cert_path = read_path(cert->value, cert->at);
      auto key_path = read_path(key->value, key->at);
      if (!cert_path || !key_path) continue;
      const TlsCheck check = check_tls_files(*cert_path, *key_path);
      if (!check.cert_error.empty()) error(cert->at, check.cert_error);
      if (!check.key_error.empty()) error(key->at, check.key_error);
      if (!check.cert_warning.empty()) warning(cert->at, check.cert_warning);
      listener.certificates.push_back(TlsCertificate{*cert_path, *key_path});
    }
  }

  void read_upstreams(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping of upstream groups (name: { servers: [...] })")) {
      return;
    }
    for (const Entry& group : read_map(e.value, e.at, {})) {
      if (!valid_name(group.key)) {
        error(Origin{e.at.path, group.key_loc},
              "bad upstream name " + quote(group.key) +
                  ": use letters, digits, '-', '_' and '.' (at most 64)");
        continue;
      }
      read_upstream_group(group);
    }
  }

  void read_upstream_group(const Entry& e) {
    UpstreamGroup group;
    group.name = e.key;
    // Recorded even when broken, so that sites naming it do not add "unknown upstream" noise.
    upstream_at_[e.key] = Origin{e.at.path, e.key_loc};
    if (expect_map(e.value, e.at, "a mapping like { servers: [\"http://127.0.0.1:8081\"] }")) {
      const Entries entries = read_map(e.value, e.at, names(kUpstreamKeys));
      const Entry* servers = find(entries, "servers");
      if (servers == nullptr) {
        error(e.at, "missing 'servers'");
      } else if (expect_list(servers->value, servers->at,
                             "a list of URLs like [\"http://127.0.0.1:8081\"]")) {
        if (servers->value.size() == 0) error(servers->at, "needs at least one server");
        std::map<std::string, Origin> seen;
        std::size_t index = 0;
        for (auto it = servers->value.begin(); it != servers->value.end(); ++it, ++index) {
          const YAML::Node n = *it;
          const Origin at = item(servers->at, index, loc_of(n, servers->at.loc));
          auto url = read_scalar(n, at, "a URL like http://127.0.0.1:8081");
          if (!url) continue;
          UpstreamServer server;
          std::string why;
          if (!parse_upstream_url(*url, server, why)) {
            error(at, "bad upstream URL " + quote(*url) + ": " + why);
            continue;
          }
          const std::string identity = server.host + ":" + std::to_string(server.port);
          if (const auto [first, inserted] = seen.emplace(identity, at); !inserted) {
            warning(at, "server " + quote(*url) + " is listed twice (first at " +
                            where(first->second, at) + "); it gets twice the requests");
          }
          group.servers.push_back(std::move(server));
        }
      }
      if (const Entry* f = find(entries, "max_fails")) {
        if (auto n = read_number(*f, 0, 1000)) group.max_fails = static_cast<unsigned>(*n);
      }
      if (const Entry* f = find(entries, "fail_timeout")) {
        if (auto d = read_duration(*f, 1s, 1h)) {
          if (d->count() % 1000 != 0) {
            error(f->at, "must be a whole number of seconds, got " + format_duration(*d));
          } else {
            group.fail_timeout = std::chrono::duration_cast<Seconds>(*d);
          }
        }
      }
      if (const Entry* f = find(entries, "keepalive")) {
        if (auto n = read_number(*f, 0, 1024)) group.keepalive = static_cast<unsigned>(*n);
      }
    }
    config_.upstreams[e.key] = std::move(group);
  }

  struct SiteOrigin {
    Origin upstream;
    std::vector<Origin> hosts;  // parallel to Site::hosts
  };

  void read_sites(const Entry& e) {
    sites_given_ = true;
    if (!expect_list(e.value, e.at, "a list of sites")) return;
    if (e.value.size() == 0) sites_given_ = false;
    std::size_t index = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++index) {
      const YAML::Node n = *it;
      read_site(n, item(e.at, index, loc_of(n, e.at.loc)));
    }
  }

  void read_site(const YAML::Node& n, const Origin& at) {
    if (!expect_map(n, at, "a site like { hosts: [news.example], upstream: origin }")) return;
    const Entries entries = read_map(n, at, names(kSiteKeys));
    Site site;
    SiteOrigin origin;
    const Entry* hosts = find(entries, "hosts");
    const Entry* upstream = find(entries, "upstream");
    if (hosts == nullptr) error(at, "missing 'hosts'");
    if (upstream == nullptr) error(at, "missing 'upstream'");
    if (hosts != nullptr &&
        expect_list(hosts->value, hosts->at, "a list of host names like [news.example]")) {
      if (hosts->value.size() == 0) error(hosts->at, "needs at least one host (\"*\" for any)");
      std::size_t index = 0;
      for (auto it = hosts->value.begin(); it != hosts->value.end(); ++it, ++index) {
        const YAML::Node h = *it;
        const Origin host_at = item(hosts->at, index, loc_of(h, hosts->at.loc));
        auto text = read_scalar(h, host_at, "a host name");
        if (!text) continue;
        // Host matching is case-insensitive (RFC 9110), so compile to lower case once.
        const std::string host = lowercase(*text);
        std::string why;
        if (!check_host_pattern(host, why)) {
          error(host_at, "bad host " + quote(*text) + ": " + why);
          continue;
        }
        site.hosts.push_back(host);
        origin.hosts.push_back(host_at);
      }
    }
    if (upstream != nullptr) {
      if (auto name = read_string(*upstream)) {
        site.upstream = *name;
        origin.upstream = upstream->at;
      }
    }
    config_.sites.push_back(std::move(site));
    site_at_.push_back(std::move(origin));
  }

  void read_timeouts(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { client_header: 10s }")) return;
    static constexpr auto keys = [] {
      std::array<std::string_view, kTimeoutKeys.size()> out{};
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = kTimeoutKeys[i].name;
      return out;
    }();
    for (const Entry& f : read_map(e.value, e.at, names(keys))) {
      for (const TimeoutKey& key : kTimeoutKeys) {
        if (f.key != key.name) continue;
        if (auto d = read_duration(f, key.min, kMaxTimeout)) config_.timeouts.*key.field = *d;
      }
    }
  }

  void read_limits(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { max_header_bytes: 16k }")) return;
    Limits& l = config_.limits;
    constexpr std::uint64_t k = 1024;
    constexpr std::uint64_t m = k * k;
    constexpr std::uint64_t g = k * m;
    const Entry* header_bytes = nullptr;
    const Entry* request_line = nullptr;
    const Entry* per_ip = nullptr;
    const Entries entries = read_map(e.value, e.at, names(kLimitKeys));
    for (const Entry& f : entries) {
      if (f.key == "max_header_bytes") {
        header_bytes = &f;
        if (auto n = read_size(f, k, m)) l.max_header_bytes = static_cast<std::uint32_t>(*n);
      } else if (f.key == "max_header_count") {
        if (auto n = read_number(f, 1, 10'000)) l.max_header_count = static_cast<std::uint32_t>(*n);
      } else if (f.key == "max_request_line") {
        request_line = &f;
        if (auto n = read_size(f, 256, m)) l.max_request_line = static_cast<std::uint32_t>(*n);
      } else if (f.key == "max_request_body") {
        if (auto n = read_size(f, 0, 1024 * g)) l.max_request_body = *n;
      } else if (f.key == "max_connections") {
        if (auto n = read_number(f, 1, 10'000'000)) {
          l.max_connections = static_cast<std::uint32_t>(*n);
        }
      } else if (f.key == "max_connections_per_ip") {
        per_ip = &f;
        if (auto n = read_number(f, 1, 10'000'000)) {
          l.max_connections_per_ip = static_cast<std::uint32_t>(*n);
        }
      } else if (f.key == "max_requests_per_connection") {
        if (auto n = read_number(f, 1, std::numeric_limits<std::uint32_t>::max())) {
          l.max_requests_per_connection = static_cast<std::uint32_t>(*n);
        }
      }
    }
    // The request line is part of the head that max_header_bytes bounds.
    if (l.max_request_line > l.max_header_bytes && (request_line || header_bytes)) {
      warning((request_line ? request_line : header_bytes)->at,
              "max_request_line (" + format_size(l.max_request_line) +
                  ") is larger than max_header_bytes (" + format_size(l.max_header_bytes) +
                  "), which also counts the request line");
    }
    if (per_ip != nullptr && l.max_connections_per_ip > l.max_connections) {
      warning(per_ip->at, "is larger than max_connections (" + std::to_string(l.max_connections) +
                              ") and has no effect");
    }
  }

  void read_trusted_proxies(const Entry& e) {
    if (!expect_list(e.value, e.at, "a list of networks like [10.0.0.0/8]")) return;
    std::vector<net::Cidr> cidrs;
    std::size_t index = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++index) {
      const YAML::Node n = *it;
      const Origin at = item(e.at, index, loc_of(n, e.at.loc));
      auto text = read_scalar(n, at, "a network like 10.0.0.0/8");
      if (!text) continue;
      auto cidr = net::parse_cidr(*text);
      if (!cidr) {
        error(at, "bad network " + quote(*text) + ": " + explain_cidr(*text));
        continue;
      }
      cidrs.push_back(*cidr);
    }
    config_.trusted_proxies = net::CidrList(std::move(cidrs));
  }

  void read_status(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { listen: 127.0.0.1:9090 }")) return;
    const Entries entries = read_map(e.value, e.at, names(kStatusKeys));
    bool allow_non_loopback = false;
    if (const Entry* f = find(entries, "allow_non_loopback")) {
      if (auto b = read_bool(*f)) allow_non_loopback = *b;
    }
    const Entry* listen = find(entries, "listen");
    if (listen == nullptr) return;  // no status listener
    auto text = read_string(*listen);
    if (!text) return;
    net::Endpoint endpoint;
    std::string why;
    if (!parse_listen_address(*text, endpoint, why)) {
      error(listen->at, why);
      return;
    }
    if (!allow_non_loopback && !is_loopback(endpoint)) {
      error(listen->at, "status must listen on loopback (127.0.0.1 or [::1]), got " + quote(*text) +
                            "; it exposes internals (set allow_non_loopback: true to override)");
      return;
    }
    config_.status.listen = endpoint;
    status_at_ = listen->at;
  }

  std::optional<std::string> read_log_path(const YAML::Node& n, const Origin& at) {
    auto s = read_scalar(n, at, "a path, \"-\" (stderr) or \"off\"");
    if (!s) return std::nullopt;
    if (*s == "-" || *s == "off") return s;
    return read_path(n, at);
  }

  void read_access_log(const Entry& e) {
    if (e.value.IsScalar()) {  // shorthand: access_log: "-"
      if (auto path = read_log_path(e.value, e.at)) config_.access_log.path = *path;
      return;
    }
    if (!expect_map(
            e.value, e.at,
            "a path, \"-\", \"off\" or a mapping like { path: /var/log/bawwab/access.log }")) {
      return;
    }
    for (const Entry& f : read_map(e.value, e.at, names(kAccessLogKeys))) {
      if (f.key == "path") {
        if (auto path = read_log_path(f.value, f.at)) config_.access_log.path = *path;
      } else if (f.key == "queue_lines") {
        if (auto n = read_number(f, 1, 10'000'000)) config_.access_log.queue_lines = *n;
      }
    }
  }

  void read_rules(const Entry& e) {
    if (!expect_list(e.value, e.at, "a list of rule files, directories or globs")) return;
    std::vector<std::string> rules;
    std::size_t index = 0;
    for (auto it = e.value.begin(); it != e.value.end(); ++it, ++index) {
      const YAML::Node n = *it;
      if (auto path = read_path(n, item(e.at, index, loc_of(n, e.at.loc)))) {
        rules.push_back(std::move(*path));
      }
    }
    config_.rules = std::move(rules);
  }

  void read_rate_limits(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { store: local }")) return;
    auto& rl = config_.rate_limits;
    for (const Entry& f : read_map(e.value, e.at, names(kRateLimitKeys))) {
      if (f.key == "store") {
        auto s = read_string(f);
        if (!s) continue;
        if (*s != "local") {
          std::string why;
          if (!limit::parse_redis_url(*s, &why)) {
            error(f.at, "expected \"local\" or redis://[:password@]host[:port][/db]: " + why);
            continue;
          }
        }
        rl.store = *s;
      } else if (f.key == "key_prefix") {
        if (auto s = read_string(f)) rl.key_prefix = *s;
      } else if (f.key == "store_timeout") {
        if (auto d = read_duration(f, 1ms, 10s)) rl.store_timeout = *d;
      } else if (f.key == "on_store_failure") {
        auto s = read_string(f);
        if (!s) continue;
        if (*s == "local" || *s == "reject") {
          rl.reject_on_store_failure = *s == "reject";
        } else {
          error(f.at, "expected local or reject, got " + quote(*s));
        }
      } else if (f.key == "max_keys") {
        if (auto n = read_number(f, 1'000, 100'000'000)) rl.max_keys = *n;
      } else if (f.key == "draft_headers") {
        if (auto b = read_bool(f)) rl.draft_headers = *b;
      }
    }
  }

  void read_detection(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { honeypot_paths: [/trap/] }")) return;
    auto& d = config_.detection;
    for (const Entry& f : read_map(e.value, e.at, names(kDetectionKeys))) {
      if (f.key == "honeypot_paths") {
        if (!expect_list(f.value, f.at, "a list of paths")) continue;
        std::size_t index = 0;
        for (auto it = f.value.begin(); it != f.value.end(); ++it, ++index) {
          const YAML::Node n = *it;
          const Origin at = item(f.at, index, loc_of(n, f.at.loc));
          auto s = read_scalar(n, at, "a path beginning with /");
          if (!s) continue;
          if (!s->starts_with('/')) {
            error(at, "expected a path beginning with /, got " + quote(*s));
            continue;
          }
          d.honeypot_paths.push_back(*s);
        }
      } else if (f.key == "html_only_pages") {
        if (auto n = read_number(f, 1, 10'000)) d.html_only_pages = static_cast<unsigned>(*n);
      } else if (f.key == "max_clients") {
        if (auto n = read_number(f, 100, 100'000'000)) d.max_clients = *n;
      } else if (f.key == "verify_dns") {
        if (auto b = read_bool(f)) d.verify_dns = *b;
      } else if (f.key == "dns_timeout") {
        if (auto t = read_duration(f, 1ms, 60s)) d.dns_timeout = *t;
      }
    }
  }

  void read_reload(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { watch: true, debounce: 500ms }")) return;
    for (const Entry& f : read_map(e.value, e.at, names(kReloadKeys))) {
      if (f.key == "watch") {
        if (auto b = read_bool(f)) config_.reload.watch = *b;
      } else if (f.key == "debounce") {
        if (auto d = read_duration(f, 10ms, 60s)) config_.reload.debounce = *d;
      }
    }
  }

  void read_challenge(const Entry& e) {
    if (!expect_map(e.value, e.at, "a mapping like { contact: webmaster@news.example }")) return;
    auto& c = config_.challenge;
    for (const Entry& f : read_map(e.value, e.at, names(kChallengeKeys))) {
      if (f.key == "key_file") {
        if (auto p = read_path(f.value, f.at)) c.key_file = *p;
      } else if (f.key == "contact") {
        if (auto s = read_string(f)) c.contact = *s;
      } else if (f.key == "site_name") {
        if (auto s = read_string(f)) c.site_name = *s;
      } else if (f.key == "lang") {
        if (auto s = read_string(f)) c.lang = *s;
      } else if (f.key == "dir") {
        auto s = read_string(f);
        if (!s) continue;
        if (*s == "rtl" || *s == "ltr") c.dir = *s;
        else error(f.at, "expected rtl or ltr, got " + quote(*s));
      } else if (f.key == "pass_ttl") {
        if (auto d = read_duration(f, 1min, 24h * 30)) {
          c.pass_ttl = std::chrono::duration_cast<Seconds>(*d);
        }
      } else if (f.key == "min_difficulty") {
        if (auto n = read_number(f, 1, 32)) c.min_difficulty = static_cast<unsigned>(*n);
      } else if (f.key == "max_difficulty") {
        if (auto n = read_number(f, 1, 32)) c.max_difficulty = static_cast<unsigned>(*n);
      } else if (f.key == "proof_difficulty") {
        if (auto n = read_number(f, 1, 20)) c.proof_difficulty = static_cast<unsigned>(*n);
      } else if (f.key == "nojs") {
        if (auto b = read_bool(f)) c.nojs = *b;
      } else if (f.key == "nojs_pass_ttl") {
        if (auto d = read_duration(f, 1min, 24h)) {
          c.nojs_pass_ttl = std::chrono::duration_cast<Seconds>(*d);
        }
      } else if (f.key == "cookie_name") {
        auto s = read_string(f);
        if (!s) continue;
        if (valid_token(*s)) c.cookie_name = *s;
        else error(f.at, "expected a cookie name (a token), got " + quote(*s));
      }
    }
    if (c.min_difficulty > c.max_difficulty) {
      error(e.at, "min_difficulty must not exceed max_difficulty");
    }
  }

  // --- flags

  void apply_overrides() {
    const Overrides& o = overrides_;
    if (o.listen) {
      const Origin at = flag_origin("--listen");
      config_.listeners.clear();
      listener_at_.clear();
      ListenerConfig listener;
      std::string why;
      if (parse_listen_address(*o.listen, listener.endpoint, why)) {
        listener.address = *o.listen;
        config_.listeners.push_back(std::move(listener));
        listener_at_.push_back(at);
      } else {
        error(at, why);
      }
    }
    if (o.upstream) {
      const Origin at = flag_origin("--upstream");
      UpstreamGroup group;
      group.name = "default";
      UpstreamServer server;
      std::string why;
      if (parse_upstream_url(*o.upstream, server, why)) {
        group.servers.push_back(std::move(server));
      } else {
        error(at, "bad upstream URL " + quote(*o.upstream) + ": " + why);
      }
      config_.upstreams.clear();
      config_.upstreams.emplace(group.name, std::move(group));
      upstream_at_.clear();
      upstream_at_["default"] = at;
      config_.sites.assign(1, Site{{"*"}, "default"});
      site_at_.assign(1, SiteOrigin{at, {at}});
    }
    if (o.rules) {
      if (o.rules->empty()) {
        error(flag_origin("--rules"), "expected a path, got an empty string");
      } else {
        config_.rules = {*o.rules};
      }
    }
    if (o.status) {
      const Origin at = flag_origin("--status");
      net::Endpoint endpoint;
      std::string why;
      if (!parse_listen_address(*o.status, endpoint, why)) {
        error(at, why);
      } else if (!is_loopback(endpoint)) {
        error(at, "status must listen on loopback (127.0.0.1 or [::1]), got " + quote(*o.status));
      } else {
        config_.status.listen = endpoint;
        status_at_ = at;
      }
    }
    if (o.workers) {
      std::string why;
      if (!parse_workers(*o.workers, config_.workers, why)) error(flag_origin("--workers"), why);
    }
    if (o.access_log) {
      if (o.access_log->empty()) {
        error(flag_origin("--access-log"),
              "expected a path, \"-\" or \"off\", got an empty string");
      } else {
        config_.access_log.path = *o.access_log;
      }
    }
  }

  // --- checks across sections, on the final (file + flags) configuration

  void check_whole() {
    if (!listeners_given_ && !overrides_.listen && !flags_only_) {
      error(Origin{"", listeners_key_},
            "no listeners: add one under 'listeners:' (e.g. - address: 0.0.0.0:80) or pass "
            "--listen");
    }
    for (std::size_t i = 0; i < config_.listeners.size(); ++i) {
      const net::Endpoint& a = config_.listeners[i].endpoint;
      if (a.port() == 0) continue;  // each gets its own free port
      for (std::size_t j = 0; j < i; ++j) {
        if (config_.listeners[j].endpoint == a) {
          error(listener_at_[i], "duplicate listener address " +
                                     quote(config_.listeners[i].address) + " (first at " +
                                     where(listener_at_[j], listener_at_[i]) + ")");
          break;
        }
      }
    }
    if (config_.status.listen && config_.status.listen->port() != 0 && status_at_) {
      for (std::size_t i = 0; i < config_.listeners.size(); ++i) {
        if (config_.listeners[i].endpoint == *config_.status.listen) {
          error(*status_at_, "the status address " + net::to_string(*config_.status.listen) +
                                 " is also a listener (" + where(listener_at_[i], *status_at_) +
                                 ")");
        }
      }
    }

    if (!sites_given_ && !overrides_.upstream && !flags_only_) {
      error(Origin{"", sites_key_},
            "no sites: add one under 'sites:' (e.g. - { hosts: [\"*\"], upstream: origin }) or "
            "pass --upstream");
    }
    std::vector<std::string_view> group_names;
    for (const auto& [name, group] : config_.upstreams) group_names.push_back(name);
    std::map<std::string, Origin> host_at;
    std::map<std::string, bool> used;
    for (std::size_t i = 0; i < config_.sites.size(); ++i) {
      const Site& site = config_.sites[i];
      const SiteOrigin& origin = site_at_[i];
      for (std::size_t h = 0; h < site.hosts.size(); ++h) {
        if (const auto [first, inserted] = host_at.emplace(site.hosts[h], origin.hosts[h]);
            !inserted) {
          error(origin.hosts[h], "host " + quote(site.hosts[h]) + " is already used (" +
                                     where(first->second, origin.hosts[h]) + ")");
        }
      }
      if (site.upstream.empty() && origin.upstream.path.empty()) continue;  // reported as missing
      if (config_.upstreams.count(site.upstream) != 0) {
        used[site.upstream] = true;
        continue;
      }
      std::string message = "unknown upstream " + quote(site.upstream);
      if (group_names.empty()) {
        message += ": no upstream groups are defined (add one under 'upstreams:')";
      } else if (const std::string hint = did_you_mean(site.upstream, group_names); !hint.empty()) {
        message += " (did you mean '" + hint + "'?)";
      }
      error(origin.upstream, message);
    }
    if (!sites_given_ && !overrides_.upstream) return;  // "no sites" says it all
    for (const auto& [name, group] : config_.upstreams) {
      if (!used[name]) {
        warning(upstream_at_[name], "upstream " + quote(name) + " is not used by any site");
      }
    }
  }

  std::string file_;
  fs::path base_dir_;
  const Overrides& overrides_;
  ServerConfig config_;
  Diagnostics diagnostics_;
  bool root_ok_ = true;      // false when the top level is not a mapping: no cross checks then
  bool flags_only_ = false;  // config_from_flags: "missing" is reported per flag
  Loc listeners_key_;        // for "no listeners": the key when present, else the whole file
  Loc sites_key_;
  bool listeners_given_ = false;  // the file has a non-empty `listeners` (valid or not)
  bool sites_given_ = false;
  std::vector<Origin> listener_at_;  // parallel to config_.listeners (their address)
  std::map<std::string, Origin> upstream_at_;
  std::vector<SiteOrigin> site_at_;  // parallel to config_.sites
  std::optional<Origin> status_at_;
};

// Reads a whole file (a pipe too: `--config <(...)`); on failure returns the message.
std::string read_file(const std::string& path, std::string& out) {
  struct stat st {};
  if (path.find('\0') != std::string::npos) return "cannot read config file: NUL byte in path";
  if (::stat(path.c_str(), &st) != 0) return "cannot read config file: " + errno_text(errno);
  if (S_ISDIR(st.st_mode)) return "cannot read config file: it is a directory";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read config file: " + errno_text(errno);
  std::string text;
  char buf[65536];
  std::string problem;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      problem = "cannot read config file: " + errno_text(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) {
      problem = "config file is larger than " + format_size(kMaxFileBytes);
      break;
    }
  }
  ::close(fd);
  if (problem.empty()) out = std::move(text);
  return problem;
}

LoadResult internal_error(const std::string& file, std::string_view what) {
  LoadResult r;
  r.diagnostics.push_back(Diagnostic{
      file, 0, 0, "internal error while loading: " + printable(what, 200), Severity::error});
  return r;
}

}  // namespace

LoadResult load_config_text(std::string_view yaml, const std::string& source_name,
                            const Overrides& overrides) {
  try {
    Loader loader(source_name, {}, overrides);
    return loader.load_text(yaml);
  } catch (const std::exception& e) {
    return internal_error(source_name, e.what());
  } catch (...) {
    return internal_error(source_name, "unknown exception");
  }
}

LoadResult load_config_file(const std::string& path, const Overrides& overrides) {
  try {
    std::string text;
    if (std::string problem = read_file(path, text); !problem.empty()) {
      LoadResult r;
      r.diagnostics.push_back(Diagnostic{path, 0, 0, std::move(problem), Severity::error});
      return r;
    }
    Loader loader(path, fs::path(path).parent_path(), overrides);
    return loader.load_text(text);
  } catch (const std::exception& e) {
    return internal_error(path, e.what());
  } catch (...) {
    return internal_error(path, "unknown exception");
  }
}

LoadResult config_from_flags(const Overrides& overrides) {
  const std::string source(kCommandLine);
  try {
    Loader loader(source, {}, overrides);
    return loader.load_flags_only();
  } catch (const std::exception& e) {
    return internal_error(source, e.what());
  } catch (...) {
    return internal_error(source, "unknown exception");
  }
}

}  // namespace bawwab::config
