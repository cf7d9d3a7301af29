#include "xiaonao/store/loop.hpp"

#include <nlohmann/json.hpp>

#include "prepared.hpp"

namespace xiaonao::store {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace loop = domain::loop;

domain::Result<LockedIncident> lock_incident(pqxx::work& w, const std::string& incident_id, const MaySee& may_see) {
  const auto r = detail::exec_named(
      w, "xn_lock_incident",
      "SELECT i.number, i.status, i.category, i.priority, coalesce(i.station_id, ''), coalesce(z.area_type, ''),"
      " array_to_json(ARRAY(SELECT station_id FROM incident_shares s WHERE s.incident_id = i.id))::text"
      " FROM incidents i LEFT JOIN zones z ON z.id = i.zone_id WHERE i.id = $1::uuid FOR UPDATE OF i",
      incident_id);
  const Error missing{ErrorKind::not_found, "no incident with this id", "id"};
  if (r.empty()) return missing;
  LockedIncident inc;
  inc.id = incident_id;
  inc.number = r[0][0].as<std::string>();
  inc.status = r[0][1].as<std::string>();
  inc.category = r[0][2].as<std::string>();
  inc.priority = r[0][3].as<int>();
  inc.station_id = r[0][4].as<std::string>();
  inc.area = loop::parse_area_type(r[0][5].as<std::string>());
  if (may_see) {
    const auto shares = json::parse(r[0][6].as<std::string>()).get<std::vector<std::string>>();
    if (!may_see(inc.station_id, shares)) return missing;
  }
  return inc;
}

namespace {

// The column stamped when the incident first reaches a state (none for received).
const char* stamp_column(loop::IncidentState s) {
  switch (s) {
    case loop::IncidentState::assessed: return "assessed_at";
    case loop::IncidentState::dispatched: return "dispatched_at";
    case loop::IncidentState::on_scene: return "arrived_at";
    case loop::IncidentState::resolved:
    case loop::IncidentState::cancelled:
    case loop::IncidentState::diverted: return "resolved_at";
    case loop::IncidentState::closed: return "closed_at";
    default: return nullptr;
  }
}

}  // namespace

domain::Result<IncidentStep> transition_incident(pqxx::work& w, LockedIncident& inc, loop::IncidentEvent e,
                                                 const std::string& actor, const std::string& reason,
                                                 const std::string& at_text, std::vector<NewEvent>& events) {
  const auto from = loop::parse_incident_state(inc.status);
  const auto to = from ? loop::next(*from, e) : std::nullopt;
  if (!to) {
    Error err{ErrorKind::conflict,
              std::string("an incident that is ") + inc.status + " cannot take '" + loop::name(e) + "'", "event"};
    err.state = inc.status;
    return err;
  }
  if (e == loop::IncidentEvent::close) {
    const auto f = w.exec_params(
        "SELECT outcome IS NOT NULL, review_verdict IS NOT NULL FROM incident_feedback WHERE incident_id = $1::uuid",
        inc.id);
    if (f.empty() || !f[0][0].as<bool>() || !f[0][1].as<bool>()) {
      Error err{ErrorKind::conflict, "an incident closes only after its feedback result and a review", "event"};
      err.state = inc.status;
      return err;
    }
  }
  IncidentStep step{inc.status, loop::name(*to), *to != *from};
  if (!step.changed) return step;
  const char* col = stamp_column(*to);
  const std::string stamp = col ? std::string(", ") + col + " = coalesce(" + col + ", $4::timestamptz)" : "";
  // One prepared statement per stamp column (a handful).
  const std::string name = std::string("xn_transition_") + (col ? col : "none");
  detail::exec_named(w, name.c_str(),
                     "UPDATE incidents SET status = $2, status_reason = $3, updated_at = $4::timestamptz" + stamp +
                         " WHERE id = $1::uuid",
                     inc.id, step.to, reason.empty() ? nullptr : reason.c_str(), at_text);
  inc.status = step.to;
  const json data = {{"id", inc.id},     {"number", inc.number}, {"from", step.from}, {"to", step.to},
                     {"event", loop::name(e)}, {"actor", actor}, {"reason", reason},  {"at", at_text}};
  events.push_back({"incident." + step.to, inc.id, inc.category, inc.station_id, data.dump()});
  return step;
}

const char* const insert_deadlines_sql =
    "INSERT INTO deadlines (incident_id, station_id, subject_kind, subject_id, kind, due_at, created_at)"
    " SELECT r.incident_id, nullif(r.station_id, ''), r.subject_kind, r.subject_id, r.kind,"
    "        $2::timestamptz + make_interval(secs => r.seconds), $2::timestamptz"
    " FROM json_to_recordset($1::json) AS r(incident_id uuid, station_id text, subject_kind text,"
    "                                       subject_id text, kind text, seconds int)"
    " ON CONFLICT (subject_kind, subject_id, kind) DO NOTHING";

std::string deadlines_param(const std::vector<NewDeadline>& ds) {
  json rows = json::array();
  for (const auto& d : ds)
    rows.push_back({{"incident_id", d.incident_id}, {"station_id", d.station_id}, {"subject_kind", d.subject_kind},
                    {"subject_id", d.subject_id}, {"kind", loop::name(d.kind)}, {"seconds", d.seconds}});
  return rows.dump();
}

void add_deadlines(pqxx::work& w, const std::vector<NewDeadline>& ds, const std::string& from_text) {
  if (ds.empty()) return;
  // The insert and the NOTIFY in one statement (one round trip); pg_notify with an empty
  // payload is NOTIFY without one.
  detail::exec_named(w, "xn_add_deadlines",
                     std::string("WITH ins AS (") + insert_deadlines_sql + " RETURNING 1) SELECT pg_notify($3, '')",
                     deadlines_param(ds), from_text, kDeadlineChannel);
}

int meet_deadlines(pqxx::work& w, const std::string& subject_kind, const std::string& subject_id,
                   const std::vector<loop::DeadlineKind>& kinds, const std::string& at_text) {
  json names = json::array();
  for (const auto k : kinds) names.push_back(loop::name(k));
  const auto r = detail::exec_named(
      w, "xn_meet_deadlines",
      "UPDATE deadlines SET met_at = $4::timestamptz"
      " WHERE subject_kind = $1 AND subject_id = $2 AND met_at IS NULL"
      "   AND kind IN (SELECT json_array_elements_text($3::json))",
      subject_kind, subject_id, names.dump(), at_text);
  return static_cast<int>(r.affected_rows());
}

}  // namespace xiaonao::store
