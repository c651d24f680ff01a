// The rules compiler: YAML rule files -> an immutable RuleSetImpl. Two phases:
//  1. read: every file (includes expanded in place, list and network files read) is parsed and
//     its sections validated; definitions (lists, networks, crawlers, limits) are collected from
//     all files, rules are kept as YAML nodes;
//  2. compile: with every name known, the rules are compiled in file order, references are
//     resolved, and the automata (RE2 sets, tries) are built.
// Every problem of every file is reported, with its position and rule id; nothing throws out.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <system_error>

#include "bawwab/config/loader.hpp"
#include "bawwab/rules/loader.hpp"
#include "bawwab/rules/normalize.hpp"
#include "rule_set_impl.hpp"
#include "text.hpp"

namespace bawwab::rules {
namespace {

namespace fs = std::filesystem;
using namespace detail;
using namespace std::chrono_literals;
using Severity = Diagnostic::Severity;

constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;      // a rules file is a few KiB
constexpr std::size_t kMaxListFileBytes = 64 * 1024 * 1024;  // lists of CIDRs can be big
// YAML aliases can make a small file a huge tree ("billion laughs"): a file may have this many
// nodes once they are expanded (a rules file has hundreds; 10,000 inline CIDRs are 10,000)...
constexpr std::uint64_t kMaxDocumentNodes = 200'000;
// ... and all files together this many visits of the compiler (a safety net behind the above).
constexpr std::size_t kMaxNodes = 2'000'000;
constexpr int kMaxDepth = 32;           // nesting of all/any/not
constexpr std::size_t kMaxIncludeDepth = 32;
constexpr std::int64_t kSetMemory = 256LL << 20;  // RE2::Set budget: thousands of patterns

std::string errno_text(int e) { return std::generic_category().message(e); }

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

At child(const At& parent, std::string_view key, Loc loc) {
  const std::string k = valid_name(key, 64) ? std::string(key) : quote(key);
  return At{parent.src, parent.rule, parent.path.empty() ? k : parent.path + "." + k, loc};
}

At item(const At& parent, std::size_t index, Loc loc) {
  return At{parent.src, parent.rule, parent.path + "[" + std::to_string(index) + "]", loc};
}

struct Entry {
  std::string key;
  Loc key_loc;
  YAML::Node value;
  At at;  // the value's path and position (the key's position when the value is empty)
};
using Entries = std::vector<Entry>;

const Entry* find(const Entries& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

template <std::size_t N>
using Keys = std::array<std::string_view, N>;

constexpr Keys<9> kTopKeys = {"include",  "shadow",   "thresholds", "weights", "lists",
                              "networks", "crawlers", "limits",     "rules"};
constexpr Keys<2> kThresholdKeys = {"challenge", "block"};
constexpr Keys<3> kListKeys = {"signal", "patterns", "file"};
constexpr Keys<2> kPatternKeys = {"pattern", "label"};
constexpr Keys<2> kNetworkKeys = {"cidrs", "file"};
constexpr Keys<3> kCrawlerKeys = {"user_agent", "network", "dns"};
constexpr Keys<11> kLimitKeys = {"name",     "key",         "rate",        "burst",
                                 "on_exceed", "status",     "max_delay",   "ban",
                                 "ipv4_prefix", "ipv6_prefix", "mode"};
constexpr Keys<3> kBanKeys = {"duration", "escalation", "max"};
constexpr Keys<9> kKeyParts = {"ip",   "ip_prefix", "header:NAME", "cookie:NAME", "user_agent",
                               "tls.ja4", "host",   "path_group",  "rule"};
constexpr Keys<6> kRuleKeys = {"id", "description", "when", "then", "mode", "enabled"};
constexpr Keys<14> kCondKeys = {"all",    "any",     "not",        "method", "host",
                                "path",   "query",   "header",     "user_agent", "ip",
                                "cookie", "signal",  "score",      "content_type"};
constexpr Keys<4> kPathKeys = {"exact", "prefix", "glob", "regex"};
constexpr Keys<4> kQueryKeys = {"param", "value", "regex", "absent"};
constexpr Keys<6> kHeaderKeys = {"name", "present", "absent", "equals", "contains", "regex"};
constexpr Keys<3> kUaKeys = {"list", "regex", "empty"};
constexpr Keys<2> kIpKeys = {"network", "file"};
constexpr Keys<4> kCookieKeys = {"name", "present", "absent", "regex"};
constexpr Keys<3> kSignalKeys = {"name", "in", "value"};
constexpr Keys<9> kActions = {"allow", "block",     "challenge",          "rate_limit",
                              "tarpit", "score",    "tag",                "set_request_header",
                              "set_response_header"};
constexpr Keys<2> kBlockKeys = {"status", "page"};
constexpr Keys<2> kChallengeKeys = {"level", "difficulty"};
constexpr Keys<3> kChallengeLevels = {"js", "nojs", "accessible"};
constexpr Keys<2> kTarpitKeys = {"delay", "status"};
constexpr Keys<2> kHeaderEditKeys = {"name", "value"};
constexpr Keys<2> kModes = {"enforce", "shadow"};
constexpr Keys<3> kOnExceed = {"reject", "delay", "ban"};
// Fields that frame the message or belong to the connection: setting them from a rule would
// corrupt the exchange (request smuggling, broken keep-alive), so the compiler refuses them.
constexpr Keys<9> kForbiddenEdits = {"content-length", "transfer-encoding", "connection",
                                     "keep-alive",     "te",                "trailer",
                                     "upgrade",        "proxy-connection",  "host"};

template <std::size_t N>
std::span<const std::string_view> names(const Keys<N>& a) {
  return {a.data(), a.size()};
}

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string hint(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string h = config::did_you_mean(word, candidates);
  return h.empty() ? std::string() : " (did you mean '" + h + "'?)";
}

// A pattern list entry, a CIDR, a rule as read in phase 1.
struct PatternDef {
  std::string text;
  std::string label;
  At at;
};
struct ListDef {
  std::string name;
  At at;
  std::string signal;
  std::vector<PatternDef> patterns;
};
struct NetworkDef {
  std::string name;
  At at;
  std::vector<net::Cidr> cidrs;
};
struct CrawlerDef {
  CrawlerSpec spec;
  At at;
  At user_agent_at;
  At network_at;
};
struct RuleDef {
  YAML::Node node;
  At at;  // "rules[3]" in its file
};

// Reads a regular file whole; "" and `problem` set on failure.
bool read_file(const fs::path& path, std::size_t max, std::string& out, std::string& problem) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    problem = errno_text(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
    ::close(fd);
    return false;
  }
  if (static_cast<std::uint64_t>(st.st_size) > max) {
    problem = "larger than " + config::format_size(max);
    ::close(fd);
    return false;
  }
  out.clear();
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = errno_text(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > max) {
      problem = "larger than " + config::format_size(max);
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

// glob(3) matches, sorted (glob sorts them); empty when none.
std::vector<std::string> glob_paths(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), GLOB_ERR, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

// The *.yaml and *.yml files of a directory, sorted by name.
std::vector<fs::path> yaml_files(const fs::path& dir, std::error_code& ec) {
  std::vector<fs::path> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = p.extension().string();
    std::error_code type_ec;
    if ((ext == ".yaml" || ext == ".yml") && fs::is_regular_file(p, type_ec)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Walks a document's events (see parse()): where it starts, and how many nodes it has once its
// aliases are expanded. An alias costs nothing to parse but the whole aliased tree to read, so a
// 2 KB file of nested aliases ("billion laughs") is 100 million nodes to the compiler: counting
// them here, in one linear pass, refuses such a file before any work is done.
struct DocumentScan final : YAML::EventHandler {
  static constexpr std::uint64_t kCap = std::uint64_t{1} << 62;
  YAML::Mark start;
  std::uint64_t expanded = 0;  // nodes once aliases are expanded (saturating)
  std::vector<std::pair<YAML::anchor_t, std::uint64_t>> open;  // containers: anchor, count before
  std::map<YAML::anchor_t, std::uint64_t> sizes;               // anchor -> expanded size

  void add(std::uint64_t n) { expanded = std::min(kCap, expanded + std::min(n, kCap)); }
  void node(YAML::anchor_t anchor) {
    add(1);
    if (anchor != YAML::NullAnchor) sizes[anchor] = 1;
  }
  void begin(YAML::anchor_t anchor) {
    add(1);
    open.emplace_back(anchor, expanded - 1);
  }
  void end() {
    if (open.empty()) return;
    const auto [anchor, before] = open.back();
    open.pop_back();
    if (anchor != YAML::NullAnchor) sizes[anchor] = expanded - before;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    start = mark;
    expanded = 0;
    open.clear();
    sizes.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { node(anchor); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    const auto it = sizes.find(anchor);
    add(it == sizes.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    node(anchor);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    begin(anchor);
  }
  void OnSequenceEnd() override { end(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    begin(anchor);
  }
  void OnMapEnd() override { end(); }
};

// What a rule's compilation learns about it besides the CompiledRule.
struct RuleFacts {
  bool response_phase = false;
  At content_type_at;
};

class Loader {
 public:
  LoadResult load_sources(const std::vector<std::string>& sources) {
    if (sources.empty()) return LoadResult{empty_rule_set(), {}};
    for (const std::string& s : sources) load_source(s);
    return finish();
  }

  LoadResult load_text(std::string_view text, std::string_view name, std::string_view base_dir) {
    Source& src = add_source(std::string(name), fs::path(base_dir.empty() ? "." : base_dir));
    hash_bytes(text);
    std::error_code ec;
    const fs::path self = fs::weakly_canonical(src.dir / fs::path(name), ec);
    if (!ec) stack_.push_back(self.string());
    read_document(text, src);
    stack_.clear();
    return finish();
  }

 private:
  // ------------------------------------------------------------------------------------------
  // Reporting

  void report(const At& at, Severity severity, std::string_view message) {
    Diagnostic d;
    d.file = at.src != nullptr ? at.src->name : std::string();
    d.line = at.loc.line;
    d.column = at.loc.column;
    if (!at.rule.empty()) d.message = at.rule + ": ";
    if (!at.path.empty()) d.message += at.path + ": ";
    d.message += message;
    d.severity = severity;
    const std::size_t order = at.src != nullptr ? at.src->order : sources_.size();
    diagnostics_.emplace_back(order, std::move(d));
  }
  void error(const At& at, std::string_view message) { report(at, Severity::error, message); }
  void warning(const At& at, std::string_view message) { report(at, Severity::warning, message); }
  // A problem with a whole source given to load_rules (no position).
  void source_error(const std::string& source, std::string_view message) {
    Diagnostic d{source, 0, 0, std::string(message), Severity::error};
    diagnostics_.emplace_back(sources_.size(), std::move(d));
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
    if (++nodes_ <= kMaxNodes) return true;
    if (nodes_ == kMaxNodes + 1) {
      error(at, "too many entries (over " + std::to_string(kMaxNodes) +
                    ", aliases expanded): refusing to go on");
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------
  // Files

  Source& add_source(std::string name, fs::path dir) {
    sources_.push_back(Source{std::move(name), std::move(dir), sources_.size()});
    return sources_.back();
  }

  void hash_bytes(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    hash_ = fnv1a(hash_, std::string_view(reinterpret_cast<const char*>(&size), sizeof size));
    hash_ = fnv1a(hash_, bytes);
  }

  // A `rules:` entry of the config: a file, a directory or a glob.
  void load_source(const std::string& source) {
    if (source.empty() || source.find('\0') != std::string::npos) {
      source_error(source, "not a usable path");
      return;
    }
    if (has_glob_chars(source)) {
      const auto matches = glob_paths(source);
      if (matches.empty()) source_error(source, "no file matches this pattern");
      for (const auto& m : matches) load_path(m, m, nullptr);
      return;
    }
    std::error_code ec;
    const auto status = fs::status(source, ec);
    if (ec || !fs::exists(status)) {
      source_error(source, "no such file or directory");
      return;
    }
    load_path(source, source, nullptr);
  }

  // A file or a directory (its *.yaml / *.yml files, sorted). `from`: the include entry, or null.
  void load_path(const fs::path& path, const std::string& shown, const At* from) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      const auto files = yaml_files(path, ec);
      if (ec) {
        if (from) error(*from, "cannot read directory " + quote(shown, 4096) + ": " + ec.message());
        else source_error(shown, "cannot read directory: " + ec.message());
        return;
      }
      if (files.empty()) {
        if (from) error(*from, "directory " + quote(shown, 4096) + " has no *.yaml or *.yml file");
        else source_error(shown, "directory has no *.yaml or *.yml file");
        return;
      }
      for (const auto& f : files) {
        const std::string name = (fs::path(shown) / f.filename()).lexically_normal().string();
        load_file(f, name, from);
      }
      return;
    }
    load_file(path, shown, from);
  }

  void load_file(const fs::path& path, const std::string& shown, const At* from) {
    std::error_code ec;
    const std::string canonical = fs::weakly_canonical(path, ec).string();
    const std::string key = ec ? path.lexically_normal().string() : canonical;
    if (const auto it = std::find(stack_.begin(), stack_.end(), key); it != stack_.end()) {
      std::string cycle;
      for (auto i = it; i != stack_.end(); ++i) cycle += fs::path(*i).filename().string() + " -> ";
      cycle += fs::path(key).filename().string();
      if (from) error(*from, "include cycle: " + cycle);
      return;
    }
    // A file reached twice (a directory source and an include, or two includes) is read once:
    // reading it again would only duplicate its definitions.
    if (!loaded_.insert(key).second) return;
    if (stack_.size() >= kMaxIncludeDepth) {
      if (from) error(*from, "includes nested too deeply (over " +
                                 std::to_string(kMaxIncludeDepth) + " levels)");
      return;
    }
    std::string text;
    std::string problem;
    if (!read_file(path, kMaxFileBytes, text, problem)) {
      if (from) error(*from, "cannot read " + quote(shown, 4096) + ": " + problem);
      else source_error(shown, "cannot read: " + problem);
      return;
    }
    hash_bytes(text);
    Source& src = add_source(shown, path.parent_path().empty() ? fs::path(".") : path.parent_path());
    stack_.push_back(key);
    read_document(text, src);
    stack_.pop_back();
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

  // ------------------------------------------------------------------------------------------
  // YAML

  // The one document of a file, or nullopt after reporting why there is none.
  //
  // Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, on a stray ',' at the top
  // level (",: }"; yaml-cpp PR #1319, fixed after 0.8): the parser then returns an empty document
  // without consuming the token, again and again. So first walk the documents with an event
  // handler, at most three, and call it a syntax error when one starts where the previous one did
  // (the same guard as the config loader).
  std::optional<YAML::Node> parse(std::string_view yaml, const Source& src) {
    const std::string text(yaml);
    const At top{&src, "", "", {}};
    try {
      std::istringstream in(text);
      YAML::Parser parser(in);
      DocumentScan starts;
      std::vector<YAML::Mark> documents;
      while (documents.size() < 3 && parser.HandleNextDocument(starts)) {
        if (!documents.empty() && starts.start.pos == documents.back().pos) {
          const YAML::Mark at = documents.back();
          const auto pos = static_cast<std::size_t>(at.pos);
          error(At{&src, "", "", Loc{at.line + 1, at.column + 1}},
                "YAML syntax error: unexpected " +
                    (pos < text.size() ? quote(text.substr(pos, 1)) : std::string("character")));
          return std::nullopt;
        }
        documents.push_back(starts.start);
      }
      if (documents.size() > 1) {
        error(At{&src, "", "", Loc{documents[1].line + 1, documents[1].column + 1}},
              "only one YAML document is allowed; this is a second one ('---')");
        return std::nullopt;
      }
      if (documents.empty()) return YAML::Node();  // empty, or only comments
      if (starts.expanded > kMaxDocumentNodes) {
        error(At{&src, "", "", Loc{documents[0].line + 1, documents[0].column + 1}},
              "too large: over " + std::to_string(kMaxDocumentNodes) +
                  " YAML nodes once aliases are expanded");
        return std::nullopt;
      }
      return YAML::Load(text);                     // the first (and only) document
    } catch (const YAML::ParserException& e) {
      const Loc at = e.mark.is_null() ? Loc{} : Loc{e.mark.line + 1, e.mark.column + 1};
      error(At{&src, "", "", at}, "YAML syntax error: " + printable(e.msg, 200));
    } catch (const YAML::Exception& e) {
      error(top, "YAML error: " + printable(e.msg, 200));
    }
    return std::nullopt;
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

  // ------------------------------------------------------------------------------------------
  // Phase 1: files and their definitions

  void read_document(std::string_view text, Source& src) {
    const std::optional<YAML::Node> root = parse(text, src);
    if (!root) return;
    if (!root->IsDefined() || root->IsNull()) return;  // empty: nothing defined
    const At top{&src, "", "", Loc{1, 1}};
    if (!root->IsMap()) {
      error(At{&src, "", "", loc_of(*root, Loc{1, 1})},
            "expected a mapping (include, lists, networks, limits, rules, ...) at the top level, "
            "got " + describe(*root));
      return;
    }
    for (const Entry& e : read_map(*root, top, names(kTopKeys))) {
      if (e.key == "include") read_include(e);
      else if (e.key == "shadow") {
        if (const auto b = read_bool(e.value, e.at)) global_shadow_ = global_shadow_ || *b;
      } else if (e.key == "thresholds") read_thresholds(e);
      else if (e.key == "weights") read_weights(e);
      else if (e.key == "lists") read_lists(e);
      else if (e.key == "networks") read_networks(e);
      else if (e.key == "crawlers") read_crawlers(e);
      else if (e.key == "limits") read_limits(e);
      else if (e.key == "rules") read_rules(e);
    }
  }

  void read_include(const Entry& e) {
    const auto entries = read_strings(e.value, e.at, "a file name or pattern");
    if (!entries) return;
    for (const auto& [rel, at] : *entries) {
      if (rel.empty() || rel.find('\0') != std::string::npos) {
        error(at, "expected a file name or pattern, got " + quote(rel));
        continue;
      }
      const fs::path base = e.at.src->dir;
      const fs::path full = fs::path(rel).is_absolute() ? fs::path(rel) : base / rel;
      if (has_glob_chars(rel)) {
        const auto matches = glob_paths(full.string());
        if (matches.empty()) error(at, "no file matches " + quote(rel, 4096));
        for (const auto& m : matches) {
          load_path(m, fs::path(m).lexically_normal().string(), &at);
        }
        continue;
      }
      std::error_code ec;
      if (!fs::exists(full, ec)) {
        error(at, "no such file " + quote(full.lexically_normal().string(), 4096));
        continue;
      }
      load_path(full, full.lexically_normal().string(), &at);
    }
  }

  void read_thresholds(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping (challenge, block)")) return;
    for (const Entry& f : read_map(e.value, e.at, names(kThresholdKeys))) {
      const auto v = read_int(f.value, f.at, 0, 100);
      if (!v) continue;
      // Later files override earlier ones: a site file can retune the shipped thresholds.
      if (f.key == "challenge") {
        thresholds_.challenge = static_cast<int>(*v);
        challenge_at_ = f.at;
      } else {
        thresholds_.block = static_cast<int>(*v);
      }
    }
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

  void read_weights(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of signal: weight")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At key_at{f.at.src, "", e.at.path, f.key_loc};
      const SignalInfo* info = read_signal_name(f.key, key_at);
      const auto v = read_int(f.value, f.at, -100, 100);
      if (info == nullptr || !v) continue;
      auto it = std::find_if(weights_.begin(), weights_.end(),
                             [&](const auto& w) { return w.first == info->name; });
      if (it == weights_.end()) weights_.emplace_back(info->name, static_cast<int>(*v));
      else it->second = static_cast<int>(*v);
    }
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

  void read_pattern_items(const YAML::Node& n, const At& at, ListDef& list) {
    if (!expect(n.IsSequence(), n, at, "a list of patterns")) return;
    for (const auto& [v, a] : read_list(n, at)) {
      if (v.IsScalar()) {
        list.patterns.push_back(PatternDef{v.Scalar(), "", a});
      } else if (v.IsMap()) {
        const Entries fields = read_map(v, a, names(kPatternKeys));
        const Entry* pattern = find(fields, "pattern");
        if (pattern == nullptr) {
          error(a, "'pattern' is required");
          continue;
        }
        const auto text = read_scalar(pattern->value, pattern->at, "a regex");
        std::optional<std::string> label = std::string();
        if (const Entry* l = find(fields, "label")) label = read_scalar(l->value, l->at, "a label");
        if (text && label) list.patterns.push_back(PatternDef{*text, *label, pattern->at});
      } else {
        error(a, "expected a pattern or {pattern: ..., label: ...}, got " + describe(v));
      }
    }
  }

  void read_lists(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of list names to patterns")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At name_at{f.at.src, "", e.at.path, f.key_loc};
      if (!valid_name(f.key)) {
        error(name_at, "invalid list name " + quote(f.key) +
                           ": use letters, digits, '-', '_' and '.' (at most 128)");
        continue;
      }
      if (!define(list_names_, f.key, name_at, "list")) continue;
      ListDef list{f.key, name_at, "", {}};
      const std::size_t errors_before = error_count();
      if (f.value.IsSequence()) {
        read_pattern_items(f.value, f.at, list);
      } else if (f.value.IsMap()) {
        for (const Entry& g : read_map(f.value, f.at, names(kListKeys))) {
          if (g.key == "signal") {
            if (const auto s = read_scalar(g.value, g.at, "a signal name")) {
              if (read_signal_name(*s, g.at) != nullptr) list.signal = *s;
            }
          } else if (g.key == "patterns") {
            read_pattern_items(g.value, g.at, list);
          } else {
            std::vector<std::pair<std::string, At>> lines;
            if (read_lines(g.value, g.at, false, lines)) {
              for (auto& [text, at] : lines) list.patterns.push_back(PatternDef{text, "", at});
            }
          }
        }
      } else {
        error(f.at, "expected a list of patterns or a mapping (signal, patterns, file), got " +
                        describe(f.value));
        continue;
      }
      if (list.patterns.empty() && error_count() == errors_before) {
        warning(name_at, "list " + quote(f.key) + " has no patterns");
      }
      lists_.push_back(std::move(list));
    }
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

  void read_networks(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of network names to CIDRs")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At name_at{f.at.src, "", e.at.path, f.key_loc};
      if (!valid_name(f.key)) {
        error(name_at, "invalid network name " + quote(f.key) +
                           ": use letters, digits, '-', '_' and '.' (at most 128)");
        continue;
      }
      if (!define(network_names_, f.key, name_at, "network")) continue;
      NetworkDef net{f.key, name_at, {}};
      const std::size_t errors_before = error_count();
      if (f.value.IsMap()) {
        for (const Entry& g : read_map(f.value, f.at, names(kNetworkKeys))) {
          if (g.key == "cidrs") read_cidr_list(g.value, g.at, net.cidrs);
          else read_cidr_file(g.value, g.at, net.cidrs);
        }
      } else {
        read_cidr_list(f.value, f.at, net.cidrs);
      }
      if (net.cidrs.empty() && error_count() == errors_before) {
        warning(name_at, "network " + quote(f.key) + " has no CIDRs");
      }
      networks_.push_back(std::move(net));
    }
  }

  void read_crawlers(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of crawler names")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At name_at{f.at.src, "", e.at.path, f.key_loc};
      if (!valid_name(f.key)) {
        error(name_at, "invalid crawler name " + quote(f.key) +
                           ": use letters, digits, '-', '_' and '.' (at most 128)");
        continue;
      }
      if (!define(crawler_names_, f.key, name_at, "crawler")) continue;
      if (!expect(f.value.IsMap(), f.value, f.at, "a mapping (user_agent, network, dns)")) continue;
      CrawlerDef c;
      c.spec.name = f.key;
      c.at = name_at;
      bool ok = true;
      bool has_ua = false;
      for (const Entry& g : read_map(f.value, f.at, names(kCrawlerKeys))) {
        if (g.key == "user_agent") {
          const auto s = read_scalar(g.value, g.at, "a regex");
          ok = ok && s.has_value();
          if (s) c.spec.user_agent = *s;
          c.user_agent_at = g.at;
          has_ua = s.has_value();
        } else if (g.key == "network") {
          const auto s = read_name(g.value, g.at, "network");
          ok = ok && s.has_value();
          if (s) c.spec.network = *s;
          c.network_at = g.at;
        } else {
          const auto items = read_strings(g.value, g.at, "a DNS suffix like .googlebot.com");
          if (!items) {
            ok = false;
            continue;
          }
          for (const auto& [text, a] : *items) {
            // ".googlebot.com": a leading dot so that "evilgooglebot.com" is not a match.
            const std::string suffix = lowercase(text.starts_with('.') ? text.substr(1) : text);
            if (!valid_hostname(suffix)) {
              error(a, "bad DNS suffix " + quote(text) + ": expected a name like .googlebot.com");
              ok = false;
              continue;
            }
            c.spec.dns_suffixes.push_back("." + suffix);
          }
        }
      }
      if (!has_ua && ok) {
        error(f.at, "'user_agent' is required");
        ok = false;
      }
      if (ok && c.spec.network.empty() && c.spec.dns_suffixes.empty()) {
        warning(name_at, "crawler " + quote(f.key) +
                             " has neither 'network' nor 'dns': it can never be verified");
      }
      if (ok) crawlers_.push_back(std::move(c));
    }
  }

  void read_limits(const Entry& e) {
    if (!expect(e.value.IsSequence(), e.value, e.at, "a list of limits")) return;
    for (const auto& [n, at] : read_list(e.value, e.at)) read_limit(n, at);
  }

  // "5/s", "300/min", "1000/h" (also "N/m").
  bool parse_rate(std::string_view text, limit::LimitSpec& out) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return false;
    std::int64_t n = 0;
    const std::string_view count = text.substr(0, slash);
    if (count.empty() || count.front() == '+' || count.front() == '-' || !parse_int(count, n) ||
        n < 1 || n > 1'000'000'000) {
      return false;
    }
    const std::string_view unit = text.substr(slash + 1);
    if (unit == "s") out.period = 1s;
    else if (unit == "m" || unit == "min") out.period = 60s;
    else if (unit == "h") out.period = 3600s;
    else return false;
    out.count = static_cast<std::uint64_t>(n);
    out.rate_text = std::string(text);
    return true;
  }

  std::optional<limit::KeyComponent> read_key_part(const std::string& text, const At& at) {
    using limit::KeyPart;
    static constexpr Keys<9> kPartNames = {"ip",      "ip_prefix", "header",     "cookie", "user_agent",
                                           "tls.ja4", "host",      "path_group", "rule"};
    const auto colon = text.find(':');
    const std::string part = text.substr(0, colon);
    const std::string arg = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    if (part == "header" || part == "cookie") {
      if (!valid_token(arg)) {
        error(at, "expected " + part + ":NAME with NAME a " + part + " name, got " + quote(text));
        return std::nullopt;
      }
      return limit::KeyComponent{part == "header" ? KeyPart::header : KeyPart::cookie,
                                 part == "header" ? lowercase(arg) : arg};
    }
    static const std::map<std::string_view, KeyPart> kParts = {
        {"ip", KeyPart::ip},           {"ip_prefix", KeyPart::ip_prefix},
        {"user_agent", KeyPart::user_agent}, {"tls.ja4", KeyPart::tls_ja4},
        {"host", KeyPart::host},       {"path_group", KeyPart::path_group},
        {"rule", KeyPart::rule}};
    const auto it = kParts.find(text);
    if (it == kParts.end()) {
      error(at, "unknown key part " + quote(text) + hint(part, names(kPartNames)) + "; one of " +
                    "ip, ip_prefix, header:NAME, cookie:NAME, user_agent, tls.ja4, host, "
                    "path_group, rule");
      return std::nullopt;
    }
    return limit::KeyComponent{it->second, ""};
  }

  void read_limit(const YAML::Node& n, const At& at) {
    if (!expect(n.IsMap(), n, at, "a limit (a mapping with name, rate, ...)")) return;
    // The name first: every other message about this limit starts with it.
    std::optional<std::string> name;
    At name_at = at;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "name") {
        name_at = child(at, "name", loc_of(it->second, loc_of(it->first, at.loc)));
        name = read_name(it->second, name_at, "limit");
        if (!name) return;
        break;
      }
    }
    if (!name) {
      error(at, "'name' is required");
      return;
    }
    const At lat{at.src, "limit " + quote(*name), "", at.loc};
    const Entries fields = read_map(n, lat, names(kLimitKeys));
    limit::LimitSpec spec;
    spec.name = *name;
    spec.file = at.src->name;
    spec.line = at.loc.line;
    bool ok = true;
    auto here = [](const Entry& e) { return e.at; };
    if (!define(limit_names_, spec.name, At{name_at.src, "", "", name_at.loc}, "limit")) return;
    const Entry* on_exceed = find(fields, "on_exceed");
    if (on_exceed != nullptr) {
      const auto s = read_scalar(on_exceed->value, here(*on_exceed), "reject, delay or ban");
      if (!s) {
        ok = false;
      } else if (*s == "reject") {
        spec.on_exceed = limit::OnExceed::reject;
      } else if (*s == "delay") {
        spec.on_exceed = limit::OnExceed::delay;
      } else if (*s == "ban") {
        spec.on_exceed = limit::OnExceed::ban;
      } else {
        error(here(*on_exceed),
              "expected reject, delay or ban, got " + quote(*s) + hint(*s, names(kOnExceed)));
        ok = false;
      }
    }
    bool has_rate = false;
    bool has_ban = false;
    for (const Entry& e : fields) {
      const At a = here(e);
      if (e.key == "key") {
        const auto parts = read_strings(e.value, a, "a key part (ip, header:NAME, ...)");
        if (!parts) {
          ok = false;
          continue;
        }
        for (const auto& [text, pa] : *parts) {
          if (auto part = read_key_part(text, pa)) spec.key.push_back(std::move(*part));
          else ok = false;
        }
      } else if (e.key == "rate") {
        const auto s = read_scalar(e.value, a, "a rate like 10/s");
        if (s && parse_rate(*s, spec)) {
          has_rate = true;
        } else {
          if (s) error(a, "expected a rate like 10/s, 300/min or 1000/h, got " + quote(*s));
          ok = false;
        }
      } else if (e.key == "burst") {
        const auto v = read_int(e.value, a, 0, 1'000'000);
        ok = ok && v;
        if (v) spec.burst = static_cast<std::uint32_t>(*v);
      } else if (e.key == "status") {
        const auto v = read_int(e.value, a, 400, 599);
        ok = ok && v;
        if (v) spec.status = static_cast<unsigned>(*v);
      } else if (e.key == "max_delay") {
        const auto d = read_duration(e.value, a, 0ms, 300'000ms);
        ok = ok && d;
        if (d) spec.max_delay = *d;
        if (d && spec.on_exceed != limit::OnExceed::delay) {
          error(a, "only applies with on_exceed: delay");
          ok = false;
        }
      } else if (e.key == "ban") {
        has_ban = true;
        if (spec.on_exceed != limit::OnExceed::ban) {
          error(a, "only applies with on_exceed: ban");
          ok = false;
        }
        ok = read_ban(e.value, a, spec) && ok;
      } else if (e.key == "ipv4_prefix") {
        const auto v = read_int(e.value, a, 0, 32);
        ok = ok && v;
        if (v) spec.ipv4_prefix = static_cast<unsigned>(*v);
      } else if (e.key == "ipv6_prefix") {
        const auto v = read_int(e.value, a, 0, 128);
        ok = ok && v;
        if (v) spec.ipv6_prefix = static_cast<unsigned>(*v);
      } else if (e.key == "mode") {
        const auto m = read_mode(e.value, a);
        ok = ok && m;
        if (m) spec.shadow = *m;
      }
    }
    if (!has_rate && find(fields, "rate") == nullptr) {
      error(lat, "'rate' is required (like 10/s, 300/min or 1000/h)");
      ok = false;
    }
    if (spec.on_exceed == limit::OnExceed::ban && !has_ban) {
      error(lat, "on_exceed: ban needs 'ban: {duration: ...}'");
      ok = false;
    }
    if (spec.key.empty()) spec.key.push_back(limit::KeyComponent{limit::KeyPart::ip, ""});
    if (ok) limits_.push_back(std::move(spec));
  }

  bool read_ban(const YAML::Node& n, const At& at, limit::LimitSpec& spec) {
    if (!expect(n.IsMap(), n, at, "a mapping (duration, escalation, max)")) return false;
    const Entries fields = read_map(n, at, names(kBanKeys));
    bool ok = true;
    auto seconds = [](std::chrono::milliseconds d) {
      return std::chrono::duration_cast<std::chrono::seconds>(d);
    };
    const Entry* duration = find(fields, "duration");
    bool duration_ok = false;
    if (duration == nullptr) {
      error(at, "'duration' is required");
      ok = false;
    } else if (const auto d = read_duration(duration->value, duration->at, 1s, 8760h)) {
      spec.ban_duration = seconds(*d);
      duration_ok = true;
    } else {
      ok = false;
    }
    if (const Entry* e = find(fields, "escalation")) {
      const auto s = read_scalar(e->value, e->at, "a number like 2 or 1.5");
      double v = 0;
      const char* end = s ? s->data() + s->size() : nullptr;
      const bool parsed = s && !s->empty() && std::from_chars(s->data(), end, v).ptr == end;
      if (!parsed || v < 1.0 || v > 100.0) {
        if (s) error(e->at, "expected a number between 1 and 100, got " + quote(*s));
        ok = false;
      } else {
        spec.ban_escalation = v;
      }
    }
    if (const Entry* e = find(fields, "max")) {
      if (const auto d = read_duration(e->value, e->at, 1s, 8760h)) {
        spec.ban_max = seconds(*d);
        if (duration_ok && spec.ban_max < spec.ban_duration) {
          error(e->at, "must not be shorter than 'duration'");
          ok = false;
        }
      } else {
        ok = false;
      }
    } else if (spec.ban_max < spec.ban_duration) {
      spec.ban_max = spec.ban_duration;
    }
    return ok;
  }

  void read_rules(const Entry& e) {
    if (!expect(e.value.IsSequence(), e.value, e.at, "a list of rules")) return;
    for (const auto& [n, at] : read_list(e.value, e.at)) rule_defs_.push_back(RuleDef{n, at});
  }

  // ------------------------------------------------------------------------------------------
  // Phase 2: compilation

  std::uint32_t new_ua_atom(std::string shown) {
    impl_->ua_atom_shown.push_back(std::move(shown));
    return static_cast<std::uint32_t>(impl_->ua_atom_shown.size() - 1);
  }

  // Adds a pattern to the UA set; false (reported) when RE2 refuses it.
  bool add_ua_pattern(const std::string& text, const At& at, std::uint32_t atom,
                      std::uint32_t list, std::string label) {
    if (text.empty()) {
      error(at, "an empty pattern would match every user agent");
      return false;
    }
    std::string problem;
    if (ua_set_->Add(text, &problem) < 0) {
      error(at, "bad regex " + quote(text) + ": " + problem);
      return false;
    }
    impl_->ua_patterns.push_back(UaPattern{atom, list, text, std::move(label)});
    return true;
  }

  std::uint32_t new_path_atom(std::string_view kind, std::string text) {
    impl_->path_atoms.push_back(PathAtom{kind, std::move(text)});
    return static_cast<std::uint32_t>(impl_->path_atoms.size() - 1);
  }

  std::uint32_t new_network(std::string name, std::string shown, const std::vector<net::Cidr>& cidrs) {
    const auto atom = static_cast<std::uint32_t>(impl_->networks.size());
    impl_->networks.push_back(Network{std::move(name), std::move(shown)});
    for (const auto& c : cidrs) impl_->cidrs.insert(c, atom);
    return atom;
  }

  template <class Defs>
  std::vector<std::string_view> defined_names(const Defs& defs) const {
    std::vector<std::string_view> out;
    for (const auto& [name, at] : defs) out.push_back(name);
    return out;
  }

  void compile_definitions() {
    // Lists first: their set indices come first, in list order (match_user_agent relies on it).
    for (const ListDef& def : lists_) {
      const auto index = static_cast<std::uint32_t>(impl_->ua_lists.size());
      const std::uint32_t atom = new_ua_atom("list " + quote(def.name));
      std::size_t count = 0;
      for (const PatternDef& p : def.patterns) {
        count += add_ua_pattern(p.text, p.at, atom, index, p.label) ? 1 : 0;
      }
      impl_->ua_lists.push_back(UaList{def.name, def.signal, count});
      list_atoms_[def.name] = atom;
    }
    for (const NetworkDef& def : networks_) {
      network_atoms_[def.name] = new_network(def.name, "network " + quote(def.name), def.cidrs);
    }
    for (const CrawlerDef& def : crawlers_) {
      RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      auto re = std::make_unique<RE2>(def.spec.user_agent, options);
      bool ok = true;
      if (!re->ok()) {
        error(def.user_agent_at, "bad regex " + quote(def.spec.user_agent) + ": " + re->error());
        ok = false;
      }
      if (!def.spec.network.empty() && !network_names_.contains(def.spec.network)) {
        error(def.network_at, "unknown network " + quote(def.spec.network) +
                                  hint(def.spec.network, defined_names(network_names_)));
        ok = false;
      }
      if (!ok) continue;
      impl_->crawlers.push_back(def.spec);
      impl_->crawler_regexes.push_back(std::move(re));
    }
    for (std::size_t i = 0; i < limits_.size(); ++i) limit_index_[limits_[i].name] = i;
    impl_->limits = std::move(limits_);
  }

  // --- conditions

  // A mapping of conditions: all of them must hold.
  std::optional<Cond> cond_map(const YAML::Node& n, const At& at, int depth, RuleFacts& facts) {
    if (!expect(n.IsMap(), n, at, "a mapping of conditions")) return std::nullopt;
    if (depth > kMaxDepth) {
      error(at, "conditions nested too deeply (over " + std::to_string(kMaxDepth) + " levels)");
      return std::nullopt;
    }
    const std::size_t errors_before = error_count();
    Cond all{CondKind::all};
    for (const Entry& e : read_map(n, at, names(kCondKeys), "condition")) {
      if (auto c = condition(e, depth, facts)) all.children.push_back(std::move(*c));
    }
    if (error_count() != errors_before) return std::nullopt;
    if (all.children.empty()) return Cond{CondKind::always};
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  std::size_t error_count() const {
    return static_cast<std::size_t>(std::count_if(diagnostics_.begin(), diagnostics_.end(), [](const auto& d) {
      return d.second.severity == Severity::error;
    }));
  }

  std::optional<Cond> condition(const Entry& e, int depth, RuleFacts& facts) {
    const YAML::Node& v = e.value;
    const At& at = e.at;
    if (e.key == "all" || e.key == "any") {
      if (!v.IsSequence() || v.size() == 0) {
        error(at, "expected a list of conditions, got " +
                      (v.IsSequence() ? std::string("an empty list") : describe(v)));
        return std::nullopt;
      }
      Cond c{e.key == "all" ? CondKind::all : CondKind::any};
      bool ok = true;
      for (const auto& [n, a] : read_list(v, at)) {
        auto child_cond = cond_map(n, a, depth + 1, facts);
        if (child_cond) c.children.push_back(std::move(*child_cond));
        else ok = false;
      }
      if (!ok) return std::nullopt;
      return c;
    }
    if (e.key == "not") {
      auto inner = cond_map(v, at, depth + 1, facts);
      if (!inner) return std::nullopt;
      Cond c{CondKind::negate};
      c.children.push_back(std::move(*inner));
      return c;
    }
    if (e.key == "method") return method_cond(v, at);
    if (e.key == "host") return host_cond(v, at);
    if (e.key == "path") return path_cond(v, at);
    if (e.key == "query") return list_of_tests(v, at, &Loader::query_cond);
    if (e.key == "header") return list_of_tests(v, at, &Loader::header_cond);
    if (e.key == "user_agent") return ua_cond(v, at);
    if (e.key == "ip") return ip_cond(v, at);
    if (e.key == "cookie") return list_of_tests(v, at, &Loader::cookie_cond);
    if (e.key == "signal") return signal_cond(v, at);
    if (e.key == "score") return score_cond(v, at);
    // content_type
    auto c = content_type_cond(v, at);
    if (c && !facts.response_phase) {
      facts.response_phase = true;
      facts.content_type_at = at;
    }
    return c;
  }

  // One mapping, or a list of mappings that must all hold (header, query, cookie).
  std::optional<Cond> list_of_tests(const YAML::Node& v, const At& at,
                                    std::optional<Cond> (Loader::*one)(const YAML::Node&, const At&)) {
    if (v.IsMap()) return (this->*one)(v, at);
    if (!v.IsSequence() || v.size() == 0) {
      error(at, "expected a mapping or a list of mappings, got " +
                    (v.IsSequence() ? std::string("an empty list") : describe(v)));
      return std::nullopt;
    }
    Cond all{CondKind::all};
    bool ok = true;
    for (const auto& [n, a] : read_list(v, at)) {
      if (!expect(n.IsMap(), n, a, "a mapping")) {
        ok = false;
        continue;
      }
      auto c = (this->*one)(n, a);
      if (c) all.children.push_back(std::move(*c));
      else ok = false;
    }
    if (!ok) return std::nullopt;
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  std::optional<Cond> method_cond(const YAML::Node& v, const At& at) {
    const auto items = read_strings(v, at, "a method");
    if (!items) return std::nullopt;
    Cond c{CondKind::method};
    bool ok = true;
    for (const auto& [m, a] : *items) {
      if (!valid_token(m)) {
        error(a, "expected a method like GET, got " + quote(m));
        ok = false;
        continue;
      }
      std::string upper = m;
      for (char& ch : upper) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
      if (upper != m) {
        warning(a, "method " + quote(m) + " is not upper-case; methods are case-sensitive and "
                   "clients send " + quote(upper));
      }
      c.strings.push_back(m);
    }
    if (!ok) return std::nullopt;
    return c;
  }

  std::optional<Cond> host_cond(const YAML::Node& v, const At& at) {
    const auto items = read_strings(v, at, "a host name");
    if (!items) return std::nullopt;
    Cond c{CondKind::host};
    bool ok = true;
    for (const auto& [h, a] : *items) {
      const bool wildcard = h.starts_with("*.");
      const std::string name = lowercase(wildcard ? h.substr(2) : h);
      if (!valid_hostname(name)) {
        error(a, "expected a host like news.example or *.news.example, got " + quote(h));
        ok = false;
        continue;
      }
      c.strings.push_back(wildcard ? "." + name : name);
    }
    if (!ok) return std::nullopt;
    return c;
  }

  // exact / prefix paths are compared with normalised request paths: one that is not normalised
  // itself could never match, so say so at load.
  bool check_plain_path(const std::string& p, const At& at, std::string_view kind) {
    if (!p.starts_with('/')) {
      error(at, "a path " + std::string(kind) + " must start with '/', got " + quote(p));
      return false;
    }
    const std::string normal = normalize_path(p);
    // A prefix may end in "/." or similar only by mistake; "/x/" stays "/x/".
    if (normal != p) {
      error(at, "path " + quote(p) + " is not in normalised form, so no request can match it " +
                    "(requests are matched after normalisation): write " + quote(normal));
      return false;
    }
    return true;
  }

  bool add_path_entry(std::string_view kind, const std::string& text, const At& at, Cond& c) {
    if (kind == "exact" || kind == "prefix") {
      if (!check_plain_path(text, at, kind)) return false;
      const std::uint32_t atom = new_path_atom(kind, text);
      if (kind == "exact") {
        impl_->path_exact[text].push_back(atom);
      } else {
        impl_->path_prefixes.insert(text, atom);
      }
      c.atoms.push_back(atom);
      return true;
    }
    if (kind == "glob") {
      if (!text.starts_with('/') && !text.starts_with('*')) {
        error(at, "a path glob must start with '/' or '*', got " + quote(text));
        return false;
      }
      std::string problem;
      const int index = path_glob_set_->Add(glob_to_regex(text), &problem);
      if (index < 0) {
        error(at, "bad glob " + quote(text) + ": " + problem);
        return false;
      }
      const std::uint32_t atom = new_path_atom(kind, text);
      impl_->path_glob_atoms.push_back(atom);
      c.atoms.push_back(atom);
      return true;
    }
    std::string problem;
    if (path_regex_set_->Add(text, &problem) < 0) {
      error(at, "bad regex " + quote(text) + ": " + problem);
      return false;
    }
    const std::uint32_t atom = new_path_atom(kind, text);
    impl_->path_regex_atoms.push_back(atom);
    c.atoms.push_back(atom);
    return true;
  }

  std::optional<Cond> path_cond(const YAML::Node& v, const At& at) {
    if (v.IsScalar() || v.IsSequence()) {
      const auto items = read_strings(v, at, "a path");
      if (!items) return std::nullopt;
      Cond c{CondKind::path};
      bool ok = true;
      for (const auto& [p, a] : *items) {
        ok = add_path_entry(p.find('*') != std::string::npos ? "glob" : "exact", p, a, c) && ok;
      }
      if (!ok) return std::nullopt;
      return c;
    }
    if (!v.IsMap()) {
      error(at, "expected a path, a list of paths or a mapping (exact, prefix, glob, regex), got " +
                    describe(v));
      return std::nullopt;
    }
    Cond all{CondKind::all};
    const std::size_t errors_before = error_count();
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kPathKeys))) {
      const auto items = read_strings(e.value, e.at, e.key == "regex" ? "a regex" : "a path");
      if (!items) {
        ok = false;
        continue;
      }
      Cond c{CondKind::path};
      for (const auto& [p, a] : *items) {
        const std::string_view kind = e.key == "exact"    ? "exact"
                                      : e.key == "prefix" ? "prefix"
                                      : e.key == "glob"   ? "glob"
                                                          : "regex";
        ok = add_path_entry(kind, p, a, c) && ok;
      }
      all.children.push_back(std::move(c));
    }
    if (!ok || error_count() != errors_before) return std::nullopt;
    if (all.children.empty()) {
      error(at, "expected one of exact, prefix, glob, regex");
      return std::nullopt;
    }
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  std::unique_ptr<RE2> compile_regex(const std::string& text, const At& at) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(text, options);
    if (!re->ok()) {
      error(at, "bad regex " + quote(text) + ": " + re->error());
      return nullptr;
    }
    return re;
  }

  std::optional<Cond> query_cond(const YAML::Node& v, const At& at) {
    const Entries fields = read_map(v, at, names(kQueryKeys));
    const Entry* param = find(fields, "param");
    const Entry* absent = find(fields, "absent");
    const Entry* value = find(fields, "value");
    const Entry* regex = find(fields, "regex");
    QueryTest t;
    if ((param == nullptr) == (absent == nullptr)) {
      error(at, param == nullptr ? "expected {param: NAME} or {absent: NAME}"
                                 : "'param' and 'absent' cannot be combined");
      return std::nullopt;
    }
    if (value != nullptr && regex != nullptr) {
      error(regex->at, "'value' and 'regex' cannot be combined");
      return std::nullopt;
    }
    if (absent != nullptr && (value != nullptr || regex != nullptr)) {
      error((value != nullptr ? value : regex)->at, "'absent' takes no value test");
      return std::nullopt;
    }
    const Entry* name_entry = param != nullptr ? param : absent;
    const auto name = read_scalar(name_entry->value, name_entry->at, "a parameter name");
    if (!name) return std::nullopt;
    if (name->empty()) {
      error(name_entry->at, "expected a parameter name, got an empty string");
      return std::nullopt;
    }
    t.param = *name;
    if (absent != nullptr) {
      t.mode = TestMode::absent;
    } else if (value != nullptr) {
      const auto s = read_scalar(value->value, value->at, "a value");
      if (!s) return std::nullopt;
      t.mode = TestMode::equals;
      t.value = *s;
    } else if (regex != nullptr) {
      const auto s = read_scalar(regex->value, regex->at, "a regex");
      if (!s) return std::nullopt;
      t.regex = compile_regex(*s, regex->at);
      if (!t.regex) return std::nullopt;
      t.mode = TestMode::regex;
    }
    Cond c{CondKind::query};
    c.index = static_cast<std::uint32_t>(impl_->query_tests.size());
    impl_->query_tests.push_back(std::move(t));
    return c;
  }

  // One of present / absent / equals / contains / regex; shared by header and cookie.
  bool read_test(const Entries& fields, const At& at, std::span<const std::string_view> tests,
                 TestMode& mode, std::string& value, std::unique_ptr<RE2>& regex) {
    const Entry* test = nullptr;
    for (const Entry& e : fields) {
      if (e.key == "name") continue;
      if (test != nullptr) {
        error(e.at, "one test per mapping: " + quote(test->key) + " and " + quote(e.key) +
                        " cannot be combined (write a list of mappings)");
        return false;
      }
      test = &e;
    }
    if (test == nullptr) {
      std::string list;
      for (const auto t : tests) list += (list.empty() ? "" : ", ") + std::string(t);
      error(at, "expected a test: one of " + list);
      return false;
    }
    if (test->key == "present" || test->key == "absent") {
      const auto b = read_bool(test->value, test->at);
      if (!b) return false;
      mode = (*b == (test->key == "present")) ? TestMode::present : TestMode::absent;
      return true;
    }
    const auto s = read_scalar(test->value, test->at, test->key == "regex" ? "a regex" : "a value");
    if (!s) return false;
    if (test->key == "regex") {
      regex = compile_regex(*s, test->at);
      mode = TestMode::regex;
      return regex != nullptr;
    }
    mode = test->key == "equals" ? TestMode::equals : TestMode::contains;
    value = *s;
    return true;
  }

  std::optional<Cond> header_cond(const YAML::Node& v, const At& at) {
    const Entries fields = read_map(v, at, names(kHeaderKeys));
    const Entry* name = find(fields, "name");
    if (name == nullptr) {
      error(at, "'name' is required");
      return std::nullopt;
    }
    const auto n = read_scalar(name->value, name->at, "a header name");
    if (!n) return std::nullopt;
    if (!valid_token(*n)) {
      error(name->at, quote(*n) + " is not a valid header name (letters, digits and "
                                  "!#$%&'*+-.^_`|~)");
      return std::nullopt;
    }
    HeaderTest t;
    t.name = lowercase(*n);
    t.shown = *n;
    if (!read_test(fields, at, std::array<std::string_view, 5>{"present", "absent", "equals",
                                                               "contains", "regex"},
                   t.mode, t.value, t.regex)) {
      return std::nullopt;
    }
    Cond c{CondKind::header};
    c.index = static_cast<std::uint32_t>(impl_->header_tests.size());
    impl_->header_tests.push_back(std::move(t));
    return c;
  }

  std::optional<Cond> cookie_cond(const YAML::Node& v, const At& at) {
    const Entries fields = read_map(v, at, names(kCookieKeys));
    const Entry* name = find(fields, "name");
    if (name == nullptr) {
      error(at, "'name' is required");
      return std::nullopt;
    }
    const auto n = read_scalar(name->value, name->at, "a cookie name");
    if (!n) return std::nullopt;
    if (!valid_token(*n)) {
      error(name->at, quote(*n) + " is not a valid cookie name");
      return std::nullopt;
    }
    CookieTest t;
    t.name = *n;
    std::string unused;
    if (!read_test(fields, at, std::array<std::string_view, 3>{"present", "absent", "regex"},
                   t.mode, unused, t.regex)) {
      return std::nullopt;
    }
    Cond c{CondKind::cookie};
    c.index = static_cast<std::uint32_t>(impl_->cookie_tests.size());
    impl_->cookie_tests.push_back(std::move(t));
    return c;
  }

  std::optional<Cond> ua_regex_cond(const std::string& text, const At& at) {
    const std::uint32_t atom = new_ua_atom("regex " + quote(text));
    if (!add_ua_pattern(text, at, atom, kNone, "")) return std::nullopt;
    Cond c{CondKind::user_agent};
    c.atoms.push_back(atom);
    return c;
  }

  std::optional<Cond> ua_cond(const YAML::Node& v, const At& at) {
    if (v.IsScalar()) return ua_regex_cond(v.Scalar(), at);
    if (!v.IsMap()) {
      error(at, "expected a regex or a mapping (list, regex, empty), got " + describe(v));
      return std::nullopt;
    }
    Cond all{CondKind::all};
    const std::size_t errors_before = error_count();
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kUaKeys))) {
      if (e.key == "regex") {
        const auto s = read_scalar(e.value, e.at, "a regex");
        auto c = s ? ua_regex_cond(*s, e.at) : std::nullopt;
        if (c) all.children.push_back(std::move(*c));
        else ok = false;
      } else if (e.key == "empty") {
        const auto b = read_bool(e.value, e.at);
        if (!b) {
          ok = false;
          continue;
        }
        Cond c{CondKind::ua_empty};
        c.flag = *b;
        all.children.push_back(std::move(c));
      } else {
        const auto items = read_strings(e.value, e.at, "a list name");
        if (!items) {
          ok = false;
          continue;
        }
        Cond c{CondKind::user_agent};
        for (const auto& [name, a] : *items) {
          const auto it = list_atoms_.find(name);
          if (it == list_atoms_.end()) {
            // A list defined with errors is known by name: do not add a misleading "unknown".
            if (!list_names_.contains(name)) {
              error(a, "unknown list " + quote(name) + hint(name, defined_names(list_names_)));
            }
            ok = false;
            continue;
          }
          c.atoms.push_back(it->second);
        }
        all.children.push_back(std::move(c));
      }
    }
    if (!ok || error_count() != errors_before) return std::nullopt;
    if (all.children.empty()) {
      error(at, "expected one of list, regex, empty");
      return std::nullopt;
    }
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  std::string shown_cidrs(const std::vector<net::Cidr>& cidrs) {
    std::string out;
    for (std::size_t i = 0; i < cidrs.size() && i < 3; ++i) {
      out += (i == 0 ? "" : ", ") + cidrs[i].to_string();
    }
    if (cidrs.size() > 3) out += " (and " + std::to_string(cidrs.size() - 3) + " more)";
    return out;
  }

  std::optional<Cond> ip_cond(const YAML::Node& v, const At& at) {
    if (v.IsScalar() || v.IsSequence()) {
      std::vector<net::Cidr> cidrs;
      const std::size_t before = error_count();
      read_cidr_list(v, at, cidrs);
      if (error_count() != before) return std::nullopt;
      Cond c{CondKind::ip};
      c.atoms.push_back(new_network("", shown_cidrs(cidrs), cidrs));
      return c;
    }
    if (!v.IsMap()) {
      error(at, "expected a CIDR, a list of CIDRs or a mapping (network, file), got " + describe(v));
      return std::nullopt;
    }
    Cond all{CondKind::all};
    const std::size_t errors_before = error_count();
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kIpKeys))) {
      Cond c{CondKind::ip};
      if (e.key == "file") {
        std::vector<net::Cidr> cidrs;
        const std::size_t before = error_count();
        read_cidr_file(e.value, e.at, cidrs);
        if (error_count() != before) {
          ok = false;
          continue;
        }
        c.atoms.push_back(new_network("", "file " + quote(e.value.Scalar()), cidrs));
      } else {
        const auto items = read_strings(e.value, e.at, "a network name");
        if (!items) {
          ok = false;
          continue;
        }
        for (const auto& [name, a] : *items) {
          const auto it = network_atoms_.find(name);
          if (it == network_atoms_.end()) {
            if (!network_names_.contains(name)) {
              error(a, "unknown network " + quote(name) + hint(name, defined_names(network_names_)));
            }
            ok = false;
            continue;
          }
          c.atoms.push_back(it->second);
        }
      }
      all.children.push_back(std::move(c));
    }
    if (!ok || error_count() != errors_before) return std::nullopt;
    if (all.children.empty()) {
      error(at, "expected one of network, file");
      return std::nullopt;
    }
    if (all.children.size() == 1) return std::move(all.children.front());
    return all;
  }

  std::optional<Cond> signal_cond(const YAML::Node& v, const At& at) {
    SignalTest t;
    if (v.IsScalar() || v.IsSequence()) {
      const auto items = read_strings(v, at, "a signal name");
      if (!items) return std::nullopt;
      bool ok = true;
      for (const auto& [name, a] : *items) {
        const SignalInfo* info = read_signal_name(name, a);
        if (info != nullptr) t.names.push_back(info->name);
        else ok = false;
      }
      if (!ok) return std::nullopt;
    } else if (v.IsMap()) {
      const Entries fields = read_map(v, at, names(kSignalKeys));
      const Entry* name = find(fields, "name");
      const Entry* in = find(fields, "in");
      const Entry* value = find(fields, "value");
      if (name == nullptr) {
        error(at, "'name' is required");
        return std::nullopt;
      }
      const auto n = read_scalar(name->value, name->at, "a signal name");
      if (!n) return std::nullopt;
      const SignalInfo* info = read_signal_name(*n, name->at);
      if (info == nullptr) return std::nullopt;
      t.names.push_back(info->name);
      if (in != nullptr && value != nullptr) {
        error(value->at, "'in' and 'value' cannot be combined");
        return std::nullopt;
      }
      const Entry* test = in != nullptr ? in : value;
      if (test != nullptr && !info->has_value) {
        error(test->at, "signal " + quote(*n) + " carries no value");
        return std::nullopt;
      }
      if (in != nullptr) {
        const auto items = read_strings(in->value, in->at, "a value");
        if (!items) return std::nullopt;
        for (const auto& [s, a] : *items) t.values.push_back(s);
        std::sort(t.values.begin(), t.values.end());
        t.value = SignalTest::Value::in;
      } else if (value != nullptr) {
        const auto s = read_scalar(value->value, value->at, "a value");
        if (!s) return std::nullopt;
        t.values.push_back(*s);
        t.value = SignalTest::Value::equals;
      }
    } else {
      error(at, "expected a signal name, a list of them or a mapping (name, in, value), got " +
                    describe(v));
      return std::nullopt;
    }
    Cond c{CondKind::signal};
    c.index = static_cast<std::uint32_t>(impl_->signal_tests.size());
    impl_->signal_tests.push_back(std::move(t));
    return c;
  }

  std::optional<Cond> score_cond(const YAML::Node& v, const At& at) {
    const auto s = read_scalar(v, at, "a comparison like '>= 50'");
    if (!s) return std::nullopt;
    std::string_view text = *s;
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    Cond c{CondKind::score};
    static constexpr std::pair<std::string_view, ScoreOp> kOps[] = {
        {">=", ScoreOp::ge}, {"<=", ScoreOp::le}, {"==", ScoreOp::eq},
        {">", ScoreOp::gt},  {"<", ScoreOp::lt}};
    bool found = false;
    for (const auto& [op, value] : kOps) {
      if (text.starts_with(op)) {
        c.op = value;
        text.remove_prefix(op.size());
        found = true;
        break;
      }
    }
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    std::int64_t n = 0;
    if (!found || !parse_int(text, n)) {
      error(at, "expected a comparison like '>= 50' (>=, >, <=, <, ==), got " + quote(*s));
      return std::nullopt;
    }
    if (n < 0 || n > 100) {
      error(at, "the score is between 0 and 100, got " + std::to_string(n));
      return std::nullopt;
    }
    c.number = static_cast<int>(n);
    return c;
  }

  std::optional<Cond> content_type_cond(const YAML::Node& v, const At& at) {
    const auto items = read_strings(v, at, "a media type");
    if (!items) return std::nullopt;
    Cond c{CondKind::content_type};
    bool ok = true;
    for (const auto& [t, a] : *items) {
      const bool valid = !t.empty() && std::all_of(t.begin(), t.end(), [](char ch) {
        return ch == '/' || valid_token(std::string_view(&ch, 1));
      });
      if (!valid) {
        error(a, "expected a media type like text/html, got " + quote(t));
        ok = false;
        continue;
      }
      c.strings.push_back(lowercase(t));
    }
    if (!ok) return std::nullopt;
    return c;
  }

  // --- actions

  struct ActionSite {
    std::string name;
    At at;
  };

  std::optional<Action> block_action(const YAML::Node& v, const At& at) {
    Block b;
    if (!v.IsDefined() || v.IsNull()) return b;
    if (v.IsScalar()) {
      if (v.Scalar() == "drop") {
        b.drop = true;
        return b;
      }
      error(at, "expected drop or a mapping (status, page), got " + describe(v));
      return std::nullopt;
    }
    if (!expect(v.IsMap(), v, at, "drop or a mapping (status, page)")) return std::nullopt;
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kBlockKeys))) {
      if (e.key == "status") {
        const auto s = read_int(e.value, e.at, 400, 599);
        ok = ok && s;
        if (s) b.status = static_cast<unsigned>(*s);
      } else {
        const auto p = read_name(e.value, e.at, "page");
        ok = ok && p;
        if (p) b.page = *p;
      }
    }
    if (!ok) return std::nullopt;
    return b;
  }

  std::optional<Action> challenge_action(const YAML::Node& v, const At& at) {
    Challenge c;
    if (!v.IsDefined() || v.IsNull()) return c;
    auto level = [&](const YAML::Node& n, const At& a) {
      const auto s = read_scalar(n, a, "js, nojs or accessible");
      if (!s) return false;
      if (std::find(kChallengeLevels.begin(), kChallengeLevels.end(), *s) == kChallengeLevels.end()) {
        error(a, "expected js, nojs or accessible, got " + quote(*s) + hint(*s, names(kChallengeLevels)));
        return false;
      }
      c.level = *s;
      return true;
    };
    if (v.IsScalar()) {
      if (!level(v, at)) return std::nullopt;
      return c;
    }
    if (!expect(v.IsMap(), v, at, "a level or a mapping (level, difficulty)")) return std::nullopt;
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kChallengeKeys))) {
      if (e.key == "level") {
        ok = level(e.value, e.at) && ok;
      } else {
        const auto d = read_int(e.value, e.at, 0, 32);
        ok = ok && d;
        if (d) c.difficulty = static_cast<unsigned>(*d);
      }
    }
    if (!ok) return std::nullopt;
    return c;
  }

  std::optional<Action> tarpit_action(const YAML::Node& v, const At& at) {
    Tarpit t;
    if (!v.IsDefined() || v.IsNull()) return t;
    if (!expect(v.IsMap(), v, at, "a mapping (delay, status)")) return std::nullopt;
    bool ok = true;
    for (const Entry& e : read_map(v, at, names(kTarpitKeys))) {
      if (e.key == "delay") {
        const auto d = read_duration(e.value, e.at, 1ms, 300'000ms);
        ok = ok && d;
        if (d) t.delay = *d;
      } else {
        const auto s = read_int(e.value, e.at, 400, 599);
        ok = ok && s;
        if (s) t.status = static_cast<unsigned>(*s);
      }
    }
    if (!ok) return std::nullopt;
    return t;
  }

  std::optional<Action> rate_limit_action(const YAML::Node& v, const At& at) {
    const auto items = read_strings(v, at, "a limit name");
    if (!items) return std::nullopt;
    RateLimit r;
    bool ok = true;
    for (const auto& [name, a] : *items) {
      const auto it = limit_index_.find(name);
      if (it == limit_index_.end()) {
        if (!limit_names_.contains(name)) {
          error(a, "unknown limit " + quote(name) + hint(name, defined_names(limit_names_)));
        }
        ok = false;
        continue;
      }
      r.limits.push_back(it->second);
    }
    if (!ok) return std::nullopt;
    return r;
  }

  std::optional<HeaderEdit> header_edit(const YAML::Node& v, const At& at, bool request) {
    if (!expect(v.IsMap(), v, at, "a mapping (name, value)")) return std::nullopt;
    const Entries fields = read_map(v, at, names(kHeaderEditKeys));
    const Entry* name = find(fields, "name");
    const Entry* value = find(fields, "value");
    if (name == nullptr || value == nullptr) {
      error(at, name == nullptr ? "'name' is required" : "'value' is required");
      return std::nullopt;
    }
    const auto n = read_scalar(name->value, name->at, "a header name");
    const auto s = read_scalar(value->value, value->at, "a header value");
    if (!n || !s) return std::nullopt;
    bool ok = true;
    if (!valid_token(*n)) {
      error(name->at, quote(*n) + " is not a valid header name (letters, digits and "
                                  "!#$%&'*+-.^_`|~)");
      ok = false;
    } else {
      const std::string lower = lowercase(*n);
      const bool forbidden =
          std::find(kForbiddenEdits.begin(), kForbiddenEdits.end(), lower) != kForbiddenEdits.end() &&
          (request || lower != "host");
      if (forbidden) {
        error(name->at, quote(*n) + " cannot be set by a rule: it frames the message or "
                                    "belongs to the connection");
        ok = false;
      }
    }
    if (s->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      error(value->at, "a header value cannot contain CR, LF or NUL: " + quote(*s));
      ok = false;
    } else if (std::any_of(s->begin(), s->end(), [](char c) {
                 return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
               })) {
      error(value->at, "a header value cannot contain control characters: " + quote(*s));
      ok = false;
    }
    if (!ok) return std::nullopt;
    return HeaderEdit{*n, *s};
  }

  // The `then:` of a rule. False when anything was wrong (all of it reported).
  bool actions(const YAML::Node& then, const At& at, const RuleFacts& facts, CompiledRule& out) {
    std::vector<std::pair<YAML::Node, At>> items;
    if (then.IsSequence()) {
      if (then.size() == 0) {
        error(at, "expected at least one action");
        return false;
      }
      items = read_list(then, at);
    } else {
      items.emplace_back(then, at);
    }
    bool ok = true;
    std::optional<ActionSite> terminal;
    for (const auto& [n, a] : items) {
      std::string name;
      YAML::Node value;
      At value_at = a;
      At name_at = a;
      if (n.IsScalar()) {
        name = n.Scalar();
      } else if (n.IsMap()) {
        if (n.size() != 1) {
          error(a, "an action is a mapping with one key; got " + std::to_string(n.size()) +
                       " keys (write a list of actions instead)");
          ok = false;
          continue;
        }
        const auto it = n.begin();
        if (!it->first.IsScalar()) {
          error(a, "expected an action name, got " + describe(it->first));
          ok = false;
          continue;
        }
        name = it->first.Scalar();
        name_at.loc = loc_of(it->first, a.loc);
        value = it->second;
        value_at = child(a, name, loc_of(value, name_at.loc));
      } else {
        error(a, "expected an action, got " + describe(n));
        ok = false;
        continue;
      }
      if (std::find(kActions.begin(), kActions.end(), name) == kActions.end()) {
        error(name_at, "unknown action " + quote(name) + hint(name, names(kActions)));
        ok = false;
        continue;
      }
      const bool is_terminal = name == "allow" || name == "block" || name == "challenge" ||
                               name == "rate_limit" || name == "tarpit";
      if (facts.response_phase && name != "set_response_header" && name != "tag") {
        error(name_at, quote(name) + " cannot be used in a response-phase rule (its 'when' has "
                                     "content_type, line " +
                           std::to_string(facts.content_type_at.loc.line) +
                           "): only set_response_header and tag");
        ok = false;
        continue;
      }
      if (is_terminal) {
        if (terminal) {
          error(name_at, "more than one terminal action: " + quote(name) + " here and " +
                             quote(terminal->name) + " at " +
                             line_of(terminal->at.loc, name_at.loc) +
                             " (a rule ends with at most one of allow, block, challenge, "
                             "rate_limit, tarpit)");
          ok = false;
          continue;
        }
        terminal = ActionSite{name, name_at};
      }
      const bool needs_value = !is_terminal || name == "rate_limit";
      if (needs_value && (!value.IsDefined() || value.IsNull())) {
        error(name_at, quote(name) + " needs a value, like {" + name +
                           (name == "score"                      ? ": 20}"
                            : name == "tag"                      ? ": crawler}"
                            : name == "rate_limit"               ? ": per-ip}"
                                                                 : ": {name: X-Bot, value: \"1\"}}"));
        ok = false;
        continue;
      }
      if (name == "allow") {
        if (value.IsDefined() && !value.IsNull()) {
          error(value_at, "'allow' takes no value");
          ok = false;
          continue;
        }
        out.terminal = Allow{};
      } else if (name == "block" || name == "challenge" || name == "tarpit" || name == "rate_limit") {
        const std::optional<Action> act =
            name == "block"       ? block_action(value, value_at)
            : name == "challenge" ? challenge_action(value, value_at)
            : name == "tarpit"    ? tarpit_action(value, value_at)
                                  : rate_limit_action(value, value_at);
        if (act) out.terminal = *act;
        else ok = false;
      } else if (name == "score") {
        const auto v = read_int(value, value_at, -100, 100);
        if (!v) {
          ok = false;
          continue;
        }
        out.has_score = true;
        out.score += static_cast<int>(*v);
      } else if (name == "tag") {
        const auto s = read_scalar(value, value_at, "a tag");
        if (!s) {
          ok = false;
          continue;
        }
        const bool valid = valid_name(std::string_view(*s), 64) ||
                           (!s->empty() && s->size() <= 64 &&
                            std::all_of(s->begin(), s->end(), [](char c) {
                              return c == ':' || valid_name(std::string_view(&c, 1));
                            }));
        if (!valid) {
          error(value_at, "expected a tag of letters, digits, '-', '_', '.', ':' (at most 64), got " +
                              quote(*s));
          ok = false;
          continue;
        }
        out.tags.push_back(*s);
      } else {
        const bool request = name == "set_request_header";
        auto edit = header_edit(value, value_at, request);
        if (!edit) {
          ok = false;
          continue;
        }
        (request ? out.request_headers : out.response_headers).push_back(std::move(*edit));
      }
    }
    return ok;
  }

  // --- rules

  void compile_rule(const RuleDef& def) {
    const YAML::Node& n = def.node;
    At at = def.at;
    if (!n.IsMap()) {
      error(at, "expected a rule (a mapping with id, when, then), got " + describe(n));
      return;
    }
    // The id first: every other message about this rule starts with it.
    std::optional<std::string> id;
    At id_at = at;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "id") {
        id_at = child(at, "id", loc_of(it->second, loc_of(it->first, at.loc)));
        if (it->second.IsScalar()) id = it->second.Scalar();
        break;
      }
    }
    if (id && valid_name(*id)) {
      at = At{at.src, "rule " + quote(*id), "", at.loc};
      id_at.rule = at.rule;
      id_at.path.clear();
    }
    const Entries fields = read_map(n, at, names(kRuleKeys));
    bool ok = true;
    if (!id) {
      error(find(fields, "id") != nullptr ? id_at : at,
            find(fields, "id") != nullptr ? "expected an id, got " + describe(find(fields, "id")->value)
                                          : std::string("'id' is required"));
      ok = false;
    } else if (!valid_name(*id)) {
      error(id_at, "invalid id " + quote(*id) +
                       ": use letters, digits, '-', '_' and '.' (at most 128)");
      ok = false;
    } else if (!define(rule_names_, *id, id_at, "id")) {
      ok = false;
    }
    RuleInfo info;
    info.id = id.value_or("");
    info.file = at.src->name;
    info.line = at.loc.line;
    bool enabled = true;
    CompiledRule rule;
    RuleFacts facts;
    const Entry* then = nullptr;
    for (const Entry& e : fields) {
      if (e.key == "description") {
        const auto s = read_scalar(e.value, e.at, "a description");
        ok = ok && s;
        if (s) info.description = *s;
      } else if (e.key == "mode") {
        const auto m = read_mode(e.value, e.at);
        ok = ok && m;
        if (m) info.shadow = *m;
      } else if (e.key == "enabled") {
        const auto b = read_bool(e.value, e.at);
        ok = ok && b;
        if (b) enabled = *b;
      } else if (e.key == "when") {
        auto c = cond_map(e.value, e.at, 0, facts);
        if (!c) {
          ok = false;
          continue;
        }
        rule.has_when = c->kind != CondKind::always;
        rule.when = std::move(*c);
      } else if (e.key == "then") {
        then = &e;
      }
    }
    // Actions after the conditions: whether the rule is a response-phase one decides which
    // actions it may hold.
    if (then == nullptr) {
      error(at, "'then' is required (the action: allow, block, challenge, rate_limit, tarpit, "
                "score, tag, set_request_header, set_response_header)");
      ok = false;
    } else {
      ok = actions(then->value, then->at, facts, rule) && ok;
    }
    info.response_phase = facts.response_phase;
    if (!ok || !enabled) return;  // disabled rules are validated, not compiled
    rule.info = impl_->infos.size();
    rule_sites_.push_back(at);
    impl_->infos.push_back(std::move(info));
    impl_->rules.push_back(std::move(rule));
  }

  // Warns about rules no request can reach: those after an enforcing rule that has no
  // condition and a terminal action (in the request phase).
  void check_reachability() {
    const CompiledRule* blocker = nullptr;
    const At* blocker_at = nullptr;
    for (std::size_t i = 0; i < impl_->rules.size(); ++i) {
      const CompiledRule& r = impl_->rules[i];
      const RuleInfo& info = impl_->infos[r.info];
      if (info.response_phase) continue;
      if (blocker != nullptr) {
        const RuleInfo& b = impl_->infos[blocker->info];
        warning(rule_sites_[i], "unreachable: rule " + quote(b.id) + " (" + where(*blocker_at) +
                                    ") has no condition and always decides first");
        continue;
      }
      if (!r.has_when && r.terminal && !info.shadow) {
        blocker = &r;
        blocker_at = &rule_sites_[i];
      }
    }
  }

  bool compile_set(std::unique_ptr<RE2::Set>& set, std::size_t patterns, std::string_view what) {
    if (patterns == 0) {
      set.reset();
      return true;
    }
    if (!set->Compile()) {
      error(At{}, "the " + std::string(what) + " patterns do not fit in RE2's memory budget: " +
                      "use fewer or simpler patterns");
      return false;
    }
    return true;
  }

  LoadResult finish() {
    impl_ = std::make_unique<RuleSetImpl>();
    RE2::Options ua_options;
    ua_options.set_case_sensitive(false);
    ua_options.set_log_errors(false);
    ua_options.set_max_mem(kSetMemory);
    ua_options.set_never_capture(true);
    ua_set_ = std::make_unique<RE2::Set>(ua_options, RE2::UNANCHORED);
    RE2::Options path_options;
    path_options.set_log_errors(false);
    path_options.set_max_mem(kSetMemory);
    path_options.set_never_capture(true);
    path_glob_set_ = std::make_unique<RE2::Set>(path_options, RE2::ANCHOR_BOTH);
    path_regex_set_ = std::make_unique<RE2::Set>(path_options, RE2::UNANCHORED);

    compile_definitions();
    for (const RuleDef& def : rule_defs_) {
      if (nodes_ > kMaxNodes) break;
      compile_rule(def);
    }
    check_reachability();
    if (thresholds_.challenge > 0 && thresholds_.block > 0 &&
        thresholds_.challenge >= thresholds_.block) {
      warning(challenge_at_, "the challenge threshold (" + std::to_string(thresholds_.challenge) +
                                 ") is not below the block threshold (" +
                                 std::to_string(thresholds_.block) + "): it never applies");
    }
    impl_->needs_ua = !impl_->ua_patterns.empty();
    if (compile_set(ua_set_, impl_->ua_patterns.size(), "user-agent")) {
      impl_->ua_set = std::move(ua_set_);
    }
    if (compile_set(path_glob_set_, impl_->path_glob_atoms.size(), "path glob")) {
      impl_->path_globs = std::move(path_glob_set_);
    }
    if (compile_set(path_regex_set_, impl_->path_regex_atoms.size(), "path regex")) {
      impl_->path_regexes = std::move(path_regex_set_);
    }
    impl_->global_shadow = global_shadow_;
    impl_->thresholds = thresholds_;
    impl_->weights = weights_;
    char version[17];
    std::snprintf(version, sizeof version, "%016llx", static_cast<unsigned long long>(hash_));
    impl_->version = std::string(version, 12);

    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      if (a.second.line != b.second.line) return a.second.line < b.second.line;
      return a.second.column < b.second.column;
    });
    LoadResult result;
    for (auto& [order, d] : diagnostics_) result.diagnostics.push_back(std::move(d));
    if (!has_errors(result.diagnostics)) {
      result.rules = std::make_shared<const RuleSet>(std::move(impl_));
    }
    return result;
  }

  // Diagnostics with the order of their source (for sorting by file, then position).
  std::vector<std::pair<std::size_t, Diagnostic>> diagnostics_;
  std::deque<Source> sources_;  // deque: At keeps pointers to them
  std::set<std::string> loaded_;
  std::vector<std::string> stack_;  // files being read (include cycle detection)
  std::uint64_t hash_ = kFnvOffset;
  std::size_t nodes_ = 0;

  // Phase 1
  bool global_shadow_ = false;
  Thresholds thresholds_;
  At challenge_at_;
  std::vector<std::pair<std::string_view, int>> weights_;
  std::vector<ListDef> lists_;
  std::vector<NetworkDef> networks_;
  std::vector<CrawlerDef> crawlers_;
  std::vector<limit::LimitSpec> limits_;
  std::vector<RuleDef> rule_defs_;
  std::map<std::string, At> list_names_, network_names_, crawler_names_, limit_names_, rule_names_;

  // Phase 2
  std::unique_ptr<RuleSetImpl> impl_;
  std::unique_ptr<RE2::Set> ua_set_, path_glob_set_, path_regex_set_;
  std::map<std::string, std::uint32_t, std::less<>> list_atoms_, network_atoms_;
  std::map<std::string, std::size_t, std::less<>> limit_index_;
  std::vector<At> rule_sites_;  // parallel to impl_->rules
};

LoadResult internal_error(std::string_view name, std::string_view what) {
  LoadResult r;
  r.diagnostics.push_back(Diagnostic{std::string(name), 0, 0,
                                     "internal error while loading rules: " + printable(what, 200),
                                     Severity::error});
  return r;
}

}  // namespace

LoadResult load_rules(const std::vector<std::string>& sources) {
  try {
    return Loader().load_sources(sources);
  } catch (const std::exception& e) {
    return internal_error(sources.empty() ? std::string_view() : sources.front(), e.what());
  } catch (...) {
    return internal_error(sources.empty() ? std::string_view() : sources.front(), "unknown");
  }
}

LoadResult load_rules_text(std::string_view text, std::string_view name, std::string_view base_dir) {
  try {
    return Loader().load_text(text, name, base_dir);
  } catch (const std::exception& e) {
    return internal_error(name, e.what());
  } catch (...) {
    return internal_error(name, "unknown");
  }
}

}  // namespace bawwab::rules
