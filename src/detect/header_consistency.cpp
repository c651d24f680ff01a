#include "bawwab/detect/header_consistency.hpp"

namespace bawwab::detect {
namespace {

namespace bh = boost::beast::http;

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::uint64_t hash_name(std::uint64_t h, std::string_view name) noexcept {
  for (const char c : name) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= kFnvPrime;
  }
  h ^= static_cast<unsigned char>('\n');
  return h * kFnvPrime;
}

// A coding list ("gzip, deflate, br, zstd") names gzip or br. q-values are ignored: no browser
// sends q=0 for them.
bool has_gzip_or_br(std::string_view list) noexcept {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    item = trim(item.substr(0, item.find(';')));
    if (iequals(item, "gzip") || iequals(item, "br") || iequals(item, "x-gzip")) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Positions in increasing order, skipping zeros (absent headers).
bool increasing(std::initializer_list<unsigned> positions) noexcept {
  unsigned last = 0;
  for (const unsigned p : positions) {
    if (p == 0) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

// `pos_host` is the smallest of the present positions given.
bool host_first(const HeaderSummary& h) noexcept {
  if (h.pos_host == 0) return true;
  for (const unsigned p : {h.pos_connection, h.pos_user_agent, h.pos_accept, h.pos_accept_encoding,
                           h.pos_accept_language})
    if (p != 0 && p < h.pos_host) return false;
  return true;
}

bool is_navigation(const HeaderSummary& h) noexcept {
  return h.accept.find("text/html") != std::string_view::npos;
}

}  // namespace

HeaderSummary summarize_headers(const bh::fields& fields) noexcept {
  HeaderSummary s;
  std::uint64_t h = kFnvOffset;
  for (const auto& f : fields) {
    const unsigned pos = ++s.count;
    const std::string_view name = f.name_string();
    h = hash_name(h, name);
    const std::string_view value = f.value();
    auto first = [&](unsigned& p) {
      if (p == 0) p = pos;
      return p == pos;
    };
    switch (f.name()) {
      case bh::field::host: first(s.pos_host); break;
      case bh::field::connection: first(s.pos_connection); break;
      case bh::field::user_agent:
        if (first(s.pos_user_agent)) s.user_agent = value, s.has_user_agent = true;
        break;
      case bh::field::accept:
        if (first(s.pos_accept)) s.accept = value, s.has_accept = true;
        break;
      case bh::field::accept_encoding:
        if (first(s.pos_accept_encoding)) s.accept_encoding = value, s.has_accept_encoding = true;
        break;
      case bh::field::accept_language:
        if (first(s.pos_accept_language)) s.accept_language = value, s.has_accept_language = true;
        break;
      case bh::field::sec_fetch_site: s.sec_fetch_site = value; break;
      case bh::field::sec_fetch_mode: s.sec_fetch_mode = value; break;
      case bh::field::sec_fetch_dest: s.sec_fetch_dest = value; break;
      case bh::field::upgrade: s.has_upgrade = true; break;
      case bh::field::range: s.has_range = true; break;
      case bh::field::unknown:
        if (!s.has_sec_ch_ua && iequals(name, "sec-ch-ua")) {
          s.sec_ch_ua = value;
          s.has_sec_ch_ua = true;
        }
        break;
      default: break;
    }
  }
  s.order_hash = h;
  return s;
}

std::uint64_t header_order_hash(const bh::fields& fields) noexcept {
  std::uint64_t h = kFnvOffset;
  for (const auto& f : fields) h = hash_name(h, f.name_string());
  return h;
}

std::string header_order_hex(std::uint64_t hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<std::size_t>(i)] = kHex[hash & 0xf];
  return out;
}

int sec_ch_ua_chromium_major(std::string_view v) noexcept {
  constexpr std::string_view kBrand = "\"Chromium\"";
  const auto at = v.find(kBrand);
  if (at == std::string_view::npos) return 0;
  std::size_t i = at + kBrand.size();
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  };
  skip_ws();
  if (i >= v.size() || v[i] != ';') return 0;
  ++i;
  skip_ws();
  if (v.substr(i, 2) != "v=") return 0;
  i += 2;
  if (i < v.size() && v[i] == '"') ++i;
  int major = 0;
  std::size_t digits = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9' && digits < 6) {
    major = major * 10 + (v[i] - '0');
    ++i;
    ++digits;
  }
  return major;
}

bool is_loopback_host(std::string_view host) noexcept {
  if (iequals(host, "localhost") || host == "::1" || host == "[::1]") return true;
  if (host.size() > 10 && iequals(host.substr(host.size() - 10), ".localhost")) return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (const char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

bool order_mismatch(const HeaderSummary& h, const BrowserClaim& claim) noexcept {
  if (claim.chromium()) {
    return !host_first(h) ||
           !increasing(
               {h.pos_connection, h.pos_accept, h.pos_accept_encoding, h.pos_accept_language}) ||
           !increasing({h.pos_user_agent, h.pos_accept});
  }
  if (claim.family == BrowserClaim::firefox) {
    return !host_first(h) ||
           !increasing({h.pos_accept, h.pos_accept_language, h.pos_accept_encoding});
  }
  return false;
}

HeaderCheck check_headers(const HeaderSummary& h, const RequestFacts& req,
                          const BrowserClaim& claim) {
  HeaderCheck out;
  if (!claim.known()) return out;
  if (req.method != "GET" && req.method != "HEAD") return out;
  if (h.has_upgrade) return out;

  if (!h.has_accept) out.reasons.push_back("no Accept");
  if (!h.has_accept_language) out.reasons.push_back("no Accept-Language");
  if (!h.has_range && !has_gzip_or_br(h.accept_encoding))
    out.reasons.push_back("Accept-Encoding without gzip or br");

  // Secure context as the browser sees it: https always; Chromium also treats loopback hosts as
  // secure over plain HTTP (recorded). Firefox and Safari on loopback: unsure, not checked.
  const bool chromium_secure = req.tls || is_loopback_host(req.host);
  bool fetch_metadata = false;  // the claimed browser sends Sec-Fetch-* here
  if (claim.chromium())
    fetch_metadata = chromium_secure && claim.chromium_major >= 80;
  else if (claim.family == BrowserClaim::firefox)
    fetch_metadata = req.tls && claim.major >= 90;
  else if (claim.family == BrowserClaim::safari)
    fetch_metadata = req.tls && (claim.major > 16 || (claim.major == 16 && claim.minor >= 4));

  const bool has_fetch_metadata =
      !h.sec_fetch_site.empty() && !h.sec_fetch_mode.empty() && !h.sec_fetch_dest.empty();
  if (fetch_metadata && is_navigation(h) && !has_fetch_metadata)
    out.reasons.push_back("no Sec-Fetch-* on a secure navigation");

  // Client hints: Chrome, Edge and Opera send the low-entropy ones on every request to a secure
  // origin, but a cross-site embedder's Permissions-Policy can withhold them from subresources
  // and iframes: only top-level documents are checked. (Samsung Internet: unsure, not checked.)
  const bool sends_hints = claim.chromium() && claim.family != BrowserClaim::samsung &&
                           claim.chromium_major >= 90 && chromium_secure;
  if (sends_hints && iequals(h.sec_fetch_dest, "document") && !h.has_sec_ch_ua)
    out.reasons.push_back("no sec-ch-ua on a secure navigation");

  if (h.has_sec_ch_ua) {
    if (claim.family == BrowserClaim::firefox || claim.family == BrowserClaim::safari) {
      out.reasons.push_back("sec-ch-ua from a browser without client hints");
    } else if (claim.chromium()) {
      const int brand = sec_ch_ua_chromium_major(h.sec_ch_ua);
      if (brand != 0 && brand != claim.chromium_major)
        out.reasons.push_back("sec-ch-ua Chromium version differs from the UA");
    }
  }

  if (req.http_version < 11 && !req.via_proxy)
    out.reasons.push_back("HTTP/1.0 from a modern browser");

  out.order_mismatch = !req.via_proxy && order_mismatch(h, claim);
  return out;
}

HeaderCheck check_headers(const bh::fields& fields, const RequestFacts& request,
                          const BrowserClaim& claim) {
  return check_headers(summarize_headers(fields), request, claim);
}

}  // namespace bawwab::detect
