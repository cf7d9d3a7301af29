#pragma once
// Private to the http module: what every handler file needs.
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/http/server.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"

namespace xiaonao::http {

/// Runs `query` on a pool connection and replies with its result; 503 when the queue is full
/// or the database is down. pqxx exceptions stop here. A `query` that returns
/// std::optional<Response> may return nullopt: then it has handed the reply on (to a
/// continuation that replies later) and nothing is sent here.
template <class F>
void on_db(Context& ctx, Reply reply, const std::string& rid, F query) {
  using domain::Error;
  using domain::ErrorKind;
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued = ctx.pool.submit([shared_reply, rid, query = std::move(query)](pqxx::connection* c) mutable {
    if (!c) return (*shared_reply)(error_response({ErrorKind::unavailable, "database unavailable", ""}));
    try {
      auto r = query(*c);
      if constexpr (std::is_same_v<decltype(r), std::optional<Response>>) {
        if (r) (*shared_reply)(std::move(*r));
      } else {
        (*shared_reply)(std::move(r));
      }
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

/// The request body as a JSON object: 415 unless application/json, 400 when malformed or
/// too deep, 422 when not an object.
domain::Result<nlohmann::json> json_object_body(const Context& ctx, const Call& call);

/// A string member: missing → 422 missing_field, wrong type or too long → 422 invalid_field.
/// `required` false: absent gives "".
domain::Result<std::string> string_member(const nlohmann::json& body, const char* name, bool required,
                                          std::size_t max_bytes = 256);

}  // namespace xiaonao::http
