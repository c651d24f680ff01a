#pragma once
// Values written in the config file and on the command line (addresses, URLs, host patterns,
// numbers): parsing, and the explanations the loader puts into its diagnostics. Shared by the
// config and rules loaders, so both word their messages alike; the building blocks operators meet
// on the command line too (durations, sizes, did_you_mean) are in loader.hpp.
// Everything here is pure and thread-safe. "why" out-parameters are message fragments without the
// key path, e.g. "port 70000 is out of range (0-65535)".
#include <cstdint>
#include <string>
#include <string_view>

#include "bawwab/config/config.hpp"
#include "bawwab/core/net.hpp"

namespace bawwab::config::detail {

enum class Number { ok, bad, too_large };

// Digits only: no sign, no spaces, no hex, no underscores.
Number parse_u64(std::string_view s, std::uint64_t& out);
bool is_digit(char c);
std::string lowercase(std::string_view s);

// Text inside a message: control and non-ASCII bytes escaped as \xNN, so that binary garbage
// cannot mangle a terminal or split a log line; clipped to max bytes ("..." after).
std::string printable(std::string_view s, std::size_t max = 80);
// User text inside a message: printable, in single quotes. Values are clipped at 80 bytes; file
// names are given more room (they are what the operator needs to find).
std::string quote(std::string_view s, std::size_t max = 80);
inline std::string quote_path(std::string_view path) { return quote(path, 4096); }

// Upstream group names: letters, digits, '-', '_', '.', at most 64.
bool valid_name(std::string_view s);
// Dot-separated labels of letters, digits, '-' and '_'.
bool valid_hostname(std::string_view s);
// An RFC 9110 token (the Via pseudonym), at most 64.
bool valid_token(std::string_view s);

// net::parse_endpoint with an explanation: "bad address '...': missing port (...)".
bool parse_listen_address(std::string_view text, net::Endpoint& out, std::string& why);
bool is_loopback(const net::Endpoint& e);

// Why net::parse_cidr refused text (call only after it did): "host bits are set (did you mean
// 10.0.0.0/8?)", "prefix length 33 is out of range for IPv4 (0-32)", ...
std::string explain_cidr(std::string_view text);

// http://host[:port][/], host a name, an IPv4 address or a bracketed IPv6 address.
bool parse_upstream_url(std::string_view text, UpstreamServer& out, std::string& why);

// "auto" (0) or 1..256.
bool parse_workers(std::string_view text, unsigned& out, std::string& why);

// A site host: "*", "news.example", "*.news.example", an IP literal ("[::1]" for IPv6).
bool check_host_pattern(std::string_view host, std::string& why);

}  // namespace bawwab::config::detail
