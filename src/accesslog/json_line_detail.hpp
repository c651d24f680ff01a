#pragma once
// Shared between json_line.cpp and the writer thread, which formats a batch into one buffer.
#include <string>
#include <string_view>

#include "bawwab/accesslog/access_log.hpp"

namespace bawwab::accesslog::detail {

// A JSON string literal (quotes included) for any bytes; see to_json_line.
void append_string(std::string& out, std::string_view s);
// to_json_line, appending to out.
void append_json_line(std::string& out, const AccessRecord& r);

}  // namespace bawwab::accesslog::detail
