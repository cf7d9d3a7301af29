#pragma once
/// Incident identity and paging helpers that do not touch the database.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain {

/// The human-readable incident number: "XN" + local date (yyyymmdd) + "-" + a zero-padded
/// number from a database sequence that is never reset, so numbers are never reused.
std::string format_incident_number(TimePoint at, std::int64_t serial, int utc_offset_minutes);

/// True for a canonical lowercase UUID string (8-4-4-4-12 hex).
bool is_uuid(std::string_view s);

/// A time-ordered (version 7) UUID: `now`'s milliseconds, then random bits.
std::string new_uuid(TimePoint now = now_utc());

/// Position in a listing ordered by (received_at desc, id desc).
struct PageCursor {
  TimePoint received_at{};
  std::string id;
};

/// Opaque cursor text (URL-safe) for a position, and back. Returns nullopt for a bad cursor.
std::string encode_cursor(const PageCursor& c);
std::optional<PageCursor> decode_cursor(std::string_view text);

/// The ids and texts an alert gets when it opens a new incident, as written to the database
/// and the feed. Times are RFC 3339 texts (format_rfc3339).
struct OpenedIncident {
  std::string_view alert_id;
  std::string_view incident_id;
  std::string_view number;
  std::string_view received_at;  ///< the alert's received_at
  std::string_view created_at;   ///< the commit batch's time
  /// Fusion at intake: the owning station (empty: none) and the located point (nullptr: the
  /// alert's own `location`). An alert that joined an incident has `merged` set.
  std::string_view station_id{};
  const GeoPoint* location = nullptr;
  bool merged = false;
  /// The source is trusted to have assessed it (config loop.auto_assess_sources): the incident
  /// opens as `assessed`.
  bool assessed = false;
};

/// The `data` of the `incident.opened` event: the new incident as the one-screen view shows it
/// (no personal data). Compact JSON with sorted keys, written without a JSON tree.
std::string incident_opened_data(const AlertInput& a, const OpenedIncident& ids);

/// The `data` of the `incident.assessed` event of an incident that opened assessed: the
/// lifecycle step's shape (id, number, from, to, event, actor, reason, at, category, priority)
/// with actor "system:auto_assess".
std::string incident_auto_assessed_data(const AlertInput& a, const OpenedIncident& ids);

/// The `data` of the `alert.received` event: the alert without caller or subject.
std::string alert_received_data(const AlertInput& a, const OpenedIncident& ids);

/// The body of the answer to POST /api/v1/alerts.
std::string alert_answer_json(std::string_view alert_id, std::string_view incident_id,
                              std::string_view incident_number, bool merged, bool created);

}  // namespace xiaonao::domain
