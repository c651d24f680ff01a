// Evaluation of a compiled rule set (the compiler is loader.cpp). Pure: no I/O, no state but a
// per-thread scratch area reused from one request to the next, so that a warm evaluation
// allocates nothing but what goes into the Decision (and the trace, when asked for).
#include "bawwab/rules/rule_set.hpp"

#include <algorithm>
#include <bit>

#include "rule_set_impl.hpp"
#include "text.hpp"

namespace bawwab::rules {
namespace {

using namespace detail;
namespace http = boost::beast::http;

// Per-thread storage for one evaluation: the RE2::Set hits and the atom bits. Never used across
// two calls (evaluate does not call match_user_agent and so on), so one per thread is enough.
struct Scratch {
  std::vector<int> hits;
  Bits ua;
  Bits path;
  Bits ip;
  std::vector<std::uint64_t> candidates;  // bit per rule
  std::vector<int> path_hits;
  std::string decoded;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// RE2::Set::Match with a result vector allocates (a SparseSet per call, inside RE2); without
// one it allocates nothing and stops at the first match. Most requests match none of a set's
// patterns (a browser's UA, an article's path), so ask first whether anything matches at all.
bool set_match(const RE2::Set& set, std::string_view text, std::vector<int>& hits) {
  hits.clear();
  return set.Match(text, nullptr) && set.Match(text, &hits);
}

std::string_view header_value(const http::fields* fields, http::field name, bool& present) {
  present = false;
  if (fields == nullptr) return {};
  const auto it = fields->find(name);
  if (it == fields->end()) return {};
  present = true;
  return it->value();
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one query component: '+' is a space, %XX a byte
// (a '%' without two hex digits stays as it is).
template <class Out>
void form_decode(std::string_view raw, Out&& out) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 &&
               hex_value(raw[i + 2]) >= 0) {
      c = static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
      i += 2;
    }
    if (!out(c)) return;
  }
}

bool decoded_equals(std::string_view raw, std::string_view want) {
  std::size_t n = 0;
  bool ok = true;
  form_decode(raw, [&](char c) {
    if (n >= want.size() || want[n] != c) {
      ok = false;
      return false;
    }
    ++n;
    return true;
  });
  return ok && n == want.size();
}

void decode_into(std::string_view raw, std::string& out) {
  out.clear();
  form_decode(raw, [&](char c) {
    out.push_back(c);
    return true;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(name, value, has_value) for each `name[=value]` of a query string; stops when f says so.
template <class F>
void for_each_param(std::string_view query, F&& f) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (!f(name, value)) return;
  }
}

// Calls f(name, value) for each cookie of every Cookie field; stops when f says so.
template <class F>
void for_each_cookie(const http::fields* fields, F&& f) {
  if (fields == nullptr) return;
  const auto range = fields->equal_range(http::field::cookie);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (!f(trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)))) return;
    }
  }
}

bool compare(int lhs, ScoreOp op, int rhs) noexcept {
  switch (op) {
    case ScoreOp::ge:
      return lhs >= rhs;
    case ScoreOp::gt:
      return lhs > rhs;
    case ScoreOp::le:
      return lhs <= rhs;
    case ScoreOp::lt:
      return lhs < rhs;
    case ScoreOp::eq:
      return lhs == rhs;
  }
  return false;
}

std::string_view op_text(ScoreOp op) noexcept {
  switch (op) {
    case ScoreOp::ge:
      return ">=";
    case ScoreOp::gt:
      return ">";
    case ScoreOp::le:
      return "<=";
    case ScoreOp::lt:
      return "<";
    case ScoreOp::eq:
      return "==";
  }
  return "?";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += quote(s);
  }
  return out;
}

// Walks the condition trees of one request. Each atom space (UA, path, IP) is matched at most
// once, the first time a condition needs it. With `why`, every test explains itself (explain).
class Evaluator {
 public:
  Evaluator(const RuleSetImpl& rs, const RequestView& request)
      : rs_(rs), request_(request), s_(scratch()) {
    ua_ = header_value(request.headers, http::field::user_agent, ua_present_);
  }

  bool match(const Cond& c, int score, std::string* why) {
    switch (c.kind) {
      case CondKind::always:
        if (why) *why = "no condition";
        return true;
      case CondKind::all:
        return match_all(c, score, why);
      case CondKind::any:
        return match_any(c, score, why);
      case CondKind::negate: {
        std::string inner;
        const bool m = match(c.children.front(), score, why ? &inner : nullptr);
        if (why) *why = "not (" + inner + ")";
        return !m;
      }
      case CondKind::method:
        return match_method(c, why);
      case CondKind::host:
        return match_host(c, why);
      case CondKind::path:
        return match_path(c, why);
      case CondKind::query:
        return match_query(rs_.query_tests[c.index], why);
      case CondKind::header:
        return match_header(rs_.header_tests[c.index], why);
      case CondKind::user_agent:
        return match_ua(c, why);
      case CondKind::ua_empty: {
        const bool empty = !ua_present_ || ua_.empty();
        if (why) *why = empty ? "user_agent is empty" : "user_agent is not empty";
        return empty == c.flag;
      }
      case CondKind::ip:
        return match_ip(c, why);
      case CondKind::cookie:
        return match_cookie(rs_.cookie_tests[c.index], why);
      case CondKind::signal:
        return match_signal(rs_.signal_tests[c.index], why);
      case CondKind::score: {
        const bool m = compare(score, c.op, c.number);
        if (why) {
          *why = "score " + std::to_string(score) + (m ? " " : " is not ") +
                 std::string(op_text(c.op)) + " " + std::to_string(c.number);
        }
        return m;
      }
      case CondKind::content_type: {
        for (const auto& prefix : c.strings) {
          if (istarts_with(request_.content_type, prefix)) {
            if (why)
              *why = "content_type " + quote(request_.content_type) + " matched " + quote(prefix);
            return true;
          }
        }
        if (why) {
          *why =
              "content_type " + quote(request_.content_type) + " is not " + quoted_list(c.strings);
        }
        return false;
      }
    }
    return false;
  }

  // Matches every space that gates rules now, and adds the rules gated by a matching atom to
  // `candidates` (a bit per rule, holding the ungated rules already).
  void mark_candidates(std::vector<std::uint64_t>& candidates) {
    candidates_ = &candidates;
    if (rs_.gates[RuleSetImpl::kPath]) need_path();
    if (rs_.gates[RuleSetImpl::kUa]) need_ua();
    if (rs_.gates[RuleSetImpl::kIp]) need_ip();
    candidates_ = nullptr;
  }

 private:
  bool match_all(const Cond& c, int score, std::string* why) {
    std::vector<std::string> parts;
    for (const Cond& child : c.children) {
      std::string part;
      if (!match(child, score, why ? &part : nullptr)) {
        if (why) *why = std::move(part);
        return false;
      }
      if (why) parts.push_back(std::move(part));
    }
    if (why) *why = join(parts, "; ");
    return true;
  }

  bool match_any(const Cond& c, int score, std::string* why) {
    std::vector<std::string> parts;
    for (const Cond& child : c.children) {
      std::string part;
      if (match(child, score, why ? &part : nullptr)) {
        if (why) *why = std::move(part);
        return true;
      }
      if (why) parts.push_back(std::move(part));
    }
    if (why) *why = "none of: " + join(parts, "; ");
    return false;
  }

  bool match_method(const Cond& c, std::string* why) {
    for (const auto& m : c.strings) {
      if (m == request_.method) {
        if (why) *why = "method " + printable(request_.method);
        return true;
      }
    }
    if (why) *why = "method " + printable(request_.method) + " is not " + join(c.strings, ", ");
    return false;
  }

  bool match_host(const Cond& c, std::string* why) {
    const std::string_view host = request_.host;
    for (const auto& h : c.strings) {
      // ".news.example" (written "*.news.example") is any subdomain, not news.example itself.
      const bool m =
          h.front() == '.' ? host.size() > h.size() && iends_with(host, h) : iequals(host, h);
      if (m) {
        if (why) *why = "host " + quote(host) + " matched " + quote(h.front() == '.' ? "*" + h : h);
        return true;
      }
    }
    if (why) {
      std::vector<std::string> shown;
      for (const auto& h : c.strings) shown.push_back(quote(h.front() == '.' ? "*" + h : h));
      *why = "host " + quote(host) + " is not " + join(shown, ", ");
    }
    return false;
  }

  // An atom of `space` matched: its bit, and its gated rules become candidates.
  void hit(Bits& bits, RuleSetImpl::Space space, std::uint32_t atom) {
    bits.set(atom);
    if (candidates_ == nullptr) return;
    for (const std::uint32_t r : rs_.atom_rules[space][atom]) {
      (*candidates_)[r / 64] |= std::uint64_t{1} << (r % 64);
    }
  }

  void need_path() {
    if (path_done_) return;
    path_done_ = true;
    s_.path.reset(rs_.path_atoms.size());
    const std::string_view path = request_.path;
    const auto set = [&](std::uint32_t atom) { hit(s_.path, RuleSetImpl::kPath, atom); };
    if (!rs_.path_exact.empty()) {
      if (const auto it = rs_.path_exact.find(path); it != rs_.path_exact.end()) {
        for (const auto atom : it->second) set(atom);
      }
    }
    rs_.path_prefixes.lookup(path, set);
    if (rs_.path_globs && set_match(*rs_.path_globs, path, s_.path_hits)) {
      for (const int i : s_.path_hits) set(rs_.path_glob_atoms[static_cast<std::size_t>(i)]);
    }
    if (rs_.path_regexes && set_match(*rs_.path_regexes, path, s_.path_hits)) {
      for (const int i : s_.path_hits) set(rs_.path_regex_atoms[static_cast<std::size_t>(i)]);
    }
  }

  bool match_path(const Cond& c, std::string* why) {
    need_path();
    for (const auto atom : c.atoms) {
      if (s_.path.test(atom)) {
        if (why) {
          const PathAtom& a = rs_.path_atoms[atom];
          *why = "path " + quote(request_.path, 200) + " matched " + std::string(a.kind) + " " +
                 quote(a.text);
        }
        return true;
      }
    }
    if (why) {
      std::vector<std::string> shown;
      for (const auto atom : c.atoms) {
        shown.push_back(std::string(rs_.path_atoms[atom].kind) + " " +
                        quote(rs_.path_atoms[atom].text));
      }
      *why = "path " + quote(request_.path, 200) + " matched none of: " + join(shown, ", ");
    }
    return false;
  }

  bool match_query(const QueryTest& t, std::string* why) {
    bool found = false;
    bool m = false;
    for_each_param(request_.query, [&](std::string_view name, std::string_view value) {
      if (!decoded_equals(name, t.param)) return true;
      found = true;
      switch (t.mode) {
        case TestMode::present:
        case TestMode::absent:
          m = true;
          break;
        case TestMode::equals:
          m = decoded_equals(value, t.value);
          break;
        case TestMode::regex:
          decode_into(value, s_.decoded);
          m = RE2::PartialMatch(s_.decoded, *t.regex);
          break;
        case TestMode::contains:
          break;  // not a query test
      }
      return !m;
    });
    if (t.mode == TestMode::absent) {
      if (why) *why = "query parameter " + quote(t.param) + (found ? " is present" : " is absent");
      return !found;
    }
    if (why) {
      if (!found) {
        *why = "query has no parameter " + quote(t.param);
      } else if (t.mode == TestMode::present) {
        *why = "query parameter " + quote(t.param) + " is present";
      } else {
        *why = "query parameter " + quote(t.param) + (m ? " matched " : " did not match ") +
               (t.mode == TestMode::equals ? quote(t.value) : "regex " + quote(t.regex->pattern()));
      }
    }
    return m;
  }

  bool match_header(const HeaderTest& t, std::string* why) {
    bool found = false;
    bool m = false;
    if (request_.headers != nullptr) {
      const auto range = request_.headers->equal_range(t.name);
      for (auto it = range.first; it != range.second && !m; ++it) {
        found = true;
        const std::string_view v = it->value();
        switch (t.mode) {
          case TestMode::present:
          case TestMode::absent:
            m = true;
            break;
          case TestMode::equals:
            m = v == t.value;
            break;
          case TestMode::contains:
            m = v.find(t.value) != std::string_view::npos;
            break;
          case TestMode::regex:
            m = RE2::PartialMatch(v, *t.regex);
            break;
        }
      }
    }
    const std::string name = why ? "header " + quote(t.shown) : std::string();
    if (t.mode == TestMode::absent) {
      if (why) *why = name + (found ? " is present" : " is absent");
      return !found;
    }
    if (why) {
      if (!found) {
        *why = name + " is absent";
      } else if (t.mode == TestMode::present) {
        *why = name + " is present";
      } else if (t.mode == TestMode::equals) {
        *why = name + (m ? " equals " : " is not ") + quote(t.value);
      } else if (t.mode == TestMode::contains) {
        *why = name + (m ? " contains " : " does not contain ") + quote(t.value);
      } else {
        *why =
            name + (m ? " matches regex " : " does not match regex ") + quote(t.regex->pattern());
      }
    }
    return m;
  }

  void need_ua() {
    if (ua_done_) return;
    ua_done_ = true;
    s_.ua.reset(rs_.ua_atom_shown.size());
    s_.hits.clear();
    if (rs_.ua_set && set_match(*rs_.ua_set, ua_, s_.hits)) {
      for (const int i : s_.hits) {
        hit(s_.ua, RuleSetImpl::kUa, rs_.ua_patterns[static_cast<std::size_t>(i)].atom);
      }
    }
  }

  bool match_ua(const Cond& c, std::string* why) {
    need_ua();
    for (const auto atom : c.atoms) {
      if (s_.ua.test(atom)) {
        if (why) {
          // The first pattern of that atom that matched, for the operator to see which one.
          std::size_t first = rs_.ua_patterns.size();
          for (const int i : s_.hits) {
            const auto index = static_cast<std::size_t>(i);
            if (rs_.ua_patterns[index].atom == atom) first = std::min(first, index);
          }
          *why = "user_agent matched " + rs_.ua_atom_shown[atom];
          if (first < rs_.ua_patterns.size() && rs_.ua_patterns[first].list != kNone) {
            *why += " (" + quote(rs_.ua_patterns[first].text) + ")";
          }
        }
        return true;
      }
    }
    if (why) {
      std::vector<std::string> shown;
      for (const auto atom : c.atoms) shown.push_back(rs_.ua_atom_shown[atom]);
      *why = "user_agent " + (ua_present_ ? quote(ua_, 60) : std::string("(absent)")) +
             " matched none of: " + join(shown, ", ");
    }
    return false;
  }

  void need_ip() {
    if (ip_done_) return;
    ip_done_ = true;
    s_.ip.reset(rs_.networks.size());
    rs_.cidrs.lookup(request_.ip, [&](std::uint32_t atom) { hit(s_.ip, RuleSetImpl::kIp, atom); });
  }

  bool match_ip(const Cond& c, std::string* why) {
    need_ip();
    for (const auto atom : c.atoms) {
      if (s_.ip.test(atom)) {
        if (why) *why = "ip " + request_.ip.to_string() + " is in " + rs_.networks[atom].shown;
        return true;
      }
    }
    if (why) {
      std::vector<std::string> shown;
      for (const auto atom : c.atoms) shown.push_back(rs_.networks[atom].shown);
      *why = "ip " + request_.ip.to_string() + " is not in " + join(shown, ", ");
    }
    return false;
  }

  bool match_cookie(const CookieTest& t, std::string* why) {
    bool found = false;
    bool m = false;
    for_each_cookie(request_.headers, [&](std::string_view name, std::string_view value) {
      if (name != t.name) return true;
      found = true;
      m = t.mode != TestMode::regex || RE2::PartialMatch(value, *t.regex);
      return !m;
    });
    if (t.mode == TestMode::absent) {
      if (why) *why = "cookie " + quote(t.name) + (found ? " is present" : " is absent");
      return !found;
    }
    if (why) {
      if (!found) {
        *why = "cookie " + quote(t.name) + " is absent";
      } else if (t.mode == TestMode::present) {
        *why = "cookie " + quote(t.name) + " is present";
      } else {
        *why = "cookie " + quote(t.name) + (m ? " matches regex " : " does not match regex ") +
               quote(t.regex->pattern());
      }
    }
    return m;
  }

  bool match_signal(const SignalTest& t, std::string* why) {
    const Signals* signals = request_.signals;
    if (signals != nullptr) {
      for (const Signal& s : signals->list) {
        if (std::find(t.names.begin(), t.names.end(), s.name) == t.names.end()) continue;
        bool m = true;
        if (t.value == SignalTest::Value::equals) m = s.value == t.values.front();
        if (t.value == SignalTest::Value::in) {
          m = std::binary_search(t.values.begin(), t.values.end(), s.value);
        }
        if (m) {
          if (why) {
            *why = "signal " + std::string(s.name);
            if (!s.value.empty()) *why += "=" + quote(s.value);
          }
          return true;
        }
      }
    }
    if (why) {
      std::vector<std::string> names(t.names.begin(), t.names.end());
      *why = "no signal " + join(names, " or ");
      if (t.value == SignalTest::Value::equals) *why += " with value " + quote(t.values.front());
      if (t.value == SignalTest::Value::in) *why += " with a listed value";
    }
    return false;
  }

  const RuleSetImpl& rs_;
  const RequestView& request_;
  Scratch& s_;
  std::vector<std::uint64_t>* candidates_ = nullptr;
  std::string_view ua_;
  bool ua_present_ = false;
  bool ua_done_ = false;
  bool path_done_ = false;
  bool ip_done_ = false;
};

std::string describe(const Action& action) {
  return std::visit(
      [](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, Allow>) {
          return "allow";
        } else if constexpr (std::is_same_v<T, Block>) {
          if (a.drop) return "block (drop)";
          const std::string page = a.page.empty() ? "" : " with page '" + a.page + "'";
          return "block " + std::to_string(a.status) + page;
        } else if constexpr (std::is_same_v<T, Challenge>) {
          return "challenge " + a.level;
        } else if constexpr (std::is_same_v<T, RateLimit>) {
          return "rate_limit";
        } else {
          return "tarpit " + std::to_string(a.delay.count()) + "ms then " +
                 std::to_string(a.status);
        }
      },
      action);
}

int clamp_score(int score) noexcept { return std::clamp(score, 0, 100); }

}  // namespace

std::string_view source_name(Decision::Source source) noexcept {
  switch (source) {
    case Decision::Source::default_: return "default";
    case Decision::Source::rule: return "rule";
    case Decision::Source::threshold: return "threshold";
    case Decision::Source::challenge_passed: return "challenge_passed";
    case Decision::Source::challenge_failed: return "challenge_failed";
  }
  return "default";
}

std::string_view action_name(const Action& action) noexcept {
  static constexpr std::string_view kNames[] = {"allow", "block", "challenge", "rate_limit",
                                                "tarpit"};
  return kNames[action.index()];
}

RuleSet::RuleSet(std::unique_ptr<const RuleSetImpl> impl) : impl_(std::move(impl)) {}
RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

Decision RuleSet::evaluate(const RequestView& request, Trace* trace) const {
  Decision d;
  d.score = request.signals != nullptr ? clamp_score(request.signals->score) : 0;
  if (!impl_) return d;
  const RuleSetImpl& rs = *impl_;
  Evaluator ev(rs, request);

  // Looks at one rule; true when its terminal action decided.
  const auto look_at = [&](const CompiledRule& rule) {
    const RuleInfo& info = rs.infos[rule.info];
    std::string why;
    const bool m = !rule.has_when || ev.match(rule.when, d.score, trace ? &why : nullptr);
    if (trace) {
      if (!rule.has_when) why = "no condition";
      TraceEntry entry{info.id, info.file, info.line, m, std::move(why)};
      if (m && rule.shadow) {
        entry.why += rule.terminal
                         ? "; shadow: would " + describe(*rule.terminal) + ", not enforced"
                         : "; shadow: actions not applied";
      } else if (m && rule.terminal) {
        entry.why += "; decides: " + describe(*rule.terminal);
      }
      trace->push_back(std::move(entry));
    }
    if (!m) return false;
    d.matched.push_back(info.id);
    for (const auto& tag : rule.tags) d.tags.push_back(tag);
    if (rule.shadow) {
      // A shadow rule changes nothing: its terminal action is recorded, its score and header
      // edits are not applied (they could change the decision or what the origin sees).
      if (rule.terminal) d.shadow_hits.push_back(ShadowHit{info.id, *rule.terminal});
      return false;
    }
    if (rule.has_score) d.score = clamp_score(d.score + rule.score);
    if (!rs.global_shadow) {
      for (const auto& h : rule.request_headers) d.request_headers.push_back(&h);
      for (const auto& h : rule.response_headers) d.response_headers.push_back(&h);
      if (rule.html) d.html_rewrites.push_back(rule.html.get());
      if (rule.prove) d.prove = true;
    }
    if (!rule.terminal) return false;
    d.action = *rule.terminal;
    d.rule_id = info.id;
    d.source = Decision::Source::rule;
    return true;
  };

  bool decided = false;
  if (trace != nullptr) {
    // `explain`: every request-phase rule in order, gated or not, so the trace shows each one.
    for (const CompiledRule& rule : rs.rules) {
      if (!rule.response_phase && look_at(rule)) {
        decided = true;
        break;
      }
    }
  } else {
    // The candidates (ungated rules, and gated ones whose atoms matched), in rule order.
    std::vector<std::uint64_t>& candidates = scratch().candidates;
    candidates.assign(rs.ungated.begin(), rs.ungated.end());
    ev.mark_candidates(candidates);
    for (std::size_t w = 0; w < candidates.size() && !decided; ++w) {
      for (std::uint64_t bits = candidates[w]; bits != 0; bits &= bits - 1) {
        const auto r = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        if (look_at(rs.rules[r])) {
          decided = true;
          break;
        }
      }
    }
  }
  if (!decided) {
    const Thresholds& t = rs.thresholds;
    if (t.block > 0 && d.score >= t.block) {
      d.action = Block{};
      d.source = Decision::Source::threshold;
    } else if (t.challenge > 0 && d.score >= t.challenge) {
      d.action = Challenge{};
      d.source = Decision::Source::threshold;
    }
  }
  d.shadow = rs.global_shadow;
  return d;
}

void RuleSet::evaluate_response(const RequestView& request,
                                std::vector<const HeaderEdit*>& out) const {
  if (!impl_ || impl_->global_shadow) return;
  const RuleSetImpl& rs = *impl_;
  Evaluator ev(rs, request);
  const int score = request.signals != nullptr ? clamp_score(request.signals->score) : 0;
  for (const CompiledRule& rule : rs.rules) {
    if (!rule.response_phase || rule.shadow) continue;
    if (rule.has_when && !ev.match(rule.when, score, nullptr)) continue;
    for (const auto& h : rule.response_headers) out.push_back(&h);
  }
}

void RuleSet::match_user_agent(std::string_view user_agent, std::vector<UaMatch>& out) const {
  if (!impl_ || !impl_->ua_set) return;
  const RuleSetImpl& rs = *impl_;
  Scratch& s = scratch();
  s.hits.clear();
  if (!set_match(*rs.ua_set, user_agent, s.hits)) return;
  // Set indices follow list order (lists are added first, in order), so sorting them gives the
  // lists in order and, within a list, its first matching entry.
  std::sort(s.hits.begin(), s.hits.end());
  std::uint32_t last = kNone;
  for (const int i : s.hits) {
    const UaPattern& p = rs.ua_patterns[static_cast<std::size_t>(i)];
    if (p.list == kNone || p.list == last) continue;
    last = p.list;
    const UaList& list = rs.ua_lists[p.list];
    out.push_back(UaMatch{list.name, list.signal, p.label.empty() ? p.text : p.label});
  }
}

bool RuleSet::in_network(std::string_view network, const net::Address& ip) const {
  if (!impl_) return false;
  const RuleSetImpl& rs = *impl_;
  for (std::size_t i = 0; i < rs.networks.size(); ++i) {
    if (rs.networks[i].name.empty() || rs.networks[i].name != network) continue;
    bool found = false;
    rs.cidrs.lookup(ip, [&](std::uint32_t atom) { found = found || atom == i; });
    return found;
  }
  return false;
}

const CrawlerSpec* RuleSet::claimed_crawler(std::string_view user_agent) const {
  if (!impl_) return nullptr;
  for (std::size_t i = 0; i < impl_->crawlers.size(); ++i) {
    if (RE2::PartialMatch(user_agent, *impl_->crawler_regexes[i])) return &impl_->crawlers[i];
  }
  return nullptr;
}

const std::vector<CrawlerSpec>& RuleSet::crawlers() const noexcept {
  static const std::vector<CrawlerSpec> none;
  return impl_ ? impl_->crawlers : none;
}

const std::vector<limit::LimitSpec>& RuleSet::limits() const noexcept {
  static const std::vector<limit::LimitSpec> none;
  return impl_ ? impl_->limits : none;
}

const limit::LimitSpec* RuleSet::find_limit(std::string_view name) const noexcept {
  for (const auto& l : limits()) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const PageTemplate* RuleSet::find_page(std::string_view name) const noexcept {
  if (!impl_) return nullptr;
  for (const auto& p : impl_->pages) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const std::vector<std::string>& RuleSet::watch_paths() const noexcept {
  static const std::vector<std::string> none;
  return impl_ ? impl_->watch_paths : none;
}

const std::vector<RuleInfo>& RuleSet::rules() const noexcept {
  static const std::vector<RuleInfo> none;
  return impl_ ? impl_->infos : none;
}

std::vector<UaListInfo> RuleSet::ua_lists() const {
  std::vector<UaListInfo> out;
  if (!impl_) return out;
  for (const auto& l : impl_->ua_lists) out.push_back(UaListInfo{l.name, l.signal, l.patterns});
  return out;
}

int RuleSet::weight(std::string_view signal) const noexcept {
  if (impl_) {
    for (const auto& [name, w] : impl_->weights) {
      if (name == signal) return w;
    }
  }
  const SignalInfo* info = find_signal(signal);
  return info != nullptr ? info->default_weight : 0;
}

Thresholds RuleSet::thresholds() const noexcept { return impl_ ? impl_->thresholds : Thresholds{}; }

bool RuleSet::global_shadow() const noexcept { return impl_ && impl_->global_shadow; }

std::size_t RuleSet::size() const noexcept { return impl_ ? impl_->rules.size() : 0; }

std::string_view RuleSet::version() const noexcept {
  // Not `impl_ ? impl_->version : "empty"`: that makes a temporary std::string.
  if (!impl_) return "empty";
  return impl_->version;
}

RuleSetPtr empty_rule_set() {
  static const RuleSetPtr empty = std::make_shared<const RuleSet>();
  return empty;
}

}  // namespace bawwab::rules
