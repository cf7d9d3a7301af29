#pragma once
/// Maps method + path to a handler; `{name}` segments capture one path segment, and a last
/// segment `{*name}` captures the rest of the path (one or more segments, joined with '/').
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/http/types.hpp"

namespace xiaonao::http {

class Router {
 public:
  /// Registers `pattern` (e.g. "/api/v1/incidents/{id}") for `method`, guarded by
  /// `permission`: every route says who may call it (deny by default). `max_body_bytes`:
  /// the request body limit of this route; 0 keeps the server's (http.max_body_bytes).
  void add(bhttp::verb method, std::string pattern, domain::Permission permission, Handler handler,
           std::size_t max_body_bytes = 0);

  /// The outcome of a look-up.
  struct Match {
    const Handler* handler{nullptr};  ///< null: no route matched the method
    std::string route;                ///< the pattern, for metrics and logs ("unmatched" if none)
    std::vector<std::string> params;
    std::string allow;                ///< for 405: the methods the path does accept
    domain::Permission permission{domain::Permission::open};
    std::size_t max_body_bytes{0};    ///< the route's own body limit; 0: the server's
  };
  Match match(bhttp::verb method, std::string_view path) const;

  /// One registered route, as the route × role matrix lists it.
  struct Route {
    bhttp::verb method;
    std::string pattern;
    domain::Permission permission;
    std::vector<std::string> segments;
    Handler handler;
    std::size_t max_body_bytes{0};
    bool tail{false};  ///< the last segment is `{*name}`
  };
  const std::vector<Route>& routes() const { return routes_; }
  /// The largest body limit any route declares (0: none declares one).
  std::size_t largest_body_limit() const { return largest_body_; }

 private:
  std::vector<Route> routes_;
  std::size_t largest_body_{0};
};

}  // namespace xiaonao::http
