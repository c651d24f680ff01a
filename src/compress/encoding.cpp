#include "bawwab/compress/encoding.hpp"

#include <algorithm>
#include <array>

namespace bawwab::compress {
namespace {

constexpr int kUnlisted = -1;  // q in thousandths; -1: the element did not name this coding

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A qvalue in thousandths (0..1000), leniently: "1", "0.5", ".5", "1.", "0.8000"; -1 when it is
// not a number at all ("", "abc", "-1", "0.5x").
int parse_q(std::string_view v) noexcept {
  int whole = 0;
  std::size_t i = 0;
  bool digits = false;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    digits = true;
    whole = std::min(whole * 10 + (v[i] - '0'), 10);  // anything above 1 clamps anyway
  }
  int frac = 0;
  bool frac_nonzero = false;
  if (i < v.size() && v[i] == '.') {
    ++i;
    for (int n = 0; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i, ++n) {
      digits = true;
      if (n < 3) frac += (v[i] - '0') * (n == 0 ? 100 : n == 1 ? 10 : 1);
      if (v[i] != '0') frac_nonzero = true;
    }
  }
  if (!digits || i != v.size()) return -1;
  if (whole >= 1) return 1000;
  if (frac == 0 && frac_nonzero) return 1;  // 0.0001: positive, so still acceptable
  return frac;
}

// The q of one list element's parameters ("q=0.5", "Q = 1"); 1000 when absent, -1 if invalid.
int element_q(std::string_view params) noexcept {
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    const std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;  // a bare parameter: not a weight
    if (iequals(trim(param.substr(0, eq)), "q")) return parse_q(trim(param.substr(eq + 1)));
  }
  return 1000;
}

bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(c) != std::string_view::npos;
}

}  // namespace

Coding negotiate(std::string_view accept_encoding, Offer offer) noexcept {
  int q_gzip = kUnlisted, q_br = kUnlisted, q_identity = kUnlisted, q_star = kUnlisted;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view element = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (element.empty()) continue;  // "gzip,,br" and a leading or trailing comma
    const std::size_t semi = element.find(';');
    const std::string_view token = trim(element.substr(0, semi));
    if (token.empty() || !std::all_of(token.begin(), token.end(), is_tchar)) continue;
    const int q = semi == std::string_view::npos ? 1000 : element_q(element.substr(semi + 1));
    if (q < 0) continue;  // "gzip;q=high": ignore the element rather than guess
    // A coding named twice takes its best q (browsers never do this; no reason to punish it).
    if (iequals(token, "gzip") || iequals(token, "x-gzip")) {
      q_gzip = std::max(q_gzip, q);
    } else if (iequals(token, "br")) {
      q_br = std::max(q_br, q);
    } else if (iequals(token, "identity")) {
      q_identity = std::max(q_identity, q);
    } else if (token == "*") {
      q_star = std::max(q_star, q);
    }
  }
  const auto effective = [&](int q) { return q != kUnlisted ? q : std::max(q_star, 0); };
  Coding best = Coding::identity;
  int best_q = 0;
  if (offer.br && effective(q_br) > best_q) {
    best = Coding::br;
    best_q = effective(q_br);
  }
  if (offer.gzip && effective(q_gzip) > best_q) {  // strictly: br wins a tie
    best = Coding::gzip;
    best_q = effective(q_gzip);
  }
  if (best == Coding::identity) return Coding::identity;
  // Identity beats a coding only when the client gave it a strictly higher q, explicitly or
  // through "*"; unlisted, it ranks below every acceptable coding.
  const int identity_q = q_identity != kUnlisted ? q_identity : q_star;
  return identity_q > best_q ? Coding::identity : best;
}

std::string_view content_encoding_token(Coding coding) noexcept {
  switch (coding) {
    case Coding::gzip:
      return "gzip";
    case Coding::br:
      return "br";
    case Coding::identity:
      break;
  }
  return "identity";
}

std::optional<Coding> coding_from_token(std::string_view token) noexcept {
  token = trim(token);
  if (iequals(token, "gzip") || iequals(token, "x-gzip")) return Coding::gzip;
  if (iequals(token, "br")) return Coding::br;
  if (iequals(token, "identity")) return Coding::identity;
  return std::nullopt;
}

bool is_compressible(std::string_view content_type) noexcept {
  const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (type.empty()) return false;
  if (starts_with_ci(type, "text/")) return type.size() > 5;
  if (ends_with_ci(type, "+xml") || ends_with_ci(type, "+json")) return true;  // svg, rss, atom
  constexpr std::array<std::string_view, 7> exact = {
      "application/javascript", "application/x-javascript", "application/ecmascript",
      "application/json",       "application/xml",          "application/wasm",
      "application/x-ndjson"};
  return std::any_of(exact.begin(), exact.end(),
                     [&](std::string_view t) { return iequals(type, t); });
}

}  // namespace bawwab::compress
