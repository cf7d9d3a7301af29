#include "xiaonao/domain/fusion.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <tuple>

#include <nlohmann/json.hpp>

namespace xiaonao::domain::fusion {
namespace {

constexpr double kPi = 3.14159265358979323846;

double rad(double deg) { return deg * kPi / 180.0; }

// The related groups: categories that callers often use for one and the same event.
constexpr std::array<std::array<std::string_view, 3>, 4> kRelated{{
    {"theft", "burglary", "robbery"},
    {"assault", "dispute", "robbery"},
    {"fire", "medical", "traffic_accident"},
    {"missing_person", "suicide_risk", "help"},
}};

bool in_group(const std::array<std::string_view, 3>& g, std::string_view c) {
  return std::find(g.begin(), g.end(), c) != g.end();
}

}  // namespace

double distance_m(GeoPoint a, GeoPoint b) {
  const double dlat = rad(b.lat - a.lat);
  const double dlon = rad(b.lon - a.lon);
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(rad(a.lat)) * std::cos(rad(b.lat)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_m * std::asin(std::min(1.0, std::sqrt(h)));
}

double bearing_deg(GeoPoint from, GeoPoint to) {
  const double y = std::sin(rad(to.lon - from.lon)) * std::cos(rad(to.lat));
  const double x = std::cos(rad(from.lat)) * std::sin(rad(to.lat)) -
                   std::sin(rad(from.lat)) * std::cos(rad(to.lat)) * std::cos(rad(to.lon - from.lon));
  double deg = std::atan2(y, x) * 180.0 / kPi;
  if (deg < 0) deg += 360.0;
  if (deg >= 360.0) deg -= 360.0;
  return deg;
}

bool in_view(const CameraGeometry& cam, GeoPoint p) {
  const double d = distance_m(cam.at, p);
  if (d > cam.range_m) return false;
  if (!cam.bearing_deg || cam.fov_deg >= 360.0 || d < 0.01) return true;
  // The smallest angle between the camera's axis and the direction to the point (0..180).
  double off = std::fabs(bearing_deg(cam.at, p) - *cam.bearing_deg);
  off = std::fmod(off, 360.0);
  if (off > 180.0) off = 360.0 - off;
  // A hair of tolerance: a point exactly on the wedge's edge counts as seen.
  return off <= cam.fov_deg / 2.0 + 1e-9;
}

bool related_categories(std::string_view a, std::string_view b) {
  if (a == b) return true;
  for (const auto& g : kRelated) {
    if (in_group(g, a) && in_group(g, b)) return true;
  }
  return false;
}

std::vector<std::string> related_to(std::string_view c) {
  std::vector<std::string> out{std::string(c)};
  for (const auto& g : kRelated) {
    if (!in_group(g, c)) continue;
    for (const auto& other : g)
      if (std::find(out.begin(), out.end(), other) == out.end()) out.emplace_back(other);
  }
  return out;
}

std::optional<std::size_t> merge_target(const MergeAlert& alert, const std::vector<MergeCandidate>& open,
                                        const MergeRule& rule) {
  std::optional<std::size_t> best;
  std::tuple<bool, double, std::int64_t> best_key{};
  const auto window = std::chrono::seconds(rule.window_s);
  for (std::size_t i = 0; i < open.size(); ++i) {
    const auto& c = open[i];
    if (!related_categories(alert.category, c.category)) continue;
    const auto dt = alert.received_at - c.received_at;
    if (dt > window || dt < -window) continue;
    const double d = distance_m(alert.at, c.at);
    if (d > rule.radius_m) continue;
    // Smaller is better: a different category, the distance, then newer (the time negated).
    const std::tuple<bool, double, std::int64_t> key{c.category != alert.category, d,
                                                     -c.received_at.time_since_epoch().count()};
    if (!best || key < best_key || (key == best_key && c.id < open[*best].id)) {
      best = i;
      best_key = key;
    }
  }
  return best;
}

namespace {

constexpr double kCellDeg = 0.01;
constexpr long kRows = 18001;  // cells along a meridian: lat -90 .. 90
constexpr std::size_t kMaxCells = 64;
constexpr double kMetresPerDeg = earth_radius_m * kPi / 180.0;

long cell_col(double lon) { return static_cast<long>(std::floor((lon + 180.0) / kCellDeg)); }
long cell_row(double lat) { return static_cast<long>(std::floor((lat + 90.0) / kCellDeg)); }
std::int32_t cell_key(long col, long row) { return static_cast<std::int32_t>(col * kRows + row); }

}  // namespace

std::int32_t merge_cell(GeoPoint p) { return cell_key(cell_col(p.lon), cell_row(p.lat)); }

MergeLocks merge_locks(const std::vector<GeoPoint>& points, double radius_m) {
  MergeLocks out;
  // Two points d apart differ by at most d/R in latitude and by at most (d/R)/cos(φmax) in
  // longitude (φmax the larger |latitude|); 5% more covers the spheroid PostGIS measures on
  // and the rounding.
  const double dlat = radius_m * 1.05 / kMetresPerDeg + 1e-9;
  for (const auto& p : points) {
    const double top = std::abs(p.lat) + dlat;
    if (!std::isfinite(p.lon) || !std::isfinite(p.lat) || !std::isfinite(dlat) || top > 85.0) {
      return MergeLocks{true, {}};
    }
    const double dlon = dlat / std::cos(rad(top));
    if (p.lon - dlon < -180.0 || p.lon + dlon > 180.0) return MergeLocks{true, {}};
    const long c0 = cell_col(p.lon - dlon), c1 = cell_col(p.lon + dlon);
    const long r0 = cell_row(p.lat - dlat), r1 = cell_row(p.lat + dlat);
    if (static_cast<std::size_t>((c1 - c0 + 1) * (r1 - r0 + 1)) > kMaxCells) return MergeLocks{true, {}};
    for (long c = c0; c <= c1; ++c) {
      for (long r = r0; r <= r1; ++r) out.cells.push_back(cell_key(c, r));
    }
    if (out.cells.size() > kMaxCells * 4) {
      std::sort(out.cells.begin(), out.cells.end());
      out.cells.erase(std::unique(out.cells.begin(), out.cells.end()), out.cells.end());
    }
  }
  std::sort(out.cells.begin(), out.cells.end());
  out.cells.erase(std::unique(out.cells.begin(), out.cells.end()), out.cells.end());
  if (out.cells.size() > kMaxCells) return MergeLocks{true, {}};
  return out;
}

MergePlan plan_merges(const std::vector<std::optional<MergeAlert>>& alerts, std::vector<MergeCandidate> open,
                      const std::vector<std::string>& new_ids, const MergeRule& rule) {
  MergePlan plan;
  plan.opened_by.assign(open.size(), -1);
  plan.targets = std::move(open);
  plan.target.assign(alerts.size(), -1);
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (!alerts[i]) continue;
    if (auto t = merge_target(*alerts[i], plan.targets, rule)) {
      plan.target[i] = static_cast<int>(*t);
      continue;
    }
    plan.targets.push_back({new_ids.at(i), alerts[i]->category, alerts[i]->at, alerts[i]->received_at});
    plan.opened_by.push_back(static_cast<int>(i));
  }
  return plan;
}

void rank_cameras(std::vector<CameraHit>& cams, std::size_t max) {
  std::sort(cams.begin(), cams.end(), [](const CameraHit& a, const CameraHit& b) {
    return std::make_tuple(!a.marker_camera, !a.in_view, a.distance_m, std::cref(a.id)) <
           std::make_tuple(!b.marker_camera, !b.in_view, b.distance_m, std::cref(b.id));
  });
  if (cams.size() > max) cams.resize(max);
}

int vulnerability_rank(const std::vector<std::string>& flags) {
  int rank = 3;
  for (const auto& f : flags) {
    if (f == "elderly_alone" || f == "mental_illness" || f == "disabled" || f == "minor") return 0;
    if (f == "person_of_interest") rank = std::min(rank, 1);
    if (f == "floating") rank = std::min(rank, 2);
  }
  return rank;
}

void order_residents(std::vector<Resident>& residents) {
  std::stable_sort(residents.begin(), residents.end(), [](const Resident& a, const Resident& b) {
    const int ra = vulnerability_rank(a.flags), rb = vulnerability_rank(b.flags);
    if (ra != rb) return ra < rb;
    return a.id < b.id;
  });
}

AddressDecision decide_address(const std::vector<AddressCandidate>& best_first, const AddressRule& rule) {
  AddressDecision d;
  if (best_first.empty()) return d;
  const double best = best_first[0].score;
  const double second = best_first.size() > 1 ? best_first[1].score : 0.0;
  if (best >= rule.sure_score && best - second >= rule.margin) {
    d.use = true;
    d.confidence = best;
    return d;
  }
  d.ambiguous = true;
  if (best >= rule.min_score) {
    d.use = true;
    d.confidence = best / 2.0;
  }
  return d;
}

Result<Relocation> parse_relocation(const nlohmann::json& body) {
  if (!body.is_object()) return Error{ErrorKind::invalid_field, "body must be a JSON object", ""};
  for (const auto& [key, value] : body.items()) {
    (void)value;
    if (key != "location" && key != "address_id")
      return Error{ErrorKind::invalid_field, "unknown member '" + key + "': send location or address_id", key};
  }
  const auto loc = body.find("location");
  const auto addr = body.find("address_id");
  const bool has_loc = loc != body.end() && !loc->is_null();
  const bool has_addr = addr != body.end() && !addr->is_null();
  if (has_loc == has_addr)
    return Error{has_loc ? ErrorKind::invalid_field : ErrorKind::missing_field,
                 "send exactly one of location {lon, lat} or address_id", "location"};
  Relocation r;
  if (has_addr) {
    if (!addr->is_string()) return Error{ErrorKind::invalid_field, "address_id must be a string", "address_id"};
    r.address_id = addr->get<std::string>();
    if (r.address_id.empty() || r.address_id.size() > 128)
      return Error{ErrorKind::invalid_field, "address_id must be 1-128 bytes", "address_id"};
    return r;
  }
  if (!loc->is_object()) return Error{ErrorKind::invalid_field, "location must be an object {lon, lat}", "location"};
  for (const auto& [key, value] : loc->items()) {
    (void)value;
    if (key != "lon" && key != "lat")
      return Error{ErrorKind::invalid_field, "location takes only lon and lat", "location." + key};
  }
  GeoPoint p;
  for (const auto& [name, limit, out] : {std::tuple{"lon", 180.0, &p.lon}, std::tuple{"lat", 90.0, &p.lat}}) {
    const auto it = loc->find(name);
    const std::string field = std::string("location.") + name;
    if (it == loc->end() || it->is_null()) return Error{ErrorKind::missing_field, field + " is required", field};
    if (!it->is_number()) return Error{ErrorKind::invalid_field, field + " must be a number", field};
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < -limit || v > limit)
      return Error{ErrorKind::invalid_field, field + " must be within ±" + std::to_string(static_cast<int>(limit)), field};
    *out = v;
  }
  r.location = p;
  return r;
}

std::vector<std::string> history_reasons(const HistoryPeer& self, const HistoryPeer& peer, double radius_m,
                                         int days) {
  std::vector<std::string> reasons;
  if (peer.id == self.id || peer.received > self.received ||
      peer.received < self.received - std::chrono::hours(24) * days)
    return reasons;
  if (!self.address_id.empty() && self.address_id == peer.address_id) reasons.emplace_back("address");
  for (const auto& p : self.caller_phones) {
    if (std::find(peer.caller_phones.begin(), peer.caller_phones.end(), p) != peer.caller_phones.end()) {
      reasons.emplace_back("caller");
      break;
    }
  }
  if (self.at && peer.at && distance_m(*self.at, *peer.at) <= radius_m) reasons.emplace_back("place");
  return reasons;
}

}  // namespace xiaonao::domain::fusion
