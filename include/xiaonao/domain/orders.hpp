#pragma once
/// The request bodies of the incident lifecycle and the orders (docs/api.md, "Orders and the
/// incident lifecycle"): parsed and checked here, without I/O, so the handlers only route and
/// the store only applies. Every parser names the offending field in its error.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain::orders {

/// Byte limits of the free-text members.
inline constexpr std::size_t kMaxReason = 1000;
inline constexpr std::size_t kMaxInstruction = 2000;
inline constexpr std::size_t kMaxNote = 2000;
/// Units one POST /orders may order at once.
inline constexpr std::size_t kMaxUnitsPerRequest = 50;
/// How far into the future an order step's `at` may lie (clock skew between a terminal and us).
inline constexpr std::chrono::seconds kFutureSkew{60};

/// POST /api/v1/incidents/{id}/transitions.
struct TransitionRequest {
  loop::IncidentEvent event{loop::IncidentEvent::assess};
  std::string reason;
  std::optional<std::string> category;  ///< assess only: the corrected category (checked to exist by the caller)
  std::optional<int> priority;          ///< assess only: 1..4
};
/// Accepts event assess|resolve|close|cancel (dispatch and arrive happen through orders,
/// divert and reclaim through diversions: 422 naming "event"), an optional reason, and for
/// assess an optional category code and priority. Unknown members are refused.
Result<TransitionRequest> parse_transition(const nlohmann::json& body);

/// POST /api/v1/incidents/{id}/orders.
struct OrderRequest {
  std::string station_id;  ///< empty: the incident's station
  std::vector<std::string> unit_ids;  ///< 1..kMaxUnitsPerRequest distinct unit ids
  std::string instruction;
  std::string kind;  ///< respond|visit|video_check|search
};
Result<OrderRequest> parse_order_request(const nlohmann::json& body);
/// True for an order kind.
bool is_order_kind(std::string_view s);

/// POST /api/v1/orders/{id}/events.
struct OrderEventRequest {
  loop::OrderEvent type{loop::OrderEvent::ack};
  std::string note;
  std::optional<TimePoint> at;  ///< the step's time (absent: now)
  std::string reason;           ///< decline (required) and reassign
  std::string unit_id;          ///< reassign: the new unit (required)
};
/// `now` bounds `at`: not later than now + kFutureSkew (422 "at"); the store checks it is not
/// before the order was issued.
Result<OrderEventRequest> parse_order_event(const nlohmann::json& body, TimePoint now);

/// GET /api/v1/orders query.
struct OrderQuery {
  std::string incident_id;
  std::string unit_id;
  std::string station_id;
  std::vector<std::string> states;
  int limit = 50;
  std::optional<PageCursor> after;  ///< orders issued before this (issued_at desc, id desc)
};
/// `get(key)` returns the query parameter or nullopt. 400 naming the parameter on a bad value.
Result<OrderQuery> parse_order_query(const std::function<std::optional<std::string>(const char*)>& get);

/// The order number: "O" + local date (yyyymmdd) + "-" + the zero-padded serial, like incidents.
std::string format_order_number(TimePoint at, std::int64_t serial, int utc_offset_minutes);

}  // namespace xiaonao::domain::orders
