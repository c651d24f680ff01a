#pragma once
// A streaming HTML tokenizer that only locates things: text, start and end tags, comments,
// doctypes, CDATA. Every input byte reaches the sink exactly once, in order, so a sink that
// appends what it is given reproduces the input byte for byte. Pure: no I/O, no allocation after
// the first held tag, no exceptions.
//
// It follows the HTML spec's tokenizer (html.spec.whatwg.org, "13.2.5 Tokenization") with these
// simplifications, all in the safe direction: when we differ from a browser we see *fewer* tags
// than it does (a missed insertion point leaves the page unchanged), never a tag it does not see.
// - No tree builder: the text mode after a start tag depends on the tag name alone. script ->
//   script data (with the escaped and double-escaped states, so `<script><!--<script></script>`
//   does not end the script early); style, xmp, iframe, noembed, noframes, noscript -> RAWTEXT
//   (noscript as a browser with scripting on); title, textarea -> RCDATA; plaintext -> the rest
//   of the document. Inside svg/math a browser parses `<style>` or `<title>` content as markup;
//   we keep treating it as text (fewer tags).
// - `<![CDATA[` always runs to `]]>`. Outside svg/math a browser ends it as a bogus comment at
//   the first `>` (fewer tags for us again).
// - Character references are not decoded and NUL/CR are not replaced: we never need the decoded
//   text, and bytes we do not change pass through untouched.
// - Bytes are bytes: no encoding sniffing. Every structural character is ASCII, and UTF-8 (or any
//   ASCII-compatible charset) continuation bytes are never ASCII, so a piece split inside a UTF-8
//   sequence changes nothing.
//
// Memory: only the tag being read is held back (also when it straddles two pieces), at most
// kMaxHoldBack bytes. A longer tag (a 2 MB attribute) is given up: its bytes pass through as
// OtherKind::oversized_tag and the sink gets a Tag with given_up = true and no attributes, so that
// it still knows the element opened or closed. Text, comments and the like stream through in the
// pieces they arrive in, never buffered.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bawwab::rewrite {

// The longest tag (or markup declaration start) held back across pieces.
inline constexpr std::size_t kMaxHoldBack = 4096;
// Tag names are kept (lowercased) up to this length; a longer name matches nothing.
inline constexpr std::size_t kMaxTagName = 32;

// What text is: data (ordinary text between tags) or the content of a text-mode element.
enum class TextKind : std::uint8_t { data, rcdata, rawtext, script, plaintext };

enum class OtherKind : std::uint8_t {
  comment,        // <!-- ... -->
  bogus_comment,  // <! ...>, <? ...>, </ ...> (not a letter after </), </>
  doctype,        // <!DOCTYPE ...>
  cdata,          // <![CDATA[ ... ]]>
  oversized_tag,  // a tag longer than kMaxHoldBack, passed through unparsed
  unfinished,     // the document ended inside a tag or a markup declaration
};

// A complete tag. Views are valid only during TokenSink::on_tag.
struct Tag {
  std::string_view raw;   // its bytes, `<` to `>`; empty when given_up
  std::string_view name;  // ASCII-lowercased; empty when longer than kMaxTagName
  bool end = false;
  bool self_closing = false;  // ends with `/>`
  bool given_up = false;      // longer than kMaxHoldBack: bytes already passed as oversized_tag

  // The value of the first attribute called `attr_name` (ASCII case-insensitive), quotes
  // removed, character references not decoded; std::nullopt when absent (or given up); an empty
  // view for an attribute without a value.
  std::optional<std::string_view> attribute(std::string_view attr_name) const noexcept;
};

// Receives the tokens. Each chunk view is valid only during the call.
class TokenSink {
 public:
  virtual ~TokenSink() = default;
  // A piece of one text node. Chunks split anywhere (also inside a UTF-8 sequence); the node's
  // last call has last_in_node = true and an empty chunk.
  virtual void on_text(std::string_view chunk, TextKind kind, bool last_in_node) = 0;
  virtual void on_tag(const Tag& tag) = 0;
  // A piece of a comment, doctype, CDATA section, oversized tag...; `last` on its final piece.
  virtual void on_other(std::string_view chunk, OtherKind kind, bool last) = 0;
};

// One per document; not thread-safe. The sink is borrowed and must outlive the tokenizer.
class Tokenizer {
 public:
  explicit Tokenizer(TokenSink& sink) noexcept : sink_(&sink) {}
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Feeds the next piece; `last` exactly once, at the end (`piece` may be empty). After the last
  // piece or stop(), does nothing.
  void feed(std::string_view piece, bool last);
  // Stops at once (the sink ended the document): the rest of the current piece is not looked at.
  void stop() noexcept { stopped_ = true; }
  // Bytes held back for the next piece (an incomplete tag); at most kMaxHoldBack.
  std::size_t held_bytes() const noexcept { return held_.size(); }
  // Heap bytes owned (the hold-back buffer's capacity), for memory-bound tests.
  std::size_t heap_bytes() const noexcept { return held_.capacity() > 15 ? held_.capacity() : 0; }

  enum class State : std::uint8_t;

 private:
  enum class Run : std::uint8_t { text, held, other };

  void emit_text(std::string_view chunk);
  void end_text();
  void emit_other(std::string_view chunk, bool last);
  std::string_view take_held(std::size_t end);
  void drop_held(std::size_t end, Run next);
  void fail_candidate(std::size_t i);
  void start_other(std::size_t end, OtherKind kind);
  void end_other(std::size_t end);
  void confirm_tag(bool end_tag);
  void finish_tag(std::size_t gt);
  void give_up_tag();
  void flush_piece_end();
  void finish_document();
  void set_content_after(const Tag& tag);
  bool in_tag_states() const noexcept;

  TokenSink* sink_;
  const char* p_ = nullptr;  // the current piece
  std::size_t n_ = 0;
  std::size_t run_start_ = 0;  // start of the bytes not yet passed on, in the current piece
  std::string held_;           // bytes of the held run from earlier pieces (<= kMaxHoldBack)

  State state_{};
  State return_state_{};  // where a failed `<` / `</name` candidate goes back to
  Run run_ = Run::text;
  TextKind text_kind_ = TextKind::data;
  OtherKind other_kind_ = OtherKind::comment;
  bool text_open_ = false;  // some text of the current node was emitted
  bool tag_end_ = false;
  bool tag_self_closing_ = false;
  bool tag_given_up_ = false;
  bool stopped_ = false;
  bool ended_ = false;
  std::uint8_t name_len_ = 0;      // kMaxTagName + 1: too long
  std::uint8_t end_name_len_ = 0;  // the end tag that closes the current text mode
  std::uint8_t end_match_ = 0;     // bytes of it matched so far
  std::uint8_t decl_len_ = 0;      // bytes after `<!` seen in a markup declaration
  std::uint8_t decl_mask_ = 0;     // which of --, doctype, [CDATA[ are still possible
  std::uint8_t dbl_len_ = 0;       // script double-escape: bytes of "script" matched (7: no)
  char name_[kMaxTagName] = {};
  const char* end_name_ = "";
};

}  // namespace bawwab::rewrite
