// The county's side of the closed loop (docs/api.md, "Support requests, diversions, feedback"):
// support requests and external help requests (协查), diversions to other agencies, feedback
// with the call-back and the review, and response-time statistics. Bodies are parsed on the
// I/O thread; each change runs in one transaction on the pool and its feed events are
// published after the commit.
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/domain/support.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/store/support_store.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace sup = domain::support;

using Principal = std::shared_ptr<const domain::Principal>;

store::LoopActor actor_of(const Principal& who) {
  return {who->ref(), [who](const std::string& station, const std::vector<std::string>& shares) {
            return who->sees_station(station, shares);
          }};
}

std::optional<Error> bad_uuid(const std::string& id, const char* field = "id") {
  if (domain::is_uuid(id)) return std::nullopt;
  return Error{ErrorKind::bad_request, std::string(field) + " must be a UUID", field};
}

// Publishes a committed change and answers with its body.
Response publish(Context& ctx, domain::Result<store::LoopChange> change, unsigned status) {
  if (!change) return error_response(change.error());
  if (!change->frames.empty()) ctx.hub.offer(std::move(change->frames));
  return json_response(change->created ? status : 200, change->body.dump());
}

// Parses the body with `parse`, then runs `change(connection, input, actor)` on the pool.
template <class Parse, class Change>
void body_change(Context& ctx, Call& call, Reply reply, unsigned status, Parse parse, Change change) {
  if (auto e = bad_uuid(call.params.at(0))) return reply(error_response(*e));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto in = parse(*body);
  if (!in) return reply(error_response(in.error()));
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, status, id = call.params.at(0), in = std::move(*in), who = actor_of(call.principal),
         change](pqxx::connection& c) { return publish(ctx, change(c, id, in, who), status); });
}

// ---- support requests -----------------------------------------------------------------------------

void request_support(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 201, sup::parse_support_request,
              [&ctx](pqxx::connection& c, const std::string& id, const sup::SupportRequestInput& in,
                     const store::LoopActor& who) {
                return store::request_support(c, id, in, who, ctx.cfg.deadlines, ctx.cfg.utc_offset_minutes);
              });
}

// An external help request (协查): its incident goes through the alert intake (source
// "assist"), which locates it, finds its owner station and zone and makes a retry with the
// same ref idempotent; the support request is then added to that incident.
void external_support(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto in = sup::parse_external_support(*body, domain::now_utc(), domain::new_uuid());
  if (!in) return reply(error_response(in.error()));
  const auto category = ctx.categories.find(in->alert.category);
  if (!category)
    return reply(error_response(
        {ErrorKind::unknown_category, "unknown category '" + in->alert.category + "'", "incident.category"}));
  if (!in->alert.priority) in->alert.priority = category->default_priority;
  in->alert.submitted_by = call.principal->ref();
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  auto input = std::make_shared<const sup::ExternalSupportInput>(*in);
  const bool queued = ctx.writer.submit(
      in->alert, [&ctx, shared_reply, input, rid = call.request_id,
                  actor = call.principal->ref()](domain::Result<store::IngestResult> r) {
        if (!r) return (*shared_reply)(error_response(r.error()));
        const auto alert = json::parse(store::answer_json(*r));
        on_db(ctx, [shared_reply](Response res) { (*shared_reply)(std::move(res)); }, rid,
              [&ctx, input, alert, actor](pqxx::connection& c) {
                auto change = store::open_external_support(c, alert["incident_id"].get<std::string>(), *input, actor,
                                                           ctx.cfg.deadlines, ctx.cfg.utc_offset_minutes);
                if (change) change->body["alert"] = alert;
                return publish(ctx, std::move(change), 201);
              });
      });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "intake queue full, retry later", ""}));
}

void support_event(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 200, sup::parse_support_event,
              [](pqxx::connection& c, const std::string& id, const sup::SupportEventInput& in,
                 const store::LoopActor& who) { return store::support_event(c, id, in, who.actor); });
}

void get_support(Context& ctx, Call& call, Reply reply) {
  if (auto e = bad_uuid(call.params.at(0))) return reply(error_response(*e));
  on_db(ctx, std::move(reply), call.request_id,
        [id = call.params.at(0), who = actor_of(call.principal)](pqxx::connection& c) {
          auto r = store::get_support(c, id, who.may_see);
          return r ? json_response(200, r->dump()) : error_response(r.error());
        });
}

void list_support(Context& ctx, Call& call, Reply reply) {
  store::SupportFilter f;
  if (auto it = call.query.find("state"); it != call.query.end()) {
    for (auto s : domain::split_list(it->second)) {
      if (!domain::loop::parse_support_state(s))
        return reply(error_response(
            {ErrorKind::bad_request, "state must be a list of: requested, accepted, answered, closed, rejected", "state"}));
      f.states.emplace_back(s);
    }
  }
  if (auto it = call.query.find("station_id"); it != call.query.end()) {
    if (it->second.empty() || it->second.size() > 64)
      return reply(error_response({ErrorKind::bad_request, "station_id must be 1-64 characters", "station_id"}));
    f.station_id = it->second;
  }
  if (auto it = call.query.find("incident_id"); it != call.query.end()) {
    if (auto e = bad_uuid(it->second, "incident_id")) return reply(error_response(*e));
    f.incident_id = it->second;
  }
  if (auto it = call.query.find("limit"); it != call.query.end()) {
    const auto& s = it->second;
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos || std::stoi(s) < 1 ||
        std::stoi(s) > 500)
      return reply(error_response({ErrorKind::bad_request, "limit must be an integer from 1 to 500", "limit"}));
    f.limit = std::stoi(s);
  }
  if (!call.principal->county_wide) f.visible_to_station = call.principal->station_id;
  on_db(ctx, std::move(reply), call.request_id,
        [f](pqxx::connection& c) { return json_response(200, store::list_support(c, f).dump()); });
}

// ---- diversions ---------------------------------------------------------------------------------

void divert(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 201, sup::parse_diversion,
              [&ctx](pqxx::connection& c, const std::string& id, const sup::DiversionInput& in,
                     const store::LoopActor& who) { return store::divert_incident(c, id, in, who, ctx.cfg.deadlines); });
}

void diversion_event(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 200, sup::parse_diversion_event,
              [](pqxx::connection& c, const std::string& id, const sup::DiversionEventInput& in,
                 const store::LoopActor& who) { return store::diversion_event(c, id, in, who); });
}

void get_diversion(Context& ctx, Call& call, Reply reply) {
  if (auto e = bad_uuid(call.params.at(0))) return reply(error_response(*e));
  on_db(ctx, std::move(reply), call.request_id,
        [id = call.params.at(0), who = actor_of(call.principal)](pqxx::connection& c) {
          auto r = store::get_diversion(c, id, who.may_see);
          return r ? json_response(200, r->dump()) : error_response(r.error());
        });
}

// ---- feedback and evaluation ------------------------------------------------------------------------

void put_feedback(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 200, sup::parse_feedback,
              [](pqxx::connection& c, const std::string& id, const sup::FeedbackInput& in,
                 const store::LoopActor& who) { return store::put_feedback(c, id, in, who); });
}

void post_callback(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 200, sup::parse_callback,
              [](pqxx::connection& c, const std::string& id, const sup::CallbackInput& in,
                 const store::LoopActor& who) { return store::record_callback(c, id, in, who); });
}

void post_review(Context& ctx, Call& call, Reply reply) {
  body_change(ctx, call, std::move(reply), 200, sup::parse_review,
              [](pqxx::connection& c, const std::string& id, const sup::ReviewInput& in,
                 const store::LoopActor& who) { return store::record_review(c, id, in, who); });
}

// ---- response times ----------------------------------------------------------------------------

void response_times(Context& ctx, Call& call, Reply reply) {
  const auto& p = *call.principal;
  // Station roles see their own station; county-wide callers, analysts and keys see all.
  const std::string scope = p.county_wide || p.station_id.empty() ? std::string() : p.station_id;
  auto q = sup::parse_response_query(call.query, scope);
  if (!q) return reply(error_response(q.error()));
  on_db(ctx, std::move(reply), call.request_id,
        [q = *q](pqxx::connection& c) { return json_response(200, store::response_stats(c, q).dump()); });
}

}  // namespace

void register_support_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  auto bind = [&ctx](void (*fn)(Context&, Call&, Reply)) {
    return [&ctx, fn](Call& call, Reply reply) { fn(ctx, call, std::move(reply)); };
  };
  r.add(verb::post, "/api/v1/incidents/{id}/support-requests", P::incidents_write, bind(request_support));
  r.add(verb::post, "/api/v1/support-requests", P::support_handle, bind(external_support));
  r.add(verb::get, "/api/v1/support-requests", P::incidents_read, bind(list_support));
  r.add(verb::get, "/api/v1/support-requests/{id}", P::incidents_read, bind(get_support));
  r.add(verb::post, "/api/v1/support-requests/{id}/events", P::support_handle, bind(support_event));
  r.add(verb::post, "/api/v1/incidents/{id}/diversions", P::incidents_write, bind(divert));
  r.add(verb::get, "/api/v1/diversions/{id}", P::incidents_read, bind(get_diversion));
  r.add(verb::post, "/api/v1/diversions/{id}/events", P::incidents_write, bind(diversion_event));
  r.add(verb::put, "/api/v1/incidents/{id}/feedback", P::incidents_write, bind(put_feedback));
  r.add(verb::post, "/api/v1/incidents/{id}/callback", P::incidents_write, bind(post_callback));
  r.add(verb::post, "/api/v1/incidents/{id}/review", P::incidents_review, bind(post_review));
  r.add(verb::get, "/api/v1/stats/response-times", P::stats_read, bind(response_times));
}

}  // namespace xiaonao::http
