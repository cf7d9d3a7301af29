#pragma once
/// The closed loop's state machines and deadline rules (docs/architecture.md, "The closed
/// loop"). Pure: the store applies them inside its transactions, the tests walk every state ×
/// every event.
#include <array>
#include <string>
#include <optional>
#include <string>
#include <string_view>

namespace xiaonao::domain::loop {

// ---- The incident lifecycle ------------------------------------------------------------------

enum class IncidentState { received, assessed, dispatched, on_scene, resolved, closed, cancelled, diverted, count_ };
/// assess: an officer confirms category, priority and location (or config does, per source);
/// dispatch: the first order is issued (later orders leave the state as it is);
/// arrive: the first order reaches the scene; resolve; close (after feedback and review);
/// cancel (false alarm, duplicate); divert (handed to another agency); reclaim (the agency
/// rejected the hand-off: back to assessed).
enum class IncidentEvent { assess, dispatch, arrive, resolve, close, cancel, divert, reclaim, count_ };

const char* name(IncidentState s);
const char* name(IncidentEvent e);
std::optional<IncidentState> parse_incident_state(std::string_view s);
std::optional<IncidentEvent> parse_incident_event(std::string_view s);

/// The state after `e` in state `s`, or nullopt when the transition is illegal (409).
/// A few events are allowed to leave the state unchanged (another order while dispatched or on
/// scene; another unit arriving; re-assessment before dispatch): those return `s` itself.
std::optional<IncidentState> next(IncidentState s, IncidentEvent e);
/// True for closed and cancelled: nothing moves them again.
bool is_final(IncidentState s);
/// True while the incident is being handled by police: not resolved, closed, cancelled or diverted.
bool is_open(IncidentState s);

// ---- Orders ----------------------------------------------------------------------------------

enum class OrderState { issued, acknowledged, en_route, on_scene, completed, declined, reassigned, count_ };
enum class OrderEvent { ack, en_route, on_scene, complete, decline, reassign, count_ };

const char* name(OrderState s);
const char* name(OrderEvent e);
std::optional<OrderState> parse_order_state(std::string_view s);
std::optional<OrderEvent> parse_order_event(std::string_view s);
/// Steps may be skipped forward (a unit already on the way acknowledges by reporting en_route;
/// a kiosk officer reports on_scene at once), never backward. decline only before the scene;
/// reassign until completion.
std::optional<OrderState> next(OrderState s, OrderEvent e);
/// completed, declined, reassigned: the order is over and no longer holds its unit.
bool is_ended(OrderState s);

// ---- Support requests and diversions -----------------------------------------------------------

enum class SupportState { requested, accepted, answered, closed, rejected, count_ };
enum class SupportEvent { accept, answer, close, reject, count_ };
const char* name(SupportState s);
const char* name(SupportEvent e);
std::optional<SupportState> parse_support_state(std::string_view s);
std::optional<SupportEvent> parse_support_event(std::string_view s);
std::optional<SupportState> next(SupportState s, SupportEvent e);

enum class DiversionState { sent, accepted, rejected, done, count_ };
enum class DiversionEvent { accept, reject, done, count_ };
const char* name(DiversionState s);
const char* name(DiversionEvent e);
std::optional<DiversionState> parse_diversion_state(std::string_view s);
std::optional<DiversionEvent> parse_diversion_event(std::string_view s);
std::optional<DiversionState> next(DiversionState s, DiversionEvent e);

// ---- Deadlines -------------------------------------------------------------------------------

enum class AreaType { urban, suburban, rural };
std::optional<AreaType> parse_area_type(std::string_view s);

/// The deadlines of config `deadlines.*`, in seconds. Arrival depends on the zone's area type
/// and, scaled, on the priority; the others on the priority (index 0 = priority 1).
struct DeadlinePolicy {
  std::array<int, 4> acknowledge_s{60, 60, 120, 300};
  std::array<int, 3> arrive_s{300, 600, 1800};            ///< urban, suburban, rural, for priorities 1-2
  std::array<int, 4> arrive_pct{100, 100, 200, 400};  ///< arrive_s scaled per priority, in percent
  int feedback_s = 86400;          ///< an order's result after it is issued
  int support_accept_s = 120;      ///< the county accepts a support request
  int support_answer_s = 1800;     ///< and answers it
  int diversion_accept_s = 1800;   ///< an agency accepts a hand-off
  int diversion_done_s = 259200;   ///< and finishes it (3 days)
};

/// Deadline kinds (the `deadlines.kind` column).
enum class DeadlineKind { acknowledge, arrive, feedback, accept, answer, done };
const char* name(DeadlineKind k);

/// Seconds from the start of a step to its deadline. `area` matters for arrive only; an
/// unknown area (unlocated incident, no zone) counts as urban, the strictest. Priority is
/// clamped to 1..4. For accept/answer/done, `support` chooses between support request and
/// diversion timings.
int deadline_seconds(const DeadlinePolicy& p, DeadlineKind k, int priority, std::optional<AreaType> area,
                     bool support = true);

}  // namespace xiaonao::domain::loop
