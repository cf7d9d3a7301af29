#include "xiaonao/domain/units.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/query.hpp"

namespace xiaonao::domain {
namespace {

using nlohmann::json;

Error field_error(ErrorKind kind, std::string_view prefix, const char* name, const std::string& what) {
  std::string field(prefix);
  field += name;
  return Error{kind, field + " " + what, field};
}

// A number member in [lo, hi] (hi_open: < hi). Absent or null: nullopt when !required.
Result<std::optional<double>> number_member(const json& obj, std::string_view prefix, const char* name, bool required,
                                            double lo, double hi, bool hi_open) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return field_error(ErrorKind::missing_field, prefix, name, "is required");
    return std::optional<double>{};
  }
  if (!it->is_number()) return field_error(ErrorKind::invalid_field, prefix, name, "must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || (hi_open ? v >= hi : v > hi)) {
    char range[96];
    std::snprintf(range, sizeof range, "must be in [%g, %g%s", lo, hi, hi_open ? ")" : "]");
    return field_error(ErrorKind::invalid_field, prefix, name, range);
  }
  return std::optional<double>{v};
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty() || s.size() > 40) return false;
  // from_chars for double: no leading '+', no spaces, which is what we want.
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end && std::isfinite(out);
}

}  // namespace

bool is_reference_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '/' && c != '?' && c != '#' && c != '%';
  });
}

bool is_unit_status(std::string_view s) {
  return std::find(kUnitStatuses.begin(), kUnitStatuses.end(), s) != kUnitStatuses.end();
}

bool is_unit_kind(std::string_view s) { return std::find(kUnitKinds.begin(), kUnitKinds.end(), s) != kUnitKinds.end(); }

Result<PositionReport> parse_position(const json& obj, std::string_view prefix, bool want_unit_id) {
  if (!obj.is_object()) {
    std::string field(prefix);
    if (!field.empty() && field.back() == '.') field.pop_back();
    return Error{ErrorKind::invalid_field, (field.empty() ? std::string("body") : field) + " must be an object", field};
  }
  PositionReport r;
  if (want_unit_id) {
    const auto it = obj.find("unit_id");
    if (it == obj.end() || it->is_null()) return field_error(ErrorKind::missing_field, prefix, "unit_id", "is required");
    if (!it->is_string() || !is_reference_id(it->get_ref<const std::string&>()))
      return field_error(ErrorKind::invalid_field, prefix, "unit_id", "must be a unit id (1-64 printable ASCII bytes)");
    r.unit_id = it->get<std::string>();
  }
  auto lon = number_member(obj, prefix, "lon", true, -180, 180, false);
  if (!lon) return lon.error();
  auto lat = number_member(obj, prefix, "lat", true, -90, 90, false);
  if (!lat) return lat.error();
  r.lon = **lon;
  r.lat = **lat;
  const auto at = obj.find("at");
  if (at == obj.end() || at->is_null()) return field_error(ErrorKind::missing_field, prefix, "at", "is required");
  if (!at->is_string()) return field_error(ErrorKind::invalid_field, prefix, "at", "must be an RFC 3339 time");
  const auto t = parse_rfc3339(at->get_ref<const std::string&>());
  if (!t) return field_error(ErrorKind::invalid_field, prefix, "at", "must be an RFC 3339 time");
  r.at = *t;
  auto speed = number_member(obj, prefix, "speed", false, 0, 200, false);
  if (!speed) return speed.error();
  r.speed = *speed;
  auto heading = number_member(obj, prefix, "heading", false, 0, 360, true);
  if (!heading) return heading.error();
  r.heading = *heading;
  return r;
}

Result<std::vector<PositionReport>> parse_position_batch(const json& body, std::size_t max_items) {
  const auto it = body.find("positions");
  if (it == body.end() || it->is_null()) return Error{ErrorKind::missing_field, "positions is required", "positions"};
  if (!it->is_array()) return Error{ErrorKind::invalid_field, "positions must be an array", "positions"};
  if (it->empty() || it->size() > max_items)
    return Error{ErrorKind::invalid_field, "positions must hold 1 to " + std::to_string(max_items) + " items",
                 "positions"};
  std::vector<PositionReport> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto p = parse_position((*it)[i], "positions[" + std::to_string(i) + "].", true);
    if (!p) return p.error();
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::string> parse_status_body(const json& body) {
  const auto it = body.find("status");
  if (it == body.end() || it->is_null()) return Error{ErrorKind::missing_field, "status is required", "status"};
  if (!it->is_string() || !is_unit_status(it->get_ref<const std::string&>()))
    return Error{ErrorKind::invalid_field, "status must be one of available, busy, off_duty, out_of_service", "status"};
  return it->get<std::string>();
}

double BBox::area_km2() const {
  constexpr double km_per_deg = 111.32;
  const double mid = (min_lat + max_lat) / 2 * std::numbers::pi / 180;
  return (max_lon - min_lon) * km_per_deg * std::cos(mid) * (max_lat - min_lat) * km_per_deg;
}

Result<BBox> parse_bbox(std::string_view text, double max_area_km2) {
  const auto bad = [](const std::string& why) { return Error{ErrorKind::bad_request, "bbox " + why, "bbox"}; };
  const auto parts = split_list(text);
  if (parts.size() != 4) return bad("must be minLon,minLat,maxLon,maxLat");
  double v[4];
  for (std::size_t i = 0; i < 4; ++i) {
    if (!parse_double(parts[i], v[i])) return bad("must be minLon,minLat,maxLon,maxLat (four numbers)");
  }
  BBox b{v[0], v[1], v[2], v[3]};
  if (b.min_lon < -180 || b.max_lon > 180 || b.min_lat < -90 || b.max_lat > 90)
    return bad("must lie within lon [-180, 180] and lat [-90, 90]");
  if (!(b.min_lon < b.max_lon) || !(b.min_lat < b.max_lat)) return bad("must have minLon < maxLon and minLat < maxLat");
  if (b.area_km2() > max_area_km2) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "covers %.0f km², more than the %.0f km² allowed", b.area_km2(), max_area_km2);
    return bad(msg);
  }
  return b;
}

Result<std::vector<std::string>> parse_layers(std::optional<std::string_view> text) {
  std::vector<std::string> out;
  if (!text || text->empty()) {
    for (auto l : kMapLayers) out.emplace_back(l);
    return out;
  }
  for (auto item : split_list(*text)) {
    if (std::find(kMapLayers.begin(), kMapLayers.end(), item) == kMapLayers.end()) {
      std::string shown(item.substr(0, 40));
      for (auto& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      return Error{ErrorKind::bad_request,
                   "unknown layer '" + shown + "' (layers: stations, zones, grids, cameras, units, incidents, markers)",
                   "layers"};
    }
    if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
  }
  // The response lists layers in one fixed order, whatever order they were asked in.
  std::vector<std::string> ordered;
  for (auto l : kMapLayers) {
    if (std::find(out.begin(), out.end(), l) != out.end()) ordered.emplace_back(l);
  }
  return ordered;
}

Result<double> parse_simplify(std::optional<std::string_view> text) {
  if (!text) return 0.0;
  double v = 0;
  if (!parse_double(*text, v) || v < 0 || v > 1000)
    return Error{ErrorKind::bad_request, "simplify must be a tolerance in metres from 0 to 1000", "simplify"};
  return v;
}

Result<TrackQuery> parse_track_query(std::optional<std::string_view> from, std::optional<std::string_view> to,
                                     std::optional<std::string_view> limit, TimePoint now, int max_span_hours,
                                     int max_points) {
  TrackQuery q;
  q.to = now;
  if (to) {
    auto t = parse_rfc3339(*to);
    if (!t) return Error{ErrorKind::bad_request, "to must be an RFC 3339 time", "to"};
    q.to = *t;
  }
  q.from = q.to - std::chrono::hours(1);
  if (from) {
    auto t = parse_rfc3339(*from);
    if (!t) return Error{ErrorKind::bad_request, "from must be an RFC 3339 time", "from"};
    q.from = *t;
  }
  if (q.from > q.to) return Error{ErrorKind::bad_request, "from must not be after to", "from"};
  if (q.to - q.from > std::chrono::hours(max_span_hours))
    return Error{ErrorKind::bad_request, "from..to may span at most " + std::to_string(max_span_hours) + " hours", "from"};
  q.limit = max_points;
  if (limit) {
    int v = 0;
    const auto* end = limit->data() + limit->size();
    const auto [p, ec] = std::from_chars(limit->data(), end, v);
    if (limit->empty() || ec != std::errc() || p != end || v < 1 || v > max_points)
      return Error{ErrorKind::bad_request, "limit must be an integer from 1 to " + std::to_string(max_points), "limit"};
    q.limit = v;
  }
  return q;
}

}  // namespace xiaonao::domain
