#pragma once
/// Deadlines and escalation, the pure part (docs/architecture.md, "Deadlines and escalation"):
/// when the scheduler wakes next, and what GET /api/v1/escalations accepts.
#include <optional>
#include <string>
#include <string_view>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain::escalation {

/// How long the scheduler waits before its next round, in milliseconds.
/// `next_due_s`: seconds until the earliest unmet, unannounced deadline is due, by the
/// database's clock (negative: already due; nullopt: none). `fired_any`: whether the round
/// that just ended announced something. `scan_ms`: the longest wait (config
/// loop.escalation_scan_ms). A deadline already due that the round did not announce is held by
/// another transaction (another instance announcing it, or a step meeting it): look again
/// soon (`busy_retry_ms`) rather than spin. A new earlier deadline wakes the scheduler sooner
/// through NOTIFY, so the wait never has to guess.
int wait_ms(std::optional<double> next_due_s, bool fired_any, int scan_ms, int busy_retry_ms = 20);

/// The query of GET /api/v1/escalations.
struct Query {
  std::string station_id;            ///< empty: every station the caller sees
  std::optional<bool> open;          ///< true: not met yet; false: met late; none: both
  std::optional<TimePoint> since;    ///< fired at or after
  int limit = 100;                   ///< 1..500
};

/// Parses the query parameters (each absent when nullopt); 400 naming the parameter.
Result<Query> parse_query(std::optional<std::string_view> station_id, std::optional<std::string_view> open,
                          std::optional<std::string_view> since, std::optional<std::string_view> limit);

}  // namespace xiaonao::domain::escalation
