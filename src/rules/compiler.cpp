// Phase 2 of the rules compiler: rules, conditions and actions compiled with every name known;
// the user-agent, path and IP automata built; rule gates and reachability worked out.
#include "bawwab/rewrite/html_rewriter.hpp"
#include "compiler.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "bawwab/rules/normalize.hpp"
#include "rule_set_impl.hpp"

namespace bawwab::rules::detail {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxDepth = 32;  // nesting of all/any/not
// RE2::Set budgets (program + DFA cache, used as needed): thousands of user-agent patterns, a few
// hundred path globs and regexes.
constexpr std::int64_t kUaSetMemory = 128LL << 20;
constexpr std::int64_t kPathSetMemory = 32LL << 20;

constexpr Keys<6> kRuleKeys = {"id", "description", "when", "then", "mode", "enabled"};
constexpr Keys<14> kCondKeys = {"all",    "any",    "not",    "method",      "host",
                                "path",   "query",  "header", "user_agent",  "ip",
                                "cookie", "signal", "score",  "content_type"};
constexpr Keys<4> kPathKeys = {"exact", "prefix", "glob", "regex"};
constexpr Keys<4> kQueryKeys = {"param", "value", "regex", "absent"};
constexpr Keys<6> kHeaderKeys = {"name", "present", "absent", "equals", "contains", "regex"};
constexpr Keys<3> kUaKeys = {"list", "regex", "empty"};
constexpr Keys<2> kIpKeys = {"network", "file"};
constexpr Keys<4> kCookieKeys = {"name", "present", "absent", "regex"};
constexpr Keys<3> kSignalKeys = {"name", "in", "value"};
constexpr Keys<12> kActions = {
    "allow",       "block",         "challenge", "rate_limit",         "tarpit",
    "score",       "tag",           "prove",     "set_request_header", "set_response_header",
    "insert_html", "metadata_only"};
constexpr Keys<2> kBlockKeys = {"status", "page"};
constexpr Keys<2> kChallengeKeys = {"level", "difficulty"};
constexpr Keys<3> kChallengeLevels = {"js", "nojs", "accessible"};
constexpr Keys<2> kTarpitKeys = {"delay", "status"};
constexpr Keys<2> kHeaderEditKeys = {"name", "value"};
constexpr Keys<4> kInsertHtmlKeys = {"selector", "position", "html", "every"};
constexpr Keys<4> kInsertPositions = {"before", "prepend", "append", "after"};
// Fields that frame the message or belong to the connection: setting them from a rule would
// corrupt the exchange (request smuggling, broken keep-alive), so the compiler refuses them.
constexpr Keys<9> kForbiddenEdits = {
    "content-length", "transfer-encoding", "connection",       "keep-alive", "te",
    "trailer",        "upgrade",           "proxy-connection", "host"};

// What a rule's compilation learns about it besides the CompiledRule.
struct RuleFacts {
  bool response_phase = false;
  At content_type_at;
};

class Compiler : Reader {
 public:
  Compiler(ReadState& state, Definitions& defs) : Reader(state), defs_(defs) {}

  std::unique_ptr<RuleSetImpl> run() {
    impl_ = std::make_unique<RuleSetImpl>();
    RE2::Options ua_options;
    ua_options.set_case_sensitive(false);
    ua_options.set_log_errors(false);
    ua_options.set_max_mem(kUaSetMemory);
    ua_options.set_never_capture(true);
    ua_set_ = std::make_unique<RE2::Set>(ua_options, RE2::UNANCHORED);
    RE2::Options path_options;
    path_options.set_log_errors(false);
    path_options.set_max_mem(kPathSetMemory);
    path_options.set_never_capture(true);
    path_glob_set_ = std::make_unique<RE2::Set>(path_options, RE2::ANCHOR_BOTH);
    path_regex_set_ = std::make_unique<RE2::Set>(path_options, RE2::UNANCHORED);

    compile_definitions();
    for (const RuleDef& def : defs_.rules) {
      if (st_.nodes > kMaxNodes) break;
      compile_rule(def);
    }
    check_reachability();
    build_gates();
    const Thresholds& t = defs_.thresholds;
    if (t.challenge > 0 && t.block > 0 && t.challenge >= t.block) {
      warning(defs_.challenge_at, "the challenge threshold (" + std::to_string(t.challenge) +
                                      ") is not below the block threshold (" +
                                      std::to_string(t.block) + "): it never applies");
    }
    if (compile_set(ua_set_, impl_->ua_patterns.size(), "user-agent")) {
      impl_->ua_set = std::move(ua_set_);
    }
    if (compile_set(path_glob_set_, impl_->path_glob_atoms.size(), "path glob")) {
      impl_->path_globs = std::move(path_glob_set_);
    }
    if (compile_set(path_regex_set_, impl_->path_regex_atoms.size(), "path regex")) {
      impl_->path_regexes = std::move(path_regex_set_);
    }
    impl_->global_shadow = defs_.global_shadow;
    impl_->thresholds = defs_.thresholds;
    impl_->weights = defs_.weights;
    return std::move(impl_);
  }

 private:
  std::uint32_t new_ua_atom(std::string shown) {
    impl_->ua_atom_shown.push_back(std::move(shown));
    return static_cast<std::uint32_t>(impl_->ua_atom_shown.size() - 1);
  }

  // Adds a pattern to the UA set; false (reported) when RE2 refuses it.
  bool add_ua_pattern(const std::string& text, const At& at, std::uint32_t atom, std::uint32_t list,
                      std::string label) {
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

  std::uint32_t new_network(std::string name, std::string shown,
                            const std::vector<net::Cidr>& cidrs) {
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
    for (const ListDef& def : defs_.lists) {
      const auto index = static_cast<std::uint32_t>(impl_->ua_lists.size());
      const std::uint32_t atom = new_ua_atom("list " + quote(def.name));
      std::size_t count = 0;
      for (const PatternDef& p : def.patterns) {
        count += add_ua_pattern(p.text, p.at, atom, index, p.label) ? 1 : 0;
      }
      impl_->ua_lists.push_back(UaList{def.name, def.signal, count});
      list_atoms_[def.name] = atom;
    }
    for (const NetworkDef& def : defs_.networks) {
      network_atoms_[def.name] = new_network(def.name, "network " + quote(def.name), def.cidrs);
    }
    for (const CrawlerDef& def : defs_.crawlers) {
      RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      auto re = std::make_unique<RE2>(def.spec.user_agent, options);
      bool ok = true;
      if (!re->ok()) {
        error(def.user_agent_at, "bad regex " + quote(def.spec.user_agent) + ": " + re->error());
        ok = false;
      }
      if (!def.spec.network.empty() && !defs_.network_names.contains(def.spec.network)) {
        error(def.network_at, "unknown network " + quote(def.spec.network) +
                                  hint(def.spec.network, defined_names(defs_.network_names)));
        ok = false;
      }
      if (!ok) continue;
      impl_->crawlers.push_back(def.spec);
      impl_->crawler_regexes.push_back(std::move(re));
    }
    for (std::size_t i = 0; i < defs_.limits.size(); ++i) limit_index_[defs_.limits[i].name] = i;
    impl_->limits = std::move(defs_.limits);
    impl_->pages = std::move(defs_.pages);
  }

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
        if (child_cond)
          c.children.push_back(std::move(*child_cond));
        else
          ok = false;
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
    if (e.key == "query") return list_of_tests(v, at, &Compiler::query_cond);
    if (e.key == "header") return list_of_tests(v, at, &Compiler::header_cond);
    if (e.key == "user_agent") return ua_cond(v, at);
    if (e.key == "ip") return ip_cond(v, at);
    if (e.key == "cookie") return list_of_tests(v, at, &Compiler::cookie_cond);
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
                                    std::optional<Cond> (Compiler::*one)(const YAML::Node&,
                                                                         const At&)) {
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
      if (c)
        all.children.push_back(std::move(*c));
      else
        ok = false;
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
        warning(a, "method " + quote(m) +
                       " is not upper-case; methods are case-sensitive and "
                       "clients send " +
                       quote(upper));
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
      error(name->at, quote(*n) +
                          " is not a valid header name (letters, digits and "
                          "!#$%&'*+-.^_`|~)");
      return std::nullopt;
    }
    HeaderTest t;
    t.name = lowercase(*n);
    t.shown = *n;
    if (!read_test(
            fields, at,
            std::array<std::string_view, 5>{"present", "absent", "equals", "contains", "regex"},
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
        if (c)
          all.children.push_back(std::move(*c));
        else
          ok = false;
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
        Cond c{CondKind::user_agent};
        if (!named_atoms(e.value, e.at, "list", list_atoms_, defs_.list_names, c.atoms)) {
          ok = false;
          continue;
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

  // The atoms of named lists or networks (`what`: "list", "network"). A name defined with errors
  // is known: no misleading "unknown" for it (its definition was reported).
  bool named_atoms(const YAML::Node& v, const At& at, std::string_view what,
                   const std::map<std::string, std::uint32_t, std::less<>>& atoms,
                   const std::map<std::string, At>& defined, std::vector<std::uint32_t>& out) {
    const auto items = read_strings(v, at, "a " + std::string(what) + " name");
    if (!items) return false;
    bool ok = true;
    for (const auto& [name, a] : *items) {
      const auto it = atoms.find(name);
      if (it == atoms.end()) {
        if (!defined.contains(name)) {
          error(a, "unknown " + std::string(what) + " " + quote(name) +
                       hint(name, defined_names(defined)));
        }
        ok = false;
        continue;
      }
      out.push_back(it->second);
    }
    return ok;
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
      error(at,
            "expected a CIDR, a list of CIDRs or a mapping (network, file), got " + describe(v));
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
      } else if (!named_atoms(e.value, e.at, "network", network_atoms_, defs_.network_names,
                              c.atoms)) {
        ok = false;
        continue;
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
        if (info != nullptr)
          t.names.push_back(info->name);
        else
          ok = false;
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
    static constexpr std::pair<std::string_view, ScoreOp> kOps[] = {{">=", ScoreOp::ge},
                                                                    {"<=", ScoreOp::le},
                                                                    {"==", ScoreOp::eq},
                                                                    {">", ScoreOp::gt},
                                                                    {"<", ScoreOp::lt}};
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
        if (!p) continue;
        b.page = *p;
        const bool known = std::any_of(impl_->pages.begin(), impl_->pages.end(),
                                       [&](const PageTemplate& t) { return t.name == *p; });
        if (!known) {
          // A page defined with errors was reported where it is defined.
          if (!defs_.page_names.contains(*p)) {
            error(e.at, "unknown page " + quote(*p) + hint(*p, defined_names(defs_.page_names)));
          }
          ok = false;
        }
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
      if (std::find(kChallengeLevels.begin(), kChallengeLevels.end(), *s) ==
          kChallengeLevels.end()) {
        error(a, "expected js, nojs or accessible, got " + quote(*s) +
                     hint(*s, names(kChallengeLevels)));
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
        if (!defs_.limit_names.contains(name)) {
          error(a, "unknown limit " + quote(name) + hint(name, defined_names(defs_.limit_names)));
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
      error(name->at, quote(*n) +
                          " is not a valid header name (letters, digits and "
                          "!#$%&'*+-.^_`|~)");
      ok = false;
    } else {
      const std::string lower = lowercase(*n);
      const bool forbidden = std::find(kForbiddenEdits.begin(), kForbiddenEdits.end(), lower) !=
                                 kForbiddenEdits.end() &&
                             (request || lower != "host");
      if (forbidden) {
        error(name->at, quote(*n) +
                            " cannot be set by a rule: it frames the message or "
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

  // `insert_html: {selector: head, position: append, html: "<script ...>", every: false}`: one
  // insertion into the HTML pages the rule's requests get (rewrite/html_rewriter.hpp). The
  // selector is checked here, with the rule's other insertions, when the rule is complete.
  std::optional<rewrite::InsertionConfig> insert_html(const YAML::Node& v, const At& at) {
    if (!expect(v.IsMap(), v, at, "a mapping (selector, position, html, every)")) {
      return std::nullopt;
    }
    const Entries fields = read_map(v, at, names(kInsertHtmlKeys));
    const Entry* selector = find(fields, "selector");
    const Entry* html = find(fields, "html");
    if (selector == nullptr || html == nullptr) {
      error(at, selector == nullptr ? "'selector' is required (head, body, #id, .class, "
                                      "tag.class, or 'article p')"
                                    : "'html' is required");
      return std::nullopt;
    }
    rewrite::InsertionConfig c;
    const auto sel = read_scalar(selector->value, selector->at, "a selector");
    const auto text = read_scalar(html->value, html->at, "the HTML to insert");
    if (!sel || !text) return std::nullopt;
    c.selector = *sel;
    c.html = *text;
    if (const Entry* pos = find(fields, "position")) {
      const auto p = read_scalar(pos->value, pos->at, "a position");
      if (!p) return std::nullopt;
      if (*p == "before") c.position = rewrite::Position::before_start;
      else if (*p == "prepend") c.position = rewrite::Position::after_start;
      else if (*p == "append") c.position = rewrite::Position::before_end;
      else if (*p == "after") c.position = rewrite::Position::after_end;
      else {
        error(pos->at, "unknown position " + quote(*p) + hint(*p, names(kInsertPositions)) +
                           " (before, prepend, append or after the element)");
        return std::nullopt;
      }
    }
    if (const Entry* every = find(fields, "every")) {
      if (!every->value.IsScalar() ||
          (every->value.Scalar() != "true" && every->value.Scalar() != "false")) {
        error(every->at, "'every' is true or false");
        return std::nullopt;
      }
      c.every_match = every->value.Scalar() == "true";
    }
    // The selector, checked on its own so that a problem points at its line and column.
    rewrite::RewriteConfig alone;
    alone.insertions.push_back(c);
    const rewrite::SpecCompile check = rewrite::RewriteSpec::compile(std::move(alone));
    for (std::string e : check.errors) {
      if (e.starts_with("insertion 1: ")) e.erase(0, std::string_view("insertion 1: ").size());
      error(selector->at, e);
    }
    if (!check.errors.empty()) return std::nullopt;
    return c;
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
    rewrite::RewriteConfig html_config;  // the rule's insert_html actions, compiled together
    std::optional<At> html_at;
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
        error(name_at, quote(name) +
                           " cannot be used in a response-phase rule (its 'when' has "
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
      // Flags: a scalar action, or `name: true` (false turns it off, for an override).
      const bool is_flag = name == "prove" || name == "metadata_only";
      const bool needs_value = (!is_terminal && !is_flag) || name == "rate_limit";
      if (needs_value && (!value.IsDefined() || value.IsNull())) {
        error(name_at, quote(name) + " needs a value, like {" + name +
                           (name == "score"        ? ": 20}"
                            : name == "tag"        ? ": crawler}"
                            : name == "rate_limit" ? ": per-ip}"
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
      } else if (is_flag) {
        bool on = true;
        if (value.IsDefined() && !value.IsNull()) {
          if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false")) {
            error(value_at, quote(name) + " takes no value, or true or false");
            ok = false;
            continue;
          }
          on = value.Scalar() == "true";
        }
        // prove: the page carries the silent proof script (pipeline::plan_response).
        // metadata_only: the page ends after </head> (rewrite::RewriteSpec::end_after_head).
        if (name == "prove") {
          out.prove = on;
        } else {
          html_config.end_after_head = on;
          if (!html_at) html_at = value_at;
        }
      } else if (name == "block" || name == "challenge" || name == "tarpit" ||
                 name == "rate_limit") {
        const std::optional<Action> act = name == "block"       ? block_action(value, value_at)
                                          : name == "challenge" ? challenge_action(value, value_at)
                                          : name == "tarpit"    ? tarpit_action(value, value_at)
                                                             : rate_limit_action(value, value_at);
        if (act)
          out.terminal = *act;
        else
          ok = false;
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
        const bool valid =
            valid_name(std::string_view(*s), 64) ||
            (!s->empty() && s->size() <= 64 && std::all_of(s->begin(), s->end(), [](char c) {
              return c == ':' || valid_name(std::string_view(&c, 1));
            }));
        if (!valid) {
          error(value_at,
                "expected a tag of letters, digits, '-', '_', '.', ':' (at most 64), got " +
                    quote(*s));
          ok = false;
          continue;
        }
        out.tags.push_back(*s);
      } else if (name == "insert_html") {
        auto ins = insert_html(value, value_at);
        if (!ins) {
          ok = false;
          continue;
        }
        html_config.insertions.push_back(std::move(*ins));
        if (!html_at) html_at = value_at;
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
    if (!html_config.insertions.empty() || html_config.end_after_head) {
      rewrite::SpecCompile c = rewrite::RewriteSpec::compile(std::move(html_config));
      for (const std::string& e : c.errors) error(*html_at, e);  // limits of the whole set
      if (c.spec) out.html = std::move(c.spec);
      else ok = false;
    }
    return ok;
  }

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
            find(fields, "id") != nullptr
                ? "expected an id, got " + describe(find(fields, "id")->value)
                : std::string("'id' is required"));
      ok = false;
    } else if (!valid_name(*id)) {
      error(id_at,
            "invalid id " + quote(*id) + ": use letters, digits, '-', '_' and '.' (at most 128)");
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
      error(at,
            "'then' is required (the action: allow, block, challenge, rate_limit, tarpit, "
            "score, tag, set_request_header, set_response_header)");
      ok = false;
    } else {
      ok = actions(then->value, then->at, facts, rule) && ok;
    }
    info.response_phase = facts.response_phase;
    if (!ok || !enabled) return;  // disabled rules are validated, not compiled
    rule.info = impl_->infos.size();
    rule.shadow = info.shadow;
    rule.response_phase = info.response_phase;
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

  // The atoms a condition cannot match without (one space), or space kSpaces when there is no
  // such gate (see RuleSetImpl::atom_rules).
  struct Gate {
    int space = RuleSetImpl::kSpaces;
    std::vector<std::uint32_t> atoms;
  };

  static Gate gate_of(const Cond& c) {
    switch (c.kind) {
      case CondKind::path:
        return Gate{RuleSetImpl::kPath, c.atoms};
      case CondKind::user_agent:
        return Gate{RuleSetImpl::kUa, c.atoms};
      case CondKind::ip:
        return Gate{RuleSetImpl::kIp, c.atoms};
      case CondKind::all: {
        // Any gated child will do; the one with the fewest atoms is the most selective.
        Gate best;
        for (const Cond& child : c.children) {
          Gate g = gate_of(child);
          if (g.space != RuleSetImpl::kSpaces &&
              (best.space == RuleSetImpl::kSpaces || g.atoms.size() < best.atoms.size())) {
            best = std::move(g);
          }
        }
        return best;
      }
      case CondKind::any: {
        // Gated only when every alternative is gated in the same space: the union of theirs.
        Gate all;
        for (const Cond& child : c.children) {
          Gate g = gate_of(child);
          if (g.space == RuleSetImpl::kSpaces) return Gate{};
          if (all.space != RuleSetImpl::kSpaces && all.space != g.space) return Gate{};
          all.space = g.space;
          all.atoms.insert(all.atoms.end(), g.atoms.begin(), g.atoms.end());
        }
        return all;
      }
      default:
        return Gate{};
    }
  }

  void build_gates() {
    impl_->atom_rules[RuleSetImpl::kPath].resize(impl_->path_atoms.size());
    impl_->atom_rules[RuleSetImpl::kUa].resize(impl_->ua_atom_shown.size());
    impl_->atom_rules[RuleSetImpl::kIp].resize(impl_->networks.size());
    impl_->ungated.assign((impl_->rules.size() + 63) / 64, 0);
    for (std::size_t r = 0; r < impl_->rules.size(); ++r) {
      const CompiledRule& rule = impl_->rules[r];
      if (rule.response_phase) continue;  // evaluate_response looks at these
      const Gate g = rule.has_when ? gate_of(rule.when) : Gate{};
      if (g.space == RuleSetImpl::kSpaces) {
        impl_->ungated[r / 64] |= std::uint64_t{1} << (r % 64);
        continue;
      }
      impl_->gates[static_cast<std::size_t>(g.space)] = true;
      auto& by_atom = impl_->atom_rules[static_cast<std::size_t>(g.space)];
      for (const std::uint32_t atom : g.atoms) {
        auto& list = by_atom[atom];
        if (list.empty() || list.back() != r) list.push_back(static_cast<std::uint32_t>(r));
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

  Definitions& defs_;
  std::unique_ptr<RuleSetImpl> impl_;
  std::unique_ptr<RE2::Set> ua_set_, path_glob_set_, path_regex_set_;
  std::map<std::string, std::uint32_t, std::less<>> list_atoms_, network_atoms_;
  std::map<std::string, std::size_t, std::less<>> limit_index_;
  std::map<std::string, At> rule_names_;
  std::vector<At> rule_sites_;  // parallel to impl_->rules
};

}  // namespace

std::unique_ptr<RuleSetImpl> compile(ReadState& state, Definitions& defs) {
  return Compiler(state, defs).run();
}

}  // namespace bawwab::rules::detail
