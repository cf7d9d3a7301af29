#pragma once
/// Alert categories (reference data from the categories table).
#include <string>

namespace xiaonao::domain {

/// One category: its code, names, default priority, and whether it is a non-police matter.
struct Category {
  std::string code;
  std::string name_zh;
  std::string name_en;
  int default_priority{4};
  bool non_police{false};
};

}  // namespace xiaonao::domain
