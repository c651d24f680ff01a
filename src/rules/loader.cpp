// The rules compiler: YAML rule files -> an immutable RuleSetImpl. Two phases:
//  1. read (this file): every file (includes expanded in place, list and network files read) is
//     parsed and its sections validated; definitions (lists, networks, crawlers, limits) are
//     collected from all files, rules are kept as YAML nodes;
//  2. compile (compiler.cpp): with every name known, the rules are compiled in file order,
//     references are resolved, and the automata (RE2 sets, tries) are built.
// Shared readers of YAML values and the diagnostics: reader.hpp.
// Every problem of every file is reported, with its position and rule id; nothing throws out.
#include "bawwab/rules/loader.hpp"

#include <glob.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <sstream>

#include "bawwab/config/loader.hpp"
#include "compiler.hpp"
#include "rule_set_impl.hpp"

namespace bawwab::rules {
namespace {

using namespace detail;
using namespace std::chrono_literals;

constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;  // a rules file is a few KiB
// YAML aliases can make a small file a huge tree ("billion laughs"): a file may have this many
// nodes once they are expanded (a rules file has hundreds; 10,000 inline CIDRs are 10,000).
constexpr std::uint64_t kMaxDocumentNodes = 200'000;
constexpr std::size_t kMaxIncludeDepth = 32;

constexpr Keys<10> kTopKeys = {"include",  "shadow",   "thresholds", "weights", "lists",
                               "networks", "crawlers", "limits",     "pages",   "rules"};
constexpr Keys<2> kThresholdKeys = {"challenge", "block"};
constexpr Keys<3> kListKeys = {"signal", "patterns", "file"};
constexpr Keys<2> kPatternKeys = {"pattern", "label"};
constexpr Keys<2> kNetworkKeys = {"cidrs", "file"};
constexpr Keys<3> kCrawlerKeys = {"user_agent", "network", "dns"};
constexpr Keys<12> kLimitKeys = {"name",        "key",         "rate",      "burst",
                                 "on_exceed",   "status",      "max_delay", "ban", "answer",
                                 "ipv4_prefix", "ipv6_prefix", "mode"};
constexpr Keys<3> kBanKeys = {"duration", "escalation", "max"};
constexpr Keys<3> kOnExceed = {"reject", "delay", "ban"};
constexpr Keys<2> kPageKeys = {"file", "content_type"};
// An error page is a few KiB; more is a mistake (a video given as a page), not a page.
constexpr std::size_t kMaxPageBytes = 1024 * 1024;

bool has_glob_chars(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

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
  bool recursive = false;  // an alias inside the node it refers to
  YAML::Mark recursive_at;

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
    recursive = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { node(anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // An alias inside the node it names ("&a [*a]") makes a cycle: the readers would go round
    // it forever (or until a depth limit, exponentially often). Refuse it.
    for (const auto& [open_anchor, before] : open) {
      if (open_anchor == anchor && !recursive) {
        recursive = true;
        recursive_at = mark;
      }
    }
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

// Phase 1 of the compiler: files (sources, includes, list and network files) and the top-level
// sections; then phase 2 (compiler.cpp) and the result.
class Loader : Reader {
 public:
  explicit Loader(ReadState& state) : Reader(state) {}

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
  // A `rules:` entry of the config: a file, a directory or a glob.
  void load_source(const std::string& source) {
    if (source.empty() || source.find('\0') != std::string::npos) {
      source_error(source, "not a usable path");
      return;
    }
    if (has_glob_chars(source)) {
      note_watch(source);
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
      // A new file in the directory joins the set.
      note_watch(path / "*.yaml");
      note_watch(path / "*.yml");
      const auto files = yaml_files(path, ec);
      if (ec) {
        if (from)
          error(*from, "cannot read directory " + quote(shown, 4096) + ": " + ec.message());
        else
          source_error(shown, "cannot read directory: " + ec.message());
        return;
      }
      if (files.empty()) {
        if (from)
          error(*from, "directory " + quote(shown, 4096) + " has no *.yaml or *.yml file");
        else
          source_error(shown, "directory has no *.yaml or *.yml file");
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
      if (from)
        error(*from,
              "includes nested too deeply (over " + std::to_string(kMaxIncludeDepth) + " levels)");
      return;
    }
    std::string text;
    std::string problem;
    if (!read_file(path, kMaxFileBytes, text, problem)) {
      if (from)
        error(*from, "cannot read " + quote(shown, 4096) + ": " + problem);
      else
        source_error(shown, "cannot read: " + problem);
      return;
    }
    hash_bytes(text);
    note_watch(path);
    Source& src =
        add_source(shown, path.parent_path().empty() ? fs::path(".") : path.parent_path());
    stack_.push_back(key);
    read_document(text, src);
    stack_.pop_back();
  }

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
      if (starts.recursive) {
        error(At{&src, "", "", Loc{starts.recursive_at.line + 1, starts.recursive_at.column + 1}},
              "this alias refers to a node that contains it: recursive YAML is not allowed");
        return std::nullopt;
      }
      if (starts.expanded > kMaxDocumentNodes) {
        error(At{&src, "", "", Loc{documents[0].line + 1, documents[0].column + 1}},
              "too large: over " + std::to_string(kMaxDocumentNodes) +
                  " YAML nodes once aliases are expanded");
        return std::nullopt;
      }
      return YAML::Load(text);  // the first (and only) document
    } catch (const YAML::ParserException& e) {
      const Loc at = e.mark.is_null() ? Loc{} : Loc{e.mark.line + 1, e.mark.column + 1};
      error(At{&src, "", "", at}, "YAML syntax error: " + printable(e.msg, 200));
    } catch (const YAML::Exception& e) {
      error(top, "YAML error: " + printable(e.msg, 200));
    }
    return std::nullopt;
  }

  void read_document(std::string_view text, Source& src) {
    const std::optional<YAML::Node> root = parse(text, src);
    if (!root) return;
    if (!root->IsDefined() || root->IsNull()) return;  // empty: nothing defined
    const At top{&src, "", "", Loc{1, 1}};
    if (!root->IsMap()) {
      error(At{&src, "", "", loc_of(*root, Loc{1, 1})},
            "expected a mapping (include, lists, networks, limits, rules, ...) at the top level, "
            "got " +
                describe(*root));
      return;
    }
    for (const Entry& e : read_map(*root, top, names(kTopKeys))) {
      if (e.key == "include")
        read_include(e);
      else if (e.key == "shadow") {
        if (const auto b = read_bool(e.value, e.at))
          defs_.global_shadow = defs_.global_shadow || *b;
      } else if (e.key == "thresholds")
        read_thresholds(e);
      else if (e.key == "weights")
        read_weights(e);
      else if (e.key == "lists")
        read_lists(e);
      else if (e.key == "networks")
        read_networks(e);
      else if (e.key == "crawlers")
        read_crawlers(e);
      else if (e.key == "limits")
        read_limits(e);
      else if (e.key == "pages")
        read_pages(e);
      else if (e.key == "rules")
        read_rules(e);
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
        note_watch(full);
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
        defs_.thresholds.challenge = static_cast<int>(*v);
        defs_.challenge_at = f.at;
      } else {
        defs_.thresholds.block = static_cast<int>(*v);
      }
    }
  }

  void read_weights(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of signal: weight")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At key_at{f.at.src, "", e.at.path, f.key_loc};
      const SignalInfo* info = read_signal_name(f.key, key_at);
      const auto v = read_int(f.value, f.at, -100, 100);
      if (info == nullptr || !v) continue;
      auto it = std::find_if(defs_.weights.begin(), defs_.weights.end(),
                             [&](const auto& w) { return w.first == info->name; });
      if (it == defs_.weights.end())
        defs_.weights.emplace_back(info->name, static_cast<int>(*v));
      else
        it->second = static_cast<int>(*v);
    }
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
      if (!define(defs_.list_names, f.key, name_at, "list")) continue;
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
      defs_.lists.push_back(std::move(list));
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
      if (!define(defs_.network_names, f.key, name_at, "network")) continue;
      NetworkDef net{f.key, name_at, {}};
      const std::size_t errors_before = error_count();
      bool from_file = false;
      if (f.value.IsMap()) {
        for (const Entry& g : read_map(f.value, f.at, names(kNetworkKeys))) {
          if (g.key == "cidrs") {
            read_cidr_list(g.value, g.at, net.cidrs);
          } else {
            read_cidr_file(g.value, g.at, net.cidrs);
            from_file = true;
          }
        }
      } else {
        read_cidr_list(f.value, f.at, net.cidrs);
      }
      // An empty file is a list kept elsewhere that is empty for now (an allow list as shipped);
      // an empty list written in the rules is more likely a mistake.
      if (net.cidrs.empty() && !from_file && error_count() == errors_before) {
        warning(name_at, "network " + quote(f.key) + " has no CIDRs");
      }
      defs_.networks.push_back(std::move(net));
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
      if (!define(defs_.crawler_names, f.key, name_at, "crawler")) continue;
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
      if (ok) defs_.crawlers.push_back(std::move(c));
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
    if (unit == "s")
      out.period = 1s;
    else if (unit == "m" || unit == "min")
      out.period = 60s;
    else if (unit == "h")
      out.period = 3600s;
    else
      return false;
    out.count = static_cast<std::uint64_t>(n);
    out.rate_text = std::string(text);
    return true;
  }

  std::optional<limit::KeyComponent> read_key_part(const std::string& text, const At& at) {
    using limit::KeyPart;
    static constexpr Keys<9> kPartNames = {"ip",     "ip_prefix",  "header",
                                           "cookie", "user_agent", "tls.ja4",
                                           "host",   "path_group", "rule"};
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
    static const std::map<std::string_view, KeyPart> kParts = {{"ip", KeyPart::ip},
                                                               {"ip_prefix", KeyPart::ip_prefix},
                                                               {"user_agent", KeyPart::user_agent},
                                                               {"tls.ja4", KeyPart::tls_ja4},
                                                               {"host", KeyPart::host},
                                                               {"path_group", KeyPart::path_group},
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
    if (!define(defs_.limit_names, spec.name, At{name_at.src, "", "", name_at.loc}, "limit"))
      return;
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
          if (auto part = read_key_part(text, pa))
            spec.key.push_back(std::move(*part));
          else
            ok = false;
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
      } else if (e.key == "answer") {
        const auto s = read_scalar(e.value, a, "status or challenge");
        if (s && (*s == "status" || *s == "challenge")) {
          spec.answer_challenge = *s == "challenge";
          if (spec.on_exceed == limit::OnExceed::delay) {
            error(a, "only applies to refusals (on_exceed: reject or ban), not to delay");
            ok = false;
          }
        } else {
          if (s) error(a, "expected status or challenge, got " + quote(*s));
          ok = false;
        }
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
    if (ok) defs_.limits.push_back(std::move(spec));
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

  // pages: { legal: pages/451.html, plain: {file: x.txt, content_type: "text/plain"} }
  void read_pages(const Entry& e) {
    if (!expect(e.value.IsMap(), e.value, e.at, "a mapping of page names to files")) return;
    for (const Entry& f : read_map(e.value, e.at, {})) {
      const At name_at{f.at.src, "", e.at.path, f.key_loc};
      if (!valid_name(f.key)) {
        error(name_at, "invalid page name " + quote(f.key) +
                           ": use letters, digits, '-', '_' and '.' (at most 128)");
        continue;
      }
      if (!define(defs_.page_names, f.key, name_at, "page")) continue;
      std::optional<std::string> file;
      At file_at = f.at;
      std::optional<std::string> content_type;
      At type_at = f.at;
      if (f.value.IsMap()) {
        const Entries fields = read_map(f.value, f.at, names(kPageKeys));
        for (const Entry& g : fields) {
          if (g.key == "file") {
            file = read_scalar(g.value, g.at, "a file name");
            file_at = g.at;
          } else {
            content_type = read_scalar(g.value, g.at, "a media type like text/html");
            type_at = g.at;
            if (!content_type) file = std::nullopt;
          }
        }
        if (find(fields, "file") == nullptr) {
          error(f.at, "'file' is required");
          continue;
        }
      } else if (f.value.IsScalar()) {
        file = read_scalar(f.value, f.at, "a file name");
      } else {
        error(f.at, "expected a file name or a mapping (file, content_type), got " +
                        describe(f.value));
        continue;
      }
      if (!file) continue;
      read_page(f.key, *file, file_at, content_type, type_at);
    }
  }

  void read_page(const std::string& name, const std::string& rel, const At& at,
                 const std::optional<std::string>& content_type, const At& type_at) {
    if (rel.empty() || rel.find('\0') != std::string::npos) {
      error(at, "expected a file name, got " + quote(rel));
      return;
    }
    const fs::path path = fs::path(rel).is_absolute() ? fs::path(rel) : at.src->dir / rel;
    const std::string shown = path.lexically_normal().string();
    PageType type;
    if (content_type) {
      const std::string& t = *content_type;
      const auto slash = t.find('/');
      const bool printable_text = std::all_of(t.begin(), t.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
      });
      if (slash == std::string::npos || slash == 0 || !printable_text ||
          !valid_token(t.substr(0, slash))) {
        error(type_at, "expected a media type like \"text/html; charset=utf-8\", got " + quote(t));
        return;
      }
      type = PageType{t, page_escape_for(t)};
    } else if (auto by_ext = page_type_for_extension(path.extension().string())) {
      type = std::move(*by_ext);
    } else {
      error(at, "cannot tell the type of " + quote(shown, 4096) +
                    " from its extension (.html, .htm, .txt, .json, .xml): add content_type");
      return;
    }
    std::string text;
    std::string problem;
    if (!read_file(path, kMaxPageBytes, text, problem)) {
      error(at, "cannot read " + quote(shown, 4096) + ": " + problem);
      return;
    }
    hash_bytes(text);
    note_watch(path);
    const Source& src = add_source(shown, path.parent_path());
    std::vector<PageProblem> problems;
    PageTemplate page = compile_page_template(text, problems);
    for (const PageProblem& p : problems) {
      error(At{&src, "page " + quote(name), "", Loc{p.line, p.column}}, p.message);
    }
    if (!problems.empty()) return;
    page.name = name;
    page.file = shown;
    page.content_type = std::move(type.content_type);
    page.escape = type.escape;
    defs_.pages.push_back(std::move(page));
  }

  void read_rules(const Entry& e) {
    if (!expect(e.value.IsSequence(), e.value, e.at, "a list of rules")) return;
    for (const auto& [n, at] : read_list(e.value, e.at)) defs_.rules.push_back(RuleDef{n, at});
  }

  LoadResult finish() {
    std::unique_ptr<RuleSetImpl> impl = compile(st_, defs_);
    char version[17];
    std::snprintf(version, sizeof version, "%016llx", static_cast<unsigned long long>(st_.hash));
    impl->version = std::string(version, 12);
    impl->watch_paths = std::move(st_.watch_paths);

    std::stable_sort(st_.diagnostics.begin(), st_.diagnostics.end(),
                     [](const auto& a, const auto& b) {
                       if (a.first != b.first) return a.first < b.first;
                       if (a.second.line != b.second.line) return a.second.line < b.second.line;
                       return a.second.column < b.second.column;
                     });
    LoadResult result;
    for (auto& [order, d] : st_.diagnostics) result.diagnostics.push_back(std::move(d));
    if (st_.dropped > 0) {
      result.diagnostics.push_back(
          Diagnostic{result.diagnostics.empty() ? std::string() : result.diagnostics.back().file, 0,
                     0, std::to_string(st_.dropped) + " more problems not shown",
                     st_.dropped_errors > 0 ? Severity::error : Severity::warning});
    }
    if (!has_errors(result.diagnostics)) {
      result.rules = std::make_shared<const RuleSet>(std::move(impl));
    }
    return result;
  }

 private:
  Definitions defs_;
  std::set<std::string> loaded_;    // canonical paths of the files read
  std::vector<std::string> stack_;  // files being read (include cycle detection)
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
    ReadState state;
    return Loader(state).load_sources(sources);
  } catch (const std::exception& e) {
    return internal_error(sources.empty() ? std::string_view() : sources.front(), e.what());
  } catch (...) {
    return internal_error(sources.empty() ? std::string_view() : sources.front(), "unknown");
  }
}

LoadResult load_rules_text(std::string_view text, std::string_view name,
                           std::string_view base_dir) {
  try {
    ReadState state;
    return Loader(state).load_text(text, name, base_dir);
  } catch (const std::exception& e) {
    return internal_error(name, e.what());
  } catch (...) {
    return internal_error(name, "unknown");
  }
}

}  // namespace bawwab::rules
