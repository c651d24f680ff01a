#pragma once
// Streaming HTML rewriting on the response path: insert HTML around elements chosen by simple
// selectors, hand the text inside chosen elements to a per-response handler, and optionally end
// the page after </head>. The model is Cloudflare's lol-html: no DOM, text handed over in chunks,
// a hard memory bound per document, byte-exact passthrough when nothing matches.
//
// Two objects:
// - RewriteSpec: compiled once at config load from strings (errors as values, every problem
//   reported), immutable, shared by all responses as std::shared_ptr<const RewriteSpec>.
// - HtmlRewriter: one per response, a BodyFilter. Its state is the tokenizer's hold-back
//   (<= kMaxHoldBack), a fixed open-element stack (kMaxDepth entries of 16 bytes) and the text
//   handlers it created: well under 16 KB whatever the input.
//
// How elements are tracked (no tree builder, roughly what browsers do):
// - A start tag pushes an element, except void elements (br, img, meta, link, input, hr, ...)
//   and, inside svg/math, self-closing tags (`<path/>`). In HTML `<div/>` opens a div, as in a
//   browser.
// - An end tag closes the nearest open element of that name and every element above it (which
//   were left unclosed); an end tag with no open element of its name is ignored.
// - A start tag of p, li, dt/dd, option, td/th, tr closes an element of the same kind that is
//   the current one, and a block start tag (div, ul, h1, table...) closes a current p.
// - Beyond kMaxDepth open elements, deeper elements are not tracked and match nothing; their end
//   tags are counted off first.
// - A tag longer than kMaxHoldBack is not matched (its element is still tracked by name).
//
// Where insertions go:
// - before_start / after_start (prepend): around the start tag of the matched element.
// - before_end (append) / after_end: around the end tag that closes it. When an outer end tag
//   closes it implicitly, both go just before that outer end tag. A void or self-closed element
//   has no content: after_start and before_end are dropped, after_end follows the start tag.
// - If the document ends before the element is closed, its end insertions are not made (the
//   insertion point was not found, so the page is left as it was; report().unplaced counts it).
// By default a rule applies to the first matching element only; `every_match` to all of them.
//
// end_after_head: after `</head>` the rewriter emits `<body></body></html>` and finishes (the
// proxy stops reading the origin). Only when the head really ended there: it is disarmed by a
// `<body>` or any start tag that does not belong in a head (also `<template>`, inside which a
// `</head>` ends nothing), by a tag too long to read, or by non-whitespace text before it (a
// browser would have started the body already). Then the page passes unchanged.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/body_filter.hpp"
#include "bawwab/rewrite/selector.hpp"
#include "bawwab/rewrite/tokenizer.hpp"

namespace bawwab::rewrite {

enum class Position : std::uint8_t {
  before_start,
  after_start,  // prepend
  before_end,   // append
  after_end,
};

// Per-response text transformation, e.g. invisible marks. Created by the spec's factory on the
// first text it is needed for; one object per response, never shared.
class TextHandler {
 public:
  virtual ~TextHandler() = default;
  // A chunk of one text node (data text only: not script, style, title or textarea content),
  // split anywhere (also inside a UTF-8 sequence or a character reference; references are not
  // decoded). Appends the replacement to `out` (appending `chunk` is the identity). The node's
  // last call has last_in_node = true and an empty chunk.
  virtual void on_text(std::string_view chunk, bool last_in_node, std::string& out) = 0;
};
using TextHandlerFactory = std::function<std::unique_ptr<TextHandler>()>;

// What an operator writes, before compiling.
struct InsertionConfig {
  std::string selector;  // "head", "body", "#comments", "article p", ...
  Position position = Position::before_end;
  std::string html;  // inserted as is
  bool every_match = false;
};
struct TextRuleConfig {
  std::string selector;
  TextHandlerFactory factory;  // called at most once per response
};
struct RewriteConfig {
  std::vector<InsertionConfig> insertions;
  std::vector<TextRuleConfig> text_rules;  // for a text in several chosen elements, the first wins
  bool end_after_head = false;
};

inline constexpr std::size_t kMaxInsertions = 32;
inline constexpr std::size_t kMaxTextRules = 16;
inline constexpr std::size_t kMaxAncestorLevels = 32;  // sum over rules of (levels - 1)

class RewriteSpec;
// A spec, or every problem found, each fit for an operator:
// "insertion 2: bad selector 'div..x': empty class name".
struct SpecCompile {
  std::shared_ptr<const RewriteSpec> spec;  // null exactly when errors is not empty
  std::vector<std::string> errors;
};

// Immutable after compile; thread-safe to share between responses.
class RewriteSpec {
 public:
  static SpecCompile compile(RewriteConfig config);

  bool empty() const noexcept;  // nothing to do: a caller may skip the filter altogether
  bool end_after_head() const noexcept { return end_after_head_; }

 private:
  friend class HtmlRewriter;
  struct Rule {
    Selector selector;
    std::uint8_t first_bit = 0;  // ancestor bits first_bit .. first_bit + levels - 2
  };
  struct Insertion : Rule {
    Position position = Position::before_end;
    std::string html;
    bool every_match = false;
  };
  struct TextRule : Rule {
    TextHandlerFactory factory;
  };
  std::vector<Insertion> insertions_;
  std::vector<TextRule> text_rules_;
  bool end_after_head_ = false;
};

// What one response's rewriting did, for the access log and counters.
struct RewriteReport {
  std::uint32_t insertions = 0;      // insertion contents emitted
  std::uint32_t unplaced = 0;        // matched elements whose end insertions never found a place
  std::uint32_t tags_given_up = 0;   // tags longer than kMaxHoldBack, passed unmatched
  std::uint32_t depth_overflow = 0;  // start tags deeper than kMaxDepth, not matched
  bool truncated = false;            // end_after_head happened
};

// One per response; not thread-safe. Holds the spec alive; `spec` must not be null.
class HtmlRewriter final : public BodyFilter, private TokenSink {
 public:
  static constexpr std::size_t kMaxDepth = 256;

  explicit HtmlRewriter(std::shared_ptr<const RewriteSpec> spec);
  ~HtmlRewriter() override;

  void on_data(std::string_view in, std::string& out, bool last) override;
  bool finished() const noexcept override { return finished_; }
  // Every insertion is made, nothing else can match and nothing is held: the rest of the page
  // may bypass the rewriter.
  bool idle() const noexcept override { return !finished_ && exhausted() && held_bytes() == 0; }
  std::size_t held_bytes() const noexcept override { return tokenizer_.held_bytes(); }
  std::string_view name() const noexcept override { return "html"; }

  const RewriteReport& report() const noexcept { return report_; }
  // This object plus the heap it owns (not counting what text handlers allocate themselves).
  std::size_t memory_bytes() const noexcept;

 private:
  struct Open {
    std::uint32_t name_hash = 0;
    std::uint32_t ancestors = 0;    // ancestor bits: a prefix of some rule's selector matched
    std::uint32_t pending_end = 0;  // insertions (by index) waiting for this element's end
    std::uint16_t inside = 0;       // text rules (by index) whose element this is or contains
    std::uint8_t foreign = 0;       // in svg/math
  };

  void on_text(std::string_view chunk, TextKind kind, bool last_in_node) override;
  void on_tag(const Tag& tag) override;
  void on_other(std::string_view chunk, OtherKind kind, bool last) override;

  void start_tag(const Tag& tag);
  void end_tag(const Tag& tag);
  void close_implied(std::uint32_t name_hash);
  void pop_to(std::size_t depth);  // closes implicitly everything above `depth`
  void emit_end(const Open& e, Position which);
  TextHandler* handler_for(std::uint16_t inside);
  bool exhausted() const noexcept;  // nothing left to insert: the rest passes untokenized

  std::shared_ptr<const RewriteSpec> spec_;
  Tokenizer tokenizer_;
  std::string* out_ = nullptr;
  std::vector<std::unique_ptr<TextHandler>> handlers_;  // by text rule, made on first use
  std::uint32_t depth_ = 0;
  std::uint32_t overflow_ = 0;  // open elements deeper than the stack
  std::uint32_t done_ = 0;      // first-match insertions already made
  std::uint32_t first_match_mask_ = 0;  // a bit per insertion
  std::uint32_t pending_ends_ = 0;      // end insertions waiting on open elements
  bool open_ended_ = false;             // every-match or text rules: never exhausted
  bool finished_ = false;
  bool head_armed_ = false;  // end_after_head may still apply
  RewriteReport report_;
  std::array<Open, kMaxDepth> stack_;
};

}  // namespace bawwab::rewrite
