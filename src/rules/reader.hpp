#pragma once
// Reading rule files (private to the rules module): where a value is (file, position, rule, key
// path), the diagnostics collected on the way, and typed readers of YAML values that report what
// is wrong and give nullopt. Shared by the two phases of the compiler: loader.cpp (files and
// definitions) and compiler.cpp (rules). Not thread-safe: one load at a time per ReadState.
#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/config/loader.hpp"
#include "bawwab/core/diagnostic.hpp"
#include "bawwab/core/net.hpp"
#include "bawwab/rules/signals.hpp"
#include "text.hpp"

namespace bawwab::rules::detail {

namespace fs = std::filesystem;
using Severity = Diagnostic::Severity;

inline constexpr std::size_t kMaxListFileBytes = 64 * 1024 * 1024;  // lists of CIDRs can be big
// A safety net behind loader.cpp's per-file cap on expanded YAML nodes: all files together may
// take this many visits of the readers.
inline constexpr std::size_t kMaxNodes = 2'000'000;
// More diagnostics than this help no one (and a pathological file could make millions): the
// rest are counted and summed up in one line.
inline constexpr std::size_t kMaxDiagnostics = 500;

struct Loc {
  int line = 0;
  int column = 0;
};

// One file read (a rules file, a list file, or the text given to load_rules_text).
struct Source {
  std::string name;  // as shown in diagnostics
  fs::path dir;      // what relative paths inside it resolve against
  std::size_t order = 0;
};

// Where a value is: file, position, the rule it belongs to ("rule 'x'", "" outside rules) and
// its key path inside the rule or file ("when.path.prefix[0]").
struct At {
  const Source* src = nullptr;
  std::string rule;
  std::string path;
  Loc loc;
};

// The position of a node; `fallback` for an empty value (yaml-cpp marks those at the next
// token, often on the next line).
Loc loc_of(const YAML::Node& n, Loc fallback);
// What a node is, for "expected X, got Y": 'text', "a list", "a mapping", "nothing".
std::string describe(const YAML::Node& n);
// The position and key path of a mapping's value / a list's item.
At child(const At& parent, std::string_view key, Loc loc);
At item(const At& parent, std::size_t index, Loc loc);

struct Entry {
  std::string key;
  Loc key_loc;
  YAML::Node value;
  At at;  // the value's path and position (the key's position when the value is empty)
};
using Entries = std::vector<Entry>;

const Entry* find(const Entries& entries, std::string_view key);

template <std::size_t N>
using Keys = std::array<std::string_view, N>;

inline constexpr Keys<2> kModes = {"enforce", "shadow"};

template <std::size_t N>
std::span<const std::string_view> names(const Keys<N>& a) {
  return {a.data(), a.size()};
}

// " (did you mean 'x'?)" when a candidate is close to `word`, else "".
std::string hint(std::string_view word, std::span<const std::string_view> candidates);

// Reads a regular file whole, at most `max` bytes; false with `problem` set on failure.
bool read_file(const fs::path& path, std::size_t max, std::string& out, std::string& problem);

// Everything the readers of both phases share.
struct ReadState {
  std::vector<std::pair<std::size_t, Diagnostic>> diagnostics;  // with their source's order
  std::deque<Source> sources;       // a deque: At keeps pointers to them
  std::uint64_t hash = kFnvOffset;  // of every file's bytes, in reading order: the version
  std::size_t nodes = 0;            // YAML nodes and file lines visited (see kMaxNodes)
  std::size_t dropped = 0;          // diagnostics beyond kMaxDiagnostics...
  std::size_t dropped_errors = 0;   // ... and how many of them were errors
  // Absolute paths whose change changes the rule set (RuleSet::watch_paths): every file read,
  // and "DIR/*.yaml"-like patterns for directories and globs that a new file would join.
  std::vector<std::string> watch_paths;
};

class Reader {
 public:
  explicit Reader(ReadState& state) : st_(state) {}

 protected:
  void report(const At& at, Severity severity, std::string_view message) {
    if (st_.diagnostics.size() >= kMaxDiagnostics) {
      ++st_.dropped;
      if (severity == Severity::error) ++st_.dropped_errors;  // still keeps the rules from loading
      return;
    }
    Diagnostic d;
    d.file = at.src != nullptr ? at.src->name : std::string();
    d.line = at.loc.line;
    d.column = at.loc.column;
    if (!at.rule.empty()) d.message = at.rule + ": ";
    if (!at.path.empty()) d.message += at.path + ": ";
    d.message += message;
    d.severity = severity;
    const std::size_t order = at.src != nullptr ? at.src->order : st_.sources.size();
    st_.diagnostics.emplace_back(order, std::move(d));
  }

  void error(const At& at, std::string_view message) { report(at, Severity::error, message); }

  void warning(const At& at, std::string_view message) { report(at, Severity::warning, message); }

  // A problem with a whole source given to load_rules (no position).
  void source_error(const std::string& source, std::string_view message) {
    Diagnostic d{source, 0, 0, std::string(message), Severity::error};
    st_.diagnostics.emplace_back(st_.sources.size(), std::move(d));
  }

  // "line 4", or "line 4, column 13" when `here` is on the same line.
  static std::string line_of(Loc first, Loc here) {
    std::string out = "line " + std::to_string(first.line);
    if (first.line == here.line) out += ", column " + std::to_string(first.column);
    return out;
  }

  static std::string where(const At& at) {
    return (at.src != nullptr ? at.src->name : std::string("?")) + ":" +
           std::to_string(at.loc.line) + ":" + std::to_string(at.loc.column);
  }

  // Visits one more YAML node; false (reported once) when the budget is spent.
  bool tick(const At& at) {
    if (++st_.nodes <= kMaxNodes) return true;
    if (st_.nodes == kMaxNodes + 1) {
      error(at, "too many entries (over " + std::to_string(kMaxNodes) +
                    ", aliases expanded): refusing to go on");
    }
    return false;
  }

  std::size_t error_count() const {
    return static_cast<std::size_t>(
               std::count_if(st_.diagnostics.begin(), st_.diagnostics.end(),
                             [](const auto& d) { return d.second.severity == Severity::error; })) +
           st_.dropped_errors;
  }

  Source& add_source(std::string name, fs::path dir) {
    st_.sources.push_back(Source{std::move(name), std::move(dir), st_.sources.size()});
    return st_.sources.back();
  }

  // Remembers a file (or a pattern of files) the rule set depends on, for the file watch.
  void note_watch(const fs::path& path) {
    std::error_code ec;
    const fs::path abs = fs::absolute(path, ec);
    std::string p = (ec ? path : abs).lexically_normal().string();
    if (std::find(st_.watch_paths.begin(), st_.watch_paths.end(), p) == st_.watch_paths.end())
      st_.watch_paths.push_back(std::move(p));
  }

  void hash_bytes(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    st_.hash = fnv1a(st_.hash, std::string_view(reinterpret_cast<const char*>(&size), sizeof size));
    st_.hash = fnv1a(st_.hash, bytes);
  }

  // The entries of a mapping; reports non-scalar keys, unknown keys (with a suggestion) and
  // duplicates (yaml-cpp keeps both). An empty `known` accepts any key (list names).
  Entries read_map(const YAML::Node& map, const At& at, std::span<const std::string_view> known,
                   std::string_view noun = "key") {
    Entries out;
    std::map<std::string, Loc> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!tick(at)) break;
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const Loc key_loc = loc_of(key, at.loc);
      const At key_at{at.src, at.rule, at.path, key_loc};
      if (!key.IsScalar()) {
        error(key_at, "expected a plain key, got " + describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
        error(key_at, "unknown " + std::string(noun) + " " + quote(name) + hint(name, known));
        continue;
      }
      if (const auto [first, inserted] = seen.emplace(name, key_loc); !inserted) {
        error(key_at, "duplicate key " + quote(name) + " (first at " +
                          line_of(first->second, key_loc) + ")");
        continue;
      }
      out.push_back(Entry{name, key_loc, value, child(at, name, loc_of(value, key_loc))});
    }
    return out;
  }

  // The items of a list, each with its position; stops at the node budget.
  std::vector<std::pair<YAML::Node, At>> read_list(const YAML::Node& list, const At& at) {
    std::vector<std::pair<YAML::Node, At>> out;
    std::size_t index = 0;
    for (auto it = list.begin(); it != list.end(); ++it, ++index) {
      if (!tick(at)) break;
      const YAML::Node n = *it;
      out.emplace_back(n, item(at, index, loc_of(n, at.loc)));
    }
    return out;
  }

  bool expect(bool ok, const YAML::Node& n, const At& at, std::string_view what) {
    if (!ok) error(at, "expected " + std::string(what) + ", got " + describe(n));
    return ok;
  }

  std::optional<std::string> read_scalar(const YAML::Node& n, const At& at, std::string_view what) {
    if (!expect(n.IsScalar(), n, at, what)) return std::nullopt;
    return n.Scalar();
  }

  // A scalar or a list of scalars, each with its position.
  std::optional<std::vector<std::pair<std::string, At>>> read_strings(const YAML::Node& n,
                                                                      const At& at,
                                                                      std::string_view what) {
    std::vector<std::pair<std::string, At>> out;
    if (n.IsScalar()) {
      out.emplace_back(n.Scalar(), at);
      return out;
    }
    if (!n.IsSequence() || n.size() == 0) {
      error(at, "expected " + std::string(what) + " or a list of them, got " +
                    (n.IsSequence() ? std::string("an empty list") : describe(n)));
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& [v, a] : read_list(n, at)) {
      if (!v.IsScalar()) {
        error(a, "expected " + std::string(what) + ", got " + describe(v));
        ok = false;
        continue;
      }
      out.emplace_back(v.Scalar(), a);
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<bool> read_bool(const YAML::Node& n, const At& at) {
    auto s = read_scalar(n, at, "true or false");
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "yes" || *s == "on") return true;
    if (*s == "false" || *s == "no" || *s == "off") return false;
    error(at, "expected true or false, got " + quote(*s));
    return std::nullopt;
  }

  std::optional<std::int64_t> read_int(const YAML::Node& n, const At& at, std::int64_t min,
                                       std::int64_t max) {
    auto s = read_scalar(n, at, "a whole number");
    if (!s) return std::nullopt;
    std::int64_t v = 0;
    if (!parse_int(*s, v)) {
      error(at, "expected a whole number, got " + quote(*s));
      return std::nullopt;
    }
    if (v < min || v > max) {
      error(at, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                    ", got " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::chrono::milliseconds> read_duration(const YAML::Node& n, const At& at,
                                                         std::chrono::milliseconds min,
                                                         std::chrono::milliseconds max) {
    auto s = read_scalar(n, at, "a duration like 10s");
    if (!s) return std::nullopt;
    const auto d = config::parse_duration(*s);
    if (!d && d.error() == make_error_code(Errc::config_invalid)) {
      error(at, "expected a duration like 10s (units: ms, s, m, h), got " + quote(*s));
      return std::nullopt;
    }
    if (!d || *d < min || *d > max) {
      error(at, "must be between " + config::format_duration(min) + " and " +
                    config::format_duration(max) + ", got " + quote(*s));
      return std::nullopt;
    }
    return *d;
  }

  std::optional<bool> read_mode(const YAML::Node& n, const At& at) {
    auto s = read_scalar(n, at, "enforce or shadow");
    if (!s) return std::nullopt;
    if (*s == "enforce") return false;
    if (*s == "shadow") return true;
    error(at, "expected enforce or shadow, got " + quote(*s) + hint(*s, names(kModes)));
    return std::nullopt;
  }

  // A name of something defined in the rule files (list, network, limit, crawler).
  std::optional<std::string> read_name(const YAML::Node& n, const At& at, std::string_view what) {
    auto s = read_scalar(n, at, "a name");
    if (!s) return std::nullopt;
    if (!valid_name(*s)) {
      error(at, "invalid " + std::string(what) + " name " + quote(*s) +
                    ": use letters, digits, '-', '_' and '.' (at most 128)");
      return std::nullopt;
    }
    return s;
  }

  // Reports a name defined twice (lists, networks, crawlers, limits, rules); true when new.
  bool define(std::map<std::string, At>& defined, const std::string& name, const At& at,
              std::string_view what) {
    const auto [it, inserted] = defined.emplace(name, at);
    if (!inserted) {
      // "rule 'x': duplicate id (...)": the rule prefix names it already.
      const std::string named = what == "id" ? "id" : std::string(what) + " " + quote(name);
      error(at, "duplicate " + named + " (first defined at " + where(it->second) + ")");
    }
    return inserted;
  }

  std::vector<std::string_view> signal_names() const {
    std::vector<std::string_view> out;
    for (const auto& s : signal_catalog()) out.push_back(s.name);
    return out;
  }

  const SignalInfo* read_signal_name(const std::string& name, const At& at) {
    const SignalInfo* info = find_signal(name);
    if (info == nullptr) error(at, "unknown signal " + quote(name) + hint(name, signal_names()));
    return info;
  }

  // Lines of a list or network file, as (text, line number): '#' comments (whole lines, or
  // everything from '#' when `trailing_comments`) and blank lines dropped, spaces trimmed.
  bool read_lines(const YAML::Node& n, const At& at, bool trailing_comments,
                  std::vector<std::pair<std::string, At>>& out) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      error(at, "expected a file name, got " + describe(n));
      return false;
    }
    const std::string& rel = n.Scalar();
    if (rel.find('\0') != std::string::npos) {
      error(at, "a path cannot contain a NUL byte");
      return false;
    }
    const fs::path path = fs::path(rel).is_absolute() ? fs::path(rel) : at.src->dir / rel;
    const std::string shown = path.lexically_normal().string();
    std::string text;
    std::string problem;
    if (!read_file(path, kMaxListFileBytes, text, problem)) {
      error(at, "cannot read " + quote(shown, 4096) + ": " + problem);
      return false;
    }
    hash_bytes(text);
    note_watch(path);
    const Source& src = add_source(shown, path.parent_path());
    std::size_t pos = 0;
    int line = 0;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view l(text.data() + pos, end - pos);
      pos = end + 1;
      ++line;
      if (!tick(at)) return false;
      if (trailing_comments) l = l.substr(0, l.find('#'));
      std::size_t first = 0;
      while (first < l.size() && (l[first] == ' ' || l[first] == '\t')) ++first;
      l.remove_prefix(first);
      while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) {
        l.remove_suffix(1);
      }
      if (l.empty() || l.front() == '#') continue;
      out.emplace_back(std::string(l),
                       At{&src, at.rule, at.path, Loc{line, static_cast<int>(first) + 1}});
    }
    return true;
  }

  bool read_cidr(const std::string& text, const At& at, std::vector<net::Cidr>& out) {
    const auto c = net::parse_cidr(text);
    if (!c) {
      error(at, "bad CIDR " + quote(text) + ": " + explain_cidr(text));
      return false;
    }
    out.push_back(*c);
    return true;
  }

  void read_cidr_list(const YAML::Node& n, const At& at, std::vector<net::Cidr>& out) {
    const auto items = read_strings(n, at, "a CIDR");
    if (!items) return;
    for (const auto& [text, a] : *items) read_cidr(text, a, out);
  }

  void read_cidr_file(const YAML::Node& n, const At& at, std::vector<net::Cidr>& out) {
    std::vector<std::pair<std::string, At>> lines;
    if (!read_lines(n, at, true, lines)) return;
    // A wrong file (a log instead of a list) would give one error a line: the first few say it.
    constexpr std::size_t kMaxErrors = 20;
    std::size_t bad = 0;
    for (const auto& [text, a] : lines) {
      if (net::parse_cidr(text)) {
        out.push_back(*net::parse_cidr(text));
      } else if (++bad <= kMaxErrors) {
        read_cidr(text, a, out);
      }
    }
    if (bad > kMaxErrors) {
      error(lines.back().second, std::to_string(bad - kMaxErrors) + " more bad CIDRs in this file");
    }
  }

  ReadState& st_;
};

}  // namespace bawwab::rules::detail
