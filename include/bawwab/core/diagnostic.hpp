#pragma once
// A problem found while loading a config or rules file, with its location. Loaders collect all of
// them (never only the first) and never throw.
#include <string>
#include <vector>

namespace bawwab {

struct Diagnostic {
  enum class Severity { error, warning };
  std::string file;
  int line = 0;    // 1-based; 0 when the problem concerns the whole file
  int column = 0;  // 1-based
  std::string message;
  Severity severity = Severity::error;

  // "file:line:column: message" (or "file:line:column: warning: message"), the nginx -t / gcc form.
  std::string format() const;
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics) noexcept;

}  // namespace bawwab
