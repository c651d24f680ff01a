#include "bawwab/core/diagnostic.hpp"

#include <algorithm>

namespace bawwab {

std::string Diagnostic::format() const {
  std::string out = file;
  out += ':';
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  out += ": ";
  if (severity == Severity::warning) out += "warning: ";
  out += message;
  return out;
}

bool has_errors(const Diagnostics& diagnostics) noexcept {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

}  // namespace bawwab
