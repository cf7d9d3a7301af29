#pragma once
/// Appending to the event log (the feed's table) from any writer. The feed_seq row lock is taken
/// by the append, so it must be the last statement before COMMIT: seqs then become visible in
/// the order they were handed out, with no gaps (docs/architecture.md, "The feed").
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/feed_order.hpp"

namespace xiaonao::store {

/// One event to append. `data` is compact JSON text, stored as is and sent as the frame's data.
struct NewEvent {
  std::string type;
  std::string incident_id;  ///< empty: none
  std::string category;     ///< empty: none (feed category filters skip it)
  std::string station_id;   ///< empty: none (station feeds skip it)
  std::string data;
};

/// The statement both the intake writer (prepared) and append_events run: $1 the events as a
/// JSON array of {ord, type, incident_id, category, station_id, data}, $2 their count, $3 the
/// time text. Returns the last seq and notifies `xiaonao_feed`.
extern const char* const append_events_sql;

/// Appends `events` (in order) inside `w` with consecutive seqs, all at `at` (RFC 3339 text),
/// and notifies every instance (each one's listener reads them back and publishes them when
/// the transaction commits). Returns the last seq, or 0 when `events` is empty.
/// Call it last before w.commit().
std::int64_t append_events(pqxx::work& w, const std::vector<NewEvent>& events, const std::string& at);

/// The JSON array parameter of append_events_sql for `events`.
std::string events_param(const std::vector<NewEvent>& events);

/// The feed frames of events appended with `last` as the last seq (for publishing to the local
/// hub right after the commit, before the listener would bring them).
std::vector<domain::Frame> event_frames(const std::vector<NewEvent>& events, std::int64_t last, const std::string& at);

}  // namespace xiaonao::store
