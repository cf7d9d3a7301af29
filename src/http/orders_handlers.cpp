// The incident lifecycle's officer steps and the orders (docs/api.md, "Orders and the incident
// lifecycle"). Bodies are parsed on the I/O thread (domain/orders). Order steps and issued
// orders go to the order writer (store/order_writer: concurrent steps share one transaction),
// transitions run as one transaction on the pool (store/orders); either way the events go to
// the local hub after the commit, before the answer.
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/orders.hpp"
#include "xiaonao/domain/privacy.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/store/order_writer.hpp"
#include "xiaonao/store/orders.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;
namespace orders = domain::orders;

using Principal = std::shared_ptr<const domain::Principal>;

store::OrderCaller caller_of(const Principal& who) {
  store::OrderCaller c;
  c.actor = who->ref();
  // Station roles are scoped to their station; county-wide users and keys are not.
  if (!who->county_wide && !who->station_id.empty()) c.station = who->station_id;
  c.may_see = [who](const std::string& station, const std::vector<std::string>& shares) {
    return who->sees_station(station, shares);
  };
  return c;
}

const Error kBadIncidentId{ErrorKind::bad_request, "id must be a UUID", "id"};
const Error kNoOrder{ErrorKind::not_found, "no order with this id", "id"};

void publish(Context& ctx, std::vector<domain::Frame>& frames) {
  if (!frames.empty()) ctx.hub.offer(std::move(frames));
}

// Queues a step to the order writer and answers with `status` after its commit; 503 when its
// queue is full.
template <class Submit>
void to_order_writer(Reply reply, int status, Submit submit) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = submit([shared_reply, status](domain::Result<std::string> r) {
    if (!r) return (*shared_reply)(error_response(r.error()));
    (*shared_reply)(json_response(status, std::move(*r)));
  });
  if (!queued) (*shared_reply)(error_response({ErrorKind::unavailable, "order queue full, retry later", ""}));
}

void post_transition(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response(kBadIncidentId));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto parsed = orders::parse_transition(*body);
  if (!parsed) return reply(error_response(parsed.error()));
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, id, r = std::move(*parsed), who = caller_of(call.principal)](pqxx::connection& c) {
          auto done = store::apply_transition(c, id, r, who);
          if (!done) return error_response(done.error());
          publish(ctx, done->frames);
          // The answer is the one-screen view, masked: unmasking has its own audited route.
          auto view = store::get_incident(c, id);
          if (!view) return error_response({ErrorKind::not_found, "no incident with this id", "id"});
          domain::mask_people(*view, false);
          (*view)["masked"] = true;
          return json_response(200, view->dump());
        });
}

void post_orders(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response(kBadIncidentId));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto parsed = orders::parse_order_request(*body);
  if (!parsed) return reply(error_response(parsed.error()));
  if (ctx.orders != nullptr)
    return to_order_writer(std::move(reply), 201, [&](store::OrderWriter::Callback done) {
      return ctx.orders->submit_issue(id, std::move(*parsed), caller_of(call.principal), std::move(done));
    });
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, id, r = std::move(*parsed), who = caller_of(call.principal)](pqxx::connection& c) {
          auto done = store::issue_orders(c, id, r, who, ctx.cfg.deadlines, ctx.cfg.utc_offset_minutes);
          if (!done) return error_response(done.error());
          publish(ctx, done->frames);
          return json_response(201, std::move(done->body));
        });
}

void post_order_event(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response(kNoOrder));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto parsed = orders::parse_order_event(*body, domain::now_utc());
  if (!parsed) return reply(error_response(parsed.error()));
  if (ctx.orders != nullptr)
    return to_order_writer(std::move(reply), 200, [&](store::OrderWriter::Callback done) {
      return ctx.orders->submit_event(id, std::move(*parsed), caller_of(call.principal), std::move(done));
    });
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, id, r = std::move(*parsed), who = caller_of(call.principal)](pqxx::connection& c) {
          auto done = store::record_order_event(c, id, r, who, ctx.cfg.deadlines, ctx.cfg.utc_offset_minutes);
          if (!done) return error_response(done.error());
          publish(ctx, done->frames);
          return json_response(200, std::move(done->body));
        });
}

void get_order(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response(kNoOrder));
  on_db(ctx, std::move(reply), call.request_id, [id, who = caller_of(call.principal)](pqxx::connection& c) {
    auto order = store::get_order(c, id, who);
    if (!order) return error_response(order.error());
    return json_response(200, std::move(*order));
  });
}

void list_orders(Context& ctx, Call& call, Reply reply) {
  auto q = orders::parse_order_query([&call](const char* key) -> std::optional<std::string> {
    const auto it = call.query.find(key);
    if (it == call.query.end()) return std::nullopt;
    return it->second;
  });
  if (!q) return reply(error_response(q.error()));
  on_db(ctx, std::move(reply), call.request_id, [q = std::move(*q), who = caller_of(call.principal)](pqxx::connection& c) {
    return json_response(200, store::list_orders(c, q, who));
  });
}

}  // namespace

void register_orders_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  auto bind = [&ctx](void (*fn)(Context&, Call&, Reply)) {
    return [&ctx, fn](Call& call, Reply reply) { fn(ctx, call, std::move(reply)); };
  };
  r.add(verb::post, "/api/v1/incidents/{id}/transitions", P::incidents_write, bind(post_transition));
  r.add(verb::post, "/api/v1/incidents/{id}/orders", P::orders_write, bind(post_orders));
  r.add(verb::post, "/api/v1/orders/{id}/events", P::orders_write, bind(post_order_event));
  r.add(verb::get, "/api/v1/orders", P::incidents_read, bind(list_orders));
  r.add(verb::get, "/api/v1/orders/{id}", P::incidents_read, bind(get_order));
}

}  // namespace xiaonao::http
