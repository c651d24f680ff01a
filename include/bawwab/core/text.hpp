#pragma once
// Text formats more than one module writes: JSON string escapes (the access log, JSON block
// pages) and UTC timestamps (/status, block pages). Pure, thread-safe.
#include <chrono>
#include <string>
#include <string_view>

namespace bawwab {

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 when it is not one (overlong
// forms, surrogates and code points above U+10FFFF are not well-formed). i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// Appends `s` escaped for the inside of a JSON string (no quotes): " \\ and control characters
// (DEL too: these lines end up on terminals) escaped, well-formed UTF-8 kept, and each byte of
// invalid UTF-8 replaced by U+FFFD, so the output is always valid JSON.
void append_json_escaped(std::string& out, std::string_view s);

// "2026-11-30T06:41:57Z": ISO 8601, UTC, whole seconds.
std::string utc_timestamp(std::chrono::system_clock::time_point t);

}  // namespace bawwab
