// Notes on an incident (docs/api.md, "Notes"): the body is parsed on the I/O thread, the note
// is appended as an `incident.note` event in one transaction on the pool, and its frame is
// published to the local hub after the commit.
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/notes.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/store/notes_store.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;

void add_note(Context& ctx, Call& call, Reply reply) {
  const auto& id = call.params.at(0);
  if (!domain::is_uuid(id)) return reply(error_response({ErrorKind::bad_request, "id must be a UUID", "id"}));
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto in = domain::notes::parse_note(*body);
  if (!in) return reply(error_response(in.error()));
  const auto who = call.principal;
  store::LoopActor actor{who->ref(), [who](const std::string& station, const std::vector<std::string>& shares) {
                           return who->sees_station(station, shares);
                         }};
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, id, in = std::move(*in), actor = std::move(actor)](pqxx::connection& c) {
          auto change = store::add_note(c, id, in, actor);
          if (!change) return error_response(change.error());
          ctx.hub.offer(std::move(change->frames));
          return json_response(201, change->body.dump());
        });
}

}  // namespace

void register_notes_routes(Router& r, Context& ctx) {
  r.add(bhttp::verb::post, "/api/v1/incidents/{id}/notes", domain::Permission::incidents_write,
        [&ctx](Call& call, Reply reply) { add_note(ctx, call, std::move(reply)); });
}

}  // namespace xiaonao::http
