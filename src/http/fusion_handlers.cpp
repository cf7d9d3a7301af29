// Fusion's routes: the operator's location correction and the split of a wrongly merged alert
// (docs/api.md). Both commit their change, run the after-commit fusion again on the same
// connection, publish the events and answer with the one-screen view (masked).
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/privacy.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/store/fusion.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;

using Principal = std::shared_ptr<const domain::Principal>;

std::function<bool(const std::string&, const std::vector<std::string>&)> visibility(Principal who) {
  return [who](const std::string& station, const std::vector<std::string>& shares) {
    return who->sees_station(station, shares);
  };
}

// After a committed change: publish its events, fuse the incidents again, publish those.
void refuse(Context& ctx, pqxx::connection& c, store::IncidentChange& change) {
  if (!change.frames.empty()) ctx.hub.offer(std::move(change.frames));
  auto frames = store::fuse_incidents(c, change.incident_ids, store::fusion_options(ctx.cfg.fusion));
  if (!frames.empty()) ctx.hub.offer(std::move(frames));
}

json masked_view(pqxx::connection& c, const std::string& id) {
  auto view = store::get_incident(c, id);
  if (!view) return json::object();
  domain::mask_people(*view, false);
  (*view)["masked"] = true;
  return std::move(*view);
}

void patch_incident(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response({ErrorKind::bad_request, "id must be a UUID", "id"}));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto parsed = domain::fusion::parse_relocation(*body);
  if (!parsed) return reply(error_response(parsed.error()));
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, id, r = std::move(*parsed), who = call.principal](pqxx::connection& c) {
          auto change = store::relocate_incident(c, id, r, ctx.cfg.fusion.nearest_zone_m, visibility(who));
          if (!change) return error_response(change.error());
          refuse(ctx, c, *change);
          return json_response(200, masked_view(c, id).dump());
        });
}

void split_alert(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  const auto alert_id = call.params.at(1);
  if (!domain::is_uuid(id)) return reply(error_response({ErrorKind::bad_request, "id must be a UUID", "id"}));
  if (!domain::is_uuid(alert_id))
    return reply(error_response({ErrorKind::bad_request, "alert_id must be a UUID", "alert_id"}));
  on_db(ctx, std::move(reply), call.request_id, [&ctx, id, alert_id, who = call.principal](pqxx::connection& c) {
    auto change = store::split_alert(c, id, alert_id, store::locate_options(ctx.cfg.fusion),
                                     ctx.cfg.utc_offset_minutes, visibility(who));
    if (!change) return error_response(change.error());
    const json out = {{"alert_id", alert_id},
                      {"from_incident_id", id},
                      {"incident_id", change->new_incident_id},
                      {"incident_number", change->new_incident_number}};
    refuse(ctx, c, *change);
    return json_response(201, out.dump());
  });
}

}  // namespace

void register_fusion_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  r.add(verb::patch, "/api/v1/incidents/{id}", P::incidents_write,
        [&ctx](Call& call, Reply reply) { patch_incident(ctx, call, std::move(reply)); });
  r.add(verb::post, "/api/v1/incidents/{id}/alerts/{alert_id}/split", P::incidents_write,
        [&ctx](Call& call, Reply reply) { split_alert(ctx, call, std::move(reply)); });
}

}  // namespace xiaonao::http
