// The configuration loader on arbitrary bytes: never a crash, a hang or an exception, and a config
// exactly when there is no error.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bawwab/config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = bawwab::config::load_config_text(text, "fuzz.yaml", {});
  if ((result.config == nullptr) != bawwab::has_errors(result.diagnostics)) std::abort();
  return 0;
}
