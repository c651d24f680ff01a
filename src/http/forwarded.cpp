#include "bawwab/http/forwarded.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <optional>
#include <string>
#include <vector>

#include "bawwab/http/hop_by_hop.hpp"
#include "bawwab/http/validate.hpp"
#include "text.hpp"

namespace bawwab::http {
namespace {

namespace bh = boost::beast::http;
using boost::asio::ip::address;

constexpr std::string_view kDefaultPseudonym = "bawwab";
// Not in Beast's field enum; lookups by name are case-insensitive.
constexpr std::string_view kXForwardedFor = "X-Forwarded-For";
constexpr std::string_view kXForwardedProto = "X-Forwarded-Proto";
constexpr std::string_view kXForwardedHost = "X-Forwarded-Host";
constexpr std::string_view kXRealIp = "X-Real-IP";
constexpr std::string_view kForwarded = "Forwarded";
constexpr std::string_view kVia = "Via";

bool is_port(std::string_view p) noexcept {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p)
    if (!text::is_digit(c)) return false;
  return true;
}

// RFC 7239 §6.3 obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-")
bool is_obfport(std::string_view p) noexcept {
  if (p.size() < 2 || p.front() != '_') return false;
  for (char c : p.substr(1))
    if (!text::is_alpha(c) && !text::is_digit(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::optional<address> parse_v4(std::string_view s) {
  if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789.") != std::string_view::npos)
    return std::nullopt;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address_v4(std::string(s), ec);
  if (ec) return std::nullopt;
  return address(a);
}

std::optional<address> parse_v6(std::string_view s) {
  // No zone ids: they only mean something on the host that wrote them.
  if (s.empty() || s.size() > 45 ||
      s.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
    return std::nullopt;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address_v6(std::string(s), ec);
  if (ec) return std::nullopt;
  return address(a);
}

// One hop as written in X-Forwarded-For or in a Forwarded for= (unquoted): "192.0.2.1",
// "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443".
std::optional<address> parse_node(std::string_view s) {
  s = text::trim_ows(s);
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !(is_port(rest.substr(1)) ||
                                                   is_obfport(rest.substr(1)))))
      return std::nullopt;
    return parse_v6(s.substr(1, close - 1));
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return parse_v4(s);
  if (s.find(':', colon + 1) != std::string_view::npos) return parse_v6(s);  // bare IPv6
  const auto port = s.substr(colon + 1);
  if (!is_port(port) && !is_obfport(port)) return std::nullopt;
  return parse_v4(s.substr(0, colon));
}

// The for= value of each element of a Forwarded list, in order; nullopt for an element without
// a usable for= or one that does not parse. After a syntax error the rest of the field cannot be
// split reliably, so it ends the list with one nullopt and returns false.
bool forwarded_for_values(std::string_view v, std::vector<std::optional<std::string>>& out) {
  std::size_t i = 0;
  const auto n = v.size();
  auto skip_ows = [&] {
    while (i < n && text::is_ows(v[i])) ++i;
  };
  while (i < n) {
    std::optional<std::string> for_value;
    bool element_ok = true;
    bool any_pair = false;
    // One element: pair *( ";" pair ), up to a ',' outside quotes.
    for (;;) {
      skip_ows();
      if (i < n && (v[i] == ',' || v[i] == ';')) {  // empty pair or element: tolerated
        if (v[i] == ',') break;
        ++i;
        continue;
      }
      if (i >= n) break;
      const auto name_begin = i;
      while (i < n && text::is_tchar(v[i])) ++i;
      const auto name = v.substr(name_begin, i - name_begin);
      if (name.empty() || i >= n || v[i] != '=') {
        out.emplace_back(std::nullopt);
        return false;
      }
      ++i;
      std::string value;
      if (i < n && v[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = v[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= n) break;
            value.push_back(v[i++]);
          } else {
            value.push_back(c);
          }
        }
        if (!closed) {
          out.emplace_back(std::nullopt);
          return false;
        }
      } else {
        const auto value_begin = i;
        while (i < n && text::is_tchar(v[i])) ++i;
        value.assign(v.substr(value_begin, i - value_begin));
        if (value.empty()) {  // "for=" and "for=[::1]": not a token nor a quoted-string
          out.emplace_back(std::nullopt);
          return false;
        }
      }
      any_pair = true;
      if (text::iequals(name, "for")) {
        if (for_value) element_ok = false;  // two for= in one element: which one is true?
        for_value = std::move(value);
      }
      skip_ows();
      if (i < n && v[i] == ';') {
        ++i;
        continue;
      }
      if (i < n && v[i] != ',') {
        out.emplace_back(std::nullopt);
        return false;
      }
      break;
    }
    if (any_pair) out.emplace_back(element_ok ? std::move(for_value) : std::nullopt);
    if (i < n && v[i] == ',') ++i;
  }
  return true;
}

// Whether every Forwarded line parses: one that does not (an open quote) would swallow the
// element we append, and the origin would read the client's text in its place.
bool forwarded_well_formed(const bh::fields& f) {
  std::vector<std::optional<std::string>> ignored;
  for (const auto& line : text::as_range(f.equal_range(kForwarded)))
    if (!forwarded_for_values(line.value(), ignored)) return false;
  return true;
}

std::string format_for(const address& a) {
  if (a.is_v6()) return "\"[" + a.to_string() + "]\"";
  return a.to_string();
}

// A Forwarded value: a token as is, anything else as a quoted-string.
std::string forwarded_value(std::string_view v) {
  if (text::is_token(v)) return std::string(v);
  std::string q = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

// All lines of a list field joined with ", " (RFC 9110 §5.3 says that is the same field).
std::string joined(const bh::fields& f, std::string_view name) {
  std::string out;
  for (const auto& line : text::as_range(f.equal_range(name))) {
    const auto v = text::trim_ows(line.value());
    if (v.empty()) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

void append_list(bh::fields& f, std::string_view name, std::string_view element) {
  auto value = joined(f, name);
  if (!value.empty()) value += ", ";
  value += element;
  f.set(name, value);
}

std::string via_element(unsigned minor, std::string_view pseudonym) {
  std::string v = minor == 0 ? "1.0 " : "1.1 ";
  v += pseudonym.empty() ? kDefaultPseudonym : pseudonym;
  return v;
}

}  // namespace

address resolve_client_ip(const bh::fields& f, const address& peer,
                          const bawwab::net::CidrList& trusted) {
  const auto p = bawwab::net::canonical(peer);
  if (!trusted.contains(p)) return p;

  // The hops as text, left to right; nullopt marks an entry that is not even text we can use.
  std::vector<std::optional<std::string>> hops;
  if (f.count(kXForwardedFor) > 0) {
    for (const auto& line : text::as_range(f.equal_range(kXForwardedFor)))
      text::for_each_element(line.value(),
                             [&](std::string_view e) { hops.emplace_back(std::string(e)); });
  } else {
    for (const auto& line : text::as_range(f.equal_range(kForwarded)))
      forwarded_for_values(line.value(), hops);
  }

  address good = p;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!*it) break;
    const auto a = parse_node(**it);
    if (!a) break;
    const auto c = bawwab::net::canonical(*a);
    if (!trusted.contains(c)) return c;
    good = c;
  }
  return good;
}

void set_forwarding_headers(bh::fields& f, const ForwardedContext& c, const address& client_ip,
                            bool peer_trusted) {
  const auto peer = bawwab::net::canonical(c.peer);
  const auto peer_text = peer.to_string();
  const std::string_view proto = c.tls ? "https" : "http";

  if (peer_trusted) {
    append_list(f, kXForwardedFor, peer_text);
  } else {
    f.set(kXForwardedFor, peer_text);
  }

  f.set(kXRealIp, bawwab::net::canonical(client_ip).to_string());

  const bool keep_proto = peer_trusted && f.count(kXForwardedProto) == 1 &&
                          (text::iequals(f[kXForwardedProto], "http") ||
                           text::iequals(f[kXForwardedProto], "https"));
  if (!keep_proto) f.set(kXForwardedProto, proto);

  const bool keep_host = peer_trusted && f.count(kXForwardedHost) == 1 &&
                         is_valid_authority(f[kXForwardedHost]);
  if (!keep_host) {
    if (c.host.empty()) {
      f.erase(kXForwardedHost);
    } else {
      f.set(kXForwardedHost, c.host);
    }
  }

  std::string element = "for=" + format_for(peer) + ";proto=" + std::string(proto);
  if (!c.host.empty()) element += ";host=" + forwarded_value(c.host);
  if (peer_trusted && forwarded_well_formed(f)) {
    append_list(f, kForwarded, element);
  } else {
    f.set(kForwarded, element);
  }

  append_list(f, kVia, via_element(c.http_minor, c.via_pseudonym));
}

void prepare_response_fields(bh::fields& f, std::string_view via_pseudonym,
                             unsigned upstream_http_minor) {
  remove_hop_by_hop(f);
  append_list(f, kVia, via_element(upstream_http_minor, via_pseudonym));
}

}  // namespace bawwab::http
