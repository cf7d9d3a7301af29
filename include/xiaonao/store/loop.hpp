#pragma once
/// The closed loop's shared database steps (docs/architecture.md, "The closed loop"): the
/// incident lifecycle and the deadline rows. Orders, support requests, diversions and feedback
/// call these inside their own transactions, so a state change, its deadlines and its feed
/// events commit together.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/store/event_log.hpp"

namespace xiaonao::store {

/// Whether the caller may see an incident of `station` shared with `shares` (Principal::sees_station).
using MaySee = std::function<bool(const std::string& station, const std::vector<std::string>& shares)>;

/// An incident as locked by lock_incident.
struct LockedIncident {
  std::string id;
  std::string number;
  std::string status;
  std::string category;
  int priority = 4;
  std::string station_id;                        ///< empty: none
  std::optional<domain::loop::AreaType> area;    ///< its zone's area type (none: no zone)
};

/// Locks the incident row (FOR UPDATE) and reads it; 404 naming `id` when it does not exist or
/// `may_see` (when set) says the caller may not see it.
domain::Result<LockedIncident> lock_incident(pqxx::work& w, const std::string& incident_id, const MaySee& may_see);

/// The outcome of one lifecycle step.
struct IncidentStep {
  std::string from;
  std::string to;
  bool changed = false;  ///< false: an event the state allows without moving (another order)
};

/// Applies `e` to the locked incident `inc` (updated in place): 409 with `state` = the current
/// status when the state machine forbids it (field "event"); `close` also needs a feedback
/// result and a review. On a change it sets status, status_reason, the step's *_at column (the
/// first time) and updated_at, and pushes `incident.<new state>` onto `events` (data: id,
/// number, from, to, event, actor, reason).
domain::Result<IncidentStep> transition_incident(pqxx::work& w, LockedIncident& inc, domain::loop::IncidentEvent e,
                                                 const std::string& actor, const std::string& reason,
                                                 const std::string& at_text, std::vector<NewEvent>& events);

/// One deadline row to add (ignored when the same subject already has a deadline of that kind).
struct NewDeadline {
  std::string incident_id;
  std::string station_id;    ///< whose feed hears of it when it is missed (empty: county only)
  std::string subject_kind;  ///< order|support|diversion|incident
  std::string subject_id;
  domain::loop::DeadlineKind kind{};
  int seconds = 0;           ///< due this long after `from_text`
};

/// Adds the deadlines, due `seconds` after `from_text` (RFC 3339), and wakes the escalation
/// schedulers of every instance (NOTIFY xiaonao_deadlines) so an early due time is seen at once.
void add_deadlines(pqxx::work& w, const std::vector<NewDeadline>& ds, const std::string& from_text);

/// add_deadlines' INSERT, for statements that add deadlines among other things: $1
/// deadlines_param(ds), $2 the time they count from (RFC 3339). Ends with its ON CONFLICT clause
/// (a RETURNING may follow). Such a statement must NOTIFY kDeadlineChannel too.
extern const char* const insert_deadlines_sql;
/// The JSON array parameter of insert_deadlines_sql.
std::string deadlines_param(const std::vector<NewDeadline>& ds);

/// Marks the subject's unmet deadlines of these kinds met at `at_text` (also when they were
/// already announced as missed: met late). Returns how many rows it marked.
int meet_deadlines(pqxx::work& w, const std::string& subject_kind, const std::string& subject_id,
                   const std::vector<domain::loop::DeadlineKind>& kinds, const std::string& at_text);

/// The NOTIFY channel add_deadlines uses.
inline constexpr const char* kDeadlineChannel = "xiaonao_deadlines";

}  // namespace xiaonao::store
