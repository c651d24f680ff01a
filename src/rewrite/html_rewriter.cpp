#include "bawwab/rewrite/html_rewriter.hpp"

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace bawwab::rewrite {

namespace {

// FNV-1a of a lowercased tag name: the open-element stack keeps names as 4-byte hashes (a
// collision between two real tag names of one page only misplaces an end; nothing breaks).
constexpr std::uint32_t name_hash(std::string_view s) noexcept {
  std::uint32_t h = 2166136261u;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

template <std::size_t N>
constexpr bool hash_in(std::uint32_t h, const std::uint32_t (&set)[N]) noexcept {
  for (const std::uint32_t x : set) {
    if (x == h) return true;
  }
  return false;
}

constexpr std::uint32_t kVoid[] = {
    name_hash("area"),  name_hash("base"),   name_hash("br"),     name_hash("col"),
    name_hash("embed"), name_hash("hr"),     name_hash("img"),    name_hash("input"),
    name_hash("link"),  name_hash("meta"),   name_hash("source"), name_hash("track"),
    name_hash("wbr"),   name_hash("param"),  name_hash("keygen"), name_hash("basefont"),
    name_hash("frame"), name_hash("bgsound")};
// Start tags a head may hold; any other start tag means a browser has started the body.
// (`template` is left out on purpose: a `</head>` inside a template does not end the head.)
constexpr std::uint32_t kHeadContent[] = {
    name_hash("html"),     name_hash("head"),     name_hash("title"),  name_hash("base"),
    name_hash("link"),     name_hash("meta"),     name_hash("style"),  name_hash("script"),
    name_hash("noscript"), name_hash("basefont"), name_hash("bgsound")};
// Start tags that close a current <p> (the spec's "close a p element" list, most of it).
constexpr std::uint32_t kClosesP[] = {
    name_hash("address"), name_hash("article"),    name_hash("aside"),   name_hash("blockquote"),
    name_hash("details"), name_hash("div"),        name_hash("dl"),      name_hash("fieldset"),
    name_hash("figure"),  name_hash("figcaption"), name_hash("footer"),  name_hash("form"),
    name_hash("h1"),      name_hash("h2"),         name_hash("h3"),      name_hash("h4"),
    name_hash("h5"),      name_hash("h6"),         name_hash("header"),  name_hash("hr"),
    name_hash("main"),    name_hash("menu"),       name_hash("nav"),     name_hash("ol"),
    name_hash("p"),       name_hash("pre"),        name_hash("section"), name_hash("table"),
    name_hash("ul"),      name_hash("li"),         name_hash("dd"),      name_hash("dt")};

constexpr std::uint32_t kP = name_hash("p");
constexpr std::uint32_t kLi = name_hash("li");
constexpr std::uint32_t kDt = name_hash("dt");
constexpr std::uint32_t kDd = name_hash("dd");
constexpr std::uint32_t kOption = name_hash("option");
constexpr std::uint32_t kTd = name_hash("td");
constexpr std::uint32_t kTh = name_hash("th");
constexpr std::uint32_t kTr = name_hash("tr");
constexpr std::uint32_t kHead = name_hash("head");
constexpr std::uint32_t kSvg = name_hash("svg");
constexpr std::uint32_t kMath = name_hash("math");

constexpr std::string_view kEndOfPage = "<body></body></html>";

bool is_space_only(std::string_view s) noexcept {
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
  }
  return true;
}

// Whether `ancestors` (the parent's bits) and the tag complete rule `r`'s selector, and the
// ancestor bits the element adds for it.
template <class Rule>
bool match_rule(const Rule& r, const Tag& tag, std::uint32_t parent_bits,
                std::uint32_t& own_bits) noexcept {
  const auto& levels = r.selector.levels;
  const std::size_t last = levels.size() - 1;
  for (std::size_t j = 0; j < last; ++j) {
    const bool prefix_ok = j == 0 || (parent_bits >> (r.first_bit + j - 1)) & 1u;
    if (prefix_ok && levels[j].matches(tag)) own_bits |= 1u << (r.first_bit + j);
  }
  if (last > 0 && !((parent_bits >> (r.first_bit + last - 1)) & 1u)) return false;
  return levels[last].matches(tag);
}

}  // namespace

// ---- RewriteSpec

SpecCompile RewriteSpec::compile(RewriteConfig config) {
  SpecCompile result;
  auto spec = std::make_shared<RewriteSpec>();
  spec->end_after_head_ = config.end_after_head;
  std::size_t bits = 0;
  // Parses one rule's selector and gives it its ancestor bits; false on error.
  const auto prepare = [&](Rule& rule, std::string_view selector, const std::string& where) {
    SelectorParse parsed = parse_selector(selector);
    if (!parsed.selector) {
      result.errors.push_back(where + ": " + parsed.error);
      return false;
    }
    rule.selector = std::move(*parsed.selector);
    rule.first_bit = static_cast<std::uint8_t>(bits);
    bits += rule.selector.levels.size() - 1;
    return true;
  };
  if (config.insertions.size() > kMaxInsertions) {
    result.errors.push_back("too many insertions: " + std::to_string(config.insertions.size()) +
                            " (at most " + std::to_string(kMaxInsertions) + ")");
  }
  if (config.text_rules.size() > kMaxTextRules) {
    result.errors.push_back("too many text rules: " + std::to_string(config.text_rules.size()) +
                            " (at most " + std::to_string(kMaxTextRules) + ")");
  }
  for (std::size_t i = 0; i < config.insertions.size(); ++i) {
    InsertionConfig& in = config.insertions[i];
    Insertion rule;
    if (!prepare(rule, in.selector, "insertion " + std::to_string(i + 1))) continue;
    rule.position = in.position;
    rule.html = std::move(in.html);
    rule.every_match = in.every_match;
    spec->insertions_.push_back(std::move(rule));
  }
  for (std::size_t i = 0; i < config.text_rules.size(); ++i) {
    TextRuleConfig& in = config.text_rules[i];
    const std::string where = "text rule " + std::to_string(i + 1);
    TextRule rule;
    if (!prepare(rule, in.selector, where)) continue;
    if (!in.factory) {
      result.errors.push_back(where + " '" + in.selector + "': no text handler");
      continue;
    }
    rule.factory = std::move(in.factory);
    spec->text_rules_.push_back(std::move(rule));
  }
  if (bits > kMaxAncestorLevels) {
    result.errors.push_back("selectors too deep: " + std::to_string(bits) +
                            " ancestor levels in all (at most " +
                            std::to_string(kMaxAncestorLevels) + ")");
  }
  if (result.errors.empty()) result.spec = std::move(spec);
  return result;
}

bool RewriteSpec::empty() const noexcept {
  return insertions_.empty() && text_rules_.empty() && !end_after_head_;
}

// ---- HtmlRewriter

HtmlRewriter::HtmlRewriter(std::shared_ptr<const RewriteSpec> spec)
    : spec_(std::move(spec)), tokenizer_(static_cast<TokenSink&>(*this)) {
  if (!spec_) {  // cannot happen: the pipeline only builds a rewriter from a compiled spec
    std::fputs("bawwab: HtmlRewriter without a spec\n", stderr);
    std::abort();
  }
  head_armed_ = spec_->end_after_head_;
  // The rewriter can stop looking once every insertion is made, unless a rule applies to every
  // match or to text: those are never finished before the page is.
  open_ended_ = !spec_->text_rules_.empty();
  for (std::size_t k = 0; k < spec_->insertions_.size(); ++k) {
    if (spec_->insertions_[k].every_match) open_ended_ = true;
    first_match_mask_ |= 1u << k;
  }
}

HtmlRewriter::~HtmlRewriter() = default;

std::size_t HtmlRewriter::memory_bytes() const noexcept {
  return sizeof(*this) + tokenizer_.heap_bytes() +
         handlers_.capacity() * sizeof(std::unique_ptr<TextHandler>);
}

bool HtmlRewriter::exhausted() const noexcept {
  return !open_ended_ && !head_armed_ && pending_ends_ == 0 && done_ == first_match_mask_;
}

void HtmlRewriter::on_data(std::string_view in, std::string& out, bool last) {
  if (finished_) return;
  // Every insertion is made and nothing else can match (first-match rules only, no text rules,
  // no end insertion waiting, no truncation pending): the rest of the page is passed through
  // as it is, without tokenizing it (lol-html stops its tag scanner the same way). A typical
  // head + body insertion is done at <body>, so a long article streams at copy speed.
  if (exhausted() && tokenizer_.held_bytes() == 0) {
    out.append(in);
    return;
  }
  out_ = &out;
  tokenizer_.feed(in, last);
  if (last && !finished_) {
    // Elements still open at the end: their end was never seen, so their end insertions have no
    // place; the page stays as the origin sent it.
    for (std::size_t i = 0; i < depth_; ++i) {
      report_.unplaced += static_cast<std::uint32_t>(std::popcount(stack_[i].pending_end));
    }
    depth_ = 0;
  }
  out_ = nullptr;
}

TextHandler* HtmlRewriter::handler_for(std::uint16_t inside) {
  const auto k = static_cast<std::size_t>(std::countr_zero(inside));
  if (handlers_.empty()) handlers_.resize(spec_->text_rules_.size());
  if (!handlers_[k]) {
    handlers_[k] = spec_->text_rules_[k].factory();
    if (!handlers_[k]) return nullptr;
  }
  return handlers_[k].get();
}

void HtmlRewriter::on_text(std::string_view chunk, TextKind kind, bool last_in_node) {
  if (finished_) return;
  if (kind != TextKind::data) {
    out_->append(chunk);
    return;
  }
  if (head_armed_ && !is_space_only(chunk)) head_armed_ = false;
  const std::uint16_t inside = depth_ > 0 ? stack_[depth_ - 1].inside : 0;
  if (inside != 0) {
    if (TextHandler* h = handler_for(inside)) {
      h->on_text(chunk, last_in_node, *out_);
      return;
    }
  }
  out_->append(chunk);
}

void HtmlRewriter::on_other(std::string_view chunk, OtherKind, bool) {
  if (finished_) return;
  out_->append(chunk);
}

void HtmlRewriter::on_tag(const Tag& tag) {
  if (finished_) return;
  if (tag.given_up) ++report_.tags_given_up;
  if (tag.end) {
    end_tag(tag);
  } else {
    start_tag(tag);
  }
}

void HtmlRewriter::emit_end(const Open& e, Position which) {
  for (std::uint32_t bits = e.pending_end; bits != 0; bits &= bits - 1) {
    const auto& rule = spec_->insertions_[static_cast<std::size_t>(std::countr_zero(bits))];
    if (rule.position == which) {
      out_->append(rule.html);
      ++report_.insertions;
    }
  }
}

void HtmlRewriter::pop_to(std::size_t depth) {
  while (depth_ > depth) {
    const Open& e = stack_[--depth_];
    emit_end(e, Position::before_end);
    emit_end(e, Position::after_end);
    pending_ends_ -= static_cast<std::uint32_t>(std::popcount(e.pending_end));
  }
}

void HtmlRewriter::close_implied(std::uint32_t h) {
  if (depth_ == 0) return;
  const std::uint32_t top = stack_[depth_ - 1].name_hash;
  bool close = false;
  if (h == kLi || h == kOption || h == kTr || h == kP) {
    close = top == h;
  } else if (h == kDt || h == kDd) {
    close = top == kDt || top == kDd;
  } else if (h == kTd || h == kTh) {
    close = top == kTd || top == kTh;
  }
  if (!close && top == kP && hash_in(h, kClosesP)) close = true;
  if (close) pop_to(depth_ - 1);
}

void HtmlRewriter::start_tag(const Tag& tag) {
  const std::uint32_t h = name_hash(tag.name);
  if (head_armed_ && (tag.given_up || !hash_in(h, kHeadContent))) head_armed_ = false;
  close_implied(h);

  const Open parent = depth_ > 0 ? stack_[depth_ - 1] : Open{};
  Open e;
  e.name_hash = h;
  e.ancestors = parent.ancestors;
  e.inside = parent.inside;
  e.foreign = parent.foreign || h == kSvg || h == kMath;
  const bool self_closed = hash_in(h, kVoid) || (tag.self_closing && e.foreign);

  std::uint32_t matched = 0;
  if (!tag.given_up && !tag.name.empty() && depth_ < kMaxDepth) {
    const auto& ins = spec_->insertions_;
    for (std::size_t k = 0; k < ins.size(); ++k) {
      if (!ins[k].every_match && ((done_ >> k) & 1u)) continue;
      if (match_rule(ins[k], tag, parent.ancestors, e.ancestors)) matched |= 1u << k;
    }
    const auto& texts = spec_->text_rules_;
    for (std::size_t k = 0; k < texts.size(); ++k) {
      if (match_rule(texts[k], tag, parent.ancestors, e.ancestors)) e.inside |= 1u << k;
    }
  } else if (depth_ >= kMaxDepth && !self_closed) {
    ++report_.depth_overflow;
  }

  const auto emit = [&](Position which) {
    for (std::uint32_t bits = matched; bits != 0; bits &= bits - 1) {
      const auto& rule = spec_->insertions_[static_cast<std::size_t>(std::countr_zero(bits))];
      if (rule.position == which) {
        out_->append(rule.html);
        ++report_.insertions;
      }
    }
  };
  if (matched != 0) {
    emit(Position::before_start);
    out_->append(tag.raw);
    if (self_closed) {
      emit(Position::after_end);
    } else {
      emit(Position::after_start);
      for (std::uint32_t bits = matched; bits != 0; bits &= bits - 1) {
        const auto k = static_cast<std::size_t>(std::countr_zero(bits));
        const Position p = spec_->insertions_[k].position;
        if (p == Position::before_end || p == Position::after_end) e.pending_end |= 1u << k;
      }
      pending_ends_ += static_cast<std::uint32_t>(std::popcount(e.pending_end));
    }
    done_ |= matched;
  } else {
    out_->append(tag.raw);
  }

  if (self_closed) return;
  if (depth_ < kMaxDepth) {
    stack_[depth_++] = e;
  } else {
    ++overflow_;
  }
}

void HtmlRewriter::end_tag(const Tag& tag) {
  const std::uint32_t h = name_hash(tag.name);
  if (overflow_ > 0) {  // closes one of the untracked deep elements
    --overflow_;
    out_->append(tag.raw);
    return;
  }
  std::size_t k = depth_;
  while (k > 0 && stack_[k - 1].name_hash != h) --k;
  if (k == 0 || tag.name.empty()) {  // nothing of that name is open: a browser ignores it
    out_->append(tag.raw);
    return;
  }
  pop_to(k);
  const Open e = stack_[--depth_];
  emit_end(e, Position::before_end);
  out_->append(tag.raw);
  emit_end(e, Position::after_end);
  pending_ends_ -= static_cast<std::uint32_t>(std::popcount(e.pending_end));

  if (h == kHead && head_armed_ && !tag.given_up) {
    out_->append(kEndOfPage);
    report_.truncated = true;
    finished_ = true;
    tokenizer_.stop();
  }
}

}  // namespace bawwab::rewrite
