// Reference data import over REST: PUT /api/v1/reference/{kind} with a GeoJSON
// FeatureCollection, and GET /api/v1/reference with the row counts. Big files go through
// `xiaonaod import`, which shares the validation and the store path.
#include <algorithm>

#include <pqxx/pqxx>

#include "handler_util.hpp"
#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/json_limits.hpp"
#include "xiaonao/domain/reference.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/store/reference_store.hpp"

namespace xiaonao::http {
namespace {

using domain::Error;
using domain::ErrorKind;
using nlohmann::json;

constexpr int kReferenceStatementTimeoutMs = 600000;

// application/json or application/geo+json (RFC 7946), parameters ignored.
bool is_geojson_content_type(std::string_view ct) {
  auto media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return boost::beast::iequals(media, "application/json") || boost::beast::iequals(media, "application/geo+json");
}

void put_reference(Context& ctx, Call& call, Reply reply) {
  const auto kind = domain::parse_ref_kind(call.params.at(0));
  if (!kind) {
    return reply(error_response({ErrorKind::not_found,
                                 "unknown reference kind '" + call.params.at(0) +
                                     "' (stations, zones, grids, addresses, persons, cameras, units, markers)",
                                 "kind"}));
  }
  bool replace = false;
  if (const auto it = call.query.find("replace"); it != call.query.end()) {
    if (it->second != "true" && it->second != "false")
      return reply(error_response({ErrorKind::bad_request, "replace must be true or false", "replace"}));
    replace = it->second == "true";
  }
  if (!is_geojson_content_type(call.req[bhttp::field::content_type]))
    return reply(error_response({ErrorKind::unsupported_media_type, "Content-Type must be application/json or application/geo+json", ""}));
  // Parsing a batch of up to reference.max_body_bytes takes a while: it runs on the database
  // pool's thread, not on the I/O thread, so other connections are not held up.
  on_db(ctx, std::move(reply), call.request_id,
        [&ctx, kind = *kind, replace, body = call.req.body(), who = call.principal,
         rid = call.request_id](pqxx::connection& c) {
          // GeoJSON nests deeper than API bodies (a MultiPolygon's positions sit at depth 8).
          const auto depth = std::max<std::size_t>(ctx.cfg.http.max_json_depth, 16);
          if (domain::json_depth(body, depth) > depth)
            return error_response({ErrorKind::malformed_json, "JSON nests too deep", ""});
          const auto doc = json::parse(body, nullptr, false);
          if (doc.is_discarded()) return error_response({ErrorKind::malformed_json, "body is not valid JSON", ""});
          auto rows = domain::parse_ref_collection(kind, doc);
          if (!rows) return error_response(rows.error());
          // A 64 MiB batch (a county's addresses, say) upserts for longer than an API query may.
          store::RefImport imp(c, kind, replace, kReferenceStatementTimeoutMs);
          for (const auto& r : *rows) imp.add(r);
          const auto n = imp.apply();
          auto e = domain::audit_entry(*who, "reference.import");
          e.target = std::string("reference:") + domain::ref_kind_name(kind);
          e.detail = json{{"kind", domain::ref_kind_name(kind)}, {"replace", replace}, {"received", n.received},
                          {"inserted", n.inserted}, {"updated", n.updated}, {"deleted", n.deleted}}
                         .dump();
          store::append_audit(imp.work(), e);
          imp.commit();
          log::info("reference.imported", {{"rid", rid}, {"kind", domain::ref_kind_name(kind)}, {"replace", replace},
                                           {"received", n.received}, {"inserted", n.inserted}, {"updated", n.updated},
                                           {"deleted", n.deleted}});
          return json_response(200, json{{"kind", domain::ref_kind_name(kind)}, {"received", n.received},
                                         {"inserted", n.inserted}, {"updated", n.updated}, {"deleted", n.deleted}}
                                        .dump());
        });
}

void get_reference_counts(Context& ctx, Call& call, Reply reply) {
  on_db(ctx, std::move(reply), call.request_id, [](pqxx::connection& c) {
    pqxx::read_transaction t(c);
    json counts = json::object();
    for (const auto& [kind, n] : store::reference_counts(t)) counts[kind] = n;
    return json_response(200, json{{"counts", std::move(counts)}}.dump());
  });
}

}  // namespace

void register_reference_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  r.add(verb::get, "/api/v1/reference", P::reference_write,
        [&ctx](Call& call, Reply reply) { get_reference_counts(ctx, call, std::move(reply)); });
  // The one route that takes big bodies: its own limit, reference.max_body_bytes.
  r.add(
      verb::put, "/api/v1/reference/{kind}", P::reference_write,
      [&ctx](Call& call, Reply reply) { put_reference(ctx, call, std::move(reply)); }, ctx.cfg.reference.max_body_bytes);
}

}  // namespace xiaonao::http
