#pragma once
/// Maps method + path to a handler; `{name}` segments capture one path segment.
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/http/types.hpp"

namespace xiaonao::http {

class Router {
 public:
  /// Registers `pattern` (e.g. "/api/v1/incidents/{id}") for `method`.
  void add(bhttp::verb method, std::string pattern, Handler handler);

  /// The outcome of a look-up.
  struct Match {
    const Handler* handler{nullptr};  ///< null: no route matched the method
    std::string route;                ///< the pattern, for metrics and logs ("unmatched" if none)
    std::vector<std::string> params;
    std::string allow;                ///< for 405: the methods the path does accept
  };
  Match match(bhttp::verb method, std::string_view path) const;

 private:
  struct Route {
    bhttp::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace xiaonao::http
