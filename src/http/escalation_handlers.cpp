// Deadlines and escalation: the list of announced (missed) deadlines. The announcements
// themselves come from store::EscalationScheduler as deadline.missed feed events.
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/escalation.hpp"
#include "xiaonao/store/escalation.hpp"

namespace xiaonao::http {
namespace {

std::optional<std::string_view> query_param(const Call& call, const char* key) {
  const auto it = call.query.find(key);
  if (it == call.query.end()) return std::nullopt;
  return std::string_view(it->second);
}

// GET /api/v1/escalations?station_id=&open=true|false&since=&limit=: newest first. Station
// roles see their own station's deadlines and those of incidents they see.
void list_escalations(Context& ctx, Call& call, Reply reply) {
  auto q = domain::escalation::parse_query(query_param(call, "station_id"), query_param(call, "open"),
                                           query_param(call, "since"), query_param(call, "limit"));
  if (!q) return reply(error_response(q.error()));
  const auto& who = *call.principal;
  const std::string visible = who.county_wide ? std::string() : who.station_id;
  const bool nobody = !who.county_wide && who.station_id.empty();
  on_db(ctx, std::move(reply), call.request_id, [q = *q, visible, nobody](pqxx::connection& c) {
    const auto items = store::list_escalations(c, q, visible, nobody);
    return json_response(200, items.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

}  // namespace

void register_escalation_routes(Router& r, Context& ctx) {
  r.add(bhttp::verb::get, "/api/v1/escalations", domain::Permission::incidents_read,
        [&ctx](Call& call, Reply reply) { list_escalations(ctx, call, std::move(reply)); });
}

}  // namespace xiaonao::http
