#pragma once
// Operational log: one line per event on stderr, with a level. Under systemd (JOURNAL_STREAM set)
// lines carry the sd-daemon "<N>" priority prefix so journald files them at the right level;
// on a terminal they carry a UTC timestamp instead. Thread-safe: each line is one write(2).
#include <string_view>

namespace bawwab::log {

enum class Level { debug = 7, info = 6, notice = 5, warning = 4, error = 3 };

void set_level(Level level) noexcept;
Level level() noexcept;
bool parse_level(std::string_view text, Level& out) noexcept;

void write(Level level, std::string_view message);

inline void debug(std::string_view m) { if (level() >= Level::debug) write(Level::debug, m); }
inline void info(std::string_view m) { if (level() >= Level::info) write(Level::info, m); }
inline void notice(std::string_view m) { if (level() >= Level::notice) write(Level::notice, m); }
inline void warning(std::string_view m) { write(Level::warning, m); }
inline void error(std::string_view m) { write(Level::error, m); }

}  // namespace bawwab::log
