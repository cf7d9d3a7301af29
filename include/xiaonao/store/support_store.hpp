#pragma once
/// Support requests (支撑请求, 协查), diversions (分流), feedback and evaluation (反馈/评估) and
/// response times in the database (docs/architecture.md, "The closed loop"). Each change runs
/// in one transaction with its deadlines and feed events (appended last) and hands back the
/// frames to publish after the commit.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/domain/support.hpp"
#include "xiaonao/store/loop.hpp"

namespace xiaonao::store {

/// A committed change: the resource as the API shows it, and the feed frames to publish.
struct LoopChange {
  nlohmann::json body;
  bool created = true;  ///< false: an external request's retry found what it opened before
  std::vector<domain::Frame> frames;
};

/// Who acts and the settings the changes need.
struct LoopActor {
  std::string actor;  ///< user:<id> or key:<id>
  MaySee may_see;     ///< empty: sees every incident
};

// ---- support requests -----------------------------------------------------------------------------

/// A station's request to the county on incident `incident_id` (409 when the incident is
/// closed or cancelled): state requested, deadlines accept and answer, event support.requested.
domain::Result<LoopChange> request_support(pqxx::connection& c, const std::string& incident_id,
                                           const domain::support::SupportRequestInput& in, const LoopActor& who,
                                           const domain::loop::DeadlinePolicy& policy, int utc_offset_minutes);

/// The support request of an external help request (协查) whose incident the alert intake has
/// opened (or found again on a retry): when `incident_id` already has a request from the same
/// origin and kind, that one is answered (created false); else one is made as above.
domain::Result<LoopChange> open_external_support(pqxx::connection& c, const std::string& incident_id,
                                                 const domain::support::ExternalSupportInput& in,
                                                 const std::string& actor,
                                                 const domain::loop::DeadlinePolicy& policy, int utc_offset_minutes);

/// The county's step on a support request: 404 when unknown, 409 (with `state`) when its state
/// forbids the step. Meets the accept deadline on accept or reject, the answer deadline on
/// answer, reject and close.
domain::Result<LoopChange> support_event(pqxx::connection& c, const std::string& id,
                                         const domain::support::SupportEventInput& in, const std::string& actor);

/// One support request (404 when unknown or its incident is not visible).
domain::Result<nlohmann::json> get_support(pqxx::connection& c, const std::string& id, const MaySee& may_see);

/// Filters of GET /api/v1/support-requests, validated.
struct SupportFilter {
  std::vector<std::string> states;
  std::optional<std::string> station_id;   ///< the asking station
  std::optional<std::string> incident_id;
  std::string visible_to_station;          ///< station roles: incidents of or shared with it
  int limit = 100;
};
/// {"items": [...]}, newest first.
nlohmann::json list_support(pqxx::connection& c, const SupportFilter& f);

// ---- diversions ---------------------------------------------------------------------------------

/// Hands incident `incident_id` to an agency: the incident's `divert` transition (409 with its
/// state when it forbids), state sent, deadlines accept and done, events incident.diverted and
/// diversion.sent.
domain::Result<LoopChange> divert_incident(pqxx::connection& c, const std::string& incident_id,
                                           const domain::support::DiversionInput& in, const LoopActor& who,
                                           const domain::loop::DeadlinePolicy& policy);

/// The agency's answer: accept, reject (the incident is reclaimed: back to assessed) or done.
domain::Result<LoopChange> diversion_event(pqxx::connection& c, const std::string& id,
                                           const domain::support::DiversionEventInput& in, const LoopActor& who);

/// One diversion (404 when unknown or not visible).
domain::Result<nlohmann::json> get_diversion(pqxx::connection& c, const std::string& id, const MaySee& may_see);

// ---- feedback and evaluation ------------------------------------------------------------------------

/// The on-scene result (replaces an earlier one): 409 unless the incident is dispatched, on
/// scene or resolved. Meets the incident's feedback deadline; event incident.feedback.
domain::Result<LoopChange> put_feedback(pqxx::connection& c, const std::string& incident_id,
                                        const domain::support::FeedbackInput& in, const LoopActor& who);
/// The caller call-back: same states; event incident.callback.
domain::Result<LoopChange> record_callback(pqxx::connection& c, const std::string& incident_id,
                                           const domain::support::CallbackInput& in, const LoopActor& who);
/// The supervisor's review: 409 unless resolved with a feedback result; event incident.reviewed.
domain::Result<LoopChange> record_review(pqxx::connection& c, const std::string& incident_id,
                                         const domain::support::ReviewInput& in, const LoopActor& who);

// ---- response times ----------------------------------------------------------------------------

/// GET /api/v1/stats/response-times: per group (and in total) the incident count, count,
/// median and p90 of each interval, the mean satisfaction and the review verdicts.
nlohmann::json response_stats(pqxx::connection& c, const domain::support::ResponseQuery& q);

/// Adds `support_requests`, `diversions`, `feedback` and `response` to the one-screen view of
/// incident `id` (store::get_incident calls it inside its read transaction).
void add_support_to_view(pqxx::transaction_base& t, const std::string& id, nlohmann::json& view);

}  // namespace xiaonao::store
