#include "xiaonao/store/readers.hpp"
#include "sql_time.hpp"
#include "prepared.hpp"

#include <map>

#include <pqxx/pqxx>

#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/ws_frame.hpp"
#include "xiaonao/store/orders.hpp"
#include "xiaonao/store/support_store.hpp"

namespace xiaonao::store {
namespace {

using nlohmann::json;


constexpr const char* incident_columns =
    "id, number, status, category, priority, " XN_TS("received_at") ", " XN_TS("created_at") ", " XN_TS(
        "updated_at") ", ST_X(location), ST_Y(location), address, description, alert_count, station_id, "
                      "(extract(epoch FROM received_at) * 1000000)::bigint";

json text_or_null(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.as<std::string>()); }

json point_or_null(const pqxx::field& lon, const pqxx::field& lat) {
  if (lon.is_null() || lat.is_null()) return nullptr;
  return {{"lon", lon.as<double>()}, {"lat", lat.as<double>()}};
}

json incident_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::string>()},
          {"number", r[1].as<std::string>()},
          {"status", r[2].as<std::string>()},
          {"category", r[3].as<std::string>()},
          {"priority", r[4].as<int>()},
          {"received_at", r[5].as<std::string>()},
          {"created_at", r[6].as<std::string>()},
          {"updated_at", r[7].as<std::string>()},
          {"location", point_or_null(r[8], r[9])},
          {"address", text_or_null(r[10])},
          {"description", text_or_null(r[11])},
          {"alert_count", r[12].as<int>()},
          {"station_id", text_or_null(r[13])}};
}

const char* join_or_null(const std::vector<std::string>& v, std::string& storage) {
  if (v.empty()) return nullptr;
  storage.clear();
  for (const auto& s : v) {
    if (!storage.empty()) storage += ',';
    storage += s;
  }
  return storage.c_str();
}

}  // namespace

std::shared_ptr<const std::string> feed_frame(std::int64_t seq, const std::string& type, const std::string& at,
                                              const std::string& data_json) {
  std::string type_json;
  domain::append_json_string(type_json, type);
  const auto seq_text = std::to_string(seq);
  return std::make_shared<const std::string>(domain::ws::text_frame(
      {"{\"seq\":", seq_text, ",\"type\":", type_json, ",\"at\":\"", at, "\",\"data\":", data_json, "}"}));
}

json list_incidents(pqxx::connection& c, const IncidentFilter& f) {
  std::string statuses, categories, stations;
  const auto from = f.from ? std::optional(domain::format_rfc3339(*f.from)) : std::nullopt;
  const auto to = f.to ? std::optional(domain::format_rfc3339(*f.to)) : std::nullopt;
  const auto after_t = f.after ? std::optional(domain::format_rfc3339(f.after->received_at)) : std::nullopt;
  // Unnamed statements are planned with the actual values, so the NULL branches fold away.
  const std::string sql = std::string("SELECT ") + incident_columns +
                          " FROM incidents"
                          " WHERE ($1::text IS NULL OR status = ANY (string_to_array($1, ',')))"
                          " AND ($2::text IS NULL OR category = ANY (string_to_array($2, ',')))"
                          " AND ($3::timestamptz IS NULL OR received_at >= $3)"
                          " AND ($4::timestamptz IS NULL OR received_at < $4)"
                          " AND ($5::timestamptz IS NULL OR (received_at, id) < ($5, $6::uuid))"
                          " AND ($8::text IS NULL OR station_id = ANY (string_to_array($8, ',')))"
                          " AND ($9::text IS NULL OR station_id = $9 OR EXISTS (SELECT 1 FROM incident_shares s"
                          "      WHERE s.incident_id = incidents.id AND s.station_id = $9))"
                          " ORDER BY received_at DESC, id DESC LIMIT $7";
  pqxx::read_transaction t(c);
  const auto rows = t.exec_params(sql, join_or_null(f.statuses, statuses), join_or_null(f.categories, categories),
                                  from ? from->c_str() : nullptr, to ? to->c_str() : nullptr,
                                  after_t ? after_t->c_str() : nullptr, f.after ? f.after->id.c_str() : nullptr,
                                  f.limit + 1, join_or_null(f.stations, stations),
                                  f.visible_to_station.empty() ? nullptr : f.visible_to_station.c_str());
  json items = json::array();
  json next = nullptr;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) == f.limit) {
      const auto& prev = rows[i - 1];
      next = domain::encode_cursor(
          {domain::TimePoint(std::chrono::microseconds(prev[14].as<std::int64_t>())), prev[0].as<std::string>()});
      break;
    }
    items.push_back(incident_json(rows[i]));
  }
  return {{"items", std::move(items)}, {"next_cursor", std::move(next)}};
}

std::optional<json> get_incident(pqxx::connection& c, const std::string& id) {
  pqxx::read_transaction t(c);
  // Every statement of the view is a prepared one, looked up by key; its generic plan must stay
  // on the indexes however small the tables were when it was made (docs/architecture.md,
  // "Plans of the hot statements").
  t.exec0("SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off");
  // The incident with its owner rows and its located address in one statement.
  const auto inc = detail::exec_named(t, "xn_view_incident",
      std::string("WITH i AS (SELECT ") + incident_columns +
          ", zone_id, grid_id, address_id, located_by, location_confidence, location_candidates::text,"
          " needs_location, owner_flag, fusion::text, " XN_TS("fused_at") " FROM incidents WHERE id = $1)"
          " SELECT i.*, s.id, s.name, s.phone, z.id, z.name, z.area_type, z.officer_name, z.officer_phone,"
          " g.id, g.name, g.worker_name, g.worker_phone, a.text"
          " FROM i LEFT JOIN stations s ON s.id = i.station_id LEFT JOIN zones z ON z.id = i.zone_id"
          " LEFT JOIN grids g ON g.id = i.grid_id LEFT JOIN addresses a ON a.id = i.address_id",
      id);
  if (inc.empty()) return std::nullopt;
  const auto& f = inc[0];
  json station = nullptr, zone = nullptr, grid = nullptr;
  if (!f[25].is_null()) station = {{"id", f[25].as<std::string>()}, {"name", text_or_null(f[26])}, {"phone", text_or_null(f[27])}};
  if (!f[28].is_null())
    zone = {{"id", f[28].as<std::string>()},       {"name", text_or_null(f[29])},
            {"area_type", text_or_null(f[30])},    {"officer_name", text_or_null(f[31])},
            {"officer_phone", text_or_null(f[32])}};
  if (!f[33].is_null())
    grid = {{"id", f[33].as<std::string>()},
            {"name", text_or_null(f[34])},
            {"worker_name", text_or_null(f[35])},
            {"worker_phone", text_or_null(f[36])}};
  json location = {{"point", point_or_null(f[8], f[9])},
                   {"located_by", text_or_null(f[18])},
                   {"confidence", f[19].is_null() ? json(nullptr) : json(f[19].as<double>())},
                   {"address_id", text_or_null(f[17])},
                   {"address_text", text_or_null(f[37])},
                   {"candidates", f[20].is_null() ? json(nullptr) : json::parse(f[20].as<std::string>())},
                   {"needs_location", f[21].as<bool>()},
                   {"zone_id", text_or_null(f[15])},
                   {"grid_id", text_or_null(f[16])},
                   {"owner_flag", text_or_null(f[22])}};
  json fusion = f[23].is_null() ? json::object() : json::parse(f[23].as<std::string>());
  json household = json::array();
  if (auto h = fusion.find("household"); h != fusion.end() && !h->empty()) {
    // Names, id numbers and phones are joined live: the stored fusion holds person ids only.
    json ids = json::array();
    for (const auto& p : *h) ids.push_back(p["person_id"]);
    std::map<std::string, pqxx::row> people;
    const auto rows = detail::exec_named(t, "xn_view_people",
        "SELECT id, name, id_number, array_to_json(phones)::text FROM persons"
        " WHERE id IN (SELECT json_array_elements_text($1::json))",
        ids.dump());
    for (const auto& r : rows) people.emplace(r[0].as<std::string>(), r);
    for (const auto& p : *h) {
      json entry = p;
      const auto it = people.find(p["person_id"].get<std::string>());
      if (it == people.end()) continue;  // removed from the register since
      entry["name"] = it->second[1].as<std::string>();
      entry["id_number"] = text_or_null(it->second[2]);
      entry["phones"] = json::parse(it->second[3].as<std::string>());
      household.push_back(std::move(entry));
    }
  }
  json alerts = json::array();
  for (const auto& r : detail::exec_named(t, "xn_view_alerts",
           "SELECT id, source, source_ref, " XN_TS("received_at") ", category, priority, caller_phone, caller_name,"
           " ST_X(location), ST_Y(location), address, marker, subject_phone, subject_id_number, description,"
           " merged, " XN_TS("created_at") ", submitted_by FROM alerts WHERE incident_id = $1 ORDER BY received_at, id",
           id)) {
    json caller = nullptr;
    if (!r[6].is_null() || !r[7].is_null()) caller = {{"phone", text_or_null(r[6])}, {"name", text_or_null(r[7])}};
    json subject = nullptr;
    if (!r[12].is_null() || !r[13].is_null())
      subject = {{"phone", text_or_null(r[12])}, {"id_number", text_or_null(r[13])}};
    alerts.push_back({{"id", r[0].as<std::string>()},
                      {"source", r[1].as<std::string>()},
                      {"source_ref", r[2].as<std::string>()},
                      {"received_at", r[3].as<std::string>()},
                      {"category", r[4].as<std::string>()},
                      {"priority", r[5].as<int>()},
                      {"caller", std::move(caller)},
                      {"location", point_or_null(r[8], r[9])},
                      {"address", text_or_null(r[10])},
                      {"marker", text_or_null(r[11])},
                      {"subject", std::move(subject)},
                      {"description", text_or_null(r[14])},
                      {"merged", r[15].as<bool>()},
                      {"created_at", r[16].as<std::string>()},
                      {"submitted_by", text_or_null(r[17])}});
  }
  json shared = json::array();
  for (const auto& r : detail::exec_named(t, "xn_view_shares",
                                          "SELECT station_id FROM incident_shares WHERE incident_id = $1 ORDER BY station_id",
                                          id)) {
    shared.push_back(r[0].as<std::string>());
  }
  const auto member = [&fusion](const char* key, json fallback) {
    const auto it = fusion.find(key);
    return it == fusion.end() ? fallback : *it;
  };
  json view{{"incident", incident_json(inc[0])},
              {"shared_with", std::move(shared)},
              {"alerts", std::move(alerts)},
              {"station", std::move(station)},
              {"zone", std::move(zone)},
              {"grid", std::move(grid)},
              {"location", std::move(location)},
              {"cameras", member("cameras", json::array())},
              {"units", member("units", json::array())},
              {"units_stale_skipped", member("units_stale_skipped", 0)},
              {"household", std::move(household)},
              {"history", member("history", json::array())},
              {"fused_at", text_or_null(f[24])}};
  add_orders_to_view(t, id, view);  // orders and the timeline (src/store/orders.cpp)
  add_support_to_view(t, id, view);
  return view;
}

std::vector<domain::Category> load_categories(pqxx::connection& c) {
  pqxx::read_transaction t(c);
  std::vector<domain::Category> out;
  for (const auto& r :
       t.exec("SELECT code, name_zh, name_en, default_priority, non_police FROM categories ORDER BY code")) {
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<int>(),
                   r[4].as<bool>()});
  }
  return out;
}

std::vector<domain::Frame> read_events(pqxx::connection& c, std::int64_t after, int limit) {
  pqxx::read_transaction t(c);
  std::vector<domain::Frame> out;
  const auto rows = t.exec_params("SELECT seq, type, " XN_TS("at") ", coalesce(category, ''), coalesce(station_id, ''),"
                                  " data::text FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                                  after, limit);
  out.reserve(rows.size());
  for (const auto& r : rows) {
    const auto seq = r[0].as<std::int64_t>();
    out.push_back(domain::Frame{seq, r[3].as<std::string>(), r[4].as<std::string>(),
                                feed_frame(seq, r[1].as<std::string>(), r[2].as<std::string>(), r[5].as<std::string>())});
  }
  return out;
}

std::int64_t last_seq(pqxx::connection& c) {
  pqxx::read_transaction t(c);
  return t.exec1("SELECT last FROM feed_seq")[0].as<std::int64_t>();
}

int schema_version(pqxx::connection& c) {
  pqxx::read_transaction t(c);
  // Two statements: a query naming a missing table fails at planning, whatever its CASE says.
  if (t.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) return 0;
  return t.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

}  // namespace xiaonao::store
