#include "bawwab/detect/robots.hpp"

#include <algorithm>

namespace bawwab::detect {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view hay, std::string_view needle) noexcept {
  if (needle.empty()) return false;
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [](char x, char y) { return lower(x) == lower(y); }) != hay.end();
}

}  // namespace

RobotsRules parse_robots(std::string_view body) {
  RobotsRules out;
  body = body.substr(0, kMaxRobotsBytes);
  // The group being filled, and whether it has seen a rule yet: a user-agent line after rules
  // starts a new group (RFC 9309 §2.1); consecutive user-agent lines share one.
  RobotsGroup* current = nullptr;
  bool seen_rule = false;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    line = trim(line.substr(0, line.find('#')));
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "user-agent")) {
      if (current == nullptr || seen_rule) {
        out.groups.emplace_back();
        current = &out.groups.back();
        seen_rule = false;
      }
      // The product token: up to the first space or slash ("Googlebot/2.1" -> "googlebot").
      std::string agent(value.substr(0, value.find_first_of(" /")));
      std::transform(agent.begin(), agent.end(), agent.begin(), lower);
      if (!agent.empty()) current->agents.push_back(std::move(agent));
    } else if (iequals(key, "allow") || iequals(key, "disallow")) {
      if (current == nullptr) continue;  // rules before any user-agent line belong to no group
      seen_rule = true;
      if (value.empty()) continue;  // "Disallow:" with nothing: allows everything
      current->rules.push_back(RobotsRule{iequals(key, "allow"), std::string(value)});
    }
    // sitemap, crawl-delay, content-signal, content-usage...: not rules, ignored.
  }
  return out;
}

bool robots_pattern_matches(std::string_view pattern, std::string_view path) noexcept {
  bool anchored = false;
  if (!pattern.empty() && pattern.back() == '$') {
    anchored = true;
    pattern.remove_suffix(1);
  }
  // Glob with `*` only; the classic two-pointer walk with one backtrack point.
  std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (p == pattern.size() && !anchored) {
      return true;  // the whole pattern matched a prefix
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool disallowed(const RobotsRules& rules, std::string_view user_agent, std::string_view path) {
  if (path == kRobotsPath) return false;
  bool specific = false;
  for (const auto& g : rules.groups)
    for (const auto& a : g.agents)
      if (a != "*" && icontains(user_agent, a)) specific = true;

  // Longest matching pattern wins; on equal length allow wins (RFC 9309 §2.2.2).
  std::size_t best_len = 0;
  bool matched = false, allow = true;
  for (const auto& g : rules.groups) {
    bool applies = false;
    for (const auto& a : g.agents)
      if (specific ? (a != "*" && icontains(user_agent, a)) : a == "*") applies = true;
    if (!applies) continue;
    for (const auto& r : g.rules) {
      if (!robots_pattern_matches(r.pattern, path)) continue;
      const std::size_t len = r.pattern.size();
      if (!matched || len > best_len || (len == best_len && r.allow && !allow)) {
        matched = true;
        best_len = len;
        allow = r.allow;
      }
    }
  }
  return matched && !allow;
}

void RobotsLearner::on_data(std::string_view in, std::string& out, bool last) {
  out.append(in);
  if (body_.size() < kMaxRobotsBytes) {
    body_.append(in.substr(0, kMaxRobotsBytes - body_.size()));
  }
  if (last && learn_) {
    learn_(body_);
    body_.clear();
    body_.shrink_to_fit();
  }
}

}  // namespace bawwab::detect
