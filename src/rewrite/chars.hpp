#pragma once
// ASCII character classes shared by the tokenizer and the selector parser (one copy, and the
// unity build compiles both files in one translation unit).
namespace bawwab::rewrite::chars {

// HTML's whitespace, plus CR (the input stream preprocessing turns CR into LF).
constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c | 0x20) : c; }

}  // namespace bawwab::rewrite::chars
