// Live unit data (positions, status, list, tracks) and the map. Position reports go to the
// batching PositionWriter and are answered after their commit; they are telemetry and write no
// feed events. A status change writes one `unit.status` event in its transaction.
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/domain/units.hpp"
#include "xiaonao/store/units_store.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;

const Error kNoUnit{ErrorKind::not_found, "no unit with this id", "id"};

// The station a caller is limited to: its own for station roles (which always have one);
// "" (any unit) for county-wide callers, keys and integrator users, who have no station.
std::string unit_scope(const domain::Principal& p) {
  if (p.county_wide || p.station_id.empty()) return std::string();
  return p.station_id;
}

std::optional<std::string_view> query_param(const Call& call, const char* key) {
  const auto it = call.query.find(key);
  if (it == call.query.end()) return std::nullopt;
  return std::string_view(it->second);
}

Response no_content() {
  Response res{bhttp::status::no_content, 11};
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

// A comma list of codes, each passing `valid`; 400 naming `key` otherwise.
std::optional<Error> code_list(const Call& call, const char* key, bool (*valid)(std::string_view),
                               std::vector<std::string>& out) {
  const auto v = query_param(call, key);
  if (!v) return std::nullopt;
  for (auto item : domain::split_list(*v)) {
    if (!valid(item)) return Error{ErrorKind::bad_request, std::string(key) + " has an invalid item", key};
    out.emplace_back(item);
  }
  return std::nullopt;
}

bool is_status_code(std::string_view s) {
  return !s.empty() && s.size() <= 32 && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
}

void submit_positions(Context& ctx, std::vector<domain::PositionReport> reports, std::string station, Reply reply,
                      bool single) {
  if (ctx.positions == nullptr) return reply(error_response({ErrorKind::unavailable, "position writer not running", ""}));
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  auto ids = std::make_shared<std::vector<std::string>>();
  if (!single) {
    ids->reserve(reports.size());
    for (const auto& r : reports) ids->push_back(r.unit_id);
  }
  const bool queued = ctx.positions->submit(
      std::move(reports), std::move(station),
      [shared_reply, ids, single](domain::Result<std::vector<store::PositionOutcome>> r) {
        if (!r) return (*shared_reply)(error_response(r.error()));
        if (single) {
          if (r->at(0) == store::PositionOutcome::unknown_unit) return (*shared_reply)(error_response(kNoUnit));
          return (*shared_reply)(no_content());
        }
        std::string body;
        domain::JsonWriter w(body);
        std::int64_t moved = 0, recorded = 0, unknown = 0;
        w.begin_object().key("results").begin_array();
        for (std::size_t i = 0; i < r->size(); ++i) {
          const auto o = (*r)[i];
          (o == store::PositionOutcome::moved ? moved : o == store::PositionOutcome::recorded ? recorded : unknown)++;
          w.begin_object().key("unit_id").string((*ids)[i]).key("outcome").string(store::outcome_name(o)).end_object();
        }
        w.end_array();
        w.key("moved").integer(moved).key("recorded").integer(recorded).key("unknown_unit").integer(unknown);
        w.end_object();
        (*shared_reply)(json_response(200, std::move(body)));
      });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "position queue full, retry later", ""}));
}

void post_position(Context& ctx, Call& call, Reply reply) {
  const auto& id = call.params.at(0);
  if (!domain::is_reference_id(id)) return reply(error_response(kNoUnit));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto report = domain::parse_position(*body);
  if (!report) return reply(error_response(report.error()));
  const auto scope = unit_scope(*call.principal);
  report->unit_id = id;
  std::vector<domain::PositionReport> one;
  one.push_back(std::move(*report));
  submit_positions(ctx, std::move(one), scope, std::move(reply), true);
}

void post_positions(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto reports = domain::parse_position_batch(*body);
  if (!reports) return reply(error_response(reports.error()));
  submit_positions(ctx, std::move(*reports), unit_scope(*call.principal), std::move(reply), false);
}

void patch_unit(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_reference_id(id)) return reply(error_response(kNoUnit));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto status = domain::parse_status_body(*body);
  if (!status) return reply(error_response(status.error()));
  const auto scope = unit_scope(*call.principal);
  on_db(ctx, std::move(reply), call.request_id,
        [&hub = ctx.hub, id, status = *status, station = scope, actor = call.principal->ref()](pqxx::connection& c) {
          auto change = store::set_unit_status(c, id, status, station, actor);
          if (!change.found) return error_response(kNoUnit);
          if (!change.frames.empty()) hub.offer(std::move(change.frames));
          std::string body = "{\"changed\":";
          body += change.changed ? "true" : "false";
          body += ",\"unit\":" + change.unit_json + "}";
          return json_response(200, std::move(body));
        });
}

void list_units(Context& ctx, Call& call, Reply reply) {
  store::UnitFilter f;
  if (auto e = code_list(call, "station", domain::is_reference_id, f.stations)) return reply(error_response(*e));
  if (auto e = code_list(call, "status", domain::is_unit_status, f.statuses)) return reply(error_response(*e));
  if (auto e = code_list(call, "kind", domain::is_unit_kind, f.kinds)) return reply(error_response(*e));
  f.visible_station = unit_scope(*call.principal);
  on_db(ctx, std::move(reply), call.request_id,
        [f](pqxx::connection& c) { return json_response(200, store::list_units(c, f)); });
}

void get_track(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_reference_id(id)) return reply(error_response(kNoUnit));
  auto q = domain::parse_track_query(query_param(call, "from"), query_param(call, "to"), query_param(call, "limit"),
                                     domain::now_utc(), ctx.cfg.units.track_max_hours, ctx.cfg.units.track_max_points);
  if (!q) return reply(error_response(q.error()));
  const auto scope = unit_scope(*call.principal);
  on_db(ctx, std::move(reply), call.request_id, [id, q = *q, station = scope](pqxx::connection& c) {
    auto track = store::unit_track(c, id, station, q);
    if (!track) return error_response(kNoUnit);
    return json_response(200, std::move(*track));
  });
}

void get_map(Context& ctx, Call& call, Reply reply) {
  store::MapQuery q;
  const auto bbox = query_param(call, "bbox");
  if (!bbox) return reply(error_response({ErrorKind::bad_request, "bbox is required: minLon,minLat,maxLon,maxLat", "bbox"}));
  auto b = domain::parse_bbox(*bbox, ctx.cfg.units.map_max_area_km2);
  if (!b) return reply(error_response(b.error()));
  q.bbox = *b;
  auto layers = domain::parse_layers(query_param(call, "layers"));
  if (!layers) return reply(error_response(layers.error()));
  q.layers = std::move(*layers);
  auto simplify = domain::parse_simplify(query_param(call, "simplify"));
  if (!simplify) return reply(error_response(simplify.error()));
  q.simplify_m = *simplify;
  if (auto e = code_list(call, "status", is_status_code, q.incident_statuses)) return reply(error_response(*e));
  q.visible_station = unit_scope(*call.principal);
  q.layer_cap = ctx.cfg.units.map_layer_cap;
  on_db(ctx, std::move(reply), call.request_id,
        [q = std::move(q)](pqxx::connection& c) { return json_response(200, store::map_features(c, q)); });
}

}  // namespace

void register_units_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  auto bind = [&ctx](void (*fn)(Context&, Call&, Reply)) {
    return [&ctx, fn](Call& call, Reply reply) { fn(ctx, call, std::move(reply)); };
  };
  r.add(verb::get, "/api/v1/units", P::map_read, bind(list_units));
  r.add(verb::post, "/api/v1/units/positions", P::units_write, bind(post_positions));
  r.add(verb::patch, "/api/v1/units/{id}", P::units_write, bind(patch_unit));
  r.add(verb::post, "/api/v1/units/{id}/position", P::units_write, bind(post_position));
  r.add(verb::get, "/api/v1/units/{id}/track", P::map_read, bind(get_track));
  r.add(verb::get, "/api/v1/map", P::map_read, bind(get_map));
}

}  // namespace xiaonao::http
