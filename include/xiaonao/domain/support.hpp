#pragma once
/// The county's side of the closed loop and its evaluation (docs/architecture.md, "The closed
/// loop"): support requests (支撑请求) and help requests from other counties (协查), diversions
/// of non-police matters (分流), the feedback on an incident (反馈) with the caller call-back and
/// the supervisor's review (评估), and the response-time statistics query. Pure: parsing and
/// validating request bodies and queries into value types; the store applies them.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain::support {

/// Longest free texts, in Unicode code points.
inline constexpr std::size_t kMaxDetail = 2000;
inline constexpr std::size_t kMaxNote = 2000;
inline constexpr std::size_t kMaxOrigin = 64;
inline constexpr std::size_t kMaxRef = 64;

/// Support request kinds (the support_requests.kind column).
inline constexpr std::array<std::string_view, 5> kSupportKinds{"video", "technical", "intelligence",
                                                                "cross_jurisdiction", "manpower"};
/// The agencies a non-police incident is handed to (the diversions.agency column).
inline constexpr std::array<std::string_view, 5> kAgencies{"12345", "town_platform", "fire_119", "medical_120",
                                                           "utilities"};
/// The on-scene result codes of feedback (处置结果).
inline constexpr std::array<std::string_view, 8> kOutcomes{"resolved_on_scene", "mediated", "arrested", "referred",
                                                           "false_alarm", "no_trace", "unfounded", "other"};
/// The supervisor's review verdicts.
inline constexpr std::array<std::string_view, 3> kVerdicts{"good", "acceptable", "poor"};

bool is_support_kind(std::string_view s);
bool is_agency(std::string_view s);
bool is_outcome(std::string_view s);
bool is_verdict(std::string_view s);

// ---- support requests ---------------------------------------------------------------------------

/// POST /api/v1/incidents/{id}/support-requests: {kind, detail}.
struct SupportRequestInput {
  std::string kind;
  std::string detail;
};
Result<SupportRequestInput> parse_support_request(const nlohmann::json& body);

/// POST /api/v1/support-requests: a help request from outside (协查) that opens an incident of
/// its own: {origin, kind, detail, ref?, incident: {category, priority?, description?,
/// location?, address?, marker?, caller?, subject?, received_at?}}.
struct ExternalSupportInput {
  std::string origin;  ///< who asks, e.g. "county:龙泉市"
  std::string kind;
  std::string detail;
  std::string ref;     ///< the asker's own reference; empty: none (a retry then opens another)
  /// The incident's alert: source "assist", source_ref from origin and ref. Its category is
  /// checked against the category table by the caller; priority may be unset.
  AlertInput alert;
};
/// `now` is the received_at when the incident gives none; `generated_ref` the source_ref's
/// tail when the body has no `ref` (a fresh UUID, so two such requests are two incidents).
/// Errors in the incident name the field as "incident.<field>".
Result<ExternalSupportInput> parse_external_support(const nlohmann::json& body, TimePoint now,
                                                    const std::string& generated_ref);

/// The source_ref of the incident an external request opens: "<origin>/<ref>", at most 128
/// bytes (a too long pair is cut on a UTF-8 boundary and so may collide only with itself).
std::string assist_source_ref(std::string_view origin, std::string_view ref);

/// POST /api/v1/support-requests/{id}/events: {type, note?, answer?}. `answer` is required
/// for type answer; `note` for reject (why the county cannot help).
struct SupportEventInput {
  loop::SupportEvent type{};
  std::string note;
  std::string answer;
};
Result<SupportEventInput> parse_support_event(const nlohmann::json& body);

/// "S" + local date (yyyymmdd) + "-" + the six-digit serial, like incident numbers.
std::string format_support_number(TimePoint at, std::int64_t serial, int utc_offset_minutes);

// ---- diversions ---------------------------------------------------------------------------------

/// POST /api/v1/incidents/{id}/diversions: {agency, note?}.
struct DiversionInput {
  std::string agency;
  std::string note;
};
Result<DiversionInput> parse_diversion(const nlohmann::json& body);

/// POST /api/v1/diversions/{id}/events: {type, note?, reason?}; reject needs the reason.
struct DiversionEventInput {
  loop::DiversionEvent type{};
  std::string note;
  std::string reason;
};
Result<DiversionEventInput> parse_diversion_event(const nlohmann::json& body);

// ---- feedback and evaluation --------------------------------------------------------------------

/// PUT /api/v1/incidents/{id}/feedback: {outcome, summary, people_involved?, property_recovered?}.
struct FeedbackInput {
  std::string outcome;
  std::string summary;
  std::optional<int> people_involved;           ///< 0..10000
  std::optional<std::string> property_recovered;  ///< free text ("wallet, 300 yuan")
};
Result<FeedbackInput> parse_feedback(const nlohmann::json& body);

/// POST /api/v1/incidents/{id}/callback: {reached, satisfaction?, note?}: satisfaction 1..5 is
/// required when the caller was reached and must be absent (or null) when not.
struct CallbackInput {
  bool reached = false;
  std::optional<int> satisfaction;
  std::string note;
};
Result<CallbackInput> parse_callback(const nlohmann::json& body);

/// POST /api/v1/incidents/{id}/review: {verdict, note?}.
struct ReviewInput {
  std::string verdict;
  std::string note;
};
Result<ReviewInput> parse_review(const nlohmann::json& body);

/// The incident states in which the on-scene result and the call-back may be recorded
/// (dispatched, on_scene, resolved: police handled it and it is not closed yet).
bool accepts_feedback(loop::IncidentState s);
/// The states in which a supervisor may review: resolved (the step before close).
bool accepts_review(loop::IncidentState s);
/// Support requests may be raised on an incident that is not final (closed, cancelled).
bool accepts_support_request(loop::IncidentState s);

// ---- response-time statistics --------------------------------------------------------------------

enum class GroupBy { none, station, category };

/// GET /api/v1/stats/response-times: station_id, category, from, to (RFC 3339, on received_at,
/// from inclusive, to exclusive), group_by (station|category; absent: one total).
struct ResponseQuery {
  std::optional<std::string> station_id;
  std::optional<std::string> category;
  std::optional<TimePoint> from;
  std::optional<TimePoint> to;
  GroupBy group_by = GroupBy::none;
};
/// Parses the query string's parameters; 400 naming the parameter. `scope` non-empty: the
/// caller sees this station only (a station role): station_id defaults to it, and another
/// station is 403.
Result<ResponseQuery> parse_response_query(const std::map<std::string, std::string>& q, const std::string& scope);

const char* name(GroupBy g);

}  // namespace xiaonao::domain::support
