#pragma once
/// Maps method + path to a handler; `{name}` segments capture one path segment.
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/http/types.hpp"

namespace xiaonao::http {

class Router {
 public:
  /// Registers `pattern` (e.g. "/api/v1/incidents/{id}") for `method`, guarded by
  /// `permission`: every route says who may call it (deny by default).
  void add(bhttp::verb method, std::string pattern, domain::Permission permission, Handler handler);

  /// The outcome of a look-up.
  struct Match {
    const Handler* handler{nullptr};  ///< null: no route matched the method
    std::string route;                ///< the pattern, for metrics and logs ("unmatched" if none)
    std::vector<std::string> params;
    std::string allow;                ///< for 405: the methods the path does accept
    domain::Permission permission{domain::Permission::open};
  };
  Match match(bhttp::verb method, std::string_view path) const;

  /// One registered route, as the route × role matrix lists it.
  struct Route {
    bhttp::verb method;
    std::string pattern;
    domain::Permission permission;
    std::vector<std::string> segments;
    Handler handler;
  };
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace xiaonao::http
