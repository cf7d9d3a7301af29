#include "xiaonao/store/alert_writer.hpp"

#include <chrono>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/domain/incident.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;

// Step 1 of a batch: insert the alerts; a (source, source_ref) already stored is skipped.
// Rows are inserted in key order so that concurrent batches take index locks in one order
// and cannot deadlock. Each inserted alert draws its incident's serial number.
constexpr const char* insert_alerts_sql = R"sql(
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    idx int, alert_id uuid, incident_id uuid, source text, source_ref text, received_at timestamptz,
    category text, priority smallint, caller_phone text, caller_name text, lon float8, lat float8,
    address text, marker text, subject_phone text, subject_id_number text, description text)
), ins AS (
  INSERT INTO alerts (id, incident_id, source, source_ref, received_at, category, priority,
                      caller_phone, caller_name, location, address, marker, subject_phone,
                      subject_id_number, description, created_at)
  SELECT alert_id, incident_id, source, source_ref, received_at, category, priority,
         caller_phone, caller_name,
         CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
         address, marker, subject_phone, subject_id_number, description, $2::timestamptz
  FROM input ORDER BY source, source_ref
  ON CONFLICT (source, source_ref) DO NOTHING
  RETURNING id
)
SELECT i.idx, nextval('incident_serial') FROM input i JOIN ins ON ins.id = i.alert_id
)sql";

// For keys that were already stored: the ids the first request got.
constexpr const char* existing_alerts_sql = R"sql(
SELECT k.idx, a.id, a.incident_id, i.number, a.merged
FROM jsonb_to_recordset($1::jsonb) AS k(idx int, source text, source_ref text)
JOIN alerts a ON a.source = k.source AND a.source_ref = k.source_ref
JOIN incidents i ON i.id = a.incident_id
)sql";

// Step 2, last before COMMIT: take the feed_seq row lock (held until commit, so seqs are
// visible in the order they were handed out), write the incidents and the events, and
// notify every instance. Incidents go here so the lock is taken exactly once per batch.
constexpr const char* append_sql = R"sql(
WITH s AS (
  UPDATE feed_seq SET last = last + $2 RETURNING last
), inc AS (
  INSERT INTO incidents (id, number, category, priority, received_at, location, address,
                         description, created_at, updated_at)
  SELECT id, number, category, priority, received_at,
         CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
         address, description, $3::timestamptz, $3::timestamptz
  FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, number text, category text, priority smallint,
       received_at timestamptz, lon float8, lat float8, address text, description text)
), ev AS (
  INSERT INTO events (seq, type, at, incident_id, category, data)
  SELECT s.last - $2 + e.ord, e.type, $3::timestamptz, e.incident_id, e.category, e.data
  FROM jsonb_to_recordset($4::jsonb) AS e(ord int, type text, incident_id uuid, category text, data jsonb), s
)
SELECT last, pg_notify('xiaonao_feed', last::text) FROM s
)sql";

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

json location_json(const std::optional<domain::GeoPoint>& p) {
  if (!p) return nullptr;
  return {{"lon", p->lon}, {"lat", p->lat}};
}

// The batch statements are prepared once per connection: planning these CTEs on every batch
// costs more than running them.
std::unique_ptr<pqxx::connection> open_writer_connection(const AlertWriterOptions& o) {
  auto c = open_connection(o.conninfo, o.statement_timeout_ms);
  c->prepare("xn_insert_alerts", insert_alerts_sql);
  c->prepare("xn_existing_alerts", existing_alerts_sql);
  c->prepare("xn_append", append_sql);
  return c;
}

bool is_transient(const std::exception& e) {
  return is_connection_error(e) || dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
         dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr;
}

}  // namespace

AlertWriter::AlertWriter(AlertWriterOptions options, CommitSink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

AlertWriter::~AlertWriter() { stop(); }

bool AlertWriter::submit(domain::AlertInput alert, Callback done) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= options_.queue_limit) return false;
    queue_.push_back(Item{std::move(alert), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

std::size_t AlertWriter::queue_depth() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void AlertWriter::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

namespace {

// Writes one batch in one transaction. Returns a result per item and fills `frames`.
std::vector<domain::Result<IngestResult>> write_batch(pqxx::connection& conn,
                                                      const std::vector<domain::AlertInput>& alerts,
                                                      const AlertWriterOptions& options,
                                                      std::vector<domain::Frame>& frames) {
  const auto now = domain::now_utc();
  const auto now_text = domain::format_rfc3339(now);

  // Items with the same key inside one batch share the first one's outcome.
  std::map<std::pair<std::string, std::string>, std::size_t> first_of;
  std::vector<std::size_t> primary(alerts.size());
  std::vector<std::string> alert_ids(alerts.size()), incident_ids(alerts.size());
  json input = json::array();
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    const auto& a = alerts[i];
    auto [it, fresh] = first_of.try_emplace({a.source, a.source_ref}, i);
    primary[i] = it->second;
    if (!fresh) continue;
    alert_ids[i] = domain::new_uuid();
    incident_ids[i] = domain::new_uuid();
    input.push_back({{"idx", i},
                     {"alert_id", alert_ids[i]},
                     {"incident_id", incident_ids[i]},
                     {"source", a.source},
                     {"source_ref", a.source_ref},
                     {"received_at", domain::format_rfc3339(a.received_at)},
                     {"category", a.category},
                     {"priority", a.priority.value_or(4)},
                     {"caller_phone", a.caller ? opt(a.caller->phone) : json(nullptr)},
                     {"caller_name", a.caller ? opt(a.caller->name) : json(nullptr)},
                     {"lon", a.location ? json(a.location->lon) : json(nullptr)},
                     {"lat", a.location ? json(a.location->lat) : json(nullptr)},
                     {"address", opt(a.address)},
                     {"marker", opt(a.marker)},
                     {"subject_phone", a.subject ? opt(a.subject->phone) : json(nullptr)},
                     {"subject_id_number", a.subject ? opt(a.subject->id_number) : json(nullptr)},
                     {"description", opt(a.description)}});
  }

  std::vector<domain::Result<IngestResult>> results(
      alerts.size(), domain::Result<IngestResult>(Error{ErrorKind::internal, "alert was not stored", ""}));
  std::vector<bool> inserted(alerts.size(), false);
  std::vector<std::int64_t> serial(alerts.size(), 0);

  pqxx::work w(conn);
  for (const auto& row : w.exec_prepared("xn_insert_alerts", input.dump(), now_text)) {
    const auto idx = row[0].as<std::size_t>();
    inserted[idx] = true;
    serial[idx] = row[1].as<std::int64_t>();
  }

  json lookup = json::array();
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (primary[i] == i && !inserted[i]) {
      lookup.push_back({{"idx", i}, {"source", alerts[i].source}, {"source_ref", alerts[i].source_ref}});
    }
  }
  if (!lookup.empty()) {
    for (const auto& row : w.exec_prepared("xn_existing_alerts", lookup.dump())) {
      const auto idx = row[0].as<std::size_t>();
      results[idx] = IngestResult{row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                                  row[4].as<bool>(), false};
    }
  }

  json incidents = json::array();
  // Each event's data is serialized once: the same text goes to the table and to the feed.
  struct EventText {
    const char* type;
    std::string category;
    std::string data;
  };
  std::vector<EventText> event_texts;
  std::string events = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (!inserted[i]) continue;
    const auto& a = alerts[i];
    const auto number = domain::format_incident_number(a.received_at, serial[i], options.utc_offset_minutes);
    const auto received = domain::format_rfc3339(a.received_at);
    incidents.push_back({{"id", incident_ids[i]},
                         {"number", number},
                         {"category", a.category},
                         {"priority", a.priority.value_or(4)},
                         {"received_at", received},
                         {"lon", a.location ? json(a.location->lon) : json(nullptr)},
                         {"lat", a.location ? json(a.location->lat) : json(nullptr)},
                         {"address", opt(a.address)},
                         {"description", opt(a.description)}});
    json incident = {{"id", incident_ids[i]},
                     {"number", number},
                     {"status", "received"},
                     {"category", a.category},
                     {"priority", a.priority.value_or(4)},
                     {"received_at", received},
                     {"created_at", now_text},
                     {"updated_at", now_text},
                     {"location", location_json(a.location)},
                     {"address", opt(a.address)},
                     {"description", opt(a.description)},
                     {"alert_count", 1},
                     {"station_id", nullptr}};
    json alert = {{"alert_id", alert_ids[i]},
                  {"incident_id", incident_ids[i]},
                  {"incident_number", number},
                  {"merged", false},
                  {"source", a.source},
                  {"category", a.category},
                  {"priority", a.priority.value_or(4)},
                  {"received_at", received},
                  {"location", location_json(a.location)},
                  {"address", opt(a.address)},
                  {"description", opt(a.description)}};
    for (auto* ev : {&incident, &alert}) {
      EventText e{ev == &incident ? "incident.opened" : "alert.received", a.category, ev->dump()};
      if (events.size() > 1) events += ',';
      events += R"({"ord":)" + std::to_string(event_texts.size() + 1) + R"(,"type":")" + e.type +
                R"(","incident_id":")" + incident_ids[i] + R"(","category":)" + json(a.category).dump() +
                R"(,"data":)" + e.data + "}";
      event_texts.push_back(std::move(e));
    }
    results[i] = IngestResult{alert_ids[i], incident_ids[i], number, false, true};
  }

  std::int64_t last = 0;
  events += ']';
  if (!event_texts.empty()) {
    const auto n = static_cast<std::int64_t>(event_texts.size());
    last = w.exec_prepared1("xn_append", incidents.dump(), n, now_text, events)[0].as<std::int64_t>();
  }
  w.commit();

  const auto n = static_cast<std::int64_t>(event_texts.size());
  for (std::int64_t k = 0; k < n; ++k) {
    const auto seq = last - n + 1 + k;
    auto& e = event_texts[static_cast<std::size_t>(k)];
    frames.push_back(domain::Frame{seq, std::move(e.category), "",
                                   std::make_shared<const std::string>(frame_text(seq, e.type, now_text, e.data))});
  }
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (primary[i] != i) {
      results[i] = results[primary[i]];
      if (results[i].ok()) results[i]->created = false;
    }
  }
  return results;
}

}  // namespace

void AlertWriter::run() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = open_writer_connection(options_);
  } catch (const std::exception& e) {
    log::warn("intake.connect_failed", {{"error", e.what()}});
  }
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      while (!queue_.empty() && batch.size() < options_.batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // A batch that fails for a reason other than the connection is retried one alert at a
    // time, so one bad alert cannot take its neighbours down with it.
    std::vector<std::vector<Item>> work;
    work.push_back(std::move(batch));
    while (!work.empty()) {
      auto items = std::move(work.back());
      work.pop_back();
      std::vector<domain::AlertInput> alerts;
      alerts.reserve(items.size());
      for (auto& it : items) alerts.push_back(it.alert);
      for (int attempt = 1;; ++attempt) {
        std::vector<domain::Frame> frames;
        try {
          if (!conn) conn = open_writer_connection(options_);
          auto results = write_batch(*conn, alerts, options_, frames);
          if (!frames.empty()) sink_(std::move(frames));
          for (std::size_t i = 0; i < items.size(); ++i) items[i].done(std::move(results[i]));
          break;
        } catch (const std::exception& e) {
          if (is_connection_error(e)) conn.reset();
          if (is_transient(e) && attempt < 4) {
            log::warn("intake.retry", {{"attempt", attempt}, {"batch", items.size()}, {"error", e.what()}});
            std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
            continue;
          }
          if (!is_transient(e) && items.size() > 1) {
            log::warn("intake.batch_split", {{"batch", items.size()}, {"error", e.what()}});
            for (auto& it : items) {
              std::vector<Item> one;
              one.push_back(std::move(it));
              work.push_back(std::move(one));
            }
            break;
          }
          const bool down = is_transient(e);
          log::error("intake.failed", {{"batch", items.size()}, {"error", e.what()}});
          for (auto& it : items) {
            it.done(Error{down ? ErrorKind::unavailable : ErrorKind::internal,
                          down ? "database unavailable, retry later" : "internal error", ""});
          }
          break;
        }
      }
    }
  }
}

}  // namespace xiaonao::store
