#pragma once
/// Live unit data and the map: validation of position reports and status changes, and of the
/// map's bbox and layers. Pure: no I/O, no clock.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain {

/// One position report of a unit.
struct PositionReport {
  std::string unit_id;           ///< from the path (single form) or `unit_id` (batch form)
  double lon{0};
  double lat{0};
  TimePoint at{};
  std::optional<double> speed;    ///< m/s, 0..200
  std::optional<double> heading;  ///< degrees, [0, 360)
};

/// The unit statuses of the reference schema.
inline constexpr std::array<std::string_view, 4> kUnitStatuses = {"available", "busy", "off_duty", "out_of_service"};
/// The unit kinds of the reference schema.
inline constexpr std::array<std::string_view, 5> kUnitKinds = {"patrol_car", "kiosk", "ptu", "officer", "drone"};

/// Whether `id` can be a reference id (unit, station): 1-64 bytes of printable ASCII without
/// space, '/', '?', '#' or '%'.
bool is_reference_id(std::string_view id);
bool is_unit_status(std::string_view s);
bool is_unit_kind(std::string_view s);

/// Parses one position object. `prefix` is put before field names in errors
/// ("positions[3]." for the batch form). `want_unit_id`: the object must carry `unit_id`
/// (batch form); otherwise `unit_id` of the result is left empty. Fields: lon [-180,180],
/// lat [-90,90], at (RFC 3339, required), speed (>= 0, <= 200 m/s, optional, null allowed),
/// heading ([0,360), optional, null allowed). Unknown members are ignored.
Result<PositionReport> parse_position(const nlohmann::json& obj, std::string_view prefix = "",
                                      bool want_unit_id = false);

/// The batch body {"positions": [...]}: 1..max_items items. An invalid item fails the whole
/// request with the error naming `positions[i].field` (nothing is written).
Result<std::vector<PositionReport>> parse_position_batch(const nlohmann::json& body, std::size_t max_items = 1000);

/// The PATCH /units/{id} body {"status": ...}: 422 naming `status` unless one of kUnitStatuses.
Result<std::string> parse_status_body(const nlohmann::json& body);

/// A lon/lat box.
struct BBox {
  double min_lon{0}, min_lat{0}, max_lon{0}, max_lat{0};
  /// The approximate area in km² (equirectangular at the box's mid latitude).
  double area_km2() const;
};

/// Parses "minLon,minLat,maxLon,maxLat": four finite numbers in range with min < max and an
/// area of at most `max_area_km2`; errors are bad_request naming `bbox`.
Result<BBox> parse_bbox(std::string_view text, double max_area_km2);

/// The map's layers, in the order the response lists them.
inline constexpr std::array<std::string_view, 7> kMapLayers = {"stations", "zones",     "grids",  "cameras",
                                                               "units",    "incidents", "markers"};
/// Parses a comma-separated list of kMapLayers (empty or absent: all, in kMapLayers order);
/// duplicates are dropped. An unknown layer is a bad_request naming `layers` whose message
/// names the layer.
Result<std::vector<std::string>> parse_layers(std::optional<std::string_view> text);

/// Parses the map's `simplify` (a tolerance in metres, 0..1000; absent: 0).
Result<double> parse_simplify(std::optional<std::string_view> text);

/// A track query: the points of one unit with from <= at <= to, at most `limit`.
struct TrackQuery {
  TimePoint from{};
  TimePoint to{};
  int limit{0};
};

/// Parses `from`, `to` (RFC 3339; defaults: to = now, from = to - 1 h) and `limit` (1..max_points,
/// default max_points). 400 naming the field on a bad time, from > to, or a span over
/// `max_span_hours`.
Result<TrackQuery> parse_track_query(std::optional<std::string_view> from, std::optional<std::string_view> to,
                                     std::optional<std::string_view> limit, TimePoint now, int max_span_hours,
                                     int max_points);

}  // namespace xiaonao::domain
