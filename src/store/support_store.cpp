#include "xiaonao/store/support_store.hpp"
#include "sql_time.hpp"
#include "prepared.hpp"

#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/store/event_log.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace loop = domain::loop;
namespace sup = domain::support;


// The deadlines of one subject as a JSON array text.
#define XN_DEADLINES(kind, id_expr)                                                                          \
  "(SELECT coalesce(json_agg(json_build_object('kind', d.kind, 'due_at', " XN_TS("d.due_at") ", 'met_at', " \
  XN_TS("d.met_at") ", 'fired_at', " XN_TS("d.fired_at") ", 'late_s', d.late_s) ORDER BY d.due_at, d.kind), " \
  "'[]') FROM deadlines d WHERE d.subject_kind = '" kind "' AND d.subject_id = " id_expr ")::text"

constexpr const char* kSupportSelect =
    "SELECT s.id, s.number, s.incident_id, i.number, s.station_id, s.origin, s.kind, s.detail, s.state, s.answer,"
    " s.notes::text, s.requested_by, " XN_TS("s.requested_at") ", s.accepted_by, " XN_TS("s.accepted_at") ","
    " s.answered_by, " XN_TS("s.answered_at") ", s.closed_by, " XN_TS("s.closed_at") ", " XN_TS("s.updated_at") ","
    " " XN_DEADLINES("support", "s.id::text") ", i.category, coalesce(i.station_id, '')"
    " FROM support_requests s JOIN incidents i ON i.id = s.incident_id";

constexpr const char* kDiversionSelect =
    "SELECT v.id, v.incident_id, i.number, v.station_id, v.agency, v.note, v.state, v.reason, v.sent_by,"
    " " XN_TS("v.sent_at") ", v.accepted_by, " XN_TS("v.accepted_at") ", v.rejected_by, " XN_TS("v.rejected_at") ","
    " v.done_by, " XN_TS("v.done_at") ", v.notes::text, " XN_TS("v.updated_at") ","
    " " XN_DEADLINES("diversion", "v.id::text") ", i.category, coalesce(i.station_id, '')"
    " FROM diversions v JOIN incidents i ON i.id = v.incident_id";

json text_or_null(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.as<std::string>()); }

// A support request row: the JSON (with deadlines), and what its events need.
struct Row {
  json body;
  std::string incident_id;
  std::string category;
  std::string station_id;  ///< the incident's current station: whose feed hears of it
};

Row support_row(const pqxx::row& r) {
  Row out;
  out.body = {{"id", r[0].as<std::string>()},
              {"number", r[1].as<std::string>()},
              {"incident_id", r[2].as<std::string>()},
              {"incident_number", r[3].as<std::string>()},
              {"station_id", text_or_null(r[4])},
              {"origin", text_or_null(r[5])},
              {"kind", r[6].as<std::string>()},
              {"detail", r[7].as<std::string>()},
              {"state", r[8].as<std::string>()},
              {"answer", text_or_null(r[9])},
              {"notes", json::parse(r[10].as<std::string>())},
              {"requested_by", r[11].as<std::string>()},
              {"requested_at", r[12].as<std::string>()},
              {"accepted_by", text_or_null(r[13])},
              {"accepted_at", text_or_null(r[14])},
              {"answered_by", text_or_null(r[15])},
              {"answered_at", text_or_null(r[16])},
              {"closed_by", text_or_null(r[17])},
              {"closed_at", text_or_null(r[18])},
              {"updated_at", r[19].as<std::string>()},
              {"deadlines", json::parse(r[20].as<std::string>())}};
  out.incident_id = r[2].as<std::string>();
  out.category = r[21].as<std::string>();
  out.station_id = r[22].as<std::string>();
  return out;
}

Row diversion_row(const pqxx::row& r) {
  Row out;
  out.body = {{"id", r[0].as<std::string>()},
              {"incident_id", r[1].as<std::string>()},
              {"incident_number", r[2].as<std::string>()},
              {"station_id", text_or_null(r[3])},
              {"agency", r[4].as<std::string>()},
              {"note", text_or_null(r[5])},
              {"state", r[6].as<std::string>()},
              {"reason", text_or_null(r[7])},
              {"sent_by", r[8].as<std::string>()},
              {"sent_at", r[9].as<std::string>()},
              {"accepted_by", text_or_null(r[10])},
              {"accepted_at", text_or_null(r[11])},
              {"rejected_by", text_or_null(r[12])},
              {"rejected_at", text_or_null(r[13])},
              {"done_by", text_or_null(r[14])},
              {"done_at", text_or_null(r[15])},
              {"notes", json::parse(r[16].as<std::string>())},
              {"updated_at", r[17].as<std::string>()},
              {"deadlines", json::parse(r[18].as<std::string>())}};
  out.incident_id = r[1].as<std::string>();
  out.category = r[19].as<std::string>();
  out.station_id = r[20].as<std::string>();
  return out;
}

std::optional<Row> read_support(pqxx::transaction_base& t, const std::string& id) {
  const auto r = t.exec_params(std::string(kSupportSelect) + " WHERE s.id = $1::uuid", id);
  if (r.empty()) return std::nullopt;
  return support_row(r[0]);
}

std::optional<Row> read_diversion(pqxx::transaction_base& t, const std::string& id) {
  const auto r = t.exec_params(std::string(kDiversionSelect) + " WHERE v.id = $1::uuid", id);
  if (r.empty()) return std::nullopt;
  return diversion_row(r[0]);
}

// The feed event of a row: its JSON without the deadlines, on the incident's station.
NewEvent row_event(const std::string& type, const Row& row) {
  json data = row.body;
  data.erase("deadlines");
  return NewEvent{type, row.incident_id, row.category, row.station_id, data.dump()};
}

// Appends the events last, commits, and returns the frames to publish.
std::vector<domain::Frame> finish(pqxx::work& w, const std::vector<NewEvent>& events, const std::string& at) {
  const auto last = append_events(w, events, at);
  w.commit();
  return events.empty() ? std::vector<domain::Frame>{} : event_frames(events, last, at);
}

Error conflict(const std::string& message, const std::string& state, const std::string& field) {
  Error e{ErrorKind::conflict, message, field};
  e.state = state;
  return e;
}

std::string now_text() { return domain::format_rfc3339(domain::now_utc()); }

json note_entry(const std::string& type, const std::string& actor, const std::string& at, const std::string& note) {
  return {{"type", type}, {"by", actor}, {"at", at}, {"note", note}};
}

// Inserts a support request on the locked incident, with its deadlines and event.
Row insert_support(pqxx::work& w, const LockedIncident& inc, const std::string& origin, const std::string& kind,
                   const std::string& detail, const std::string& actor, const loop::DeadlinePolicy& policy,
                   int utc_offset_minutes, const std::string& at, std::vector<NewEvent>& events) {
  const auto serial = w.exec1("SELECT nextval('support_serial')")[0].as<std::int64_t>();
  const auto id = domain::new_uuid();
  const auto number = sup::format_support_number(*domain::parse_rfc3339(at), serial, utc_offset_minutes);
  w.exec_params0(
      "INSERT INTO support_requests (id, number, incident_id, station_id, origin, kind, detail, state, requested_by,"
      " requested_at, updated_at) VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, 'requested', $8, $9::timestamptz,"
      " $9::timestamptz)",
      id, number, inc.id, inc.station_id.empty() ? nullptr : inc.station_id.c_str(),
      origin.empty() ? nullptr : origin.c_str(), kind, detail, actor, at);
  add_deadlines(w,
                {{inc.id, inc.station_id, "support", id, loop::DeadlineKind::accept,
                  loop::deadline_seconds(policy, loop::DeadlineKind::accept, inc.priority, inc.area, true)},
                 {inc.id, inc.station_id, "support", id, loop::DeadlineKind::answer,
                  loop::deadline_seconds(policy, loop::DeadlineKind::answer, inc.priority, inc.area, true)}},
                at);
  auto row = *read_support(w, id);
  events.push_back(row_event("support.requested", row));
  return row;
}

// The locked incident's parsed state (count_ when the column holds something unknown).
loop::IncidentState state_of(const LockedIncident& inc) {
  return loop::parse_incident_state(inc.status).value_or(loop::IncidentState::count_);
}

// The feedback row as the view and the events show it; null when there is none.
json feedback_json(pqxx::transaction_base& t, const std::string& incident_id) {
  const auto r = detail::exec_named(t, "xn_feedback",
      "SELECT outcome, summary, people_involved, property_recovered, reported_by, " XN_TS("reported_at") ","
      " callback_reached, satisfaction, callback_note, callback_by, " XN_TS("callback_at") ","
      " review_verdict, review_note, review_by, " XN_TS("review_at") ", " XN_TS("updated_at") ""
      " FROM incident_feedback WHERE incident_id = $1::uuid",
      incident_id);
  if (r.empty()) return nullptr;
  const auto& f = r[0];
  json callback = nullptr, review = nullptr;
  if (!f[6].is_null())
    callback = {{"reached", f[6].as<bool>()},
                {"satisfaction", f[7].is_null() ? json(nullptr) : json(f[7].as<int>())},
                {"note", text_or_null(f[8])},
                {"by", text_or_null(f[9])},
                {"at", text_or_null(f[10])}};
  if (!f[11].is_null())
    review = {{"verdict", f[11].as<std::string>()},
              {"note", text_or_null(f[12])},
              {"by", text_or_null(f[13])},
              {"at", text_or_null(f[14])}};
  return {{"outcome", text_or_null(f[0])},
          {"summary", text_or_null(f[1])},
          {"people_involved", f[2].is_null() ? json(nullptr) : json(f[2].as<int>())},
          {"property_recovered", text_or_null(f[3])},
          {"reported_by", text_or_null(f[4])},
          {"reported_at", text_or_null(f[5])},
          {"callback", std::move(callback)},
          {"review", std::move(review)},
          {"updated_at", f[15].as<std::string>()}};
}

// An incident.* event about its feedback: {id, number, actor, at, <key>: value}.
NewEvent incident_event(const LockedIncident& inc, const std::string& type, const std::string& actor,
                        const std::string& at, const char* key, json value) {
  json data = {{"id", inc.id}, {"number", inc.number}, {"actor", actor}, {"at", at}, {key, std::move(value)}};
  return NewEvent{type, inc.id, inc.category, inc.station_id, data.dump()};
}

}  // namespace

// ---- support requests -----------------------------------------------------------------------------

domain::Result<LoopChange> request_support(pqxx::connection& c, const std::string& incident_id,
                                           const sup::SupportRequestInput& in, const LoopActor& who,
                                           const loop::DeadlinePolicy& policy, int utc_offset_minutes) {
  pqxx::work w(c);
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  if (!sup::accepts_support_request(state_of(*inc)))
    return conflict("an incident that is " + inc->status + " takes no support request", inc->status, "id");
  const auto at = now_text();
  std::vector<NewEvent> events;
  auto row = insert_support(w, *inc, "", in.kind, in.detail, who.actor, policy, utc_offset_minutes, at, events);
  LoopChange out{std::move(row.body), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<LoopChange> open_external_support(pqxx::connection& c, const std::string& incident_id,
                                                 const sup::ExternalSupportInput& in, const std::string& actor,
                                                 const loop::DeadlinePolicy& policy, int utc_offset_minutes) {
  pqxx::work w(c);
  // The lock serializes two retries of one request: the second finds the first's row.
  auto inc = lock_incident(w, incident_id, {});
  if (!inc) return inc.error();
  const auto found = w.exec_params(
      "SELECT id FROM support_requests WHERE incident_id = $1::uuid AND origin = $2 AND kind = $3"
      " ORDER BY requested_at LIMIT 1",
      incident_id, in.origin, in.kind);
  if (!found.empty()) {
    auto row = *read_support(w, found[0][0].as<std::string>());
    w.commit();
    return LoopChange{std::move(row.body), false, {}};
  }
  const auto at = now_text();
  std::vector<NewEvent> events;
  auto row = insert_support(w, *inc, in.origin, in.kind, in.detail, actor, policy, utc_offset_minutes, at, events);
  LoopChange out{std::move(row.body), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<LoopChange> support_event(pqxx::connection& c, const std::string& id,
                                         const sup::SupportEventInput& in, const std::string& actor) {
  pqxx::work w(c);
  const auto locked = w.exec_params("SELECT state FROM support_requests WHERE id = $1::uuid FOR UPDATE", id);
  if (locked.empty()) return Error{ErrorKind::not_found, "no support request with this id", "id"};
  const auto current = locked[0][0].as<std::string>();
  const auto from = loop::parse_support_state(current);
  const auto to = from ? loop::next(*from, in.type) : std::nullopt;
  if (!to)
    return conflict(std::string("a support request that is ") + current + " cannot take '" + loop::name(in.type) + "'",
                    current, "type");
  const auto at = now_text();
  const auto note = note_entry(loop::name(in.type), actor, at, in.type == loop::SupportEvent::answer && in.note.empty()
                                                                   ? in.answer
                                                                   : in.note);
  // Which columns the step stamps, and which deadlines it meets.
  std::string set;
  std::vector<loop::DeadlineKind> meets;
  switch (in.type) {
    case loop::SupportEvent::accept:
      set = ", accepted_by = $4, accepted_at = $3::timestamptz";
      meets = {loop::DeadlineKind::accept};
      break;
    case loop::SupportEvent::answer:
      set = ", answer = $5, answered_by = $4, answered_at = coalesce(answered_at, $3::timestamptz)";
      meets = {loop::DeadlineKind::answer};
      break;
    case loop::SupportEvent::close:
    case loop::SupportEvent::reject:
      set = ", closed_by = $4, closed_at = $3::timestamptz";
      meets = {loop::DeadlineKind::accept, loop::DeadlineKind::answer};
      break;
    case loop::SupportEvent::count_: break;
  }
  w.exec_params0("UPDATE support_requests SET state = $2, updated_at = $3::timestamptz,"
                 " notes = notes || jsonb_build_array($6::jsonb)" + set +
                     // Every parameter is named, so each has a type whichever step this is.
                     " WHERE id = $1::uuid AND ($5::text IS NULL OR $5::text IS NOT NULL)",
                 id, loop::name(*to), at, actor, in.answer.empty() ? nullptr : in.answer.c_str(), note.dump());
  meet_deadlines(w, "support", id, meets, at);
  auto row = *read_support(w, id);
  std::vector<NewEvent> events{row_event(std::string("support.") + loop::name(*to), row)};
  LoopChange out{std::move(row.body), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<json> get_support(pqxx::connection& c, const std::string& id, const MaySee& may_see) {
  pqxx::read_transaction t(c);
  const Error missing{ErrorKind::not_found, "no support request with this id", "id"};
  auto row = read_support(t, id);
  if (!row) return missing;
  if (may_see) {
    const auto shares = t.exec_params("SELECT station_id FROM incident_shares WHERE incident_id = $1::uuid",
                                      row->incident_id);
    std::vector<std::string> s;
    for (const auto& r : shares) s.push_back(r[0].as<std::string>());
    if (!may_see(row->station_id, s)) return missing;
  }
  return std::move(row->body);
}

json list_support(pqxx::connection& c, const SupportFilter& f) {
  std::string states;
  for (const auto& s : f.states) states += (states.empty() ? "" : ",") + s;
  pqxx::read_transaction t(c);
  const auto rows = t.exec_params(
      std::string(kSupportSelect) +
          " WHERE ($1::text IS NULL OR s.state = ANY (string_to_array($1, ',')))"
          " AND ($2::text IS NULL OR s.station_id = $2)"
          " AND ($3::uuid IS NULL OR s.incident_id = $3::uuid)"
          " AND ($4::text IS NULL OR i.station_id = $4 OR EXISTS (SELECT 1 FROM incident_shares sh"
          "      WHERE sh.incident_id = i.id AND sh.station_id = $4))"
          " ORDER BY s.requested_at DESC, s.id DESC LIMIT $5",
      states.empty() ? nullptr : states.c_str(), f.station_id ? f.station_id->c_str() : nullptr,
      f.incident_id ? f.incident_id->c_str() : nullptr,
      f.visible_to_station.empty() ? nullptr : f.visible_to_station.c_str(), f.limit);
  json items = json::array();
  for (const auto& r : rows) items.push_back(support_row(r).body);
  return {{"items", std::move(items)}};
}

// ---- diversions ---------------------------------------------------------------------------------

domain::Result<LoopChange> divert_incident(pqxx::connection& c, const std::string& incident_id,
                                           const sup::DiversionInput& in, const LoopActor& who,
                                           const loop::DeadlinePolicy& policy) {
  pqxx::work w(c);
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  const auto at = now_text();
  std::vector<NewEvent> events;
  const std::string reason = "diverted to " + in.agency;
  auto step = transition_incident(w, *inc, loop::IncidentEvent::divert, who.actor, reason, at, events);
  if (!step) return step.error();
  const auto id = domain::new_uuid();
  w.exec_params0(
      "INSERT INTO diversions (id, incident_id, station_id, agency, note, state, sent_by, sent_at, updated_at)"
      " VALUES ($1::uuid, $2::uuid, $3, $4, $5, 'sent', $6, $7::timestamptz, $7::timestamptz)",
      id, inc->id, inc->station_id.empty() ? nullptr : inc->station_id.c_str(), in.agency,
      in.note.empty() ? nullptr : in.note.c_str(), who.actor, at);
  add_deadlines(w,
                {{inc->id, inc->station_id, "diversion", id, loop::DeadlineKind::accept,
                  loop::deadline_seconds(policy, loop::DeadlineKind::accept, inc->priority, inc->area, false)},
                 {inc->id, inc->station_id, "diversion", id, loop::DeadlineKind::done,
                  loop::deadline_seconds(policy, loop::DeadlineKind::done, inc->priority, inc->area, false)}},
                at);
  auto row = *read_diversion(w, id);
  events.push_back(row_event("diversion.sent", row));
  LoopChange out{std::move(row.body), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<LoopChange> diversion_event(pqxx::connection& c, const std::string& id,
                                           const sup::DiversionEventInput& in, const LoopActor& who) {
  pqxx::work w(c);
  const Error missing{ErrorKind::not_found, "no diversion with this id", "id"};
  const auto owner = w.exec_params("SELECT incident_id FROM diversions WHERE id = $1::uuid", id);
  if (owner.empty()) return missing;
  // The incident first, then the diversion: the order every writer of both takes.
  auto inc = lock_incident(w, owner[0][0].as<std::string>(), who.may_see);
  if (!inc) return missing;
  const auto current = w.exec_params1("SELECT state FROM diversions WHERE id = $1::uuid FOR UPDATE", id)[0]
                           .as<std::string>();
  const auto from = loop::parse_diversion_state(current);
  const auto to = from ? loop::next(*from, in.type) : std::nullopt;
  if (!to)
    return conflict(std::string("a diversion that is ") + current + " cannot take '" + loop::name(in.type) + "'",
                    current, "type");
  const auto at = now_text();
  std::vector<NewEvent> events;
  std::string set;
  std::vector<loop::DeadlineKind> meets;
  switch (in.type) {
    case loop::DiversionEvent::accept:
      set = ", accepted_by = $4, accepted_at = $3::timestamptz";
      meets = {loop::DeadlineKind::accept};
      break;
    case loop::DiversionEvent::reject: {
      set = ", rejected_by = $4, rejected_at = $3::timestamptz, reason = $5";
      meets = {loop::DeadlineKind::accept, loop::DeadlineKind::done};
      // The agency will not take it: police handle it again.
      auto step = transition_incident(w, *inc, loop::IncidentEvent::reclaim, who.actor,
                                      "diversion rejected: " + in.reason, at, events);
      if (!step) return step.error();
      break;
    }
    case loop::DiversionEvent::done:
      set = ", done_by = $4, done_at = $3::timestamptz";
      meets = {loop::DeadlineKind::accept, loop::DeadlineKind::done};
      break;
    case loop::DiversionEvent::count_: break;
  }
  const auto note = note_entry(loop::name(in.type), who.actor, at, in.note.empty() ? in.reason : in.note);
  w.exec_params0("UPDATE diversions SET state = $2, updated_at = $3::timestamptz,"
                 " notes = notes || jsonb_build_array($6::jsonb)" + set +
                     // Every parameter is named, so each has a type whichever step this is.
                     " WHERE id = $1::uuid AND ($5::text IS NULL OR $5::text IS NOT NULL)",
                 id, loop::name(*to), at, who.actor, in.reason.empty() ? nullptr : in.reason.c_str(), note.dump());
  meet_deadlines(w, "diversion", id, meets, at);
  auto row = *read_diversion(w, id);
  events.push_back(row_event(std::string("diversion.") + loop::name(*to), row));
  LoopChange out{std::move(row.body), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<json> get_diversion(pqxx::connection& c, const std::string& id, const MaySee& may_see) {
  pqxx::read_transaction t(c);
  const Error missing{ErrorKind::not_found, "no diversion with this id", "id"};
  auto row = read_diversion(t, id);
  if (!row) return missing;
  if (may_see) {
    std::vector<std::string> s;
    for (const auto& r :
         t.exec_params("SELECT station_id FROM incident_shares WHERE incident_id = $1::uuid", row->incident_id))
      s.push_back(r[0].as<std::string>());
    if (!may_see(row->station_id, s)) return missing;
  }
  return std::move(row->body);
}

// ---- feedback and evaluation ------------------------------------------------------------------------

domain::Result<LoopChange> put_feedback(pqxx::connection& c, const std::string& incident_id,
                                        const sup::FeedbackInput& in, const LoopActor& who) {
  pqxx::work w(c);
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  if (!sup::accepts_feedback(state_of(*inc)))
    return conflict("an incident that is " + inc->status + " takes no feedback (dispatched, on_scene or resolved only)",
                    inc->status, "id");
  const auto at = now_text();
  const auto people = in.people_involved ? std::optional(std::to_string(*in.people_involved)) : std::nullopt;
  w.exec_params0(
      "INSERT INTO incident_feedback (incident_id, outcome, summary, people_involved, property_recovered,"
      " reported_by, reported_at, updated_at) VALUES ($1::uuid, $2, $3, $4::int, $5, $6, $7::timestamptz,"
      " $7::timestamptz)"
      " ON CONFLICT (incident_id) DO UPDATE SET outcome = $2, summary = $3, people_involved = $4::int,"
      " property_recovered = $5, reported_by = $6, reported_at = $7::timestamptz, updated_at = $7::timestamptz",
      inc->id, in.outcome, in.summary, people ? people->c_str() : nullptr,
      in.property_recovered ? in.property_recovered->c_str() : nullptr, who.actor, at);
  meet_deadlines(w, "incident", inc->id, {loop::DeadlineKind::feedback}, at);
  auto fb = feedback_json(w, inc->id);
  std::vector<NewEvent> events{incident_event(*inc, "incident.feedback", who.actor, at, "feedback", fb)};
  LoopChange out{std::move(fb), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<LoopChange> record_callback(pqxx::connection& c, const std::string& incident_id,
                                           const sup::CallbackInput& in, const LoopActor& who) {
  pqxx::work w(c);
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  if (!sup::accepts_feedback(state_of(*inc)))
    return conflict("an incident that is " + inc->status + " takes no call-back (dispatched, on_scene or resolved only)",
                    inc->status, "id");
  const auto at = now_text();
  const auto sat = in.satisfaction ? std::optional(std::to_string(*in.satisfaction)) : std::nullopt;
  w.exec_params0(
      "INSERT INTO incident_feedback (incident_id, callback_reached, satisfaction, callback_note, callback_by,"
      " callback_at, updated_at) VALUES ($1::uuid, $2, $3::smallint, $4, $5, $6::timestamptz, $6::timestamptz)"
      " ON CONFLICT (incident_id) DO UPDATE SET callback_reached = $2, satisfaction = $3::smallint,"
      " callback_note = $4, callback_by = $5, callback_at = $6::timestamptz, updated_at = $6::timestamptz",
      inc->id, in.reached, sat ? sat->c_str() : nullptr, in.note.empty() ? nullptr : in.note.c_str(), who.actor, at);
  auto fb = feedback_json(w, inc->id);
  std::vector<NewEvent> events{incident_event(*inc, "incident.callback", who.actor, at, "callback", fb["callback"])};
  LoopChange out{std::move(fb), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

domain::Result<LoopChange> record_review(pqxx::connection& c, const std::string& incident_id,
                                         const sup::ReviewInput& in, const LoopActor& who) {
  pqxx::work w(c);
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  if (!sup::accepts_review(state_of(*inc)))
    return conflict("an incident is reviewed once resolved; this one is " + inc->status, inc->status, "id");
  const auto has = w.exec_params("SELECT 1 FROM incident_feedback WHERE incident_id = $1::uuid AND outcome IS NOT NULL",
                                 inc->id);
  if (has.empty()) return conflict("an incident is reviewed after its feedback result", inc->status, "feedback");
  const auto at = now_text();
  w.exec_params0(
      "UPDATE incident_feedback SET review_verdict = $2, review_note = $3, review_by = $4,"
      " review_at = $5::timestamptz, updated_at = $5::timestamptz WHERE incident_id = $1::uuid",
      inc->id, in.verdict, in.note.empty() ? nullptr : in.note.c_str(), who.actor, at);
  auto fb = feedback_json(w, inc->id);
  std::vector<NewEvent> events{incident_event(*inc, "incident.reviewed", who.actor, at, "review", fb["review"])};
  LoopChange out{std::move(fb), true, {}};
  out.frames = finish(w, events, at);
  return out;
}

// ---- response times ----------------------------------------------------------------------------

namespace {

// The intervals of each incident, in seconds (NULL when a step is not reached). "Acknowledged"
// is the first order that answered: acknowledged, or reported en route or on scene without an
// acknowledgement.
constexpr const char* kIntervals =
    "SELECT i.id, i.station_id, i.category, f.satisfaction, f.review_verdict,"
    " extract(epoch FROM i.dispatched_at - i.received_at)::float8 AS rd,"
    " extract(epoch FROM (SELECT min(least(o.acknowledged_at, o.en_route_at, o.on_scene_at)) FROM orders o"
    "                     WHERE o.incident_id = i.id) - i.dispatched_at)::float8 AS da,"
    " extract(epoch FROM i.arrived_at - i.dispatched_at)::float8 AS dr,"
    " CASE WHEN i.status IN ('resolved', 'closed') THEN extract(epoch FROM i.resolved_at - i.arrived_at)::float8"
    " END AS ar"
    " FROM incidents i LEFT JOIN incident_feedback f ON f.incident_id = i.id";

constexpr std::array<const char*, 4> kIntervalNames{"received_to_dispatched_s", "dispatched_to_acknowledged_s",
                                                    "dispatched_to_arrived_s", "arrived_to_resolved_s"};
constexpr std::array<const char*, 4> kIntervalCols{"rd", "da", "dr", "ar"};

json number_or_null(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.as<double>()); }

}  // namespace

json response_stats(pqxx::connection& c, const sup::ResponseQuery& q) {
  std::string aggregates = "count(*)";
  for (const auto* col : kIntervalCols) {
    const std::string x = col;
    aggregates += ", count(" + x + "), percentile_cont(0.5) WITHIN GROUP (ORDER BY " + x +
                  "), percentile_cont(0.9) WITHIN GROUP (ORDER BY " + x + ")";
  }
  aggregates +=
      ", count(satisfaction), avg(satisfaction)::float8, count(*) FILTER (WHERE review_verdict = 'good'),"
      " count(*) FILTER (WHERE review_verdict = 'acceptable'), count(*) FILTER (WHERE review_verdict = 'poor')";
  const char* key = q.group_by == sup::GroupBy::station    ? "station_id"
                    : q.group_by == sup::GroupBy::category ? "category"
                                                           : "NULL::text";
  const std::string grouping = q.group_by == sup::GroupBy::none ? " " : " GROUP BY GROUPING SETS ((k), ())";
  const std::string sql =
      std::string("WITH iv AS (") + kIntervals +
      " WHERE ($1::text IS NULL OR i.station_id = $1) AND ($2::text IS NULL OR i.category = $2)"
      " AND ($3::timestamptz IS NULL OR i.received_at >= $3) AND ($4::timestamptz IS NULL OR i.received_at < $4)),"
      " g AS (SELECT " + key + " AS k, * FROM iv)"
      " SELECT " + (q.group_by == sup::GroupBy::none ? std::string("NULL::text, 1") : std::string("k, GROUPING(k)")) +
      ", " +
      aggregates + " FROM g" + grouping + " ORDER BY 2 ASC, 1 ASC NULLS FIRST";
  const auto from = q.from ? std::optional(domain::format_rfc3339(*q.from)) : std::nullopt;
  const auto to = q.to ? std::optional(domain::format_rfc3339(*q.to)) : std::nullopt;
  pqxx::read_transaction t(c);
  const auto rows = t.exec_params(sql, q.station_id ? q.station_id->c_str() : nullptr,
                                  q.category ? q.category->c_str() : nullptr, from ? from->c_str() : nullptr,
                                  to ? to->c_str() : nullptr);
  json groups = json::array();
  json total = nullptr;
  for (const auto& r : rows) {
    json g = {{"incidents", r[2].as<std::int64_t>()}};
    int col = 3;
    for (const auto* name : kIntervalNames) {
      g[name] = {{"count", r[col].as<std::int64_t>()},
                 {"median", number_or_null(r[col + 1])},
                 {"p90", number_or_null(r[col + 2])}};
      col += 3;
    }
    g["satisfaction"] = {{"count", r[col].as<std::int64_t>()}, {"average", number_or_null(r[col + 1])}};
    g["review"] = {{"good", r[col + 2].as<std::int64_t>()},
                   {"acceptable", r[col + 3].as<std::int64_t>()},
                   {"poor", r[col + 4].as<std::int64_t>()}};
    if (r[1].as<int>() == 1) {
      total = std::move(g);
    } else {
      g["key"] = text_or_null(r[0]);
      groups.push_back(std::move(g));
    }
  }
  json filter = {{"station_id", q.station_id ? json(*q.station_id) : json(nullptr)},
                 {"category", q.category ? json(*q.category) : json(nullptr)},
                 {"from", from ? json(*from) : json(nullptr)},
                 {"to", to ? json(*to) : json(nullptr)},
                 {"group_by", q.group_by == sup::GroupBy::none ? json(nullptr) : json(sup::name(q.group_by))}};
  return {{"filter", std::move(filter)}, {"total", std::move(total)}, {"groups", std::move(groups)}};
}

// ---- the one-screen view --------------------------------------------------------------------------

void add_support_to_view(pqxx::transaction_base& t, const std::string& id, json& view) {
  json support = json::array();
  for (const auto& r :
       detail::exec_named(t, "xn_view_support",
                          std::string(kSupportSelect) + " WHERE s.incident_id = $1::uuid ORDER BY s.requested_at, s.id", id))
    support.push_back(support_row(r).body);
  json diversions = json::array();
  for (const auto& r :
       detail::exec_named(t, "xn_view_diversions",
                          std::string(kDiversionSelect) + " WHERE v.incident_id = $1::uuid ORDER BY v.sent_at, v.id", id))
    diversions.push_back(diversion_row(r).body);
  const auto iv = detail::exec_named(t, "xn_view_intervals", std::string(kIntervals) + " WHERE i.id = $1::uuid", id);
  json response = nullptr;
  if (!iv.empty()) {
    response = json::object();
    for (std::size_t k = 0; k < kIntervalNames.size(); ++k) response[kIntervalNames[k]] = number_or_null(iv[0][static_cast<int>(5 + k)]);
  }
  view["support_requests"] = std::move(support);
  view["diversions"] = std::move(diversions);
  view["feedback"] = feedback_json(t, id);
  view["response"] = std::move(response);
}

}  // namespace xiaonao::store
