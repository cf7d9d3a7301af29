#pragma once
/// Notes on an incident (docs/api.md, "Notes"): a duty officer's free text — information, a
/// caller's update, a report from the scene — added to the incident's timeline as an
/// `incident.note` event. Pure: parsing the request body and the states that take a note.
#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/loop.hpp"

namespace xiaonao::domain::notes {

/// Longest note text, in Unicode code points.
inline constexpr std::size_t kMaxText = 2000;

/// Note kinds; the first is the default.
inline constexpr std::array<std::string_view, 3> kKinds{"info", "caller_update", "scene_report"};

/// A parsed `POST /api/v1/incidents/{id}/notes` body.
struct NoteInput {
  std::string text;          ///< 1..kMaxText code points, not blank; tab, CR and LF allowed
  std::string kind{"info"};  ///< one of kKinds
};

/// Parses {text, kind?}: missing_field / invalid_field naming `text` or `kind`.
Result<NoteInput> parse_note(const nlohmann::json& body);

/// Whether an incident in state `s` takes a note: every state but closed and cancelled.
bool accepts_note(loop::IncidentState s);

}  // namespace xiaonao::domain::notes
