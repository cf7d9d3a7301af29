#include "xiaonao/store/alert_writer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>

#include <pqxx/pqxx>

#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/normalize.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/event_log.hpp"
#include "batch_retry.hpp"
#include "deferred.hpp"
#include "json_params.hpp"
#include "xiaonao/store/fusion.hpp"
#include "xiaonao/store/readers.hpp"
#include "xiaonao/store/reference_cache.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using domain::JsonWriter;
using detail::lon_lat;
using detail::optional_text;
using detail::text_or_null;

// Step 1 of a batch: insert the alerts; a (source, source_ref) already stored is skipped. Each
// row also carries the reference data's version sum in this statement's snapshot: fusion uses
// the picture in memory only when it is of that version (store/reference_cache.hpp).
// Rows are inserted in key order so that concurrent batches take index locks in one order
// and cannot deadlock. Serial numbers are drawn later, only for alerts that open an incident
// (a merged alert draws none).
constexpr const char* insert_alerts_sql = R"sql(
WITH input AS (
  SELECT * FROM json_to_recordset($1::json) AS x(
    idx int, alert_id uuid, incident_id uuid, source text, source_ref text, received_at timestamptz,
    category text, priority smallint, caller_phone text, caller_name text, lon float8, lat float8,
    address text, marker text, subject_phone text, subject_id_number text, description text,
    submitted_by text)
), ins AS (
  INSERT INTO alerts (id, incident_id, source, source_ref, received_at, category, priority,
                      caller_phone, caller_name, location, address, marker, subject_phone,
                      subject_id_number, description, created_at, submitted_by)
  SELECT alert_id, incident_id, source, source_ref, received_at, category, priority,
         caller_phone, caller_name,
         CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
         address, marker, subject_phone, subject_id_number, description, $2::timestamptz, submitted_by
  FROM input ORDER BY source, source_ref
  ON CONFLICT (source, source_ref) DO NOTHING
  RETURNING id
)
SELECT i.idx, (SELECT coalesce(sum(version), 0)::bigint FROM reference_versions)
FROM input i JOIN ins ON ins.id = i.alert_id
)sql";

// For keys that were already stored: the ids the first request got.
constexpr const char* existing_alerts_sql = R"sql(
SELECT k.idx, a.id, a.incident_id, i.number, a.merged
FROM json_to_recordset($1::json) AS k(idx int, source text, source_ref text)
JOIN alerts a ON a.source = k.source AND a.source_ref = k.source_ref
JOIN incidents i ON i.id = a.incident_id
)sql";

// Step 2 (fusion, locate and owner): store::locate_alerts (src/store/fusion.cpp).

// Step 3 (the merge look-up, under the merge locks, with the parts guessed in the same
// statement): store::near_parts (src/store/fusion.cpp).

// Serial numbers for the incidents a batch opens.
constexpr const char* serials_sql = "SELECT nextval('incident_serial') FROM generate_series(1, $1)";

// Step 4: the incidents the batch opens, with what locate and owner found and, when fusion runs
// in the transaction, what the parts found (so the row is written once); an alert of a source in
// loop.auto_assess_sources opens its incident already assessed (no extra statement). This runs before
// the feed_seq lock, so that the lock is held only for the event rows and the commit.
constexpr const char* insert_incidents_sql = R"sql(
INSERT INTO incidents (id, number, category, priority, received_at, location, address,
                       description, created_at, updated_at, station_id, zone_id, grid_id, address_id,
                       located_by, location_confidence, location_candidates, needs_location, owner_flag,
                       status, assessed_at, fusion, fused_at, unfused, alert_markers, alert_callers,
                       alert_subject_phones, alert_subject_ids)
SELECT id, number, category, priority, received_at,
       CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
       address, description, $2::timestamptz, $2::timestamptz, station_id, zone_id, grid_id, address_id,
       located_by, confidence, candidates, coalesce(needs_location, false), owner_flag,
       CASE WHEN assessed THEN 'assessed' ELSE 'received' END,
       CASE WHEN assessed THEN $2::timestamptz END, fusion, CASE WHEN fusion IS NOT NULL THEN $2::timestamptz END,
       fusion IS NULL, markers, callers, subject_phones, subject_ids
FROM json_to_recordset($1::json) AS x(id uuid, number text, category text, priority smallint,
     received_at timestamptz, lon float8, lat float8, address text, description text, station_id text,
     zone_id text, grid_id text, address_id text, located_by text, confidence real, candidates json,
     needs_location boolean, owner_flag text, assessed boolean, fusion json, markers text[], callers text[],
     subject_phones text[], subject_ids text[])
)sql";

// Step 5: merged alerts move to their incident; each target counts them, takes the highest
// priority (the smallest number) and adds their markers, callers and subjects to its lists.
constexpr const char* merge_alerts_sql = R"sql(
UPDATE alerts a SET incident_id = x.incident_id, merged = true
FROM json_to_recordset($1::json) AS x(alert_id uuid, incident_id uuid)
WHERE a.id = x.alert_id
)sql";
// With fusion in the transaction each record also carries the incident's new fusion, stored by
// this same update: one new row version per joined incident, not two, and a HOT one when its
// page has room (no indexed column changes, 020). The rows are locked in id
// order first, as the fusion worker's store (xn_fuse_store) locks them, so the two cannot
// deadlock.
constexpr const char* bump_incidents_sql = R"sql(
WITH x AS (
  SELECT * FROM json_to_recordset($1::json) AS x(id uuid, n int, priority smallint, markers text[], callers text[],
                                                 subject_phones text[], subject_ids text[], fusion json)
),
lk AS (SELECT i.id FROM incidents i WHERE i.id IN (SELECT id FROM x) ORDER BY i.id FOR NO KEY UPDATE)
UPDATE incidents i SET alert_count = i.alert_count + x.n, priority = LEAST(i.priority, x.priority),
       updated_at = $2::timestamptz,
       alert_markers = ARRAY(SELECT DISTINCT e FROM unnest(i.alert_markers || x.markers) e),
       alert_callers = ARRAY(SELECT DISTINCT e FROM unnest(i.alert_callers || x.callers) e),
       alert_subject_phones = ARRAY(SELECT DISTINCT e FROM unnest(i.alert_subject_phones || x.subject_phones) e),
       alert_subject_ids = ARRAY(SELECT DISTINCT e FROM unnest(i.alert_subject_ids || x.subject_ids) e),
       fusion = coalesce(x.fusion, i.fusion),
       fused_at = CASE WHEN x.fusion IS NULL THEN i.fused_at ELSE $2::timestamptz END,
       unfused = i.unfused AND x.fusion IS NULL
FROM x JOIN lk ON lk.id = x.id
WHERE i.id = x.id
)sql";

// Step 6, last before COMMIT: store::append_events_sql takes the feed_seq row lock (held
// until commit, so seqs are visible in the order they were handed out), writes the events with
// consecutive seqs and notifies every instance. Everything else is written before: the lock is
// held only this long.

// The batch statements are prepared once per connection: planning these CTEs on every batch
// costs more than running them.
std::unique_ptr<pqxx::connection> open_writer_connection(const AlertWriterOptions& o) {
  auto c = open_connection(o.conninfo, o.statement_timeout_ms, true);
  c->prepare("xn_insert_alerts", insert_alerts_sql);
  c->prepare("xn_existing_alerts", existing_alerts_sql);
  c->prepare("xn_insert_incidents", insert_incidents_sql);
  c->prepare("xn_serials", serials_sql);
  c->prepare("xn_merge_alerts", merge_alerts_sql);
  c->prepare("xn_bump_incidents", bump_incidents_sql);
  c->prepare("xn_append", append_events_sql);
  // Prepared, as a plain query it was planned on every batch (about 30 µs here).
  c->prepare("xn_appended", "SELECT current_setting('xiaonao.appended')::bigint");
  prepare_fusion(*c);
  return c;
}

LocateOptions locate_options_of(const AlertWriterOptions& o) {
  return {o.nearest_zone_m, o.address_min_score, o.address_sure_score};
}

}  // namespace

std::string answer_json(const IngestResult& r) {
  return domain::alert_answer_json(r.alert_id, r.incident_id, r.incident_number, r.merged, r.created);
}

AlertWriter::AlertWriter(AlertWriterOptions options, CommitSink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  for (int i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this, i] {
      log::name_thread("xn-intake-" + std::to_string(i));
      run(i == 0);
    });
}

AlertWriter::~AlertWriter() { stop(); }

bool AlertWriter::submit(domain::AlertInput alert, Callback done) {
  // Locate from memory here, on the caller's thread while earlier batches are in the database,
  // rather than on the writer's, where every alert of a batch waits for the others'.
  std::optional<PreLocated> pre;
  if (options_.reference) {
    if (auto picture = options_.reference->current())
      pre = prelocate(alert, std::move(picture), locate_options_of(options_));
  }
  bool overflow = false;
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= options_.queue_limit) return false;
    // An overflow writer starts watching the first writer's batch when work begins to wait
    // behind it (once a batch, not once an alert).
    overflow = options_.threads > 1 && (options_.overflow_ms == 0 || (queue_.empty() && first_busy_since_));
    queue_.push_back(Item{std::move(alert), std::move(done), std::move(pre)});
  }
  cv_.notify_one();
  if (overflow) overflow_cv_.notify_one();
  return true;
}

bool AlertWriter::overflow_may_take(std::optional<std::chrono::steady_clock::time_point>& until) const {
  until.reset();
  if (queue_.empty()) return false;
  if (stopping_ || options_.overflow_ms == 0) return true;
  if (!first_busy_since_) return false;  // the first writer is about to take it
  const auto due = *first_busy_since_ + std::chrono::milliseconds(options_.overflow_ms);
  if (std::chrono::steady_clock::now() >= due) return true;
  until = due;
  return false;
}

std::size_t AlertWriter::queue_depth() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

AlertWriter::Stats AlertWriter::stats() const {
  return Stats{batches_.load(std::memory_order_relaxed), batch_alerts_.load(std::memory_order_relaxed),
               static_cast<double>(batch_micros_.load(std::memory_order_relaxed)) / 1e6,
               parts_guessed_.load(std::memory_order_relaxed), parts_rerun_.load(std::memory_order_relaxed),
               retries_.load(std::memory_order_relaxed)};
}

void AlertWriter::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  overflow_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

namespace {

// How the parts of a batch's incidents were found (AlertWriter::Stats).
struct PartsCount {
  std::size_t guessed = 0, rerun = 0;
};

// Writes one batch in one transaction. Returns a result per item and fills `frames`,
// `touched` (the incidents opened or joined; fused inside the transaction when `fuse`) and
// `parts`.
// The statements' JSON parameters are written directly as text, without JSON trees.
std::vector<domain::Result<IngestResult>> write_batch_open(pqxx::connection& conn,
                                                      const std::vector<const domain::AlertInput*>& batch,
                                                      const std::vector<const PreLocated*>& pre,
                                                      const AlertWriterOptions& options, bool fuse,
                                                      std::vector<domain::Frame>& frames,
                                                      std::vector<std::string>& touched, PartsCount& parts) {
  const auto now = domain::now_utc();
  const auto now_text = domain::format_rfc3339(now);
  const auto alert = [&batch](std::size_t i) -> const domain::AlertInput& { return *batch[i]; };
  const auto auto_assessed = [&](std::size_t i) {
    const auto& src = alert(i).source;
    return std::find(options.auto_assess_sources.begin(), options.auto_assess_sources.end(), src) !=
           options.auto_assess_sources.end();
  };
  const std::size_t count = batch.size();

  // Items with the same key inside one batch share the first one's outcome.
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> first_of;
  std::vector<std::size_t> primary(count);
  std::vector<std::string> alert_ids(count), incident_ids(count), received(count);
  std::string input;
  input.reserve(count * 700);
  {
    JsonWriter w(input);
    w.begin_array();
    for (std::size_t i = 0; i < count; ++i) {
      const auto& a = alert(i);
      auto [it, fresh] = first_of.try_emplace({a.source, a.source_ref}, i);
      primary[i] = it->second;
      if (!fresh) continue;
      alert_ids[i] = domain::new_uuid();
      incident_ids[i] = domain::new_uuid();
      received[i] = domain::format_rfc3339(a.received_at);
      w.begin_object();
      w.key("idx").integer(static_cast<std::int64_t>(i));
      w.key("alert_id").string(alert_ids[i]);
      w.key("incident_id").string(incident_ids[i]);
      w.key("source").string(a.source);
      w.key("source_ref").string(a.source_ref);
      w.key("received_at").string(received[i]);
      w.key("category").string(a.category);
      w.key("priority").integer(a.priority.value_or(4));
      text_or_null(w, "caller_phone", a.caller ? &a.caller->phone : nullptr);
      text_or_null(w, "caller_name", a.caller ? &a.caller->name : nullptr);
      lon_lat(w, a.location);
      text_or_null(w, "address", &a.address);
      text_or_null(w, "marker", &a.marker);
      text_or_null(w, "subject_phone", a.subject ? &a.subject->phone : nullptr);
      text_or_null(w, "subject_id_number", a.subject ? &a.subject->id_number : nullptr);
      text_or_null(w, "description", &a.description);
      if (!a.submitted_by.empty()) w.key("submitted_by").string(a.submitted_by);
      w.end_object();
    }
    w.end_array();
  }

  std::vector<domain::Result<IngestResult>> results(
      count, domain::Result<IngestResult>(Error{ErrorKind::internal, "alert was not stored", ""}));
  std::vector<bool> inserted(count, false);
  std::size_t inserted_count = 0;

  // The transaction is begun and committed by statements of its own, each sent with its
  // neighbours (BEGIN with the alert insert, COMMIT with the event append): two round trips
  // fewer a batch. write_batch rolls back whatever this leaves open when it throws.
  pqxx::nontransaction w(conn);
  detail::Deferred deferred;  // writes whose result is not needed wait for the next read
  std::optional<std::int64_t> reference_version;
  deferred.add_sql("BEGIN");
  for (const auto& row : deferred.exec(w, "xn_insert_alerts", input, now_text)) {
    inserted[row[0].as<std::size_t>()] = true;
    ++inserted_count;
    reference_version = row[1].as<std::int64_t>();
  }
  // The reference data in memory, if it is what this transaction would read from the tables.
  std::shared_ptr<const ReferenceIndex> reference;
  if (options.reference && reference_version) reference = options.reference->current_for(*reference_version);
  const ReferenceIndex* ref = reference.get();

  std::string lookup;
  {
    JsonWriter lw(lookup);
    lw.begin_array();
    for (std::size_t i = 0; i < count; ++i) {
      if (primary[i] == i && !inserted[i]) {
        lw.begin_object();
        lw.key("idx").integer(static_cast<std::int64_t>(i));
        lw.key("source").string(alert(i).source);
        lw.key("source_ref").string(alert(i).source_ref);
        lw.end_object();
      }
    }
    lw.end_array();
  }
  if (lookup.size() > 2) {
    for (const auto& row : w.exec_prepared("xn_existing_alerts", lookup)) {
      const auto idx = row[0].as<std::size_t>();
      results[idx] = IngestResult{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                                  row[4].as<bool>(), false};
    }
  }

  // Fusion inside the transaction: locate, owner, then the merge decision.
  const auto fusion_started = std::chrono::steady_clock::now();
  std::vector<Located> located(count);
  if (inserted_count > 0)
    located = locate_alerts(w, batch, inserted, locate_options_of(options), ref, pre);

  // The merge decision reads open incidents and then inserts new ones: two batches deciding at
  // once could each miss the other's new incident. Transaction-scoped advisory locks serialize
  // the decisions of batches whose alerts are near each other, across writer threads and
  // instances: one key per ~1 km cell that the alerts' merge radius touches
  // (domain::fusion::merge_locks), so batches far apart decide in parallel. Only batches with a
  // located alert take them, after the (slower) locate statement; they are released at commit.
  std::vector<std::optional<domain::fusion::MergeAlert>> merge_input(count);
  std::vector<domain::fusion::MergeCandidate> open;
  // By id: its number, what fusing it again needs, and its alerts' markers, callers and
  // subjects.
  struct Stored {
    std::string number;
    FuseInput fuse;
    std::array<std::vector<std::string>, 4> lists;
  };
  std::map<std::string, Stored> stored;
  bool any_located = false;
  for (std::size_t i = 0; i < count; ++i) {
    if (inserted[i] && located[i].point) {
      any_located = true;
      merge_input[i] = domain::fusion::MergeAlert{alert(i).category, *located[i].point, alert(i).received_at};
    }
  }
  const bool merging = any_located && options.merge_radius_m > 0;
  const domain::fusion::MergeRule rule{static_cast<double>(options.merge_radius_m), options.merge_window_s};
  // The parts are guessed in the merge look-up's round trip for each alert that no other alert
  // of the batch joins or is joined by (domain::fusion::plan_merges among the batch alone): the
  // incident it opens, or the open incident near it that it would join (near_parts; the plan below decides
  // which guesses hold).
  std::vector<bool> spec(count, false);
  if (fuse) {
    const auto among = merging ? domain::fusion::plan_merges(merge_input, {}, incident_ids, rule)
                               : domain::fusion::MergePlan{std::vector<int>(count, -1), {}, {}};
    for (std::size_t i = 0; i < count; ++i) spec[i] = inserted[i] && among.target[i] < 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (const auto t = among.target[i]; t >= 0) spec[static_cast<std::size_t>(among.opened_by[static_cast<std::size_t>(t)])] = false;
    }
  }
  // Adds the markers, callers and subjects alert i names to four lists (each once).
  const auto bring = [&](std::array<std::vector<std::string>*, 4> to, std::size_t i) {
    const auto add = [](std::vector<std::string>& v, const std::optional<std::string>& s) {
      if (s && !s->empty() && std::find(v.begin(), v.end(), *s) == v.end()) v.push_back(*s);
    };
    const auto& a = alert(i);
    add(*to[0], a.marker);
    if (a.caller) add(*to[1], a.caller->phone);
    if (a.subject) {
      add(*to[2], a.subject->phone);
      add(*to[3], a.subject->id_number);
    }
  };
  const auto lists_in = [](FuseInput& f) {
    return std::array{&f.markers, &f.caller_phones, &f.subject_phones, &f.subject_ids};
  };
  // The incident alert i opens, as fusion sees it (lists: what the alert names).
  const auto own_incident = [&](std::size_t i) {
    FuseInput f;
    f.id = incident_ids[i];
    f.category = alert(i).category;
    f.station = located[i].station_id;
    f.at = located[i].point;
    f.address_id = located[i].address_id;
    f.received_at = alert(i).received_at;
    f.draw_serial = true;
    bring(lists_in(f), i);
    return f;
  };
  struct Guess {
    std::string id;  // the incident the parts were guessed for
    PartsFound found;
  };
  std::map<std::size_t, Guess> guessed;  // by alert
  if (merging || std::find(spec.begin(), spec.end(), true) != spec.end()) {
    if (merging) {
      std::vector<domain::GeoPoint> points;
      for (const auto& m : merge_input) {
        if (m) points.push_back(m->at);
      }
      // The locks and the look-up go in one round trip: the look-up's snapshot is taken when it
      // starts, after the locks are held (detail::Deferred).
      const auto locks = domain::fusion::merge_locks(points, options.merge_radius_m);
      if (locks.global) {
        deferred.add(w, "xn_merge_lock");
      } else {
        std::string cells = "{";
        for (const auto k : locks.cells) cells += (cells.size() > 1 ? "," : "") + std::to_string(k);
        cells += "}";
        deferred.add(w, "xn_merge_cells", cells);
      }
    }
    std::string near;
    JsonWriter nw(near);
    nw.begin_array();
    for (std::size_t i = 0; i < count; ++i) {
      const bool look = merging && merge_input[i];
      if (!look && !spec[i]) continue;
      nw.begin_object();
      nw.key("idx").integer(static_cast<std::int64_t>(i));
      write_fuse_input(nw, own_incident(i), true, ref);
      nw.key("near").boolean(look);
      nw.key("spec").boolean(spec[i]);
      nw.key("category").string(alert(i).category);
      nw.key("cats").begin_array();
      for (const auto& c : domain::fusion::related_to(alert(i).category)) nw.string(c);
      nw.end_array();
      nw.end_object();
    }
    nw.end_array();
    std::set<std::string> seen;
    for (const auto& r : near_parts(w, deferred, near, fuse ? &*options.fuse : nullptr, ref,
                                    options.merge_radius_m, options.merge_window_s)) {
      const auto idx = r[0].as<std::size_t>();
      if (!r[2].is_null()) guessed[idx] = {r[2].as<std::string>(), parts_found(r, 3)};
      if (r[1].is_null()) continue;
      domain::each_json_row(std::string_view(r[1].c_str(), r[1].size()), [&](domain::JsonRow& c) {
        auto id = c.next().string();
        auto number = c.next().string();
        auto category = c.next().string();
        const double lon = c.next().number();
        const double lat = c.next().number();
        const domain::TimePoint received_at(std::chrono::microseconds(c.next().integer()));
        auto station = c.next().string();
        auto address_id = c.next().string_or_null();
        std::array<std::vector<std::string>, 4> lists;
        for (auto& l : lists) l = c.next().strings();
        if (!seen.insert(id).second) return;
        open.push_back({id, category, {lon, lat}, received_at});
        auto& s = stored[id];
        s.number = std::move(number);
        s.fuse.id = id;
        s.fuse.category = std::move(category);
        s.fuse.station = std::move(station);
        s.fuse.at = open.back().at;
        s.fuse.address_id = address_id.value_or(std::string());
        s.fuse.received_at = received_at;
        s.lists = std::move(lists);
      });
    }
  }
  auto plan = merging ? domain::fusion::plan_merges(merge_input, std::move(open), incident_ids, rule)
                      : domain::fusion::MergePlan{std::vector<int>(count, -1), {}, {}};

  // Serial numbers only for the alerts that open an incident: drawn by the parts statement
  // below when the parts run in this transaction, else here.
  std::size_t opening = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (inserted[i] && plan.target[i] < 0) ++opening;
  }
  std::vector<std::int64_t> serial(count, 0);
  if (opening > 0 && !fuse) {
    const auto rows = w.exec_prepared("xn_serials", static_cast<std::int64_t>(opening));
    std::size_t k = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (inserted[i] && plan.target[i] < 0) serial[i] = rows[k++][0].as<std::int64_t>();
    }
  }

  std::vector<std::string> numbers(count);
  const auto number_of = [&](std::size_t i) {
    numbers[i] = domain::format_incident_number(alert(i).received_at, serial[i], options.utc_offset_minutes);
    return numbers[i];
  };
  if (!fuse) {
    for (std::size_t i = 0; i < count; ++i)
      if (inserted[i] && plan.target[i] < 0) number_of(i);
  }

  // The rest of fusion for the incidents the batch opens, before they are written, so that each
  // row is inserted once, already fused: their inputs are the alerts that open or join them in
  // this batch, and they are each other's history peers (not in the table yet).
  const auto parts_started = std::chrono::steady_clock::now();
  if (options.observe_fusion && inserted_count > 0)
    options.observe_fusion("intake", std::chrono::duration<double>(parts_started - fusion_started).count());
  // The markers, callers and subjects that this batch's alerts bring to each incident they open
  // or join, for its lists (018).
  std::map<std::string, std::array<std::vector<std::string>, 4>> lists_of;
  for (std::size_t i = 0; i < count; ++i) {
    if (!inserted[i]) continue;
    const auto t = plan.target[i];
    auto& l = lists_of[t < 0 ? incident_ids[i] : plan.targets[static_cast<std::size_t>(t)].id];
    bring({&l[0], &l[1], &l[2], &l[3]}, i);
  }
  const auto write_lists = [&](JsonWriter& jw, const std::string& id) {
    static constexpr const char* names[] = {"markers", "callers", "subject_phones", "subject_ids"};
    const auto& l = lists_of[id];
    for (std::size_t k = 0; k < 4; ++k) {
      jw.key(names[k]).begin_array();
      for (const auto& s : l[k]) jw.string(s);
      jw.end_array();
    }
  };
  std::vector<std::string> fusion_of(count);  // by the index of the alert that opens the incident
  std::map<std::string, std::string> joined_fusion;  // the new fusion of each stored incident joined
  std::vector<NewEvent> fused_events;
  if (fuse) {
    // Each incident's markers, callers and subjects: a stored one's lists (from the merge
    // look-up), then what this batch's alerts bring to it (lists_of), each once.
    const auto join = [](std::vector<std::string>& to, std::vector<std::string> from) {
      for (auto& s : from)
        if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(std::move(s));
    };
    const auto take_lists = [&](FuseInput& f) {
      const auto to = lists_in(f);
      for (std::size_t k = 0; k < 4; ++k) join(*to[k], lists_of[f.id][k]);
    };
    std::vector<FuseInput> opened;
    std::vector<std::size_t> opener;
    for (std::size_t i = 0; i < count; ++i) {
      if (!inserted[i] || plan.target[i] >= 0) continue;
      opener.push_back(i);
      FuseInput f = own_incident(i);
      take_lists(f);
      opened.push_back(std::move(f));
    }
    // The stored incidents that alerts of the batch join are fused again in the same statement,
    // after the new ones: what they are came with the merge look-up (the batch's alerts are
    // moved into them by the deferred writes).
    const std::size_t new_count = opened.size();
    std::vector<std::string> joined;  // in the order the batch's alerts first join them
    for (std::size_t i = 0; i < count; ++i) {
      const auto t = plan.target[i];
      if (!inserted[i] || t < 0 || plan.opened_by[static_cast<std::size_t>(t)] >= 0) continue;
      const auto& id = plan.targets[static_cast<std::size_t>(t)].id;
      if (std::find(joined.begin(), joined.end(), id) != joined.end()) continue;
      joined.push_back(id);
      opener.push_back(i);  // the first alert that joins it
      const auto& [number, fuse, lists] = stored.at(id);
      FuseInput f = fuse;
      const auto to = lists_in(f);
      for (std::size_t k = 0; k < 4; ++k) join(*to[k], lists[k]);
      take_lists(f);
      opened.push_back(std::move(f));
    }
    // The new incidents are not in the table the history reads: they are everyone's peers.
    std::vector<HistoryEntry> peers;  // numbered by rank_parts with the serials drawn
    if (opened.size() > 1) {
      for (std::size_t k = 0; k < new_count; ++k) {
        const auto& f = opened[k];
        peers.push_back({{f.id, f.received_at, f.at, f.address_id, f.caller_phones},
                         "",
                         f.category,
                         auto_assessed(opener[k]) ? "assessed" : "received"});
      }
    }
    // A guess made with the merge look-up holds when the plan agrees: the alert opens its
    // incident and none joins it, or it is the only alert of the batch that joins the incident
    // guessed. The rest go to the parts statement (a new incident whose serial the guess drew
    // keeps it).
    std::vector<int> joiners(plan.targets.size(), 0);
    for (std::size_t i = 0; i < count; ++i)
      if (inserted[i] && plan.target[i] >= 0) ++joiners[static_cast<std::size_t>(plan.target[i])];
    std::vector<int> own_target(count, -1);  // the plan's target that alert i opened, if any
    for (std::size_t t = 0; t < plan.opened_by.size(); ++t)
      if (plan.opened_by[t] >= 0) own_target[static_cast<std::size_t>(plan.opened_by[t])] = static_cast<int>(t);
    // A serial drawn for an alert that then joined an incident (the look-up's sphere and
    // distance_m disagreeing at the radius's edge) is skipped, never reused.
    for (const auto& [i, g] : guessed)
      if (g.found.serial != 0 && plan.target[i] >= 0) log::info("intake.serial_unused", {{"serial", g.found.serial}});
    std::vector<PartsFound> found(opened.size());
    std::vector<FuseInput> rest;
    std::vector<std::size_t> rest_at;
    for (std::size_t k = 0; k < opened.size(); ++k) {
      const auto i = opener[k];
      const auto g = guessed.find(i);
      const bool is_new = k < new_count;
      const auto t = is_new ? own_target[i] : plan.target[i];
      // (A new incident that is no merge target, an alert without a place, cannot be joined.)
      const bool holds = g != guessed.end() && g->second.id == opened[k].id &&
                         (t >= 0 ? joiners[static_cast<std::size_t>(t)] == (is_new ? 0 : 1) : is_new);
      if (holds) {
        found[k] = std::move(g->second.found);
        continue;
      }
      FuseInput f = opened[k];
      if (is_new && g != guessed.end() && g->second.found.serial != 0) {
        found[k].serial = g->second.found.serial;  // drawn with the guess: its own
        f.draw_serial = false;
      }
      rest.push_back(std::move(f));
      rest_at.push_back(k);
    }
    parts.guessed += opened.size() - rest.size();
    parts.rerun += rest.size();
    auto more = read_parts(w, rest, *options.fuse, ref, true);
    for (std::size_t r = 0; r < rest.size(); ++r) {
      const auto serial_drawn = found[rest_at[r]].serial;
      found[rest_at[r]] = std::move(more[r]);
      if (serial_drawn != 0) found[rest_at[r]].serial = serial_drawn;
    }
    auto fused = rank_parts(opened, std::move(found), *options.fuse, now_text, std::move(peers), ref,
                            [&](std::size_t k, std::int64_t s) {
                              serial[opener[k]] = s;
                              return number_of(opener[k]);
                            });
    for (std::size_t k = 0; k < fused.size(); ++k) {
      if (k < new_count) {
        fusion_of[opener[k]] = std::move(fused[k].fusion);
      } else {
        joined_fusion[fused[k].id] = std::move(fused[k].fusion);
      }
      fused_events.push_back(std::move(fused[k].event));
    }
  }

  // Each event's data is serialized once: the same text goes to the table and to the feed.
  std::vector<NewEvent> events;
  events.reserve(count * 3);
  std::string incidents;
  incidents.reserve(count * 2000);
  JsonWriter iw(incidents);
  iw.begin_array();
  for (std::size_t i = 0; i < count; ++i) {
    if (!inserted[i] || plan.target[i] >= 0) continue;
    const auto& a = alert(i);
    const auto& l = located[i];
    iw.begin_object();
    iw.key("id").string(incident_ids[i]);
    iw.key("number").string(numbers[i]);
    iw.key("category").string(a.category);
    iw.key("priority").integer(a.priority.value_or(4));
    iw.key("received_at").string(received[i]);
    lon_lat(iw, l.point);
    text_or_null(iw, "address", &a.address);
    text_or_null(iw, "description", &a.description);
    optional_text(iw, "station_id", l.station_id);
    optional_text(iw, "zone_id", l.zone_id);
    optional_text(iw, "grid_id", l.grid_id);
    optional_text(iw, "address_id", l.address_id);
    optional_text(iw, "located_by", l.located_by);
    iw.key("confidence");
    l.point ? iw.number(l.confidence) : iw.null();
    iw.key("candidates");
    l.candidates.empty() ? iw.null() : iw.raw(l.candidates);
    iw.key("needs_location").boolean(!l.point);
    optional_text(iw, "owner_flag", l.owner_flag);
    iw.key("assessed").boolean(auto_assessed(i));
    iw.key("fusion");
    fusion_of[i].empty() ? iw.null() : iw.raw(fusion_of[i]);
    write_lists(iw, incident_ids[i]);
    iw.end_object();
  }
  iw.end_array();

  // Merged alerts: move them, count them on their targets, answer with the target's ids.
  std::string moves, bumps;
  std::map<std::string, std::pair<int, int>> bump;  // incident id → (alerts joined, best priority)
  {
    JsonWriter mw(moves);
    mw.begin_array();
    for (std::size_t i = 0; i < count; ++i) {
      if (!inserted[i] || plan.target[i] < 0) continue;
      const auto t = static_cast<std::size_t>(plan.target[i]);
      mw.begin_object();
      mw.key("alert_id").string(alert_ids[i]);
      mw.key("incident_id").string(plan.targets[t].id);
      mw.end_object();
      auto [it, fresh] = bump.try_emplace(plan.targets[t].id, 0, 4);
      it->second.first += 1;
      it->second.second = std::min(it->second.second, alert(i).priority.value_or(4));
    }
    mw.end_array();
    JsonWriter bw(bumps);
    bw.begin_array();
    for (const auto& [id, nb] : bump) {
      bw.begin_object();
      bw.key("id").string(id);
      bw.key("n").integer(nb.first);
      bw.key("priority").integer(nb.second);
      write_lists(bw, id);
      // Its new fusion, stored by the same update (one new row version per joined incident).
      if (const auto f = joined_fusion.find(id); f != joined_fusion.end()) bw.key("fusion").raw(f->second);
      bw.end_object();
    }
    bw.end_array();
  }

  for (std::size_t i = 0; i < count; ++i) {
    if (!inserted[i]) continue;
    const auto& a = alert(i);
    const auto& l = located[i];
    if (plan.target[i] < 0) {
      const bool assessed = auto_assessed(i);
      const domain::OpenedIncident ids{alert_ids[i], incident_ids[i], numbers[i], received[i], now_text,
                                       l.station_id, l.point ? &*l.point : nullptr, false, assessed};
      events.push_back({"incident.opened", incident_ids[i], a.category, l.station_id,
                        domain::incident_opened_data(a, ids)});
      if (assessed)
        events.push_back({"incident.assessed", incident_ids[i], a.category, l.station_id,
                          domain::incident_auto_assessed_data(a, ids)});
      events.push_back({"alert.received", incident_ids[i], a.category, l.station_id,
                        domain::alert_received_data(a, ids)});
      results[i] = IngestResult{alert_ids[i], incident_ids[i], numbers[i], false, true};
      touched.push_back(incident_ids[i]);
      continue;
    }
    const auto t = static_cast<std::size_t>(plan.target[i]);
    const auto& target_id = plan.targets[t].id;
    std::string number, station;
    if (plan.opened_by[t] >= 0) {
      const auto o = static_cast<std::size_t>(plan.opened_by[t]);
      number = numbers[o];
      station = located[o].station_id;
    } else {
      number = stored.at(target_id).number;
      station = stored.at(target_id).fuse.station;
    }
    const domain::OpenedIncident ids{alert_ids[i], target_id, number, received[i], now_text, station, nullptr, true};
    events.push_back({"alert.merged", target_id, a.category, station, domain::alert_received_data(a, ids)});
    results[i] = IngestResult{alert_ids[i], target_id, number, true, true};
    touched.push_back(target_id);
  }
  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  std::int64_t last = 0;
  if (!events.empty()) {
    if (incidents.size() > 2) deferred.add(w, "xn_insert_incidents", incidents, now_text);
    if (!bump.empty()) {
      deferred.add(w, "xn_merge_alerts", moves);
      deferred.add(w, "xn_bump_incidents", bumps, now_text);
    }
    // The stored incidents that alerts joined got their new fusion with the bump above. The
    // `incident.fused` events follow the batch's other events, in its commit.
    if (fuse) {
      for (auto& e : fused_events) events.push_back(std::move(e));
      if (options.observe_fusion && inserted_count > 0) {
        options.observe_fusion("parts", seconds_since(parts_started));
        // Each new alert's: the batch's, and its own locate when that was worked out ahead.
        const auto full = seconds_since(fusion_started);
        for (std::size_t i = 0; i < count; ++i) {
          if (!inserted[i]) continue;
          const auto* ahead = worked_out_with(pre, i, ref);
          options.observe_fusion("full", full + (ahead ? ahead->seconds : 0.0));
        }
      }
    }
    deferred.add(w, "xn_append", events_param(events), static_cast<std::int64_t>(events.size()), now_text);
    deferred.add_sql("COMMIT");
    // After the commit, in a transaction of its own: the seq the append kept for the session.
    last = deferred.exec(w, "xn_appended").at(0)[0].as<std::int64_t>();
  } else {
    deferred.exec_sql(w, "COMMIT");
  }
  for (auto& f : event_frames(events, last, now_text)) frames.push_back(std::move(f));

  for (std::size_t i = 0; i < count; ++i) {
    if (primary[i] != i) {
      results[i] = results[primary[i]];
      if (results[i].ok()) results[i]->created = false;
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  return results;
}

// The batch in its transaction; if anything throws, what the transaction left open is rolled
// back (the connection may be gone: then there is nothing to roll back).
std::vector<domain::Result<IngestResult>> write_batch(pqxx::connection& conn,
                                                      const std::vector<const domain::AlertInput*>& batch,
                                                      const std::vector<const PreLocated*>& pre,
                                                      const AlertWriterOptions& options, bool fuse,
                                                      std::vector<domain::Frame>& frames,
                                                      std::vector<std::string>& touched, PartsCount& parts) {
  try {
    return write_batch_open(conn, batch, pre, options, fuse, frames, touched, parts);
  } catch (...) {
    try {
      pqxx::nontransaction r(conn);
      r.exec("ROLLBACK");
    } catch (const std::exception&) {
    }
    throw;
  }
}

}  // namespace

void AlertWriter::run(bool first) {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = open_writer_connection(options_);
  } catch (const std::exception& e) {
    log::warn("intake.connect_failed", {{"error", e.what()}});
  }
  for (;;) {
    std::vector<Item> batch;
    bool more = false;  // work still queued behind the first writer's new batch
    {
      std::unique_lock lk(mu_);
      if (first) {
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        if (options_.gather_ms > 0)
          cv_.wait_for(lk, std::chrono::milliseconds(options_.gather_ms),
                       [&] { return stopping_ || queue_.size() >= options_.batch_max; });
      } else {
        for (std::optional<std::chrono::steady_clock::time_point> until; !overflow_may_take(until);) {
          if (stopping_ && queue_.empty()) return;
          if (until) {
            overflow_cv_.wait_until(lk, *until);
          } else {
            overflow_cv_.wait(lk);
          }
        }
      }
      while (!queue_.empty() && batch.size() < options_.batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (first) first_busy_since_ = std::chrono::steady_clock::now();
      more = first && !queue_.empty() && options_.threads > 1;
    }
    if (more) overflow_cv_.notify_one();
    detail::write_with_retries(std::move(batch), conn, {"intake", 50, &retries_}, [&](std::vector<Item>& items) {
      if (!conn) conn = open_writer_connection(options_);
      std::optional<CommitsInFlight::Ticket> ticket;
      if (options_.in_flight) ticket.emplace(options_.in_flight->begin());
      std::vector<const domain::AlertInput*> alerts;
      std::vector<const PreLocated*> pre;
      alerts.reserve(items.size());
      for (const auto& it : items) {
        alerts.push_back(&it.alert);
        pre.push_back(it.pre ? &*it.pre : nullptr);
      }
      const auto started = std::chrono::steady_clock::now();
      std::vector<domain::Frame> frames;
      std::vector<std::string> touched;
      bool fuse = options_.fuse.has_value();
      std::vector<domain::Result<IngestResult>> results;
      PartsCount parts;
      try {
        results = write_batch(*conn, alerts, pre, options_, fuse, frames, touched, parts);
      } catch (const std::exception& e) {
        // A fusion failure must not cost the alerts: run the batch again without it (the worker
        // fuses afterwards). Transient failures, and failures of the batch itself, go to
        // write_with_retries as before.
        if (!fuse || is_transient(e) || is_connection_error(e)) throw;
        log::warn("intake.fusion_failed", {{"batch", alerts.size()}, {"error", e.what()}});
        fuse = false;
        frames.clear();
        touched.clear();
        parts = {};
        results = write_batch(*conn, alerts, pre, options_, fuse, frames, touched, parts);
      }
      batch_micros_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                              std::chrono::steady_clock::now() - started)
                                                              .count()),
                              std::memory_order_relaxed);
      batches_.fetch_add(1, std::memory_order_relaxed);
      batch_alerts_.fetch_add(alerts.size(), std::memory_order_relaxed);
      parts_guessed_.fetch_add(parts.guessed, std::memory_order_relaxed);
      parts_rerun_.fetch_add(parts.rerun, std::memory_order_relaxed);
      // The answers first: each only posts its response to its connection, while the hub's
      // fan-out posts a write to every subscriber, which the answers would otherwise queue behind
      // on the I/O threads (docs/PERFORMANCE.md, "The answers before the feed").
      for (std::size_t i = 0; i < items.size(); ++i) items[i].done(std::move(results[i]));
      if (!frames.empty()) sink_(std::move(frames));
      ticket.reset();
      if (!fuse && options_.after_commit && !touched.empty()) options_.after_commit(std::move(touched));
    });
    if (first) {
      std::lock_guard lk(mu_);
      first_busy_since_.reset();
    }
  }
}

}  // namespace xiaonao::store
