#include "bawwab/rewrite/tokenizer.hpp"

#include "chars.hpp"

#include <cstring>

namespace bawwab::rewrite {

// The states of the spec's tokenizer that matter for locating tags (names as in the spec).
// Three groups, by what happens to their bytes (the "run"):
// - text states: bytes are text, passed on as they are scanned;
// - held states: bytes are kept until we know what they are: a `<` or `</scr` that may still
//   turn out to be text (candidates), or a tag being read;
// - other states: comments, doctype, CDATA, bogus comments, a given-up tag: passed on as scanned.
enum class Tokenizer::State : std::uint8_t {
  // text
  data,
  rawtext,  // RAWTEXT and RCDATA (we decode no references, so they are the same to us)
  plaintext,
  script_data,
  script_escape_start,
  script_escape_start_dash,
  script_escaped,
  script_escaped_dash,
  script_escaped_dash_dash,
  script_double_escape_start,
  script_double_escaped,
  script_double_escaped_dash,
  script_double_escaped_dash_dash,
  script_double_escaped_less_than,
  script_double_escape_end,
  // held, candidates: may fall back to text
  tag_open,
  end_tag_open,
  raw_less_than,
  script_less_than,
  script_escaped_less_than,
  raw_end_tag_open,
  raw_end_tag_name,
  // held, confirmed
  markup_decl,
  tag_name,
  before_attr_name,
  attr_name,
  after_attr_name,
  before_attr_value,
  attr_value_dq,
  attr_value_sq,
  attr_value_unquoted,
  after_attr_value_quoted,
  self_closing_start,
  // other
  comment_start,
  comment_start_dash,
  comment,
  comment_end_dash,
  comment_end,
  comment_end_bang,
  bogus_comment,
  doctype,
  cdata,
  cdata_bracket,
  cdata_end,
};

namespace {

using State = Tokenizer::State;

constexpr bool is_alpha(char c) noexcept { return ((c | 0x20) >= 'a') && ((c | 0x20) <= 'z'); }
using chars::is_space;
using chars::lower;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

struct TextMode {
  std::string_view name;
  State state;
  TextKind kind;
};
// Elements whose content a browser does not parse as markup (its tree builder switches the
// tokenizer to these states after their start tag).
constexpr TextMode kTextModes[] = {
    {"script", State::script_data, TextKind::script},
    {"style", State::rawtext, TextKind::rawtext},
    {"title", State::rawtext, TextKind::rcdata},
    {"textarea", State::rawtext, TextKind::rcdata},
    {"xmp", State::rawtext, TextKind::rawtext},
    {"iframe", State::rawtext, TextKind::rawtext},
    {"noembed", State::rawtext, TextKind::rawtext},
    {"noframes", State::rawtext, TextKind::rawtext},
    {"noscript", State::rawtext, TextKind::rawtext},
    {"plaintext", State::plaintext, TextKind::plaintext},
};

}  // namespace

std::optional<std::string_view> Tag::attribute(std::string_view attr_name) const noexcept {
  // Walks the complete tag with the attribute states of the tokenizer (the tag is known to end
  // at raw.back() == '>').
  const std::string_view s = raw;
  std::size_t i = 1;
  if (i < s.size() && s[i] == '/') ++i;
  while (i < s.size() && !is_space(s[i]) && s[i] != '/' && s[i] != '>') ++i;  // the name
  while (i < s.size()) {
    while (i < s.size() && (is_space(s[i]) || s[i] == '/')) ++i;
    if (i >= s.size() || s[i] == '>') break;
    const std::size_t name_begin = i;
    ++i;  // the first character may be `=`
    while (i < s.size() && !is_space(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=') ++i;
    const std::string_view name = s.substr(name_begin, i - name_begin);
    while (i < s.size() && is_space(s[i])) ++i;
    std::string_view value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && is_space(s[i])) ++i;
      if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
        const char q = s[i++];
        const std::size_t close = s.find(q, i);
        const std::size_t end = close == std::string_view::npos ? s.size() : close;
        value = s.substr(i, end - i);
        i = end + 1;
      } else {
        const std::size_t begin = i;
        while (i < s.size() && !is_space(s[i]) && s[i] != '>') ++i;
        value = s.substr(begin, i - begin);
      }
    }
    if (iequals(name, attr_name)) return value;
  }
  return std::nullopt;
}

void Tokenizer::emit_text(std::string_view chunk) {
  if (chunk.empty()) return;
  sink_->on_text(chunk, text_kind_, false);
  text_open_ = true;
}

void Tokenizer::end_text() {
  if (!text_open_) return;
  text_open_ = false;
  sink_->on_text({}, text_kind_, true);
}

void Tokenizer::emit_other(std::string_view chunk, bool last) {
  if (!chunk.empty() || last) sink_->on_other(chunk, other_kind_, last);
}

// The held bytes up to `end` of the current piece, as one view (copied only when some came from
// an earlier piece).
std::string_view Tokenizer::take_held(std::size_t end) {
  if (held_.empty()) return {p_ + run_start_, end - run_start_};
  held_.append(p_ + run_start_, end - run_start_);
  run_start_ = end;
  return held_;
}

void Tokenizer::drop_held(std::size_t end, Run next) {
  held_.clear();
  run_ = next;
  run_start_ = end;
}

// A `<` or `</scr` that is not a tag after all: its bytes are text; byte i is looked at again.
void Tokenizer::fail_candidate(std::size_t i) {
  emit_text(take_held(i));
  drop_held(i, Run::text);
  state_ = return_state_;
}

// The held bytes up to `end` start a comment, doctype, CDATA or bogus comment.
void Tokenizer::start_other(std::size_t end, OtherKind kind) {
  other_kind_ = kind;
  emit_other(take_held(end), false);
  drop_held(end, Run::other);
}

void Tokenizer::end_other(std::size_t end) {
  emit_other({p_ + run_start_, end - run_start_}, true);
  run_ = Run::text;
  run_start_ = end;
  state_ = State::data;
  text_kind_ = TextKind::data;
}

void Tokenizer::confirm_tag(bool end_tag) {
  end_text();
  tag_end_ = end_tag;
  tag_self_closing_ = false;
  tag_given_up_ = false;
  name_len_ = 0;
}

bool Tokenizer::in_tag_states() const noexcept {
  return state_ >= State::tag_name && state_ <= State::self_closing_start;
}

void Tokenizer::give_up_tag() {
  other_kind_ = OtherKind::oversized_tag;
  if (!held_.empty()) sink_->on_other(held_, other_kind_, false);
  held_.clear();
  run_ = Run::other;
  tag_given_up_ = true;
}

void Tokenizer::set_content_after(const Tag& tag) {
  state_ = State::data;
  text_kind_ = TextKind::data;
  if (tag.end) return;
  for (const TextMode& m : kTextModes) {
    if (m.name == tag.name) {
      state_ = m.state;
      text_kind_ = m.kind;
      end_name_ = m.name.data();
      end_name_len_ = static_cast<std::uint8_t>(m.name.size());
      return;
    }
  }
}

// `>` at gt ends the tag being read.
void Tokenizer::finish_tag(std::size_t gt) {
  const std::size_t end = gt + 1;
  Tag tag;
  tag.name = name_len_ <= kMaxTagName ? std::string_view(name_, name_len_) : std::string_view();
  tag.end = tag_end_;
  tag.self_closing = tag_self_closing_;
  if (!tag_given_up_ && held_.size() + (end - run_start_) > kMaxHoldBack) give_up_tag();
  if (tag_given_up_) {
    emit_other({p_ + run_start_, end - run_start_}, true);
    tag.given_up = true;
  } else {
    tag.raw = take_held(end);
  }
  sink_->on_tag(tag);
  drop_held(end, Run::text);
  set_content_after(tag);
}

void Tokenizer::flush_piece_end() {
  const std::string_view rest(p_ + run_start_, n_ - run_start_);
  switch (run_) {
    case Run::text:
      emit_text(rest);
      break;
    case Run::other:
      emit_other(rest, false);
      break;
    case Run::held:
      if (in_tag_states() && held_.size() + rest.size() > kMaxHoldBack) {
        give_up_tag();
        emit_other(rest, false);
      } else if (!rest.empty()) {
        if (held_.capacity() < kMaxHoldBack) held_.reserve(kMaxHoldBack);
        held_.append(rest);
      }
      break;
  }
  run_start_ = n_;
}

void Tokenizer::finish_document() {
  flush_piece_end();
  switch (run_) {
    case Run::text:
      break;
    case Run::other:
      emit_other({}, true);
      break;
    case Run::held:
      if (state_ < State::markup_decl) {  // a candidate: `<` or `</scr` at the very end is text
        emit_text(held_);
      } else {  // a browser drops a tag cut by the end of the document; we pass its bytes
        other_kind_ = OtherKind::unfinished;
        emit_other(held_, true);
      }
      held_.clear();
      break;
  }
  end_text();
  run_ = Run::text;
  ended_ = true;
}

void Tokenizer::feed(std::string_view piece, bool last) {
  if (stopped_ || ended_) return;
  const char* const p = piece.data();
  const std::size_t n = piece.size();
  p_ = p;
  n_ = n;
  run_start_ = 0;
  std::size_t i = 0;

  // A `<` at j in a text state: the text before it goes out, the `<` is held.
  const auto open_candidate = [&](std::size_t j, State next) {
    emit_text({p + run_start_, j - run_start_});
    run_start_ = j;
    run_ = Run::held;
    return_state_ = state_;
    state_ = next;
  };
  // Finds the next `c` from i in an "other" or text state, or consumes the whole piece.
  const auto skip_to = [&](char c) -> bool {
    const void* hit = std::memchr(p + i, c, n - i);
    if (hit == nullptr) {
      i = n;
      return false;
    }
    i = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
    return true;
  };

  while (i < n && !stopped_) {
    const char c = p[i];
    switch (state_) {
      // ---- text
      case State::data:
        if (skip_to('<')) {
          open_candidate(i, State::tag_open);
          ++i;
        }
        break;
      case State::rawtext:
        if (skip_to('<')) {
          open_candidate(i, State::raw_less_than);
          ++i;
        }
        break;
      case State::plaintext:
        i = n;
        break;
      case State::script_data:
        if (skip_to('<')) {
          open_candidate(i, State::script_less_than);
          ++i;
        }
        break;
      case State::script_escape_start:
        if (c == '-') {
          state_ = State::script_escape_start_dash;
          ++i;
        } else {
          state_ = State::script_data;
        }
        break;
      case State::script_escape_start_dash:
        if (c == '-') {
          state_ = State::script_escaped_dash_dash;
          ++i;
        } else {
          state_ = State::script_data;
        }
        break;
      case State::script_escaped:
      case State::script_escaped_dash:
      case State::script_escaped_dash_dash:
        if (c == '<') {
          state_ = State::script_escaped;  // return_state_ after a failed `</scr`
          open_candidate(i, State::script_escaped_less_than);
        } else if (c == '-') {
          state_ = state_ == State::script_escaped ? State::script_escaped_dash
                                                   : State::script_escaped_dash_dash;
        } else if (c == '>' && state_ == State::script_escaped_dash_dash) {
          state_ = State::script_data;
        } else {
          state_ = State::script_escaped;
        }
        ++i;
        break;
      case State::script_double_escape_start:
      case State::script_double_escape_end:
        if (is_space(c) || c == '/' || c == '>') {
          const bool is_script = dbl_len_ == 6;
          if (state_ == State::script_double_escape_start) {
            state_ = is_script ? State::script_double_escaped : State::script_escaped;
          } else {
            state_ = is_script ? State::script_escaped : State::script_double_escaped;
          }
          ++i;
        } else if (is_alpha(c)) {
          dbl_len_ = (dbl_len_ < 6 && lower(c) == "script"[dbl_len_]) ? dbl_len_ + 1 : 7;
          ++i;
        } else {
          state_ = state_ == State::script_double_escape_start ? State::script_escaped
                                                               : State::script_double_escaped;
        }
        break;
      case State::script_double_escaped:
      case State::script_double_escaped_dash:
      case State::script_double_escaped_dash_dash:
        if (c == '<') {
          state_ = State::script_double_escaped_less_than;
        } else if (c == '-') {
          state_ = state_ == State::script_double_escaped ? State::script_double_escaped_dash
                                                          : State::script_double_escaped_dash_dash;
        } else if (c == '>' && state_ == State::script_double_escaped_dash_dash) {
          state_ = State::script_data;
        } else {
          state_ = State::script_double_escaped;
        }
        ++i;
        break;
      case State::script_double_escaped_less_than:
        if (c == '/') {
          dbl_len_ = 0;
          state_ = State::script_double_escape_end;
          ++i;
        } else {
          state_ = State::script_double_escaped;
        }
        break;

      // ---- held candidates
      case State::tag_open:
        if (is_alpha(c)) {
          confirm_tag(false);
          state_ = State::tag_name;
        } else if (c == '!') {
          end_text();
          decl_len_ = 0;
          decl_mask_ = 7;
          state_ = State::markup_decl;
          ++i;
        } else if (c == '/') {
          state_ = State::end_tag_open;
          ++i;
        } else if (c == '?') {
          end_text();
          start_other(i, OtherKind::bogus_comment);
          state_ = State::bogus_comment;
        } else {
          fail_candidate(i);
        }
        break;
      case State::end_tag_open:
        if (is_alpha(c)) {
          confirm_tag(true);
          state_ = State::tag_name;
        } else if (c == '>') {  // `</>`: a browser drops it
          end_text();
          start_other(i, OtherKind::bogus_comment);
          end_other(i + 1);
          ++i;
        } else {
          end_text();
          start_other(i, OtherKind::bogus_comment);
          state_ = State::bogus_comment;
        }
        break;
      case State::raw_less_than:
        if (c == '/') {
          state_ = State::raw_end_tag_open;
          ++i;
        } else {
          fail_candidate(i);
        }
        break;
      case State::script_less_than:
        if (c == '/') {
          state_ = State::raw_end_tag_open;
          ++i;
        } else if (c == '!') {  // `<!` in a script: text, and maybe the start of `<!--`
          ++i;
          emit_text(take_held(i));
          drop_held(i, Run::text);
          state_ = State::script_escape_start;
        } else {
          fail_candidate(i);
        }
        break;
      case State::script_escaped_less_than:
        if (c == '/') {
          state_ = State::raw_end_tag_open;
          ++i;
        } else if (is_alpha(c)) {
          emit_text(take_held(i));
          drop_held(i, Run::text);
          dbl_len_ = 0;
          state_ = State::script_double_escape_start;
        } else {
          fail_candidate(i);
        }
        break;
      case State::raw_end_tag_open:
        if (is_alpha(c)) {
          end_match_ = 0;
          state_ = State::raw_end_tag_name;
        } else {
          fail_candidate(i);
        }
        break;
      case State::raw_end_tag_name:
        if (is_alpha(c)) {
          if (end_match_ < end_name_len_ && lower(c) == end_name_[end_match_]) {
            ++end_match_;
            ++i;
          } else {
            fail_candidate(i);
          }
        } else if ((is_space(c) || c == '/' || c == '>') && end_match_ == end_name_len_) {
          confirm_tag(true);
          std::memcpy(name_, end_name_, end_name_len_);
          name_len_ = end_name_len_;
          state_ = State::before_attr_name;  // looks at c again
        } else {
          fail_candidate(i);
        }
        break;

      // ---- held, confirmed
      case State::markup_decl: {
        const std::uint8_t k = decl_len_;
        std::uint8_t mask = 0;
        if ((decl_mask_ & 1) && k < 2 && c == '-') mask |= 1;
        if ((decl_mask_ & 2) && k < 7 && lower(c) == "doctype"[k]) mask |= 2;
        if ((decl_mask_ & 4) && k < 7 && c == "[CDATA["[k]) mask |= 4;
        if (mask == 0) {
          start_other(i, OtherKind::bogus_comment);
          state_ = State::bogus_comment;
          break;
        }
        decl_mask_ = mask;
        decl_len_ = k + 1;
        ++i;
        if ((mask & 1) && decl_len_ == 2) {
          start_other(i, OtherKind::comment);
          state_ = State::comment_start;
        } else if ((mask & 2) && decl_len_ == 7) {
          start_other(i, OtherKind::doctype);
          state_ = State::doctype;
        } else if ((mask & 4) && decl_len_ == 7) {
          start_other(i, OtherKind::cdata);
          state_ = State::cdata;
        }
        break;
      }
      case State::tag_name:
        if (is_space(c)) {
          state_ = State::before_attr_name;
        } else if (c == '/') {
          state_ = State::self_closing_start;
        } else if (c == '>') {
          finish_tag(i);
        } else if (name_len_ < kMaxTagName) {
          name_[name_len_++] = lower(c);
        } else {
          name_len_ = kMaxTagName + 1;
        }
        ++i;
        break;
      case State::before_attr_name:
        if (c == '/') {
          state_ = State::self_closing_start;
        } else if (c == '>') {
          finish_tag(i);
        } else if (!is_space(c)) {
          state_ = State::attr_name;  // `=` here starts a name
        }
        ++i;
        break;
      case State::attr_name:
        if (is_space(c)) {
          state_ = State::after_attr_name;
        } else if (c == '/') {
          state_ = State::self_closing_start;
        } else if (c == '=') {
          state_ = State::before_attr_value;
        } else if (c == '>') {
          finish_tag(i);
        }
        ++i;
        break;
      case State::after_attr_name:
        if (c == '/') {
          state_ = State::self_closing_start;
        } else if (c == '=') {
          state_ = State::before_attr_value;
        } else if (c == '>') {
          finish_tag(i);
        } else if (!is_space(c)) {
          state_ = State::attr_name;
        }
        ++i;
        break;
      case State::before_attr_value:
        if (c == '"') {
          state_ = State::attr_value_dq;
        } else if (c == '\'') {
          state_ = State::attr_value_sq;
        } else if (c == '>') {
          finish_tag(i);
        } else if (!is_space(c)) {
          state_ = State::attr_value_unquoted;
          break;  // c is part of the value
        }
        ++i;
        break;
      case State::attr_value_dq:
      case State::attr_value_sq:
        if (skip_to(state_ == State::attr_value_dq ? '"' : '\'')) {
          state_ = State::after_attr_value_quoted;
          ++i;
        }
        break;
      case State::attr_value_unquoted:
        if (is_space(c)) {
          state_ = State::before_attr_name;
        } else if (c == '>') {
          finish_tag(i);
        }
        ++i;
        break;
      case State::after_attr_value_quoted:
        if (is_space(c)) {
          state_ = State::before_attr_name;
          ++i;
        } else if (c == '/') {
          state_ = State::self_closing_start;
          ++i;
        } else if (c == '>') {
          finish_tag(i);
          ++i;
        } else {
          state_ = State::before_attr_name;
        }
        break;
      case State::self_closing_start:
        if (c == '>') {
          tag_self_closing_ = true;
          finish_tag(i);
          ++i;
        } else {
          state_ = State::before_attr_name;
        }
        break;

      // ---- other
      case State::comment_start:
        if (c == '-') {
          state_ = State::comment_start_dash;
          ++i;
        } else if (c == '>') {  // `<!-->`
          end_other(++i);
        } else {
          state_ = State::comment;
        }
        break;
      case State::comment_start_dash:
        if (c == '-') {
          state_ = State::comment_end;
          ++i;
        } else if (c == '>') {  // `<!--->`
          end_other(++i);
        } else {
          state_ = State::comment;
        }
        break;
      case State::comment:
        if (skip_to('-')) {
          state_ = State::comment_end_dash;
          ++i;
        }
        break;
      case State::comment_end_dash:
        if (c == '-') {
          state_ = State::comment_end;
          ++i;
        } else {
          state_ = State::comment;
        }
        break;
      case State::comment_end:
        if (c == '>') {
          end_other(++i);
        } else if (c == '!') {
          state_ = State::comment_end_bang;
          ++i;
        } else if (c == '-') {
          ++i;
        } else {
          state_ = State::comment;
        }
        break;
      case State::comment_end_bang:
        if (c == '>') {  // `--!>`
          end_other(++i);
        } else if (c == '-') {
          state_ = State::comment_end_dash;
          ++i;
        } else {
          state_ = State::comment;
        }
        break;
      case State::bogus_comment:
      case State::doctype:
        if (skip_to('>')) end_other(++i);
        break;
      case State::cdata:
        if (skip_to(']')) {
          state_ = State::cdata_bracket;
          ++i;
        }
        break;
      case State::cdata_bracket:
        if (c == ']') {
          state_ = State::cdata_end;
          ++i;
        } else {
          state_ = State::cdata;
        }
        break;
      case State::cdata_end:
        if (c == '>') {
          end_other(++i);
        } else if (c == ']') {
          ++i;
        } else {
          state_ = State::cdata;
        }
        break;
    }
  }
  if (stopped_) return;
  if (last) {
    finish_document();
  } else {
    flush_piece_end();
  }
}

}  // namespace bawwab::rewrite
