#pragma once
/// Live unit data: the batching position writer, status changes (with their feed event), the
/// unit list and tracks, track retention, and the map's GeoJSON layers.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/units.hpp"

namespace xiaonao::store {

/// What became of one position report.
enum class PositionOutcome {
  moved,        ///< stored in the track and now the unit's last position
  recorded,     ///< stored in the track (or already there), but not newer than the last position
  unknown_unit  ///< no such unit (or not one of the caller's station): nothing written
};
/// "moved", "recorded", "unknown_unit".
const char* outcome_name(PositionOutcome o);

/// Settings of the position writer and its retention task.
struct PositionWriterOptions {
  std::string conninfo;
  int threads = 2;
  std::size_t batch_max = 1000;        ///< reports per transaction at most
  std::size_t queue_limit = 50000;     ///< reports waiting before submit() says full
  int statement_timeout_ms = 5000;
  int retention_days = 30;             ///< unit_positions older than this are deleted
  std::chrono::milliseconds prune_interval{std::chrono::minutes(5)};
  int prune_batch = 5000;              ///< rows per DELETE (short transactions, short locks)
};

/// Batches concurrent position reports into shared transactions (one UPDATE of units and one
/// INSERT into unit_positions per batch) and answers each request after the commit. Position
/// reports are telemetry: they write no feed events. Thread-safe.
class PositionWriter {
 public:
  using Callback = std::function<void(domain::Result<std::vector<PositionOutcome>>)>;

  explicit PositionWriter(PositionWriterOptions options);
  ~PositionWriter();
  PositionWriter(const PositionWriter&) = delete;
  PositionWriter& operator=(const PositionWriter&) = delete;

  /// Queues the reports of one request. `station` not empty: only that station's units are
  /// accepted (others come back unknown_unit). False when the queue is full (answer 503). The
  /// callback runs on a writer thread after the commit, with one outcome per report in order.
  bool submit(std::vector<domain::PositionReport> reports, std::string station, Callback done);
  std::size_t queue_depth() const;

  /// Counters since start.
  struct Stats {
    std::uint64_t batches{0};
    std::uint64_t reports{0};
    std::uint64_t pruned{0};
  };
  Stats stats() const;
  /// Deletes track points older than the retention, `prune_batch` rows per statement, until
  /// none is left; returns how many. Runs by itself every prune_interval; public for tests.
  static std::uint64_t prune_tracks(pqxx::connection& c, int retention_days, int batch);
  /// Writes what is queued, then joins the threads.
  void stop();

 private:
  struct Item {
    std::vector<domain::PositionReport> reports;
    std::string station;
    Callback done;
  };
  void run();
  void run_pruner();

  PositionWriterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable prune_cv_;
  std::deque<Item> queue_;
  std::size_t queued_reports_{0};
  bool stopping_{false};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> pruned_{0};
  std::vector<std::thread> threads_;
};

/// The result of a status change.
struct StatusChange {
  bool found{false};      ///< false: no such unit visible to the caller
  bool changed{false};    ///< false: the status was already this one (no event)
  std::string unit_json;  ///< the unit as GET /units lists it
  std::vector<domain::Frame> frames;  ///< the committed feed frame (when changed)
};

/// Sets a unit's status; when it changes, appends one `unit.status` event (with the unit's
/// station on the event row) as the last statement before the commit. `station` not empty:
/// only that station's units. `actor`: Principal::ref().
StatusChange set_unit_status(pqxx::connection& c, const std::string& unit_id, const std::string& status,
                             const std::string& station, const std::string& actor);

/// Filters of GET /api/v1/units (empty: any).
struct UnitFilter {
  std::vector<std::string> stations;
  std::vector<std::string> statuses;
  std::vector<std::string> kinds;
  std::string visible_station;  ///< not empty: only this station's units (station roles)
};
/// {"items":[...]} ordered by id, each with id, call_sign, kind, station_id, status,
/// position {lon, lat} or null, position_at, position_age_s, speed, heading.
std::string list_units(pqxx::connection& c, const UnitFilter& f);
/// One unit as list_units writes it, or nullopt when absent / not visible.
std::optional<std::string> unit_json(pqxx::connection& c, const std::string& id, const std::string& visible_station);

/// The track of a unit as GeoJSON: a FeatureCollection of Point features (properties at,
/// speed, heading) in time order, then one LineString feature (when there are >= 2 points);
/// top-level unit_id, from, to, count, truncated. nullopt when the unit is absent / not visible.
std::optional<std::string> unit_track(pqxx::connection& c, const std::string& id, const std::string& visible_station,
                                      const domain::TrackQuery& q);

/// A map request.
struct MapQuery {
  domain::BBox bbox;
  std::vector<std::string> layers;      ///< in kMapLayers order
  double simplify_m{0};                 ///< polygon simplification tolerance in metres (0: none)
  std::vector<std::string> incident_statuses;  ///< empty: open incidents only
  std::string visible_station;          ///< not empty: incidents and units of this station only
  int layer_cap{2000};                  ///< features per layer at most
};
/// One GeoJSON FeatureCollection with every feature's properties.layer, plus a top-level
/// "layers" object: {name: {count, truncated}}. The JSON is written by PostgreSQL.
std::string map_features(pqxx::connection& c, const MapQuery& q);

}  // namespace xiaonao::store
