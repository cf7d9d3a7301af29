#include "xiaonao/store/units_store.hpp"

#include <chrono>

#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/event_log.hpp"
#include "json_params.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using domain::JsonWriter;

// One batch of position reports in one statement. Only known units (of the caller's station,
// when one is given) are written. Every report goes into the track (a repeated (unit, at) is
// skipped); per unit, the newest report of the batch moves the unit, and only when it is newer
// than the stored position, so a late report never moves a unit back. The units are locked in
// id order first (`locked`), so two concurrent batches cannot deadlock on them; the UPDATE then
// re-checks its condition on the newest row version. Returns each report's
// outcome: m = moved, r = recorded only, u = unknown unit.
constexpr const char* write_positions_sql = R"sql(
WITH input AS (
  SELECT * FROM json_to_recordset($1::json) AS x(
    idx int, unit_id text, lon float8, lat float8, at timestamptz, speed real, heading real, station text)
), known AS (
  SELECT i.* FROM input i JOIN units u ON u.id = i.unit_id
  WHERE i.station IS NULL OR u.station_id = i.station
), ins AS (
  INSERT INTO unit_positions (unit_id, at, geog, speed, heading)
  SELECT unit_id, at, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, speed, heading
  FROM known ORDER BY unit_id, at
  ON CONFLICT (unit_id, at) DO NOTHING
), locked AS (
  SELECT u.id FROM units u WHERE u.id IN (SELECT unit_id FROM known) ORDER BY u.id FOR UPDATE
), latest AS (
  SELECT DISTINCT ON (unit_id) unit_id, lon, lat, at, speed, heading
  FROM known JOIN locked ON locked.id = known.unit_id ORDER BY unit_id, at DESC
), upd AS (
  UPDATE units u
  SET geog = ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326)::geography,
      position_at = l.at, speed = l.speed, heading = l.heading, updated_at = now()
  FROM latest l
  WHERE u.id = l.unit_id AND (u.position_at IS NULL OR u.position_at < l.at)
  RETURNING u.id, u.position_at
)
SELECT i.idx,
       CASE WHEN k.idx IS NULL THEN 'u'
            WHEN EXISTS (SELECT 1 FROM upd WHERE upd.id = i.unit_id AND upd.position_at = i.at) THEN 'm'
            ELSE 'r' END
FROM input i LEFT JOIN known k ON k.idx = i.idx
)sql";

// One unit as the API shows it ($1 the unit row alias is `u`).
constexpr const char* unit_object_sql = R"sql(
json_build_object(
  'id', u.id, 'call_sign', u.call_sign, 'kind', u.kind, 'station_id', u.station_id, 'status', u.status,
  'position', CASE WHEN u.geog IS NULL THEN NULL
                   ELSE json_build_object('lon', round(ST_X(u.geog::geometry)::numeric, 7),
                                          'lat', round(ST_Y(u.geog::geometry)::numeric, 7)) END,
  'position_at', to_char(u.position_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  'position_age_s', CASE WHEN u.position_at IS NULL THEN NULL
                         ELSE round(extract(epoch FROM now() - u.position_at)::numeric, 1) END,
  'speed', u.speed, 'heading', u.heading)
)sql";

std::unique_ptr<pqxx::connection> open_writer(const PositionWriterOptions& o) {
  auto c = open_connection(o.conninfo, o.statement_timeout_ms, true);
  c->prepare("xn_write_positions", write_positions_sql);
  return c;
}

std::string utc_text(domain::TimePoint t) { return domain::format_rfc3339(t); }

}  // namespace

const char* outcome_name(PositionOutcome o) {
  switch (o) {
    case PositionOutcome::moved: return "moved";
    case PositionOutcome::recorded: return "recorded";
    case PositionOutcome::unknown_unit: return "unknown_unit";
  }
  return "unknown_unit";
}

PositionWriter::PositionWriter(PositionWriterOptions options) : options_(std::move(options)) {
  for (int i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this, i] {
      log::name_thread("xn-units-" + std::to_string(i));
      run();
    });
  threads_.emplace_back([this] {
    log::name_thread("xn-units-prune");
    run_pruner();
  });
}

PositionWriter::~PositionWriter() { stop(); }

bool PositionWriter::submit(std::vector<domain::PositionReport> reports, std::string station, Callback done) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queued_reports_ + reports.size() > options_.queue_limit) return false;
    queued_reports_ += reports.size();
    queue_.push_back(Item{std::move(reports), std::move(station), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

std::size_t PositionWriter::queue_depth() const {
  std::lock_guard lk(mu_);
  return queued_reports_;
}

PositionWriter::Stats PositionWriter::stats() const {
  return Stats{batches_.load(std::memory_order_relaxed), reports_.load(std::memory_order_relaxed),
               pruned_.load(std::memory_order_relaxed)};
}

void PositionWriter::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  prune_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::uint64_t PositionWriter::prune_tracks(pqxx::connection& c, int retention_days, int batch) {
  std::uint64_t total = 0;
  for (;;) {
    pqxx::work w(c);
    const auto r = w.exec_params(
        "DELETE FROM unit_positions WHERE ctid IN (SELECT ctid FROM unit_positions "
        "WHERE at < now() - make_interval(days => $1) LIMIT $2)",
        retention_days, batch);
    w.commit();
    total += static_cast<std::uint64_t>(r.affected_rows());
    if (r.affected_rows() < static_cast<std::size_t>(batch)) return total;
  }
}

void PositionWriter::run_pruner() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (prune_cv_.wait_for(lk, options_.prune_interval, [&] { return stopping_; })) return;
    }
    try {
      if (!conn) conn = open_connection(options_.conninfo, options_.statement_timeout_ms);
      const auto n = prune_tracks(*conn, options_.retention_days, options_.prune_batch);
      pruned_.fetch_add(n, std::memory_order_relaxed);
      if (n > 0) log::info("units.tracks_pruned", {{"rows", n}, {"retention_days", options_.retention_days}});
    } catch (const std::exception& e) {
      if (is_connection_error(e)) conn.reset();
      log::warn("units.prune_failed", {{"error", e.what()}});
    }
  }
}

namespace {

// The batch parameter: one object per report, written without a JSON tree.
std::string positions_param(const std::vector<const domain::PositionReport*>& reports,
                            const std::vector<const std::string*>& stations) {
  std::string out;
  out.reserve(reports.size() * 160);
  JsonWriter w(out);
  w.begin_array();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = *reports[i];
    w.begin_object();
    w.key("idx").integer(static_cast<std::int64_t>(i));
    w.key("unit_id").string(r.unit_id);
    w.key("lon").number(r.lon);
    w.key("lat").number(r.lat);
    w.key("at").string(utc_text(r.at));
    w.key("speed");
    r.speed ? w.number(*r.speed) : w.null();
    w.key("heading");
    r.heading ? w.number(*r.heading) : w.null();
    w.key("station");
    stations[i]->empty() ? w.null() : w.string(*stations[i]);
    w.end_object();
  }
  w.end_array();
  return out;
}

}  // namespace

void PositionWriter::run() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = open_writer(options_);
  } catch (const std::exception& e) {
    log::warn("units.connect_failed", {{"error", e.what()}});
  }
  for (;;) {
    std::vector<Item> batch;
    std::size_t count = 0;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      // Whole requests only: a request's reports commit together.
      while (!queue_.empty() && (batch.empty() || count + queue_.front().reports.size() <= options_.batch_max)) {
        count += queue_.front().reports.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_reports_ -= count;
    }
    std::vector<const domain::PositionReport*> reports;
    std::vector<const std::string*> stations;
    reports.reserve(count);
    stations.reserve(count);
    for (const auto& it : batch) {
      for (const auto& r : it.reports) {
        reports.push_back(&r);
        stations.push_back(&it.station);
      }
    }
    const auto param = positions_param(reports, stations);
    std::vector<PositionOutcome> outcomes(count, PositionOutcome::unknown_unit);
    std::optional<Error> failure;
    for (int attempt = 1;; ++attempt) {
      try {
        if (!conn) conn = open_writer(options_);
        pqxx::work w(*conn);
        const auto rows = w.exec_prepared("xn_write_positions", param);
        w.commit();
        for (const auto& row : rows) {
          const auto idx = row[0].as<std::size_t>();
          const auto c = row[1].c_str()[0];
          outcomes[idx] = c == 'm' ? PositionOutcome::moved
                                   : c == 'r' ? PositionOutcome::recorded : PositionOutcome::unknown_unit;
        }
        batches_.fetch_add(1, std::memory_order_relaxed);
        reports_.fetch_add(count, std::memory_order_relaxed);
        break;
      } catch (const std::exception& e) {
        if (is_connection_error(e)) conn.reset();
        if (is_transient(e) && attempt < 4) {
          log::warn("units.retry", {{"attempt", attempt}, {"batch", count}, {"error", e.what()}});
          std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
          continue;
        }
        log::error("units.write_failed", {{"batch", count}, {"error", e.what()}});
        failure = is_transient(e) ? Error{ErrorKind::unavailable, "database unavailable, retry later", ""}
                                  : Error{ErrorKind::internal, "internal error", ""};
        break;
      }
    }
    std::size_t at = 0;
    for (auto& it : batch) {
      if (failure) {
        it.done(*failure);
        continue;
      }
      std::vector<PositionOutcome> mine(outcomes.begin() + static_cast<std::ptrdiff_t>(at),
                                        outcomes.begin() + static_cast<std::ptrdiff_t>(at + it.reports.size()));
      at += it.reports.size();
      it.done(std::move(mine));
    }
  }
}

// ---- status -------------------------------------------------------------------------------------

StatusChange set_unit_status(pqxx::connection& c, const std::string& unit_id, const std::string& status,
                             const std::string& station, const std::string& actor) {
  StatusChange out;
  pqxx::work w(c);
  // FOR UPDATE: two concurrent changes of one unit each see the other's result as "old".
  const auto cur = w.exec_params(
      "SELECT call_sign, kind, station_id, status FROM units WHERE id = $1 AND ($2 = '' OR station_id = $2) "
      "FOR UPDATE",
      unit_id, station);
  if (cur.empty()) return out;
  out.found = true;
  const auto old_status = cur[0][3].as<std::string>();
  const auto unit_station = cur[0][2].is_null() ? std::string() : cur[0][2].as<std::string>();
  const auto now_text = domain::format_rfc3339(domain::now_utc());
  if (old_status != status) {
    w.exec_params("UPDATE units SET status = $2, updated_at = now() WHERE id = $1", unit_id, status);
    std::string data;
    JsonWriter j(data);
    // Keys in sorted order: the text equals a dumped nlohmann object of the same values.
    j.begin_object();
    j.key("actor").string(actor);
    j.key("call_sign").string(cur[0][0].as<std::string>());
    j.key("kind").string(cur[0][1].as<std::string>());
    j.key("new_status").string(status);
    j.key("old_status").string(old_status);
    j.key("station_id");
    unit_station.empty() ? j.null() : j.string(unit_station);
    j.key("unit_id").string(unit_id);
    j.end_object();
    std::vector<NewEvent> events{{"unit.status", "", "", unit_station, std::move(data)}};
    const auto last = append_events(w, events, now_text);
    w.commit();
    out.changed = true;
    out.frames = event_frames(events, last, now_text);
  } else {
    w.commit();
  }
  out.unit_json = unit_json(c, unit_id, "").value_or("null");
  return out;
}

// ---- reads --------------------------------------------------------------------------------------

std::string list_units(pqxx::connection& c, const UnitFilter& f) {
  pqxx::read_transaction w(c);
  const auto r = w.exec_params(std::string("SELECT coalesce(json_agg(") + unit_object_sql +
                                   " ORDER BY u.id), '[]') FROM units u "
                                   "WHERE ($1 = '[]' OR u.station_id IN (SELECT json_array_elements_text($1::json))) "
                                   "AND ($2 = '[]' OR u.status IN (SELECT json_array_elements_text($2::json))) "
                                   "AND ($3 = '[]' OR u.kind IN (SELECT json_array_elements_text($3::json))) "
                                   "AND ($4 = '' OR u.station_id = $4)",
                               detail::string_array(f.stations), detail::string_array(f.statuses), detail::string_array(f.kinds),
                               f.visible_station);
  return "{\"items\":" + r[0][0].as<std::string>() + "}";
}

std::optional<std::string> unit_json(pqxx::connection& c, const std::string& id, const std::string& visible_station) {
  pqxx::read_transaction w(c);
  const auto r = w.exec_params(std::string("SELECT ") + unit_object_sql +
                                   " FROM units u WHERE u.id = $1 AND ($2 = '' OR u.station_id = $2)",
                               id, visible_station);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

std::optional<std::string> unit_track(pqxx::connection& c, const std::string& id, const std::string& visible_station,
                                      const domain::TrackQuery& q) {
  pqxx::read_transaction w(c);
  if (w.exec_params("SELECT 1 FROM units WHERE id = $1 AND ($2 = '' OR station_id = $2)", id, visible_station).empty())
    return std::nullopt;
  // One more than the limit says whether the track was cut.
  const auto r = w.exec_params(
      "SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geog, 7)::json, 'properties', "
      "  json_build_object('at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "                    'speed', speed, 'heading', heading))::text, "
      "  ST_X(geog::geometry), ST_Y(geog::geometry) "
      "FROM unit_positions WHERE unit_id = $1 AND at >= $2 AND at <= $3 ORDER BY at LIMIT $4",
      id, utc_text(q.from), utc_text(q.to), q.limit + 1);
  const bool truncated = r.size() > static_cast<std::size_t>(q.limit);
  const std::size_t n = truncated ? static_cast<std::size_t>(q.limit) : r.size();
  std::string out;
  out.reserve(64 + n * 200);
  out += R"({"type":"FeatureCollection","unit_id":)";
  domain::append_json_string(out, id);
  out += R"(,"from":)";
  domain::append_json_string(out, utc_text(q.from));
  out += R"(,"to":)";
  domain::append_json_string(out, utc_text(q.to));
  out += R"(,"count":)";
  domain::append_json_int(out, static_cast<std::int64_t>(n));
  out += R"(,"truncated":)";
  out += truncated ? "true" : "false";
  out += R"(,"features":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    out += r[i][0].c_str();
  }
  if (n >= 2) {
    out += R"(,{"type":"Feature","geometry":{"type":"LineString","coordinates":[)";
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      out += '[';
      domain::append_json_double(out, r[i][1].as<double>());
      out += ',';
      domain::append_json_double(out, r[i][2].as<double>());
      out += ']';
    }
    out += R"(]},"properties":{"kind":"track","unit_id":)";
    domain::append_json_string(out, id);
    out += "}}";
  }
  out += "]}";
  return out;
}

// ---- map ----------------------------------------------------------------------------------------

namespace {

// Each layer's features as text, one row each, at most cap + 1 rows (the extra one says the
// layer was truncated). $1..$4 the bbox, $5 the limit, then the layer's own parameters.
// Points are geography: `geog && envelope::geography` uses the GiST index; polygons are
// geometry: `geom && envelope`. Features are ordered by id so that a truncated layer is stable.
constexpr const char* env = "ST_MakeEnvelope($1, $2, $3, $4, 4326)";

std::string layer_sql(const std::string& layer) {
  const std::string e = env;
  if (layer == "stations")
    return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(geog, 7)::json,'properties',"
           "json_build_object('layer','stations','id',id,'name',name,'phone',phone))::text "
           "FROM stations WHERE geog && " + e + "::geography ORDER BY id LIMIT $5";
  const std::string simplified =
      "CASE WHEN $6::float8 > 0 THEN ST_SimplifyPreserveTopology(geom, $6::float8 / 111320.0) ELSE geom END";
  if (layer == "zones")
    return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(" + simplified +
           ", 7)::json,'properties',json_build_object('layer','zones','id',id,'name',name,'station_id',station_id,"
           "'area_type',area_type,'officer_name',officer_name,'officer_phone',officer_phone))::text "
           "FROM zones WHERE geom && " + e + " ORDER BY id LIMIT $5";
  if (layer == "grids")
    return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(" + simplified +
           ", 7)::json,'properties',json_build_object('layer','grids','id',id,'name',name,'zone_id',zone_id,"
           "'worker_name',worker_name,'worker_phone',worker_phone))::text "
           "FROM grids WHERE geom && " + e + " ORDER BY id LIMIT $5";
  if (layer == "cameras")
    return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(geog, 7)::json,'properties',"
           "json_build_object('layer','cameras','id',id,'name',name,'bearing_deg',bearing_deg,'fov_deg',fov_deg,"
           "'range_m',range_m,'online',online,'stream_url',stream_url))::text "
           "FROM cameras WHERE geog && " + e + "::geography ORDER BY id LIMIT $5";
  if (layer == "units")
    return std::string("SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(u.geog, 7)::json,"
                       "'properties',json_build_object('layer','units','id',u.id,'call_sign',u.call_sign,"
                       "'kind',u.kind,'station_id',u.station_id,'status',u.status,"
                       "'position_at',to_char(u.position_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                       "'position_age_s',round(extract(epoch FROM now() - u.position_at)::numeric, 1),"
                       "'speed',u.speed,'heading',u.heading))::text "
                       "FROM units u WHERE u.geog && ") +
           e + "::geography AND ($6 = '' OR u.station_id = $6) ORDER BY u.id LIMIT $5";
  if (layer == "incidents")
    return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(i.location, 7)::json,'properties',"
           "json_build_object('layer','incidents','id',i.id,'number',i.number,'category',i.category,"
           "'priority',i.priority,'status',i.status,'station_id',i.station_id,"
           "'received_at',to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))::text "
           "FROM incidents i WHERE i.location && " + e +
           " AND (CASE WHEN $7 = '[]' THEN i.status NOT IN ('closed', 'cancelled') "
           "      ELSE i.status IN (SELECT json_array_elements_text($7::json)) END) "
           " AND ($6 = '' OR i.station_id = $6 OR EXISTS (SELECT 1 FROM incident_shares s "
           "      WHERE s.incident_id = i.id AND s.station_id = $6)) "
           "ORDER BY i.received_at DESC, i.id LIMIT $5";
  // markers
  return "SELECT json_build_object('type','Feature','geometry',ST_AsGeoJSON(geog, 7)::json,'properties',"
         "json_build_object('layer','markers','id',id,'description',description,'camera_id',camera_id))::text "
         "FROM markers WHERE geog && " + e + "::geography ORDER BY id LIMIT $5";
}

}  // namespace

std::string map_features(pqxx::connection& c, const MapQuery& q) {
  pqxx::read_transaction w(c);
  std::string features;
  std::string summary;
  JsonWriter s(summary);
  s.begin_object();
  bool first = true;
  const auto& b = q.bbox;
  for (const auto& layer : q.layers) {
    const auto sql = layer_sql(layer);
    pqxx::result r;
    if (layer == "zones" || layer == "grids") {
      r = w.exec_params(sql, b.min_lon, b.min_lat, b.max_lon, b.max_lat, q.layer_cap + 1, q.simplify_m);
    } else if (layer == "units") {
      r = w.exec_params(sql, b.min_lon, b.min_lat, b.max_lon, b.max_lat, q.layer_cap + 1, q.visible_station);
    } else if (layer == "incidents") {
      r = w.exec_params(sql, b.min_lon, b.min_lat, b.max_lon, b.max_lat, q.layer_cap + 1, q.visible_station,
                        detail::string_array(q.incident_statuses));
    } else {
      r = w.exec_params(sql, b.min_lon, b.min_lat, b.max_lon, b.max_lat, q.layer_cap + 1);
    }
    const bool truncated = r.size() > static_cast<std::size_t>(q.layer_cap);
    const std::size_t n = truncated ? static_cast<std::size_t>(q.layer_cap) : r.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (!first) features += ',';
      first = false;
      features += r[i][0].c_str();
    }
    s.key(layer).begin_object().key("count").integer(static_cast<std::int64_t>(n)).key("truncated").boolean(truncated)
        .end_object();
  }
  s.end_object();
  std::string out;
  out.reserve(features.size() + summary.size() + 64);
  out += R"({"type":"FeatureCollection","bbox":[)";
  domain::append_json_double(out, b.min_lon);
  out += ',';
  domain::append_json_double(out, b.min_lat);
  out += ',';
  domain::append_json_double(out, b.max_lon);
  out += ',';
  domain::append_json_double(out, b.max_lat);
  out += R"(],"layers":)";
  out += summary;
  out += R"(,"features":[)";
  out += features;
  out += "]}";
  return out;
}

}  // namespace xiaonao::store
