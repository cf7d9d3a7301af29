#pragma once
/// Structured logging: one line per event, `event key=value ...` or JSON lines.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace xiaonao::log {

/// Named values attached to one log line.
using Fields = std::initializer_list<std::pair<std::string_view, nlohmann::json>>;

/// Sets up the process-wide logger on stderr. `level` is trace|debug|info|warn|error.
void init(const std::string& level, bool json);

/// True when lines at `lvl` are written (check before building expensive fields).
inline bool enabled(spdlog::level::level_enum lvl) { return spdlog::default_logger_raw()->should_log(lvl); }

/// Names the calling thread as `top -H`, `perf` and /proc/PID/task/*/comm show it (the kernel
/// keeps 15 bytes). Not for the main thread: its name is the process's (`pgrep -x xiaonaod`).
void name_thread(const std::string& name);

/// Writes one event line at `lvl`.
void write(spdlog::level::level_enum lvl, std::string_view event, Fields fields);

inline void debug(std::string_view event, Fields f = {}) { if (enabled(spdlog::level::debug)) write(spdlog::level::debug, event, f); }
inline void info(std::string_view event, Fields f = {}) { if (enabled(spdlog::level::info)) write(spdlog::level::info, event, f); }
inline void warn(std::string_view event, Fields f = {}) { if (enabled(spdlog::level::warn)) write(spdlog::level::warn, event, f); }
inline void error(std::string_view event, Fields f = {}) { if (enabled(spdlog::level::err)) write(spdlog::level::err, event, f); }

}  // namespace xiaonao::log
