#pragma once
// Small text helpers of the rules module: character classes, ASCII case folding. Quoting user text
// in diagnostics, host names and CIDR explanations are the config loader's (config/values.hpp),
// so that both loaders word their messages alike. Pure and thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

#include "bawwab/config/values.hpp"

namespace bawwab::rules::detail {

using config::detail::explain_cidr;
using config::detail::lowercase;
using config::detail::printable;
using config::detail::quote;
using config::detail::valid_hostname;

char ascii_lower(char c) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
bool iends_with(std::string_view s, std::string_view suffix) noexcept;

// Names of rules, lists, networks, limits, crawlers, pages: letters, digits, '-', '_', '.'.
bool valid_name(std::string_view s, std::size_t max = 128) noexcept;
// An RFC 9110 token (header names, methods).
bool valid_token(std::string_view s) noexcept;

// Whole decimal numbers with an optional sign ("+20", "-5", "30"); false for anything else or on
// overflow of int64.
bool parse_int(std::string_view s, std::int64_t& out) noexcept;


// 64-bit FNV-1a, for the rule set's version.
std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) noexcept;
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;

}  // namespace bawwab::rules::detail
