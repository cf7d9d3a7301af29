#include "xiaonao/http/router.hpp"

#include <algorithm>

namespace xiaonao::http {
namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}
}  // namespace

void Router::add(bhttp::verb method, std::string pattern, domain::Permission permission, Handler handler,
                 std::size_t max_body_bytes) {
  Route r{method, pattern, permission, {}, std::move(handler), max_body_bytes};
  largest_body_ = std::max(largest_body_, max_body_bytes);
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  r.tail = !r.segments.empty() && r.segments.back().size() > 3 && r.segments.back().starts_with("{*") &&
           r.segments.back().back() == '}';
  routes_.push_back(std::move(r));
}

Router::Match Router::match(bhttp::verb method, std::string_view path) const {
  Match m;
  m.route = "unmatched";
  const auto parts = split_path(path);
  for (const auto& r : routes_) {
    // A `{*name}` tail takes one or more segments; every other route takes exactly its own count.
    if (r.tail ? parts.size() < r.segments.size() : r.segments.size() != parts.size()) continue;
    std::vector<std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < r.segments.size() && ok; ++i) {
      const auto& seg = r.segments[i];
      if (r.tail && i + 1 == r.segments.size()) {
        std::string rest(parts[i]);
        for (std::size_t k = i + 1; k < parts.size(); ++k) (rest += '/') += parts[k];
        params.push_back(std::move(rest));
      } else if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        params.emplace_back(parts[i]);
      } else {
        ok = seg == parts[i];
      }
    }
    if (!ok) continue;
    if (r.method == method) {
      m.handler = &r.handler;
      m.route = r.pattern;
      m.params = std::move(params);
      m.permission = r.permission;
      m.max_body_bytes = r.max_body_bytes;
      m.allow.clear();
      return m;
    }
    m.route = r.pattern;
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += std::string(bhttp::to_string(r.method));
  }
  return m;
}

}  // namespace xiaonao::http
