#include "xiaonao/service/categories.hpp"

namespace xiaonao::service {

void CategoryCache::replace(std::vector<domain::Category> all) {
  auto p = std::make_shared<const std::vector<domain::Category>>(std::move(all));
  std::lock_guard lk(mu_);
  all_ = std::move(p);
}

std::optional<domain::Category> CategoryCache::find(std::string_view code) const {
  auto snapshot = all();
  for (const auto& c : *snapshot) {
    if (c.code == code) return c;
  }
  return std::nullopt;
}

std::shared_ptr<const std::vector<domain::Category>> CategoryCache::all() const {
  std::lock_guard lk(mu_);
  return all_;
}

}  // namespace xiaonao::service
