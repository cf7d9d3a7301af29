#include "auth.hpp"

#include <cmath>

#include <pqxx/pqxx>

#include "xiaonao/domain/query.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/security/crypto.hpp"
#include "xiaonao/security/tokens.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/store/db_pool.hpp"

namespace xiaonao::http {

using domain::Error;
using domain::ErrorKind;

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string credential_of(const Request& req) {
  const auto auth = trim(req[bhttp::field::authorization]);
  if (auth.size() > 7 && boost::beast::iequals(auth.substr(0, 7), "bearer ")) return std::string(trim(auth.substr(7)));
  const auto key = trim(req["X-Api-Key"]);
  if (!key.empty()) return std::string(key);
  // Browsers: new WebSocket(url, ["xiaonao.v1", "xiaonao.bearer." + token]).
  const auto protocols = std::string_view(req[bhttp::field::sec_websocket_protocol]);
  for (auto item : domain::split_list(protocols)) {
    const auto p = trim(item);
    if (p.substr(0, kBearerProtocolPrefix.size()) == kBearerProtocolPrefix)
      return std::string(p.substr(kBearerProtocolPrefix.size()));
  }
  return {};
}

void authenticate(Context& ctx, const std::string& credential, std::function<void(AuthOutcome)> done) {
  using Clock = service::CredentialCache::Clock;
  const bool access = security::looks_like_access_token(credential);
  std::string key_id, key_secret;
  const bool key = !access && security::split_api_key(credential, key_id, key_secret);
  if (!access && !key) return done({});
  const auto hash = security::sha256_hex(credential);
  if (auto p = ctx.credentials.find(hash, Clock::now())) return done({std::move(p), false});

  const auto generation = ctx.credentials.generation();
  auto shared_done = std::make_shared<std::function<void(AuthOutcome)>>(std::move(done));
  const bool queued = ctx.pool.submit([&ctx, key_id, key_secret, hash, access, generation,
                                       shared_done](pqxx::connection* c) {
    if (!c) return (*shared_done)({nullptr, true});
    AuthOutcome out;
    std::chrono::duration<double> life{0};
    try {
      pqxx::read_transaction tx(*c);
      if (access) {
        if (auto t = store::find_access_token(tx, hash)) {
          out.principal = std::make_shared<const domain::Principal>(std::move(t->principal));
          life = std::chrono::duration<double>(t->expires_in_s);
        }
      } else {
        auto k = store::find_key(tx, key_id);
        if (k && !k->revoked && security::constant_time_equal(security::sha256_hex(key_secret), k->secret_hash)) {
          out.principal = std::make_shared<const domain::Principal>(
              domain::key_principal(k->id, k->name, k->scopes, k->sources));
          life = std::chrono::hours(24);
        }
      }
    } catch (const std::exception& e) {
      log::error("auth.lookup_failed", {{"error", e.what()}});
      (*shared_done)({nullptr, true});
      if (store::is_connection_error(e)) throw;
      return;
    }
    if (out.principal) {
      const auto now = Clock::now();
      ctx.credentials.put(hash, out.principal, now,
                          now + std::chrono::duration_cast<Clock::duration>(life), generation);
    }
    (*shared_done)(std::move(out));
  });
  if (!queued) (*shared_done)({nullptr, true});
}

Response unauthorized(const std::string& message) {
  auto res = error_response({ErrorKind::unauthorized, message, "Authorization"});
  res.set(bhttp::field::www_authenticate, "Bearer realm=\"xiaonao\"");
  return res;
}

Response forbidden(domain::Permission p) {
  return error_response({ErrorKind::forbidden,
                         std::string("this needs the permission ") + domain::permission_name(p) +
                             ", which your role or key does not have",
                         ""});
}

Response too_many_requests(double retry_after_s, const std::string& message) {
  auto res = error_response({ErrorKind::too_many_requests, message, ""});
  res.set(bhttp::field::retry_after, std::to_string(std::max(1L, static_cast<long>(std::ceil(retry_after_s)))));
  return res;
}

}  // namespace xiaonao::http
