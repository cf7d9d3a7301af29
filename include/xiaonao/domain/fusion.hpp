#pragma once
/// The pure decisions of fusion (docs/architecture.md, "Fusion"): camera field-of-view geometry,
/// the duplicate-merge rule, the rankings of cameras, units and residents, and how sure an
/// address match is. No I/O: the store feeds these with what it read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain::fusion {

/// The sphere fusion measures on (PostGIS's geography with use_spheroid = false): metres.
inline constexpr double earth_radius_m = 6371008.8;

/// Great-circle distance in metres (haversine on the earth_radius_m sphere).
double distance_m(GeoPoint a, GeoPoint b);

/// Initial bearing from `from` to `to`, degrees clockwise from north in [0, 360).
double bearing_deg(GeoPoint from, GeoPoint to);

/// A camera as fusion sees it. `bearing_deg` empty: a 360° dome.
struct CameraGeometry {
  GeoPoint at;
  std::optional<double> bearing_deg;
  double fov_deg{360};
  double range_m{0};
};

/// True when `p` lies in the camera's wedge: within range_m and, unless the camera is a dome
/// (no bearing, or fov ≥ 360), within fov/2 of its bearing (edges included, wrap-around at
/// north handled). A point at the camera itself is in view.
bool in_view(const CameraGeometry& cam, GeoPoint p);

/// Whether two alert categories may describe the same event (equal, or in one of the related
/// groups: theft/burglary/robbery, assault/dispute/robbery, fire/medical/traffic_accident,
/// missing_person/suicide_risk/help).
bool related_categories(std::string_view a, std::string_view b);

/// `c` and every category related to it: exactly the b with related_categories(c, b).
std::vector<std::string> related_to(std::string_view c);

/// The merge thresholds (config fusion.merge_radius_m, fusion.merge_window_s).
struct MergeRule {
  double radius_m{200};
  int window_s{600};
};

/// An open incident an alert may join.
struct MergeCandidate {
  std::string id;
  std::string category;
  GeoPoint at;
  TimePoint received_at;
};

/// A located alert of a batch, in the batch's order.
struct MergeAlert {
  std::string category;
  GeoPoint at;
  TimePoint received_at;
};

/// The incident `alert` joins among `open`: one within radius_m and within window_s (either
/// side) of the incident's received_at, of the same or a related category. Among several: the
/// same category before a related one, then the nearest, then the most recent, then the
/// smallest id. nullopt: the alert opens its own incident.
std::optional<std::size_t> merge_target(const MergeAlert& alert, const std::vector<MergeCandidate>& open,
                                        const MergeRule& rule);

/// The merge plan of a batch. `alerts` in batch order (nullopt: not located, never merged).
/// Alerts are decided in order; a located one that opens an incident becomes a candidate
/// (with `new_ids[i]` as its id), so a later alert of the same batch may join it.
struct MergePlan {
  /// Per alert: -1 opens its own incident; else an index into `targets`.
  std::vector<int> target;
  /// Every candidate considered: `open` first, then the incidents opened in the batch.
  std::vector<MergeCandidate> targets;
  /// For targets opened in the batch: the alert index that opened it (-1 for stored ones).
  std::vector<int> opened_by;
};
MergePlan plan_merges(const std::vector<std::optional<MergeAlert>>& alerts, std::vector<MergeCandidate> open,
                      const std::vector<std::string>& new_ids, const MergeRule& rule);

/// The merge lock of an intake batch, by area (docs/architecture.md, "Fusion"). The earth is cut
/// into cells of 0.01° × 0.01° (about 1.1 km × 1 km in the demo county); a batch locks every cell
/// that the bounding box of each of its located alerts' merge radius touches. Two alerts within
/// the radius of each other then always lock a cell in common (each box holds the other's own
/// cell), so their batches decide one after the other, while batches far apart decide in
/// parallel. Where cells cannot say it cheaply (more than 64 cells, within 5° of a pole, across
/// the antimeridian) the batch takes the one global key instead.
struct MergeLocks {
  /// Take the global key exclusively (and no cells).
  bool global{false};
  /// Else: the global key shared, then these cell keys, ascending and unique (the order that
  /// keeps two batches from deadlocking).
  std::vector<std::int32_t> cells;
};

/// The key of the 0.01° cell that holds `p` (0 .. 648,054,000; lon and lat in range).
std::int32_t merge_cell(GeoPoint p);

/// The locks a batch with located alerts at `points` takes for merge radius `radius_m` (> 0).
MergeLocks merge_locks(const std::vector<GeoPoint>& points, double radius_m);

/// A camera found near an incident.
struct CameraHit {
  std::string id;
  double distance_m{0};
  bool in_view{false};
  bool marker_camera{false};  ///< the camera of the marker the alert named
};

/// Orders cameras for the view and keeps at most `max`: the marker's own camera first, then the
/// cameras that see the point, then the rest; nearest first within each group, then id.
void rank_cameras(std::vector<CameraHit>& cams, std::size_t max);

/// How vulnerable a resident's flags make them: 0 most (elderly_alone, mental_illness,
/// disabled, minor), 1 person_of_interest, 2 floating, 3 none of these.
int vulnerability_rank(const std::vector<std::string>& flags);

/// A resident to order (id and flags only: names and phones are joined at read time).
struct Resident {
  std::string id;
  std::vector<std::string> flags;
};
/// Vulnerable residents first (vulnerability_rank), then by id.
void order_residents(std::vector<Resident>& residents);

/// One standard-address candidate with its similarity score in [0, 1].
struct AddressCandidate {
  std::string id;
  double score{0};
};

/// What a fuzzy address search decided.
struct AddressDecision {
  bool use{false};        ///< the best candidate locates the alert
  bool ambiguous{false};  ///< keep the candidates for the operator
  double confidence{0};
};

/// Thresholds of the fuzzy address decision.
struct AddressRule {
  double min_score{0.3};   ///< below it the best candidate is not used (fusion.address_min_score_pct)
  double sure_score{0.6};  ///< at or above it, and clearly above the second, the match is confident
  double margin{0.1};      ///< "clearly": best − second ≥ margin
};

/// Given the fuzzy candidates, best first: confident when the best is ≥ sure_score and ahead
/// of the second by ≥ margin (confidence = best score); else ambiguous, using the best only when
/// ≥ min_score (confidence = best score halved: an operator should confirm it).
AddressDecision decide_address(const std::vector<AddressCandidate>& best_first, const AddressRule& rule);

/// An incident as the history rule compares it: one opened by the same intake batch is not yet
/// in the table the history look-up reads, so the store asks this rule about it.
struct HistoryPeer {
  std::string id;
  TimePoint received;
  std::optional<GeoPoint> at;
  std::string address_id;                  ///< empty: none
  std::vector<std::string> caller_phones;  ///< as the alerts stored them
};

/// Why `peer` belongs to the history of `self`, as the look-up answers it: "address" (the same
/// standard address), "caller" (a caller phone in common), "place" (both located, within
/// radius_m), in that (alphabetical) order; empty when none applies, when peer is self, or when
/// peer was received after self or more than `days` before it.
std::vector<std::string> history_reasons(const HistoryPeer& self, const HistoryPeer& peer, double radius_m,
                                         int days);

/// The body of PATCH /api/v1/incidents/{id}: exactly one of `location` {lon, lat} (finite,
/// lon in [-180, 180], lat in [-90, 90]) or `address_id` (a standard address id, 1-128 bytes).
struct Relocation {
  std::optional<GeoPoint> location;
  std::string address_id;
};

/// Validates a PATCH body (already a JSON object). Errors are 422 naming the field; no other
/// member is accepted. Never throws.
Result<Relocation> parse_relocation(const nlohmann::json& body);

}  // namespace xiaonao::domain::fusion
