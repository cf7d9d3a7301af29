#pragma once
/// The categories known to the server, read from the database and swapped in whole.
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "xiaonao/domain/category.hpp"

namespace xiaonao::service {

class CategoryCache {
 public:
  /// Replaces the whole set (at start-up and on refresh).
  void replace(std::vector<domain::Category> all);
  /// The category with this code, if any.
  std::optional<domain::Category> find(std::string_view code) const;
  /// A snapshot of all, ordered by code.
  std::shared_ptr<const std::vector<domain::Category>> all() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<domain::Category>> all_ = std::make_shared<std::vector<domain::Category>>();
};

}  // namespace xiaonao::service
