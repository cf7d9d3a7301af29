#pragma once
/// Orders (指令) and the incident lifecycle's officer steps (docs/architecture.md, "The closed
/// loop", "### Orders"). Each write is one transaction: the incident, the orders, the units
/// that follow them, the deadlines and the feed events commit together, the events last.
/// Locks are always taken in the order incident → orders → units (units by id), so concurrent
/// steps cannot deadlock.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/domain/orders.hpp"
#include "xiaonao/store/loop.hpp"

namespace xiaonao::store {

/// Who asks, as the order steps need it.
struct OrderCaller {
  std::string actor;    ///< user:<id> or key:<id>
  std::string station;  ///< a station role's station; empty: county-wide (or a key)
  MaySee may_see;       ///< incident visibility (Principal::sees_station)
};

/// A committed write: the answer's JSON body and the feed frames to publish.
struct LoopWrite {
  std::string body;
  std::vector<domain::Frame> frames;
};

/// POST /api/v1/incidents/{id}/transitions: assess (with an optional category/priority
/// correction; an unknown category is 422 "category"), resolve, close, cancel. 404 when the
/// caller cannot see the incident, 409 with error.state when the lifecycle forbids it.
/// `body` of the result is empty: the caller answers with the one-screen view.
domain::Result<LoopWrite> apply_transition(pqxx::connection& c, const std::string& incident_id,
                                           const domain::orders::TransitionRequest& r, const OrderCaller& who);

/// POST /api/v1/incidents/{id}/orders: one order per unit (body {"orders":[...]}).
domain::Result<LoopWrite> issue_orders(pqxx::connection& c, const std::string& incident_id,
                                       const domain::orders::OrderRequest& r, const OrderCaller& who,
                                       const domain::loop::DeadlinePolicy& policy, int utc_offset_minutes);

/// POST /api/v1/orders/{id}/events: body the order (reassign: {"order", "replacement"}).
domain::Result<LoopWrite> record_order_event(pqxx::connection& c, const std::string& order_id,
                                             const domain::orders::OrderEventRequest& r, const OrderCaller& who,
                                             const domain::loop::DeadlinePolicy& policy, int utc_offset_minutes);

/// The bodies of the three writes above inside a transaction the caller owns (the order
/// writer runs the steps of concurrent requests in one transaction; docs/architecture.md,
/// "### Orders"). They do not commit: on success they append their feed events to `events`
/// (the caller appends them last, then commits) and return the answer's body. Every refusal
/// (404, 403, 409, 422) comes before the step's first write, so a refused step has written
/// nothing (it may hold row locks until the transaction ends) and adds no event.
domain::Result<std::string> apply_transition_in(pqxx::work& w, const std::string& incident_id,
                                                const domain::orders::TransitionRequest& r, const OrderCaller& who,
                                                std::vector<NewEvent>& events);
domain::Result<std::string> issue_orders_in(pqxx::work& w, const std::string& incident_id,
                                            const domain::orders::OrderRequest& r, const OrderCaller& who,
                                            const domain::loop::DeadlinePolicy& policy, int utc_offset_minutes,
                                            std::vector<NewEvent>& events);
domain::Result<std::string> record_order_event_in(pqxx::work& w, const std::string& order_id,
                                                  const domain::orders::OrderEventRequest& r, const OrderCaller& who,
                                                  const domain::loop::DeadlinePolicy& policy,
                                                  int utc_offset_minutes, std::vector<NewEvent>& events);

/// Prepares the order step's statements (and xn_append) on `c`; record_order_event_in needs them.
void prepare_order_statements(pqxx::connection& c);

/// GET /api/v1/orders/{id}: the order JSON with its deadlines; 404 when unknown or not visible.
domain::Result<std::string> get_order(pqxx::connection& c, const std::string& order_id, const OrderCaller& who);

/// GET /api/v1/orders: {"items":[...], "next_cursor"} newest first; a station caller sees its
/// station's orders and those of incidents it sees.
std::string list_orders(pqxx::connection& c, const domain::orders::OrderQuery& q, const OrderCaller& who);

/// The most events the one-screen view's timeline shows: the first kTimelineHead and the
/// last kTimelineTail; `timeline_omitted` counts those left out between them.
inline constexpr int kTimelineHead = 100;
inline constexpr int kTimelineTail = 400;

/// Adds `orders` (each with its deadlines, in issue order), `timeline` and `timeline_omitted`
/// to the one-screen view (called from store::get_incident).
void add_orders_to_view(pqxx::transaction_base& t, const std::string& incident_id, nlohmann::json& view);

}  // namespace xiaonao::store
