#pragma once
/// Fusion's database side (docs/architecture.md, "Fusion"): locate and owner (run inside the
/// intake transaction by the alert writer, and by relocation and split), and the after-commit
/// stage (cameras, units, household, history) with its worker thread.
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/config/config.hpp"
#include "xiaonao/store/event_log.hpp"

namespace xiaonao::domain::reference {
struct Index;
}

namespace xiaonao::store {

namespace detail {
class Deferred;
}

/// The reference data in memory (store/reference_cache.hpp), current for the transaction that
/// is handed it; null: every part reads the tables.
using ReferenceIndex = domain::reference::Index;

/// Prepares fusion's statements on `c` (xn_locate, xn_owner, xn_merge_lock, xn_merge_cells, the after-commit ones); idempotent.
void prepare_fusion(pqxx::connection& c);

/// Thresholds of locate and owner.
struct LocateOptions {
  int nearest_zone_m = 500;
  double address_min_score = 0.3;
  double address_sure_score = 0.6;
};

/// What locate and owner found for one alert.
struct Located {
  std::optional<domain::GeoPoint> point;
  std::string located_by;  ///< location|marker|address|alias|fuzzy|subject|caller_phone (empty: not located)
  double confidence{0};
  std::string address_id;
  std::string candidates;  ///< JSON array text of an ambiguous address's candidates, else empty
  std::string station_id, zone_id, grid_id;
  std::string owner_flag;  ///< nearest_zone | no_zone | empty
};

/// One alert's locate as far as the reference data in memory settles it, worked out ahead of
/// its batch (AlertWriter::submit, on the request's I/O thread, while earlier batches are in
/// the database): the batch takes it when its own picture is this one.
struct PreLocated {
  std::shared_ptr<const ReferenceIndex> picture;
  Located located;
  bool settled = false;    ///< nothing left for the locate statement
  bool owned = false;      ///< its owner too (a located point)
  bool text_done = false;  ///< its address text matched every way: the statement is not sent it
  double seconds = 0;      ///< how long it took
};
PreLocated prelocate(const domain::AlertInput& alert, std::shared_ptr<const ReferenceIndex> picture,
                     const LocateOptions& options);
/// pre[i] when it was worked out with `ref`, else null.
inline const PreLocated* worked_out_with(const std::vector<const PreLocated*>& pre, std::size_t i,
                                         const ReferenceIndex* ref) {
  return ref && i < pre.size() && pre[i] && pre[i]->picture.get() == ref ? pre[i] : nullptr;
}

/// Locates the alerts whose `want[i]` is set (the others get an empty Located) and finds the
/// owner of each located point. Needs prepare_fusion on the transaction's connection. With
/// `ref`, what it can answer (location, marker, exact and alias address; zone and grid when one
/// covers the point) is answered from memory, and only the rest goes to the database.
/// `pre[i]`, when given and worked out with `ref`, stands for alert i's memory step.
std::vector<Located> locate_alerts(pqxx::transaction_base& w, const std::vector<const domain::AlertInput*>& alerts,
                                   const std::vector<bool>& want, const LocateOptions& options,
                                   const ReferenceIndex* ref = nullptr,
                                   const std::vector<const PreLocated*>& pre = {});

/// The owner (station, zone, grid, flag) of one point.
Located owner_of(pqxx::transaction_base& w, domain::GeoPoint at, int nearest_zone_m);

/// Settings of the after-commit stage.
struct FusionOptions {
  int cameras_max = 8;
  int camera_radius_m = 300;
  int units_max = 5;
  int unit_max_age_s = 600;
  int history_radius_m = 100;
  int history_days = 365;
  int history_max = 20;
  int household_max = 50;
};

/// The after-commit settings from the config's fusion section.
FusionOptions fusion_options(const config::Fusion& f);
/// The locate settings from the config's fusion section.
LocateOptions locate_options(const config::Fusion& f);

/// One incident as the parts of fusion need it.
struct FuseInput {
  std::string id, category, station;
  std::optional<domain::GeoPoint> at;
  std::string address_id;                  ///< empty: none
  domain::TimePoint received_at;
  std::vector<std::string> markers;        ///< marker codes its alerts named
  std::vector<std::string> caller_phones;  ///< as its alerts stored them
  std::vector<std::string> subject_phones;  ///< as given (normalised here)
  std::vector<std::string> subject_ids;
  bool draw_serial = false;  ///< a new incident: fuse_parts draws its serial (with `number_of`)
};

/// What the parts found for one incident: the JSON for incidents.fusion and the event.
struct Fused {
  std::string id;
  std::string fusion;
  NewEvent event;
};

/// An incident of the same intake batch, for the history of the others (not yet in the table).
struct HistoryEntry {
  domain::fusion::HistoryPeer peer;
  std::string number, category, status;
};

/// The number of incident `k` of a batch given its serial (the intake writer's format).
using NumberOf = std::function<std::string(std::size_t k, std::int64_t serial)>;

/// What the parts statement found for one incident, before ranking: its cameras, units,
/// household and history as the statement's JSON texts (empty: none).
struct PartsFound {
  std::array<std::string, 4> parts;
  int stale_units = 0;      ///< available units passed over for an old position
  std::int64_t serial = 0;  ///< the serial drawn for it, else 0
};

/// Writes the parts statement's fields of one incident into an open JSON object.
/// `household` is false when `ref` answers the household part from memory.
void write_fuse_input(domain::JsonWriter& w, const FuseInput& incident, bool draw, const ReferenceIndex* ref);

/// The parts of `incidents` by the parts statement, in their order; serials drawn for those
/// marked `draw_serial` when `draw`.
std::vector<PartsFound> read_parts(pqxx::transaction_base& w, const std::vector<FuseInput>& incidents,
                                   const FusionOptions& options, const ReferenceIndex* ref, bool draw);

/// The parts columns of a row, from column `first` on (cameras, units, household, history,
/// stale count, serial).
PartsFound parts_found(const pqxx::row& r, int first);

/// The intake's merge look-up with the parts guessed for each alert, in one round trip after
/// what `deferred` holds (the merge locks): `input` is a JSON array of write_fuse_input objects
/// with `idx`, `near` (look for open incidents near it), `cats` (the categories it may join) and
/// `spec` (guess its parts). One row per alert: idx, the open incidents near it (a JSON array of
/// [id, number, category, lon, lat, received µs, station, address_id, markers, callers,
/// subject phones, subject ids], or null), the id the parts were guessed for (or null), then
/// the parts columns (parts_found(r, 3)). Without `parts` the look-up alone (no guesses, and
/// no dependence on the parts' tables). See docs/architecture.md, "Fusion".
pqxx::result near_parts(pqxx::transaction_base& w, detail::Deferred& deferred, const std::string& input,
                        const FusionOptions* parts, const ReferenceIndex* ref, int merge_radius_m,
                        int merge_window_s);

/// Ranks what the parts statement found into each incident's fusion and event; `peers` join
/// the history lists by domain::fusion::history_reasons. With `number_of`, each incident marked
/// `draw_serial` is numbered with its found serial, and the peers, which are then those
/// incidents, first and in the same order, get their numbers.
std::vector<Fused> rank_parts(const std::vector<FuseInput>& incidents, std::vector<PartsFound> found,
                              const FusionOptions& options, const std::string& now_text,
                              std::vector<HistoryEntry> peers, const ReferenceIndex* ref, const NumberOf& number_of);

/// Cameras, units, household and history of `incidents` in one statement, ranked by the domain
/// rules; `peers` join the history lists by domain::fusion::history_reasons. Stores nothing.
/// With `ref` the cameras come from memory and the statement reads the rest. With `number_of`
/// the same statement also draws the serial of each incident marked `draw_serial`
/// (handed to `number_of`; intake's new incidents, which saves the serials their own round
/// trip), and the peers, which are then those incidents, first and in the same order, are
/// numbered with it.
std::vector<Fused> fuse_parts(pqxx::transaction_base& w, const std::vector<FuseInput>& incidents,
                              const FusionOptions& options, const std::string& now_text,
                              std::vector<HistoryEntry> peers = {}, const ReferenceIndex* ref = nullptr,
                              const NumberOf& number_of = {});

/// Cameras, units, household and history of `incident_ids` (read from the tables: what each
/// incident is, then fuse_parts), stored into incidents.fusion + fused_at, with one
/// `incident.fused` event each (no personal data), in one transaction of its own; returns
/// the feed frames to publish (relocation, split, the sweep, and intake when
/// fusion.in_transaction is off or the in-transaction run failed).
std::vector<domain::Frame> fuse_incidents(pqxx::connection& c, const std::vector<std::string>& incident_ids,
                                          const FusionOptions& options);

/// Runs fuse_incidents on its own thread and connection for the incidents the intake writer
/// committed, so the intake answer never waits for it. The queue lives in memory, so every
/// `sweep_interval_s` (and soon after start) the worker also looks for open incidents of the
/// last day that are still unfused (a crash after the commit, a full queue, a database outage
/// longer than the retries) and fuses them; 0 turns the sweep off.
class FusionWorker {
 public:
  using FrameSink = std::function<void(std::vector<domain::Frame>)>;
  FusionWorker(std::string conninfo, int statement_timeout_ms, FusionOptions options, FrameSink sink,
               std::function<void(double)> observe, int sweep_interval_s = 0, std::size_t queue_limit = 100000);
  ~FusionWorker();
  FusionWorker(const FusionWorker&) = delete;
  FusionWorker& operator=(const FusionWorker&) = delete;

  /// Queues incidents for fusion; over the queue limit they are dropped (logged; the sweep
  /// finds them later, since their fused_at stays null).
  void enqueue(std::vector<std::string> incident_ids);
  std::size_t queue_depth() const;
  /// Fuses what is queued, then joins the thread.
  void stop();

 private:
  void run();
  /// Queues the unfused open incidents the sweep finds; false when it could not look.
  bool sweep(std::unique_ptr<pqxx::connection>& conn);
  std::string conninfo_;
  int statement_timeout_ms_;
  FusionOptions options_;
  FrameSink sink_;
  std::function<void(double)> observe_;
  int sweep_interval_s_;
  std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_{false};
  std::thread thread_;
};

/// PATCH /api/v1/incidents/{id}: where an operator says the incident is.
using Relocation = domain::fusion::Relocation;

/// The outcome of an operator's change: 404 unknown, 409 refused, 422 bad reference.
struct IncidentChange {
  std::vector<std::string> incident_ids;  ///< to fuse again
  std::vector<domain::Frame> frames;      ///< committed events to publish
  std::string new_incident_id;            ///< split: the incident the alert opened
  std::string new_incident_number;
};

/// Sets the incident's location (located_by = manual), re-runs owner, appends
/// `incident.located`. `may_see(station_id, shared_with)` decides visibility (else 404).
domain::Result<IncidentChange> relocate_incident(
    pqxx::connection& c, const std::string& incident_id, const Relocation& r, int nearest_zone_m,
    const std::function<bool(const std::string&, const std::vector<std::string>&)>& may_see);

/// Moves a merged alert out of its incident into a new one (new number, located and owned
/// again), appends `alert.split`. 409 when the alert is the incident's first alert.
domain::Result<IncidentChange> split_alert(
    pqxx::connection& c, const std::string& incident_id, const std::string& alert_id, const LocateOptions& lo,
    int utc_offset_minutes,
    const std::function<bool(const std::string&, const std::vector<std::string>&)>& may_see);

}  // namespace xiaonao::store
