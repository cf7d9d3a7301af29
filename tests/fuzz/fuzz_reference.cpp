// libFuzzer harness for the reference-data validator (PUT /api/v1/reference/{kind} and
// `xiaonaod import`): any body, as any kind, must give valid rows or a 422 naming a field, and
// every accepted row must keep the documented invariants (ids, ranges, closed rings).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/reference.hpp"

using namespace xiaonao::domain;

namespace {

void check_point(const LonLat& p) {
  if (!(p.lon >= -180 && p.lon <= 180 && p.lat >= -90 && p.lat <= 90)) std::abort();
  if (ewkt(p).rfind("SRID=4326;POINT(", 0) != 0) std::abort();
}

void check_multi(const MultiPolygon& m) {
  if (m.empty()) std::abort();
  for (const auto& poly : m) {
    if (poly.empty()) std::abort();
    for (const auto& ring : poly) {
      if (ring.size() < 4) std::abort();
      if (ring.front().lon != ring.back().lon || ring.front().lat != ring.back().lat) std::abort();
      for (const auto& p : ring) {
        if (!(p.lon >= -180 && p.lon <= 180 && p.lat >= -90 && p.lat <= 90)) std::abort();
      }
    }
  }
  if (ewkt(m).rfind("SRID=4326;MULTIPOLYGON(", 0) != 0) std::abort();
}

void check_id(const std::string& id) {
  if (id.empty() || id.size() > kRefMaxId) std::abort();
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) std::abort();
  }
}

void check_row(const RefRow& row) {
  check_id(ref_row_id(row));
  std::visit(
      [](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ZoneRow>) {
          check_multi(r.geom);
          if (r.area_type != "urban" && r.area_type != "suburban" && r.area_type != "rural") std::abort();
        } else if constexpr (std::is_same_v<T, GridRow>) {
          check_multi(r.geom);
        } else if constexpr (std::is_same_v<T, PersonRow>) {
          for (const auto& p : r.phones) {
            if (p.empty()) std::abort();
          }
        } else {
          check_point(r.point);
          if constexpr (std::is_same_v<T, AddressRow>) {
            if (r.norm.empty()) std::abort();
          }
          if constexpr (std::is_same_v<T, CameraRow>) {
            if (!(r.fov_deg > 0 && r.fov_deg <= 360) || !(r.range_m > 0)) std::abort();
            if (r.bearing_deg && !(*r.bearing_deg >= 0 && *r.bearing_deg < 360)) std::abort();
            if (!r.bearing_deg && r.fov_deg != 360) std::abort();
          }
        }
      },
      row);
}

}  // namespace

// The first byte picks the kind; the rest is the body.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto kind = all_ref_kinds()[data[0] % all_ref_kinds().size()];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return 0;
  const auto r = parse_ref_collection(kind, doc);
  if (!r.ok()) {
    const Error& e = r.error();
    if (e.kind != ErrorKind::missing_field && e.kind != ErrorKind::invalid_field) std::abort();
    if (e.message.empty()) std::abort();
    // Only "not an object at all" has no field to name.
    if (e.field.empty() && doc.is_object()) std::abort();
    return 0;
  }
  for (const auto& row : *r) check_row(row);
  return 0;
}
