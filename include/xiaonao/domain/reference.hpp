#pragma once
/// The county's reference data as integrators export it: one GeoJSON Feature per row, eight
/// kinds with fixed properties (docs/api.md, "Reference data"). Parsing and validation only;
/// the store writes the rows.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/error.hpp"

namespace xiaonao::domain {

/// The kinds of reference data, one table each.
enum class RefKind { stations, zones, grids, addresses, persons, cameras, units, markers };

/// Every kind, in import order (a zone names its station, a grid its zone).
const std::vector<RefKind>& all_ref_kinds();
/// The kind's name as in the URL and the CLI ("stations", ...).
const char* ref_kind_name(RefKind kind);
/// The kind for a name; nullopt when unknown.
std::optional<RefKind> parse_ref_kind(std::string_view name);

/// Longest id (bytes), name and free text accepted.
inline constexpr std::size_t kRefMaxId = 64;
inline constexpr std::size_t kRefMaxName = 256;
inline constexpr std::size_t kRefMaxText = 1024;

/// A WGS 84 position.
struct LonLat {
  double lon{0};
  double lat{0};
};
/// A polygon: its rings (outer first), each closed (first point == last point).
using Polygon = std::vector<std::vector<LonLat>>;
/// Every polygonal geometry is stored as a MultiPolygon.
using MultiPolygon = std::vector<Polygon>;

struct StationRow {
  std::string id, name;
  std::optional<std::string> phone;
  LonLat point;
};
struct ZoneRow {
  std::string id, name, station_id, area_type;  ///< area_type: urban|suburban|rural
  std::optional<std::string> officer_name, officer_phone;
  MultiPolygon geom;
};
struct GridRow {
  std::string id, name, zone_id;
  std::optional<std::string> worker_name, worker_phone;
  MultiPolygon geom;
};
struct AddressRow {
  std::string id, text;
  std::string norm;                  ///< normalize_address(text)
  std::vector<std::string> aliases;  ///< as given
  std::vector<std::string> alias_norms;  ///< normalised, empty and duplicate forms dropped
  LonLat point;
};
/// The flags a person may have (import refuses any other), in the order the brief lists them.
const std::vector<std::string>& person_flags();

struct PersonRow {
  std::string id, name;
  std::optional<std::string> id_number, address_id;
  std::vector<std::string> phones;  ///< normalize_phone of each, empty and duplicates dropped
  std::vector<std::string> flags;   ///< distinct, in the order given
};
struct CameraRow {
  std::string id, name;
  std::optional<double> bearing_deg;  ///< absent: a 360° dome
  double fov_deg{360};
  double range_m{0};
  std::optional<std::string> stream_url;
  bool online{true};
  LonLat point;
};
struct UnitRow {
  std::string id, call_sign, kind, status;  ///< kind: patrol_car|kiosk|ptu|officer|drone
  std::optional<std::string> station_id;
  LonLat point;  ///< the last position
};
struct MarkerRow {
  std::string id;  ///< the code printed on the pillar or sign
  std::optional<std::string> description, camera_id;
  LonLat point;
};

/// One validated feature of any kind.
using RefRow = std::variant<StationRow, ZoneRow, GridRow, AddressRow, PersonRow, CameraRow, UnitRow, MarkerRow>;

/// The row's id.
const std::string& ref_row_id(const RefRow& row);

/// Validates feature number `index` of a collection of `kind`. Errors are 422s whose field is
/// the path in the whole document: "features[12].properties.area_type", "features[3].geometry".
Result<RefRow> parse_ref_feature(RefKind kind, const nlohmann::json& feature, std::size_t index);

/// Validates a whole FeatureCollection: `type` must be "FeatureCollection" (field "type"),
/// `features` an array; every feature valid; no id twice (the later one is named).
Result<std::vector<RefRow>> parse_ref_collection(RefKind kind, const nlohmann::json& doc);

/// Remembers the ids of one batch to refuse a second feature with the same id (an upsert
/// cannot write one row twice in one statement, and it is an exporter's mistake).
class RefIdSet {
 public:
  /// nullopt when new; else the error naming features[index].properties.id.
  std::optional<Error> add(const std::string& id, std::size_t index);
  std::size_t size() const { return ids_.size(); }

 private:
  std::unordered_set<std::string> ids_;
};

/// EWKT of a point ("SRID=4326;POINT(lon lat)"), with shortest round-trip numbers.
std::string ewkt(const LonLat& p);
/// EWKT of a MultiPolygon.
std::string ewkt(const MultiPolygon& m);

}  // namespace xiaonao::domain
