#include "xiaonao/store/notes_store.hpp"

#include "xiaonao/domain/time.hpp"
#include "xiaonao/store/event_log.hpp"

namespace xiaonao::store {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace loop = domain::loop;

domain::Result<LoopChange> add_note(pqxx::connection& c, const std::string& incident_id,
                                    const domain::notes::NoteInput& in, const LoopActor& who) {
  pqxx::work w(c);
  // The row lock orders the note after any lifecycle step in flight, so a note never lands
  // on an incident that a concurrent request has just closed.
  auto inc = lock_incident(w, incident_id, who.may_see);
  if (!inc) return inc.error();
  const auto state = loop::parse_incident_state(inc->status).value_or(loop::IncidentState::count_);
  if (!domain::notes::accepts_note(state))
    return Error{ErrorKind::conflict, "an incident that is " + inc->status + " takes no note", "id", inc->status};
  const auto at = domain::format_rfc3339(domain::now_utc());
  json data = {{"id", inc->id},     {"number", inc->number}, {"text", in.text},
               {"kind", in.kind},   {"actor", who.actor},    {"at", at}};
  const std::vector<NewEvent> events{{"incident.note", inc->id, inc->category, inc->station_id, data.dump()}};
  const auto last = append_events(w, events, at);  // last statement before the commit
  w.commit();
  LoopChange out;
  out.frames = event_frames(events, last, at);
  data["seq"] = last;
  out.body = {{"note", std::move(data)}};
  return out;
}

}  // namespace xiaonao::store
