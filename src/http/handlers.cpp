// The API's routes: parse and validate on the I/O thread, run database work on the pool,
// answer through Reply (which hops back to the connection's strand).
#include <pqxx/pqxx>

#include "sessions.hpp"
#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/incident.hpp"
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
  return json_response(static_cast<unsigned>(domain::http_status(e.kind)), body.dump());
}

namespace {

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return boost::beast::iequals(media, "application/json");
}

// Runs `query` on a pool connection and replies with its result; 503 when the queue is full
// or the database is down. pqxx exceptions stop here.
template <class F>
void on_db(Context& ctx, Reply reply, const std::string& rid, F query) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = ctx.pool.submit([shared_reply, rid, query = std::move(query)](pqxx::connection* c) {
    if (!c) return (*shared_reply)(error_response({ErrorKind::unavailable, "database unavailable", ""}));
    try {
      (*shared_reply)(query(*c));
    } catch (const std::exception& e) {
      const bool down = store::is_connection_error(e);
      log::error("db.query_failed", {{"rid", rid}, {"error", e.what()}});
      (*shared_reply)(error_response(down ? Error{ErrorKind::unavailable, "database unavailable", ""}
                                          : Error{ErrorKind::internal, "internal error", ""}));
      if (down) throw;
    }
  });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "server busy, retry later", ""}));
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
  if (!alert.priority) alert.priority = category->default_priority;
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = ctx.writer.submit(std::move(alert), [shared_reply](domain::Result<store::IngestResult> r) {
    if (!r) return (*shared_reply)(error_response(r.error()));
    json body = {{"alert_id", r->alert_id},
                 {"incident_id", r->incident_id},
                 {"incident_number", r->incident_number},
                 {"merged", r->merged},
                 {"created", r->created}};
    (*shared_reply)(json_response(r->created ? 201 : 200, body.dump()));
  });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "intake queue full, retry later", ""}));
}

void list_incidents(Context& ctx, Call& call, Reply reply) {
  store::IncidentFilter f;
  if (auto e = split_codes(call.query, "status", f.statuses)) return reply(error_response(*e));
  if (auto e = split_codes(call.query, "category", f.categories)) return reply(error_response(*e));
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

void get_incident(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response({ErrorKind::bad_request, "id must be a UUID", "id"}));
  on_db(ctx, std::move(reply), call.request_id, [id](pqxx::connection& c) {
    auto view = store::get_incident(c, id);
    if (!view) return error_response({ErrorKind::not_found, "no incident with this id", "id"});
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
  r.add(verb::get, "/healthz", [](Call&, Reply reply) { reply(json_response(200, R"({"status":"ok"})")); });
  r.add(verb::get, "/readyz", bind(readyz));
  r.add(verb::get, "/metrics", [&ctx](Call&, Reply reply) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = ctx.metrics.render();
    reply(std::move(res));
  });
  r.add(verb::post, "/api/v1/alerts", bind(post_alert));
  r.add(verb::get, "/api/v1/categories", bind(list_categories));
  r.add(verb::get, "/api/v1/incidents", bind(list_incidents));
  r.add(verb::get, "/api/v1/incidents/{id}", bind(get_incident));
  r.add(verb::get, "/ws/feed", [](Call&, Reply reply) {
    auto res = error_response({ErrorKind::bad_request, "this is a WebSocket endpoint; send an Upgrade request", ""});
    res.result(bhttp::status::upgrade_required);
    res.set(bhttp::field::upgrade, "websocket");
    reply(std::move(res));
  });
}

}  // namespace xiaonao::http
