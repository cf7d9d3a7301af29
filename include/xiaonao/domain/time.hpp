#pragma once
/// Timestamps: RFC 3339 in and out, microsecond precision, always UTC inside.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace xiaonao::domain {

/// A UTC instant with microsecond resolution (PostgreSQL's timestamptz resolution).
using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

/// Parses an RFC 3339 date-time ("2026-11-26T08:30:00+08:00", "...Z", optional fraction).
/// Rejects anything else, including out-of-range fields and missing offsets.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

/// Formats as RFC 3339 in UTC with microseconds, e.g. "2026-11-26T00:30:00.000000Z".
std::string format_rfc3339(TimePoint t);

/// The current time at microsecond resolution.
TimePoint now_utc();

}  // namespace xiaonao::domain
