#pragma once
// The few CSS selector forms the rewriter needs: `tag`, `*`, `#id`, `.class`, combined in one
// compound (`tag.class`, `tag#id`, `div.a.b`), and descendants of those (`article p`,
// `main .post p`), up to kMaxSelectorLevels compounds. Parsed once at config load; matching is on
// a start tag's name and its id/class attributes. Immutable after parsing; thread-safe to share.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/rewrite/tokenizer.hpp"

namespace bawwab::rewrite {

inline constexpr std::size_t kMaxSelectorLevels = 4;

// One compound: every part present must hold.
struct Compound {
  std::string tag;  // lowercased; empty: any element
  std::string id;   // empty: no id condition
  std::vector<std::string> classes;

  // Whether the start tag has this tag name, id and every class (attribute values compared
  // byte for byte, as browsers do in standards mode).
  bool matches(const Tag& tag) const noexcept;
  // Whether matching needs the tag's attributes (not just its name).
  bool needs_attributes() const noexcept { return !id.empty() || !classes.empty(); }
};

struct Selector {
  std::vector<Compound> levels;  // ancestor first; the element itself is levels.back()
  std::string text;              // as written, for logs
};

// A selector, or an operator-facing message: "bad selector 'div..x': empty class name".
struct SelectorParse {
  std::optional<Selector> selector;
  std::string error;
};
SelectorParse parse_selector(std::string_view text);

// Whether the whitespace-separated list `class_attr` contains `name`.
bool has_class(std::string_view class_attr, std::string_view name) noexcept;

}  // namespace bawwab::rewrite
