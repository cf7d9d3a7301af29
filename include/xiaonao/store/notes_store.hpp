#pragma once
/// Notes on an incident in the database (docs/api.md, "Notes"). A note is an `incident.note`
/// event of the incident and nothing else: the event log is where it lives, so the one-screen
/// view's timeline and the feed show it without a table of its own.
#include <string>

#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/notes.hpp"
#include "xiaonao/store/support_store.hpp"

namespace xiaonao::store {

/// Adds a note to incident `incident_id` in one transaction: locks the incident (404 naming `id`
/// when it does not exist or `who.may_see` hides it; 409 with `state` when it is closed or
/// cancelled), appends `incident.note` (data: id, number, text, kind, actor, at) with the
/// incident's station and category, and commits. The body is {"note": data + seq}.
domain::Result<LoopChange> add_note(pqxx::connection& c, const std::string& incident_id,
                                    const domain::notes::NoteInput& in, const LoopActor& who);

}  // namespace xiaonao::store
