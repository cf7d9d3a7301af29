#include "xiaonao/store/orders.hpp"
#include "prepared.hpp"
#include "sql_time.hpp"

#include <algorithm>
#include <iterator>
#include <map>

#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/store/event_log.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace loop = domain::loop;
namespace orders = domain::orders;


// The order JSON without deadlines (o = orders or a row of them, i = incidents, u = units).
#define XN_ORDER_JSON \
  "json_build_object(" \
  " 'id', o.id, 'number', o.number, 'incident_id', o.incident_id, 'incident_number', i.number," \
  " 'station_id', o.station_id, 'unit_id', o.unit_id, 'unit_call_sign', u.call_sign, 'kind', o.kind," \
  " 'instruction', o.instruction, 'state', o.state, 'reason', o.reason, 'note', o.note," \
  " 'replaced_by', o.replaced_by, 'issued_by', o.issued_by," \
  " 'issued_at', " XN_TS("o.issued_at") "," \
  " 'acknowledged_at', " XN_TS("o.acknowledged_at") "," \
  " 'en_route_at', " XN_TS("o.en_route_at") "," \
  " 'on_scene_at', " XN_TS("o.on_scene_at") "," \
  " 'completed_at', " XN_TS("o.completed_at") "," \
  " 'ended_at', " XN_TS("o.ended_at") "," \
  " 'updated_at', " XN_TS("o.updated_at") ")::text"

// The order's deadlines as a JSON array, read from `src` (the deadlines table, or a view of it
// that shows this statement's own changes).
#define XN_ORDER_DEADLINES(src) \
  "(SELECT coalesce(json_agg(json_build_object(" \
  " 'kind', d.kind, 'due_at', " XN_TS("d.due_at") ", 'met_at', " XN_TS("d.met_at") "," \
  " 'fired_at', " XN_TS("d.fired_at") ", 'late_s', d.late_s) ORDER BY d.due_at, d.kind), '[]')" \
  " FROM " src " d WHERE d.subject_kind = 'order' AND d.subject_id = o.id::text)::text"

// One order as the API shows it, then its deadlines, its station, its incident's station and
// its issue time in microseconds.
constexpr const char* order_select =
    "SELECT o.id::text, " XN_ORDER_JSON ", " XN_ORDER_DEADLINES("deadlines") ","
    " o.station_id, coalesce(i.station_id, ''), (extract(epoch FROM o.issued_at) * 1000000)::bigint"
    " FROM orders o JOIN incidents i ON i.id = o.incident_id JOIN units u ON u.id = o.unit_id ";

// The order JSON with its deadlines spliced in.
std::string with_deadlines(const std::string& order, const std::string& deadlines) {
  return order.substr(0, order.size() - 1) + ",\"deadlines\":" + deadlines + "}";
}

struct OrderRow {
  std::string id;
  std::string json;       // without deadlines (the feed event's data)
  std::string deadlines;  // JSON array
  std::string station;
  std::string incident_station;
  std::int64_t issued_us = 0;
  std::string full() const { return with_deadlines(json, deadlines); }
};

OrderRow order_row(const pqxx::row& r) {
  return OrderRow{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                  r[4].as<std::string>(), r[5].as<std::int64_t>()};
}

// The orders with these ids, in the given order.
std::vector<OrderRow> read_orders(pqxx::transaction_base& t, const std::vector<std::string>& ids) {
  const auto rows = detail::exec_named(
      t, "xn_read_orders", std::string(order_select) + " WHERE o.id IN (SELECT json_array_elements_text($1::json)::uuid)",
      json(ids).dump());
  std::map<std::string, OrderRow> by_id;
  for (const auto& r : rows) {
    auto o = order_row(r);
    by_id.emplace(o.id, std::move(o));
  }
  std::vector<OrderRow> out;
  for (const auto& id : ids) {
    if (auto it = by_id.find(id); it != by_id.end()) out.push_back(it->second);
  }
  return out;
}

std::string now_text() { return domain::format_rfc3339(domain::now_utc()); }

// A unit as locked before its status follows an order.
struct LockedUnit {
  std::string id;
  std::string call_sign;
  std::string kind;
  std::string station;
  std::string status;
  bool holds_order_here = false;  // an un-ended order of the same incident
};

// Locks the units (FOR UPDATE, by id) and reads them. The lock is its own statement, so the
// next statements (which count a unit's open orders) see every order committed before it.
std::map<std::string, LockedUnit> lock_units(pqxx::work& w, const std::vector<std::string>& ids,
                                             const std::string& incident_id) {
  std::map<std::string, LockedUnit> out;
  const auto rows = detail::exec_named(
      w, "xn_lock_units",
      "SELECT u.id, u.call_sign, u.kind, coalesce(u.station_id, ''), u.status,"
      " EXISTS (SELECT 1 FROM orders o WHERE o.unit_id = u.id AND o.incident_id = $2::uuid AND o.ended_at IS NULL)"
      " FROM units u WHERE u.id IN (SELECT json_array_elements_text($1::json)) ORDER BY u.id FOR UPDATE OF u",
      json(ids).dump(), incident_id);
  for (const auto& r : rows) {
    LockedUnit u{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                 r[4].as<std::string>(), r[5].as<bool>()};
    out.emplace(u.id, std::move(u));
  }
  return out;
}

// Whether `u` may take a new order of `order_station` from `who`; the error names `field`.
std::optional<Error> check_unit(const LockedUnit* u, const std::string& field, const OrderCaller& who) {
  if (u == nullptr) return Error{ErrorKind::invalid_field, field + ": no unit with this id", field};
  if (u->status == "off_duty" || u->status == "out_of_service")
    return Error{ErrorKind::invalid_field, field + ": unit " + u->id + " is " + u->status, field};
  // A station orders its own units; the county orders any station's.
  if (!who.station.empty() && u->station != who.station)
    return Error{ErrorKind::invalid_field, field + ": unit " + u->id + " belongs to another station", field};
  if (u->holds_order_here)
    return Error{ErrorKind::invalid_field, field + ": unit " + u->id + " already holds an open order of this incident",
                 field};
  return std::nullopt;
}

// The unit.status event of a change made by an order (the shape PATCH /api/v1/units/{id} writes,
// plus the order).
NewEvent unit_status_event(const LockedUnit& u, const std::string& old_status, const std::string& new_status,
                           const std::string& actor, const std::string& order_id, const std::string& incident_id) {
  const json data = {{"actor", actor},       {"call_sign", u.call_sign},
                     {"kind", u.kind},       {"new_status", new_status},
                     {"old_status", old_status}, {"station_id", u.station.empty() ? json(nullptr) : json(u.station)},
                     {"unit_id", u.id},      {"order_id", order_id}};
  return NewEvent{"unit.status", incident_id, "", u.station, data.dump()};
}

// Units that now hold an order become busy (only from available: busy stays busy, and a unit
// set off duty by hand was refused before).
void units_busy(pqxx::work& w, std::map<std::string, LockedUnit>& units, const std::vector<std::pair<std::string, std::string>>& unit_orders,
                const std::string& actor, const std::string& incident_id, std::vector<NewEvent>& events) {
  for (const auto& [unit_id, order_id] : unit_orders) {
    auto& u = units.at(unit_id);
    if (u.status != "available") continue;
    detail::exec_named(w, "xn_unit_busy", "UPDATE units SET status = 'busy', updated_at = now() WHERE id = $1", u.id);
    events.push_back(unit_status_event(u, "available", "busy", actor, order_id, incident_id));
    u.status = "busy";
  }
}

// A unit whose last order ended returns to available (only from busy: off_duty set by hand
// stays). The unit is locked already.
void unit_follows_end(pqxx::work& w, LockedUnit& u, const std::string& actor, const std::string& order_id,
                      const std::string& incident_id, std::vector<NewEvent>& events) {
  if (u.status != "busy") return;
  const auto r = w.exec_params(
      "UPDATE units u SET status = 'available', updated_at = now() WHERE u.id = $1 AND u.status = 'busy'"
      " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.unit_id = u.id AND o.ended_at IS NULL) RETURNING u.id",
      u.id);
  if (r.empty()) return;
  events.push_back(unit_status_event(u, "busy", "available", actor, order_id, incident_id));
  u.status = "available";
}

struct NewOrder {
  std::string id;
  std::string unit_id;
};

// Inserts one order per unit (numbers from order_serial) issued at `at`, with their
// acknowledge and arrive deadlines (and `deadlines`, added in the same statement). Returns the
// ids in unit order.
std::vector<NewOrder> insert_orders(pqxx::work& w, const LockedIncident& inc, const std::string& station,
                                    const std::vector<std::string>& unit_ids, const std::string& kind,
                                    const std::string& instruction, const std::string& actor, domain::TimePoint at,
                                    const loop::DeadlinePolicy& policy, int utc_offset_minutes,
                                    std::vector<NewDeadline> deadlines = {}) {
  const auto at_text = domain::format_rfc3339(at);
  const auto serials = detail::exec_named(w, "xn_order_serials",
                                          "SELECT nextval('order_serial') FROM generate_series(1, $1)",
                                          static_cast<int>(unit_ids.size()));
  std::vector<NewOrder> out;
  json rows = json::array();
  for (std::size_t i = 0; i < unit_ids.size(); ++i) {
    NewOrder o{domain::new_uuid(), unit_ids[i]};
    rows.push_back({{"id", o.id},
                    {"number", domain::orders::format_order_number(at, serials[i][0].as<std::int64_t>(), utc_offset_minutes)},
                    {"unit_id", o.unit_id}});
    for (const auto k : {loop::DeadlineKind::acknowledge, loop::DeadlineKind::arrive})
      deadlines.push_back({inc.id, station, "order", o.id, k, loop::deadline_seconds(policy, k, inc.priority, inc.area)});
    out.push_back(std::move(o));
  }
  detail::exec_named(
      w, "xn_insert_orders",
      "INSERT INTO orders (id, number, incident_id, station_id, unit_id, kind, instruction, state, issued_by,"
      " issued_at, updated_at)"
      " SELECT r.id, r.number, $2::uuid, $3, r.unit_id, $4, $5, 'issued', $6, $7::timestamptz, $7::timestamptz"
      " FROM json_to_recordset($1::json) AS r(id uuid, number text, unit_id text)",
      rows.dump(), inc.id, station, kind, instruction, actor, at_text);
  add_deadlines(w, deadlines, at_text);
  return out;
}

// Issuing in one statement, after the locks and checks: the deadlines ($1, from $2; the
// orders' own and the incident's feedback), the orders ($4: id, number, unit_id; of incident
// $5, station $6, kind $7, instruction $8, issued by $9 at $2), the units of $10 that were
// available made busy, the NOTIFY that wakes the escalation schedulers ($3), and the orders read
// back as the API shows them with their deadlines (RETURNING rows: every part of the statement
// sees the snapshot from before it). It was five statements (docs/PERFORMANCE.md, "Orders").
const std::string& issue_sql() {
  static const std::string sql =
      std::string("WITH dl AS (") + insert_deadlines_sql +
      " RETURNING subject_kind, subject_id, kind, due_at, met_at, fired_at, late_s"
      "), o AS ("
      "  INSERT INTO orders (id, number, incident_id, station_id, unit_id, kind, instruction, state, issued_by,"
      "    issued_at, updated_at)"
      "  SELECT r.id, r.number, $5::uuid, $6, r.unit_id, $7, $8, 'issued', $9, $2::timestamptz, $2::timestamptz"
      "  FROM json_to_recordset($4::json) AS r(id uuid, number text, unit_id text)"
      "  RETURNING *"
      "), busy AS ("
      "  UPDATE units b SET status = 'busy', updated_at = now()"
      "  WHERE b.id IN (SELECT json_array_elements_text($10::json)) AND b.status = 'available' RETURNING b.id"
      "), n AS (SELECT pg_notify($3, ''))"
      " SELECT o.id::text, " XN_ORDER_JSON ", " XN_ORDER_DEADLINES("dl") ", o.station_id,"
      " (SELECT count(*) FROM busy)"
      " FROM o JOIN incidents i ON i.id = o.incident_id JOIN units u ON u.id = o.unit_id, n";
  return sql;
}

// The order step's statements, prepared once per pool connection (an order step is a hot
// path: planning them per call cost more than running them). Redefining a name with the same
// text is a no-op in libpqxx, so preparing on every call is cheap.
//
// Locks the order's incident, the order and (for every step but reassign) its unit, in the
// usual order incident → order → unit (a row-locking join locks in the order the OF list names
// them), and reads what the step needs: the order's head, the incident as lock_incident reads
// it, and the unit.
#define XN_STEP_LOCK(lock_of)                                                                              \
  "SELECT o.station_id, o.state, o.unit_id, o.kind, o.instruction,"                                       \
  " (extract(epoch FROM o.issued_at) * 1000000)::bigint,"                                                  \
  " i.id::text, i.number, i.status, i.category, i.priority, coalesce(i.station_id, ''),"                   \
  " coalesce(z.area_type, ''),"                                                                            \
  " array_to_json(ARRAY(SELECT station_id FROM incident_shares s WHERE s.incident_id = i.id))::text,"      \
  " u.call_sign, u.kind, coalesce(u.station_id, ''), u.status"                                             \
  " FROM orders o JOIN incidents i ON i.id = o.incident_id JOIN units u ON u.id = o.unit_id"               \
  " LEFT JOIN zones z ON z.id = i.zone_id WHERE o.id = $1::uuid FOR UPDATE OF " lock_of

constexpr const char* step_lock_sql = XN_STEP_LOCK("i, o, u");
constexpr const char* step_lock_no_unit_sql = XN_STEP_LOCK("i, o");

// One order step in one statement: the order's new state and time stamps (a skipped step
// stamps acknowledged_at too: a unit reporting en route or on scene has evidently heard the
// order), the deadlines it meets, the unit freed when this was its last open order (only from
// busy: off_duty set by hand stays; only when $9, the step ends the order), and the order read
// back with its deadlines as they are now. $1 order, $2 new state, $3 step, $4 at, $5 note,
// $6 reason, $7 now, $8 deadline kinds met (JSON array), $9 whether the step ends the order.
// Every part sees the snapshot from before the statement, hence the RETURNING rows and the
// explicit "other than this order" in the unit's count.
constexpr const char* step_sql =
    "WITH o AS ("
    "  UPDATE orders SET state = $2,"
    "    acknowledged_at = CASE WHEN $3 IN ('ack', 'en_route', 'on_scene')"
    "                      THEN coalesce(acknowledged_at, $4::timestamptz) ELSE acknowledged_at END,"
    "    en_route_at = CASE WHEN $3 = 'en_route' THEN $4::timestamptz ELSE en_route_at END,"
    "    on_scene_at = CASE WHEN $3 = 'on_scene' THEN $4::timestamptz ELSE on_scene_at END,"
    "    completed_at = CASE WHEN $3 = 'complete' THEN $4::timestamptz ELSE completed_at END,"
    "    ended_at = CASE WHEN $9::boolean THEN $4::timestamptz ELSE ended_at END,"
    "    note = coalesce($5, note), reason = coalesce($6, reason), updated_at = $7::timestamptz"
    "  WHERE id = $1::uuid RETURNING *"
    "), met AS ("
    "  UPDATE deadlines SET met_at = $4::timestamptz"
    "  WHERE subject_kind = 'order' AND subject_id = $1::uuid::text AND met_at IS NULL"
    "    AND kind IN (SELECT json_array_elements_text($8::json))"
    "  RETURNING id, met_at"
    "), freed AS ("
    "  UPDATE units f SET status = 'available', updated_at = now()"
    "  WHERE $9::boolean AND f.id = (SELECT unit_id FROM o) AND f.status = 'busy'"
    "    AND NOT EXISTS (SELECT 1 FROM orders x WHERE x.unit_id = f.id AND x.ended_at IS NULL AND x.id <> $1::uuid)"
    "  RETURNING f.id"
    ")"
    " SELECT " XN_ORDER_JSON ","
    " " XN_ORDER_DEADLINES("(SELECT d.subject_kind, d.subject_id, d.kind, d.due_at,"
                           " coalesce(m.met_at, d.met_at) AS met_at, d.fired_at, d.late_s"
                           " FROM deadlines d LEFT JOIN met m ON m.id = d.id)") ","
    " o.station_id, EXISTS (SELECT 1 FROM freed)"
    " FROM o JOIN incidents i ON i.id = o.incident_id JOIN units u ON u.id = o.unit_id";

void prepare_order_steps(pqxx::connection& c) {
  c.prepare("xn_order_step_lock", step_lock_sql);
  c.prepare("xn_order_step_lock_no_unit", step_lock_no_unit_sql);
  c.prepare("xn_order_step", step_sql);
  c.prepare("xn_append", append_events_sql);
}

// Commits `events` (appended last, by the prepared statement) and returns their frames.
std::vector<domain::Frame> commit_prepared(pqxx::work& w, const std::vector<NewEvent>& events) {
  const auto at = now_text();
  std::int64_t last = 0;
  if (!events.empty())
    last = w.exec_prepared1("xn_append", events_param(events), static_cast<std::int64_t>(events.size()), at)[0]
               .as<std::int64_t>();
  w.commit();
  return event_frames(events, last, at);
}

Error no_order() { return Error{ErrorKind::not_found, "no order with this id", "id"}; }

// Commits `events` (appended last) and returns their frames.
std::vector<domain::Frame> commit_with(pqxx::work& w, const std::vector<NewEvent>& events) {
  const auto at = now_text();
  const auto last = append_events(w, events, at);
  w.commit();
  return event_frames(events, last, at);
}

}  // namespace

void prepare_order_statements(pqxx::connection& c) { prepare_order_steps(c); }

domain::Result<std::string> apply_transition_in(pqxx::work& w, const std::string& incident_id,
                                                const orders::TransitionRequest& r, const OrderCaller& who,
                                                std::vector<NewEvent>& out) {
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  const auto at = now_text();
  const bool corrects = r.event == loop::IncidentEvent::assess && (r.category || r.priority);
  if (corrects) {
    if (r.category &&
        w.exec_params("SELECT 1 FROM categories WHERE code = $1", *r.category).empty())
      return Error{ErrorKind::unknown_category, "unknown category '" + *r.category + "'", "category"};
    // Checked against the lifecycle before anything is written.
    const auto from = loop::parse_incident_state(inc->status);
    if (!from || !loop::next(*from, r.event)) {
      Error err{ErrorKind::conflict, "an incident that is " + inc->status + " cannot take 'assess'", "event"};
      err.state = inc->status;
      return err;
    }
    w.exec_params0("UPDATE incidents SET category = coalesce($2, category), priority = coalesce($3::smallint, priority)"
                   " WHERE id = $1::uuid",
                   inc->id, r.category ? r.category->c_str() : nullptr,
                   r.priority ? std::to_string(*r.priority).c_str() : nullptr);
    if (r.category) inc->category = *r.category;
    if (r.priority) inc->priority = *r.priority;
  }
  std::vector<NewEvent> events;
  auto step = transition_incident(w, *inc, r.event, who.actor, r.reason, at, events);
  if (!step) return step.error();
  if (r.event == loop::IncidentEvent::assess) {
    if (!step->changed) {
      // A re-assessment keeps the state but is a recorded step all the same.
      const json data = {{"id", inc->id},   {"number", inc->number}, {"from", step->from}, {"to", step->to},
                         {"event", "assess"}, {"actor", who.actor},  {"reason", r.reason}, {"at", at}};
      events.push_back({"incident.assessed", inc->id, inc->category, inc->station_id, data.dump()});
    }
    auto data = json::parse(events.back().data);
    data["category"] = inc->category;
    data["priority"] = inc->priority;
    events.back().data = data.dump();
  }
  std::move(events.begin(), events.end(), std::back_inserter(out));
  return std::string();
}

domain::Result<LoopWrite> apply_transition(pqxx::connection& c, const std::string& incident_id,
                                           const orders::TransitionRequest& r, const OrderCaller& who) {
  pqxx::work w(c);
  std::vector<NewEvent> events;
  auto body = apply_transition_in(w, incident_id, r, who, events);
  if (!body) return body.error();
  return LoopWrite{std::move(*body), commit_with(w, events)};
}

domain::Result<std::string> issue_orders_in(pqxx::work& w, const std::string& incident_id,
                                            const orders::OrderRequest& r, const OrderCaller& who,
                                            const loop::DeadlinePolicy& policy, int utc_offset_minutes,
                                            std::vector<NewEvent>& out) {
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  const std::string station = r.station_id.empty() ? inc->station_id : r.station_id;
  if (station.empty())
    return Error{ErrorKind::missing_field, "the incident has no owner station yet: name station_id", "station_id"};
  if (!who.station.empty() && station != who.station)
    return Error{ErrorKind::forbidden, "a station orders for its own station only", "station_id"};
  if (!r.station_id.empty() && w.exec_params("SELECT 1 FROM stations WHERE id = $1", station).empty())
    return Error{ErrorKind::invalid_field, "station_id: no station with this id", "station_id"};
  // The lifecycle first: an order on a finished incident is a conflict whatever the units.
  const auto from = loop::parse_incident_state(inc->status);
  if (!from || !loop::next(*from, loop::IncidentEvent::dispatch)) {
    Error err{ErrorKind::conflict, "an incident that is " + inc->status + " takes no orders", "event"};
    err.state = inc->status;
    return err;
  }
  auto units = lock_units(w, r.unit_ids, inc->id);
  for (std::size_t i = 0; i < r.unit_ids.size(); ++i) {
    const auto it = units.find(r.unit_ids[i]);
    if (auto e = check_unit(it == units.end() ? nullptr : &it->second, "unit_ids[" + std::to_string(i) + "]", who))
      return *e;
  }
  const auto now = domain::now_utc();
  const auto at = domain::format_rfc3339(now);
  std::vector<NewEvent> events;
  auto step = transition_incident(w, *inc, loop::IncidentEvent::dispatch, who.actor, "", at, events);
  if (!step) return step.error();
  // The orders, numbered from order_serial, with their acknowledge and arrive deadlines; the
  // result (反馈) is due a while after the incident's first order (ON CONFLICT keeps the first).
  const auto serials = detail::exec_named(w, "xn_order_serials",
                                          "SELECT nextval('order_serial') FROM generate_series(1, $1)",
                                          static_cast<int>(r.unit_ids.size()));
  std::vector<NewDeadline> deadlines{
      {inc->id, inc->station_id, "incident", inc->id, loop::DeadlineKind::feedback,
       loop::deadline_seconds(policy, loop::DeadlineKind::feedback, inc->priority, inc->area)}};
  json rows = json::array();
  std::vector<std::string> ids;
  json busy = json::array();
  std::map<std::string, std::string> order_of_unit;
  for (std::size_t i = 0; i < r.unit_ids.size(); ++i) {
    const auto id = domain::new_uuid();
    ids.push_back(id);
    order_of_unit[r.unit_ids[i]] = id;
    rows.push_back({{"id", id},
                    {"number", orders::format_order_number(now, serials[i][0].as<std::int64_t>(), utc_offset_minutes)},
                    {"unit_id", r.unit_ids[i]}});
    for (const auto k : {loop::DeadlineKind::acknowledge, loop::DeadlineKind::arrive})
      deadlines.push_back({inc->id, station, "order", id, k, loop::deadline_seconds(policy, k, inc->priority, inc->area)});
    // Only from available: busy stays busy, and off duty was refused above.
    if (units.at(r.unit_ids[i]).status == "available") busy.push_back(r.unit_ids[i]);
  }
  std::map<std::string, OrderRow> by_id;
  for (const auto& row : detail::exec_named(w, "xn_issue_orders", issue_sql(), deadlines_param(deadlines), at,
                                            kDeadlineChannel, rows.dump(), inc->id, station, r.kind, r.instruction,
                                            who.actor, busy.dump())) {
    OrderRow o{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
               row[3].as<std::string>(), inc->station_id, 0};
    by_id.emplace(o.id, std::move(o));
  }
  std::string body = "{\"orders\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& o = by_id.at(ids[i]);
    if (i) body += ',';
    body += o.full();
    events.push_back({"order.issued", inc->id, inc->category, o.station, o.json});
  }
  body += "]}";
  for (const auto& unit_id : busy) {
    const auto& u = units.at(unit_id.get<std::string>());
    events.push_back(unit_status_event(u, "available", "busy", who.actor, order_of_unit.at(u.id), inc->id));
  }
  std::move(events.begin(), events.end(), std::back_inserter(out));
  return body;
}

domain::Result<LoopWrite> issue_orders(pqxx::connection& c, const std::string& incident_id,
                                       const orders::OrderRequest& r, const OrderCaller& who,
                                       const loop::DeadlinePolicy& policy, int utc_offset_minutes) {
  prepare_order_steps(c);
  pqxx::work w(c);
  std::vector<NewEvent> events;
  auto body = issue_orders_in(w, incident_id, r, who, policy, utc_offset_minutes, events);
  if (!body) return body.error();
  return LoopWrite{std::move(*body), commit_prepared(w, events)};
}

domain::Result<std::string> record_order_event_in(pqxx::work& w, const std::string& order_id,
                                                  const orders::OrderEventRequest& r, const OrderCaller& who,
                                                  const loop::DeadlinePolicy& policy, int utc_offset_minutes,
                                                  std::vector<NewEvent>& out) {
  using E = loop::OrderEvent;
  const bool reassign = r.type == E::reassign;
  // A reassign locks both units later, by id, as issuing does; every other step locks the
  // order's own unit here.
  const auto head = w.exec_prepared(reassign ? "xn_order_step_lock_no_unit" : "xn_order_step_lock", order_id);
  if (head.empty()) return no_order();
  const auto& h = head[0];
  const auto order_station = h[0].as<std::string>();
  const auto state_text = h[1].as<std::string>();
  const auto unit_id = h[2].as<std::string>();
  const auto kind = h[3].as<std::string>();
  const auto instruction = h[4].as<std::string>();
  const domain::TimePoint issued{std::chrono::microseconds(h[5].as<std::int64_t>())};
  LockedIncident inc_row;
  inc_row.id = h[6].as<std::string>();
  inc_row.number = h[7].as<std::string>();
  inc_row.status = h[8].as<std::string>();
  inc_row.category = h[9].as<std::string>();
  inc_row.priority = h[10].as<int>();
  inc_row.station_id = h[11].as<std::string>();
  inc_row.area = loop::parse_area_type(h[12].as<std::string>());
  // A station sees the orders for its own units even on another station's incident.
  if (!(!who.station.empty() && who.station == order_station) && who.may_see) {
    const auto shares = json::parse(h[13].as<std::string>()).get<std::vector<std::string>>();
    if (!who.may_see(inc_row.station_id, shares)) return no_order();
  }
  auto* inc = &inc_row;
  const auto state = loop::parse_order_state(state_text);
  const auto next = state ? loop::next(*state, r.type) : std::nullopt;
  if (!next) {
    Error err{ErrorKind::conflict, "an order that is " + state_text + " cannot take '" + loop::name(r.type) + "'",
              "type"};
    err.state = state_text;
    return err;
  }
  const auto now = domain::now_utc();
  const auto at = r.at.value_or(now);
  if (at < issued) return Error{ErrorKind::invalid_field, "at lies before the order was issued", "at"};
  const auto at_text = domain::format_rfc3339(at);
  std::vector<NewEvent> events;
  // Its deadlines: each step meets those it makes moot, and an ended order escalates nothing.
  std::vector<loop::DeadlineKind> met{loop::DeadlineKind::acknowledge};
  if (r.type != E::ack && r.type != E::en_route) met.push_back(loop::DeadlineKind::arrive);

  if (!reassign) {
    LockedUnit unit{unit_id, h[14].as<std::string>(), h[15].as<std::string>(), h[16].as<std::string>(),
                    h[17].as<std::string>(), false};
    // The incident follows first (it is locked first): the first unit on scene moves it on scene.
    if (r.type == E::on_scene && inc->status == "dispatched") {
      auto step = transition_incident(w, *inc, loop::IncidentEvent::arrive, who.actor, r.note, at_text, events);
      if (!step) return step.error();
    }
    json met_names = json::array();
    for (const auto k : met) met_names.push_back(loop::name(k));
    const auto row = w.exec_prepared1("xn_order_step", order_id, loop::name(*next), loop::name(r.type), at_text,
                                      r.note.empty() ? nullptr : r.note.c_str(),
                                      r.reason.empty() ? nullptr : r.reason.c_str(), domain::format_rfc3339(now),
                                      met_names.dump(), loop::is_ended(*next));
    const auto order = row[0].as<std::string>();
    events.push_back({std::string("order.") + loop::name(*next), inc->id, inc->category, row[2].as<std::string>(),
                      order});
    if (row[3].as<bool>())
      events.push_back(unit_status_event(unit, "busy", "available", who.actor, order_id, inc->id));
    std::move(events.begin(), events.end(), std::back_inserter(out));
    return with_deadlines(order, row[1].as<std::string>());
  }

  std::vector<std::string> lock_ids{unit_id};
  if (r.unit_id != unit_id) lock_ids.push_back(r.unit_id);
  auto units = lock_units(w, lock_ids, inc->id);
  std::vector<NewOrder> replacement;
  {
    const auto it = units.find(r.unit_id);
    if (r.unit_id == unit_id)
      return Error{ErrorKind::invalid_field, "unit_id: reassign to another unit than the order's own", "unit_id"};
    if (auto e = check_unit(it == units.end() ? nullptr : &it->second, "unit_id", who)) return *e;
  }
  w.exec_params0("UPDATE orders SET state = $2, ended_at = $3::timestamptz"
                 ", note = coalesce($4, note), reason = coalesce($5, reason), updated_at = $6::timestamptz"
                 " WHERE id = $1::uuid",
                 order_id, loop::name(*next), at_text, r.note.empty() ? nullptr : r.note.c_str(),
                 r.reason.empty() ? nullptr : r.reason.c_str(), domain::format_rfc3339(now));
  meet_deadlines(w, "order", order_id, met, at_text);
  replacement = insert_orders(w, *inc, order_station, {r.unit_id}, kind, instruction, who.actor, at, policy,
                              utc_offset_minutes);
  w.exec_params0("UPDATE orders SET replaced_by = $2::uuid WHERE id = $1::uuid", order_id, replacement[0].id);
  const auto rows = read_orders(w, {order_id, replacement[0].id});
  events.push_back({std::string("order.") + loop::name(*next), inc->id, inc->category, rows[0].station, rows[0].json});
  events.push_back({"order.issued", inc->id, inc->category, rows[1].station, rows[1].json});
  units_busy(w, units, {{r.unit_id, replacement[0].id}}, who.actor, inc->id, events);
  unit_follows_end(w, units.at(unit_id), who.actor, order_id, inc->id, events);
  std::move(events.begin(), events.end(), std::back_inserter(out));
  return "{\"order\":" + rows[0].full() + ",\"replacement\":" + rows[1].full() + "}";
}

domain::Result<LoopWrite> record_order_event(pqxx::connection& c, const std::string& order_id,
                                             const orders::OrderEventRequest& r, const OrderCaller& who,
                                             const loop::DeadlinePolicy& policy, int utc_offset_minutes) {
  prepare_order_steps(c);
  pqxx::work w(c);
  std::vector<NewEvent> events;
  auto body = record_order_event_in(w, order_id, r, who, policy, utc_offset_minutes, events);
  if (!body) return body.error();
  return LoopWrite{std::move(*body), commit_prepared(w, events)};
}

namespace {

// Whether a station caller sees an order: its station's, or one of an incident it sees.
constexpr const char* order_visible_sql =
    " ($V = '' OR o.station_id = $V OR i.station_id = $V OR EXISTS (SELECT 1 FROM incident_shares s"
    " WHERE s.incident_id = o.incident_id AND s.station_id = $V))";

std::string visible(const char* param) {
  std::string s = order_visible_sql;
  for (std::size_t p; (p = s.find("$V")) != std::string::npos;) s.replace(p, 2, param);
  return s;
}

}  // namespace

domain::Result<std::string> get_order(pqxx::connection& c, const std::string& order_id, const OrderCaller& who) {
  pqxx::read_transaction t(c);
  const auto r = t.exec_params(std::string(order_select) + " WHERE o.id = $1::uuid AND" + visible("$2"), order_id,
                               who.station);
  if (r.empty()) return no_order();
  return order_row(r[0]).full();
}

std::string list_orders(pqxx::connection& c, const orders::OrderQuery& q, const OrderCaller& who) {
  const auto after_t = q.after ? std::optional(domain::format_rfc3339(q.after->received_at)) : std::nullopt;
  const auto str_or_null = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  const std::string states = q.states.empty() ? std::string() : json(q.states).dump();
  pqxx::read_transaction t(c);
  const auto rows = t.exec_params(
      std::string(order_select) +
          " WHERE ($1::uuid IS NULL OR o.incident_id = $1::uuid) AND ($2::text IS NULL OR o.unit_id = $2)"
          " AND ($3::text IS NULL OR o.station_id = $3)"
          " AND ($4::text IS NULL OR o.state IN (SELECT json_array_elements_text($4::json)))"
          " AND ($5::timestamptz IS NULL OR (o.issued_at, o.id) < ($5, $6::uuid)) AND" +
          visible("$8") + " ORDER BY o.issued_at DESC, o.id DESC LIMIT $7",
      str_or_null(q.incident_id), str_or_null(q.unit_id), str_or_null(q.station_id), str_or_null(states),
      after_t ? after_t->c_str() : nullptr, q.after ? q.after->id.c_str() : nullptr, q.limit + 1, who.station);
  std::string out = "{\"items\":[";
  std::string next = "null";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) == q.limit) {
      const auto prev = order_row(rows[i - 1]);
      next = json(domain::encode_cursor(
                      {domain::TimePoint(std::chrono::microseconds(prev.issued_us)), prev.id}))
                 .dump();
      break;
    }
    if (i) out += ',';
    out += order_row(rows[i]).full();
  }
  out += "],\"next_cursor\":" + next + "}";
  return out;
}

void add_orders_to_view(pqxx::transaction_base& t, const std::string& incident_id, json& view) {
  json list = json::array();
  for (const auto& r :
       detail::exec_named(t, "xn_view_orders",
                          std::string(order_select) + " WHERE o.incident_id = $1::uuid ORDER BY o.issued_at, o.number",
                          incident_id))
    list.push_back(json::parse(order_row(r).full()));
  view["orders"] = std::move(list);
  // The timeline keeps its beginning and its latest steps; a long-running incident's middle is
  // counted instead (the feed and GET /api/v1/orders hold every step).
  json timeline = json::array();
  std::int64_t total = 0;
  for (const auto& r : detail::exec_named(t, "xn_view_timeline",
           "SELECT seq, type, " XN_TS("at") ", data::text, n FROM ("
           "  SELECT seq, type, at, data, row_number() OVER (ORDER BY seq) AS rn, count(*) OVER () AS n"
           "  FROM events WHERE incident_id = $1::uuid) e"
           " WHERE rn <= $2 OR rn > n - $3 ORDER BY seq",
           incident_id, kTimelineHead, kTimelineTail)) {
    total = r[4].as<std::int64_t>();
    timeline.push_back({{"seq", r[0].as<std::int64_t>()},
                        {"type", r[1].as<std::string>()},
                        {"at", r[2].as<std::string>()},
                        {"data", json::parse(r[3].as<std::string>())}});
  }
  view["timeline_omitted"] = total - static_cast<std::int64_t>(timeline.size());
  view["timeline"] = std::move(timeline);
}

}  // namespace xiaonao::store
