#include "bawwab/rewrite/selector.hpp"

#include "chars.hpp"

namespace bawwab::rewrite {

namespace {

using chars::is_space;
using chars::lower;

// CSS identifier characters, simplified: ASCII letters, digits, `-`, `_`, and any non-ASCII byte
// (UTF-8 class names). No escapes.
constexpr bool is_ident(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

SelectorParse fail(std::string_view text, const std::string& why) {
  return {std::nullopt, "bad selector '" + std::string(text) + "': " + why};
}

}  // namespace

bool has_class(std::string_view class_attr, std::string_view name) noexcept {
  std::size_t i = 0;
  while (i < class_attr.size()) {
    while (i < class_attr.size() && is_space(class_attr[i])) ++i;
    const std::size_t begin = i;
    while (i < class_attr.size() && !is_space(class_attr[i])) ++i;
    if (i > begin && class_attr.substr(begin, i - begin) == name) return true;
  }
  return false;
}

bool Compound::matches(const Tag& t) const noexcept {
  if (!tag.empty() && t.name != tag) return false;
  if (!id.empty()) {
    const auto v = t.attribute("id");
    if (!v || *v != id) return false;
  }
  if (!classes.empty()) {
    const auto v = t.attribute("class");
    if (!v) return false;
    for (const std::string& c : classes) {
      if (!has_class(*v, c)) return false;
    }
  }
  return true;
}

SelectorParse parse_selector(std::string_view text) {
  Selector sel;
  sel.text = std::string(text);
  std::size_t i = 0;
  const auto column = [&] { return " at column " + std::to_string(i + 1); };
  while (true) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    Compound c;
    bool any = false;
    if (text[i] == '*') {
      any = true;
      ++i;
    } else {
      const std::size_t begin = i;
      while (i < text.size() && is_ident(text[i])) c.tag.push_back(lower(text[i++]));
      if (i > begin) any = true;
    }
    while (i < text.size() && (text[i] == '#' || text[i] == '.')) {
      const char kind = text[i++];
      const std::size_t begin = i;
      while (i < text.size() && is_ident(text[i])) ++i;
      const std::string name(text.substr(begin, i - begin));
      if (name.empty()) return fail(text, kind == '#' ? "empty id" : "empty class name");
      if (kind == '#') {
        if (!c.id.empty() && c.id != name) return fail(text, "two different ids in one compound");
        c.id = name;
      } else {
        c.classes.push_back(name);
      }
      any = true;
    }
    if (i < text.size() && !is_space(text[i])) {
      const char bad = text[i];
      if (bad == '>' || bad == '+' || bad == '~' || bad == ',') {
        return fail(text, std::string("combinator '") + bad + "'" + column() +
                              " is not supported (only descendant: 'A B')");
      }
      if (bad == '[' || bad == ':') {
        return fail(text, std::string(bad == '[' ? "attribute selectors" : "pseudo-classes") +
                              column() + " are not supported (only tag, #id, .class)");
      }
      return fail(text, std::string("unexpected character '") + bad + "'" + column());
    }
    if (!any) return fail(text, "empty compound" + column());
    sel.levels.push_back(std::move(c));
    if (sel.levels.size() > kMaxSelectorLevels) {
      return fail(text, "more than " + std::to_string(kMaxSelectorLevels) + " levels");
    }
  }
  if (sel.levels.empty()) return fail(text, "empty selector");
  return {std::move(sel), {}};
}

}  // namespace bawwab::rewrite
