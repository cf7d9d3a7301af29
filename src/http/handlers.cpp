// The API's routes: parse and validate on the I/O thread, run database work on the pool,
// answer through Reply (which hops back to the connection's strand).
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "sessions.hpp"
#include "xiaonao/domain/json_limits.hpp"
#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/privacy.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/migrations.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::http {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;

Response json_response(unsigned status, std::string body) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

Response error_response(const Error& e) {
  json body = {{"error", {{"code", domain::error_code(e.kind)}, {"message", e.message}, {"field", e.field}}}};
  if (!e.state.empty()) body["error"]["state"] = e.state;
  return json_response(static_cast<unsigned>(domain::http_status(e.kind)), body.dump());
}

namespace {
bool is_json_content_type(std::string_view ct);
}

domain::Result<json> json_object_body(const Context& ctx, const Call& call) {
  if (!is_json_content_type(call.req[bhttp::field::content_type]))
    return Error{ErrorKind::unsupported_media_type, "Content-Type must be application/json", ""};
  const auto& body = call.req.body();
  if (domain::json_depth(body, ctx.cfg.http.max_json_depth) > ctx.cfg.http.max_json_depth)
    return Error{ErrorKind::malformed_json, "JSON nests too deep", ""};
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return Error{ErrorKind::malformed_json, "body is not valid JSON", ""};
  if (!j.is_object()) return Error{ErrorKind::invalid_field, "body must be a JSON object", ""};
  return j;
}

domain::Result<std::string> string_member(const json& body, const char* name, bool required, std::size_t max_bytes) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return Error{ErrorKind::missing_field, std::string(name) + " is required", name};
    return std::string();
  }
  if (!it->is_string()) return Error{ErrorKind::invalid_field, std::string(name) + " must be a string", name};
  auto v = it->get<std::string>();
  if (v.size() > max_bytes)
    return Error{ErrorKind::invalid_field, std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes", name};
  return v;
}

namespace {

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return boost::beast::iequals(media, "application/json");
}

std::optional<Error> split_codes(const std::map<std::string, std::string>& q, const char* key,
                                 std::vector<std::string>& out) {
  const auto it = q.find(key);
  if (it == q.end()) return std::nullopt;
  std::string item;
  std::string_view s = it->second;
  std::size_t i = 0;
  while (true) {
    const auto j = s.find(',', i);
    const auto v = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (v.empty() || v.size() > 32 || v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string_view::npos)
      return Error{ErrorKind::bad_request, std::string(key) + " must be a comma-separated list of codes", key};
    out.emplace_back(v);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return std::nullopt;
}

void post_alert(Context& ctx, Call& call, Reply reply) {
  const auto ct = call.req[bhttp::field::content_type];
  if (!is_json_content_type(ct)) {
    return reply(error_response({ErrorKind::unsupported_media_type, "Content-Type must be application/json", ""}));
  }
  domain::AlertLimits limits;
  limits.max_depth = ctx.cfg.http.max_json_depth;
  auto parsed = domain::parse_alert(call.req.body(), limits);
  if (!parsed) return reply(error_response(parsed.error()));
  auto alert = std::move(*parsed);
  const auto category = ctx.categories.find(alert.category);
  if (!category) {
    return reply(error_response({ErrorKind::unknown_category, "unknown category '" + alert.category + "'", "category"}));
  }
  if (!call.principal->may_send_source(alert.source)) {
    return reply(error_response({ErrorKind::forbidden, "this key may not send alerts of source '" + alert.source + "'", "source"}));
  }
  if (!alert.priority) alert.priority = category->default_priority;
  alert.submitted_by = call.principal->ref();
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = ctx.writer.submit(std::move(alert), [shared_reply](domain::Result<store::IngestResult> r) {
    if (!r) return (*shared_reply)(error_response(r.error()));
    (*shared_reply)(json_response(r->created ? 201 : 200, store::answer_json(*r)));
  });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "intake queue full, retry later", ""}));
}

void list_incidents(Context& ctx, Call& call, Reply reply) {
  store::IncidentFilter f;
  if (auto e = split_codes(call.query, "status", f.statuses)) return reply(error_response(*e));
  if (auto e = split_codes(call.query, "category", f.categories)) return reply(error_response(*e));
  if (auto e = split_codes(call.query, "station", f.stations)) return reply(error_response(*e));
  if (!call.principal->county_wide) f.visible_to_station = call.principal->station_id;
  for (const char* key : {"from", "to"}) {
    if (auto it = call.query.find(key); it != call.query.end()) {
      auto t = domain::parse_rfc3339(it->second);
      if (!t) return reply(error_response({ErrorKind::bad_request, std::string(key) + " must be an RFC 3339 time", key}));
      (std::string_view(key) == "from" ? f.from : f.to) = *t;
    }
  }
  if (auto it = call.query.find("limit"); it != call.query.end()) {
    const auto& s = it->second;
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos || std::stoi(s) < 1 ||
        std::stoi(s) > 500)
      return reply(error_response({ErrorKind::bad_request, "limit must be an integer from 1 to 500", "limit"}));
    f.limit = std::stoi(s);
  }
  if (auto it = call.query.find("cursor"); it != call.query.end()) {
    f.after = domain::decode_cursor(it->second);
    if (!f.after) return reply(error_response({ErrorKind::bad_request, "cursor is not one this server issued", "cursor"}));
  }
  on_db(ctx, std::move(reply), call.request_id,
        [f](pqxx::connection& c) { return json_response(200, store::list_incidents(c, f).dump()); });
}

// The one-screen view. Personal data is masked unless the caller asks with ?unmask=true and a
// reason, holds persons:unmask and can see the incident; then one audit row per person is
// committed before the answer leaves.
void get_incident(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response({ErrorKind::bad_request, "id must be a UUID", "id"}));
  bool unmask = false;
  std::string reason;
  if (auto it = call.query.find("unmask"); it != call.query.end()) {
    if (it->second != "true" && it->second != "false")
      return reply(error_response({ErrorKind::bad_request, "unmask must be true or false", "unmask"}));
    unmask = it->second == "true";
  }
  if (unmask) {
    if (!call.principal->may(domain::Permission::persons_unmask)) return reply(forbidden(domain::Permission::persons_unmask));
    if (auto it = call.query.find("reason"); it != call.query.end()) reason = it->second;
    if (reason.empty() || reason.size() > 500)
      return reply(error_response({ErrorKind::bad_request, "unmask needs a reason (1-500 bytes): why you look this person up", "reason"}));
  }
  on_db(ctx, std::move(reply), call.request_id, [id, unmask, reason, who = call.principal](pqxx::connection& c) {
    auto view = store::get_incident(c, id);
    // Not visible is answered like unknown: a station must not learn what other stations hold.
    if (!view) return error_response({ErrorKind::not_found, "no incident with this id", "id"});
    const auto& inc = (*view)["incident"];
    const auto station = inc["station_id"].is_string() ? inc["station_id"].get<std::string>() : std::string();
    if (!who->sees_station(station, (*view)["shared_with"].get<std::vector<std::string>>()))
      return error_response({ErrorKind::not_found, "no incident with this id", "id"});
    const auto people = domain::mask_people(*view, unmask);
    if (unmask && !people.empty()) {
      pqxx::work w(c);
      for (const auto& person : people) {
        auto e = domain::audit_entry(*who, "person.unmask");
        e.target = person;
        e.incident_id = id;
        e.reason = reason;
        if (e.station_id.empty()) e.station_id = station;
        store::append_audit(w, e);
      }
      w.commit();
    }
    (*view)["masked"] = !unmask;
    return json_response(200, view->dump());
  });
}

void list_categories(Context& ctx, Call&, Reply reply) {
  json items = json::array();
  for (const auto& c : *ctx.categories.all()) {
    items.push_back({{"code", c.code},
                     {"name_zh", c.name_zh},
                     {"name_en", c.name_en},
                     {"default_priority", c.default_priority},
                     {"non_police", c.non_police}});
  }
  reply(json_response(200, json{{"items", std::move(items)}}.dump()));
}

void readyz(Context& ctx, Call& call, Reply reply) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const auto not_ready = [](const std::string& reason) {
    return json_response(503, json{{"status", "not_ready"}, {"reason", reason}}.dump());
  };
  if (ctx.reference && !ctx.reference->first_load_tried()) return (*shared_reply)(not_ready("reference data loading"));
  const bool queued = ctx.pool.submit([shared_reply, not_ready, rid = call.request_id](pqxx::connection* c) {
    if (!c) return (*shared_reply)(not_ready("database unreachable"));
    try {
      const int have = store::schema_version(*c);
      if (have < store::latest_migration_version()) {
        return (*shared_reply)(not_ready("schema at version " + std::to_string(have) + ", this binary needs " +
                                         std::to_string(store::latest_migration_version())));
      }
      (*shared_reply)(json_response(200, R"({"status":"ready"})"));
    } catch (const std::exception& e) {
      (*shared_reply)(not_ready("database error"));
      if (store::is_connection_error(e)) throw;
    }
  });
  if (!queued) (*shared_reply)(not_ready("database queue full"));
}

}  // namespace

void register_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  auto bind = [&ctx](void (*fn)(Context&, Call&, Reply)) {
    return [&ctx, fn](Call& call, Reply reply) { fn(ctx, call, std::move(reply)); };
  };
  using P = domain::Permission;
  r.add(verb::get, "/healthz", P::open, [](Call&, Reply reply) { reply(json_response(200, R"({"status":"ok"})")); });
  r.add(verb::get, "/readyz", P::open, bind(readyz));
  r.add(verb::get, "/metrics", P::metrics_read, [&ctx](Call&, Reply reply) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = ctx.metrics.render();
    reply(std::move(res));
  });
  r.add(verb::post, "/api/v1/alerts", P::alerts_write, bind(post_alert));
  r.add(verb::get, "/api/v1/categories", P::categories_read, bind(list_categories));
  r.add(verb::get, "/api/v1/incidents", P::incidents_read, bind(list_incidents));
  r.add(verb::get, "/api/v1/incidents/{id}", P::incidents_read, bind(get_incident));
  register_units_routes(r, ctx);
  register_fusion_routes(r, ctx);
  register_reference_routes(r, ctx);
  register_static_routes(r, ctx);
  register_escalation_routes(r, ctx);
  register_orders_routes(r, ctx);
  register_support_routes(r, ctx);
  register_notes_routes(r, ctx);
  // A plain GET of the feed (no Upgrade): upgrades are checked in HttpSession::upgrade.
  r.add(verb::get, "/ws/feed", P::feed_read, [](Call&, Reply reply) {
    auto res = error_response({ErrorKind::bad_request, "this is a WebSocket endpoint; send an Upgrade request", ""});
    res.result(bhttp::status::upgrade_required);
    res.set(bhttp::field::upgrade, "websocket");
    reply(std::move(res));
  });
}

}  // namespace xiaonao::http
