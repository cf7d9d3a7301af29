#pragma once
// Private to the http module: finding and checking the caller's credentials.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/http/server.hpp"
#include "xiaonao/http/types.hpp"

namespace xiaonao::http {

/// The prefix of the WebSocket subprotocol that carries a token from a browser (which cannot
/// set headers on a WebSocket): "xiaonao.bearer.<token>", offered next to "xiaonao.v1".
inline constexpr std::string_view kBearerProtocolPrefix = "xiaonao.bearer.";

/// The credential a request carries: `Authorization: Bearer <token or key>`, `X-Api-Key: <key>`,
/// or for a WebSocket upgrade a `Sec-WebSocket-Protocol` entry "xiaonao.bearer.<token>".
/// Empty when there is none.
std::string credential_of(const Request& req);

/// The outcome of checking a credential.
struct AuthOutcome {
  std::shared_ptr<const domain::Principal> principal;  ///< null: not valid
  bool unavailable{false};  ///< the database could not be asked: answer 503, not 401
};

/// Checks a credential against the cache, else the database (on the pool). `done` runs exactly
/// once, on the caller's thread when cached, else on a pool thread.
void authenticate(Context& ctx, const std::string& credential, std::function<void(AuthOutcome)> done);

/// 401 with `WWW-Authenticate: Bearer`.
Response unauthorized(const std::string& message);
/// 403 naming the permission that is missing.
Response forbidden(domain::Permission p);
/// 429 with Retry-After (whole seconds, at least 1).
Response too_many_requests(double retry_after_s, const std::string& message);

}  // namespace xiaonao::http
