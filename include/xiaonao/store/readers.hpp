#pragma once
/// Read-side queries: incidents, the one-screen view, the event log, categories.
/// Each function takes the worker's connection and runs one read-only transaction.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/category.hpp"
#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/incident.hpp"

#include <pqxx/connection>

namespace xiaonao::store {

/// Filters of GET /api/v1/incidents, already validated.
struct IncidentFilter {
  std::vector<std::string> statuses;
  std::vector<std::string> categories;
  std::optional<domain::TimePoint> from;
  std::optional<domain::TimePoint> to;
  std::vector<std::string> stations;  ///< the `station` filter
  /// Station scope of the caller: only incidents of this station or shared with it.
  /// Empty: every incident (county-wide callers).
  std::string visible_to_station;
  int limit = 50;
  std::optional<domain::PageCursor> after;
};

/// One page of incidents: {"items": [...], "next_cursor": ...}.
nlohmann::json list_incidents(pqxx::connection& c, const IncidentFilter& f);

/// The one-screen view of one incident, or nullopt when the id is unknown. Personal data in it
/// is unmasked: the caller masks it (domain::mask_people) unless the reader may see it.
/// `shared_with` lists the stations the incident is shared with.
std::optional<nlohmann::json> get_incident(pqxx::connection& c, const std::string& id);

/// Every category, ordered by code.
std::vector<domain::Category> load_categories(pqxx::connection& c);

/// Events with seq > after, at most `limit`, as ready-to-send feed frames in seq order.
std::vector<domain::Frame> read_events(pqxx::connection& c, std::int64_t after, int limit);

/// The highest seq handed out so far (0 for an empty log).
std::int64_t last_seq(pqxx::connection& c);

/// The applied schema version (0 when none).
int schema_version(pqxx::connection& c);

/// One feed frame as it goes on the wire (domain::Frame::wire): a WebSocket text frame carrying
/// {"seq":N,"type":"...","at":"...","data":<data_json>}, written in one piece.
std::shared_ptr<const std::string> feed_frame(std::int64_t seq, const std::string& type, const std::string& at,
                                              const std::string& data_json);

}  // namespace xiaonao::store
