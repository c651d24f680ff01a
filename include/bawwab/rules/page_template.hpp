#pragma once
// Page templates for `block: {page: NAME}`: the answer an operator writes (a legal notice for a
// 451, a "contact us" page for a 403), defined once under `pages:` in a rule file and compiled
// with the rule set. A template is text with placeholders like {{ request_id }}; compiling it
// splits it into literal parts and fields once, so rendering a page is a few appends.
//
// Placeholder values come from the request, so they are escaped for the page's type: HTML
// escaping for text/html and XML, JSON string escaping for JSON, none for text/plain. A request
// can never inject markup into an operator's page.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bawwab::rules {

// What a placeholder stands for. Names in templates: see page_field_names().
enum class PageField : std::uint8_t {
  status,      // 451
  reason,      // "Unavailable For Legal Reasons"
  rule,        // id of the rule that blocked
  request_id,  // the access log's request_id: what a reader quotes to support
  client_ip,
  host,
  path,
  method,
  time,       // UTC, ISO 8601: 2026-11-30T06:41:57Z
  contact,    // challenge.contact of the config
  site_name,  // challenge.site_name of the config
};

// The placeholder names, in PageField order ("status", "reason", ...).
const std::vector<std::string_view>& page_field_names();

enum class PageEscape : std::uint8_t { html, json, none };

struct PageTemplate {
  std::string name;
  std::string file;          // as shown in diagnostics
  std::string content_type;  // "text/html; charset=utf-8"
  PageEscape escape = PageEscape::html;
  struct Part {
    std::string text;                // literal text (when !field)
    std::optional<PageField> field;  // a placeholder
  };
  std::vector<Part> parts;
  std::size_t literal_bytes = 0;  // sum of the literal parts: the size to reserve
};

// A problem in a template's text, at its 1-based line and column.
struct PageProblem {
  int line = 0;
  int column = 0;
  std::string message;
};

// Splits `text` into parts. A placeholder is "{{", optional spaces, a name (letters, digits, '_'),
// optional spaces, "}}"; an unknown name is a problem (with a "did you mean"): a typo never
// reaches a reader's screen. Any other "{{" ("p {{ color: red }}") is literal text. Problems are appended to
// `problems`; the result is only usable when none were added. Pure.
PageTemplate compile_page_template(std::string_view text, std::vector<PageProblem>& problems);

// The type and escaping a file extension implies (.html/.htm, .txt, .json, .xml), or nullopt.
struct PageType {
  std::string content_type;
  PageEscape escape = PageEscape::html;
};
std::optional<PageType> page_type_for_extension(std::string_view extension);
// The escaping a Content-Type implies (html for text/html and XML types, json for JSON types,
// none otherwise).
PageEscape page_escape_for(std::string_view content_type);

// The values of one answer. Views: they must outlive the render_page call.
struct PageValues {
  unsigned status = 403;
  std::string_view rule;
  std::uint64_t request_id = 0;
  std::string_view client_ip;
  std::string_view host;
  std::string_view path;
  std::string_view method;
  std::chrono::system_clock::time_point time{};
  std::string_view contact;
  std::string_view site_name;
};

// The page with its placeholders filled in (escaped for its type). Pure, thread-safe.
std::string render_page(const PageTemplate& page, const PageValues& values);

}  // namespace bawwab::rules
