#pragma once
// Small text helpers of the rules module: quoting user text in diagnostics, character classes,
// ASCII case folding. Pure and thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

namespace bawwab::rules::detail {

// Control and non-ASCII bytes escaped as \xNN (binary garbage must not mangle a terminal or split
// a log line); clipped to `max` bytes ("..." after).
std::string printable(std::string_view s, std::size_t max = 80);
// User text inside a message: printable, in single quotes.
std::string quote(std::string_view s, std::size_t max = 80);

char ascii_lower(char c) noexcept;
std::string lowercase(std::string_view s);
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
bool iends_with(std::string_view s, std::string_view suffix) noexcept;

// Names of rules, lists, networks, limits, crawlers, pages: letters, digits, '-', '_', '.'.
bool valid_name(std::string_view s, std::size_t max = 128) noexcept;
// An RFC 9110 token (header names, methods).
bool valid_token(std::string_view s) noexcept;
// A DNS name or suffix: labels of letters, digits, '-' and '_', separated by dots.
bool valid_hostname(std::string_view s) noexcept;

// Whole decimal numbers with an optional sign ("+20", "-5", "30"); false for anything else or on
// overflow of int64.
bool parse_int(std::string_view s, std::int64_t& out) noexcept;

// Why net::parse_cidr refused `text`: "host bits are set (did you mean 10.0.0.0/8?)", ...
std::string explain_cidr(std::string_view text);

// 64-bit FNV-1a, for the rule set's version.
std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) noexcept;
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;

}  // namespace bawwab::rules::detail
