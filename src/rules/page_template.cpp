#include "bawwab/rules/page_template.hpp"

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>

#include "bawwab/core/text.hpp"
#include "bawwab/http/replies.hpp"
#include "reader.hpp"

namespace bawwab::rules {
namespace {

void append_value(std::string& out, PageEscape escape, std::string_view value) {
  switch (escape) {
    case PageEscape::html: http::append_html_escaped(out, value); break;
    case PageEscape::json: bawwab::append_json_escaped(out, value); break;
    case PageEscape::none: out += value; break;
  }
}

std::string_view reason_of(unsigned status) {
  namespace bh = boost::beast::http;
  const std::string_view r = bh::obsolete_reason(bh::int_to_status(status));
  return r == "<unknown-status>" ? std::string_view("Error") : r;
}

// Wider than the names themselves, so that {{ Status }} or {{ request_id2 }} is reported as a
// typo rather than left in the page as text.
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

const std::vector<std::string_view>& page_field_names() {
  static const std::vector<std::string_view> names = {
      "status", "reason", "rule", "request_id", "client_ip", "host",
      "path",   "method", "time", "contact",    "site_name"};
  return names;
}

PageTemplate compile_page_template(std::string_view text, std::vector<PageProblem>& problems) {
  PageTemplate page;
  const auto& names = page_field_names();
  std::string literal;
  int line = 1;
  std::size_t line_start = 0;
  auto flush = [&] {
    if (literal.empty()) return;
    page.literal_bytes += literal.size();
    page.parts.push_back(PageTemplate::Part{std::move(literal), std::nullopt});
    literal.clear();
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && text.substr(i, 2) == "{{") {
      // "{{", spaces, a name, spaces, "}}": a placeholder. Anything else is literal text.
      std::size_t j = i + 2;
      while (j < text.size() && text[j] == ' ') ++j;
      const std::size_t name_begin = j;
      while (j < text.size() && is_name_char(text[j])) ++j;
      const std::string_view name = text.substr(name_begin, j - name_begin);
      while (j < text.size() && text[j] == ' ') ++j;
      if (!name.empty() && text.substr(j, 2) == "}}") {
        const auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end()) {
          const int column = static_cast<int>(i - line_start) + 1;
          const std::string suggestion = detail::hint(
              name, std::span<const std::string_view>(names.data(), names.size()));
          problems.push_back(PageProblem{
              line, column,
              "unknown placeholder " + detail::quote(name) +
                  (!suggestion.empty() ? suggestion
                                       : "; one of status, reason, rule, request_id, client_ip, "
                                         "host, path, method, time, contact, site_name")});
        } else {
          flush();
          page.parts.push_back(
              PageTemplate::Part{{}, static_cast<PageField>(it - names.begin())});
        }
        i = j + 2;
        continue;
      }
    }
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    }
    literal.push_back(c);
    ++i;
  }
  flush();
  return page;
}

std::optional<PageType> page_type_for_extension(std::string_view extension) {
  std::string ext = detail::lowercase(extension);
  if (ext == ".html" || ext == ".htm") return PageType{"text/html; charset=utf-8", PageEscape::html};
  if (ext == ".txt") return PageType{"text/plain; charset=utf-8", PageEscape::none};
  if (ext == ".json") return PageType{"application/json", PageEscape::json};
  if (ext == ".xml") return PageType{"application/xml; charset=utf-8", PageEscape::html};
  return std::nullopt;
}

PageEscape page_escape_for(std::string_view content_type) {
  const std::string t = detail::lowercase(content_type.substr(0, content_type.find(';')));
  if (t.find("json") != std::string::npos) return PageEscape::json;
  if (t == "text/html" || t.find("xml") != std::string::npos) return PageEscape::html;
  return PageEscape::none;
}

std::string render_page(const PageTemplate& page, const PageValues& v) {
  std::string out;
  out.reserve(page.literal_bytes + 128);
  for (const auto& part : page.parts) {
    if (!part.field) {
      out += part.text;
      continue;
    }
    switch (*part.field) {
      case PageField::status: out += std::to_string(v.status); break;
      case PageField::reason: append_value(out, page.escape, reason_of(v.status)); break;
      case PageField::rule: append_value(out, page.escape, v.rule); break;
      case PageField::request_id: out += std::to_string(v.request_id); break;
      case PageField::client_ip: append_value(out, page.escape, v.client_ip); break;
      case PageField::host: append_value(out, page.escape, v.host); break;
      case PageField::path: append_value(out, page.escape, v.path); break;
      case PageField::method: append_value(out, page.escape, v.method); break;
      case PageField::time: out += utc_timestamp(v.time); break;
      case PageField::contact: append_value(out, page.escape, v.contact); break;
      case PageField::site_name: append_value(out, page.escape, v.site_name); break;
    }
  }
  return out;
}

}  // namespace bawwab::rules
