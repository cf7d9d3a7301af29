#pragma once
/// Cheap structural checks on raw JSON bytes before a full parse.
#include <cstddef>
#include <string_view>

namespace xiaonao::domain {

/// The deepest nesting of arrays and objects in `text`, ignoring brackets inside strings.
/// Stops counting once `limit` is exceeded and returns limit + 1.
std::size_t json_depth(std::string_view text, std::size_t limit);

}  // namespace xiaonao::domain
