#pragma once
/// Parsing of request targets: path and query string, percent-decoded.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xiaonao::domain {

/// Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// A request target split into its decoded path and query parameters.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;  ///< a repeated key keeps its last value
};

/// Splits and decodes "/path?a=1&b=x%20y"; nullopt on a bad escape.
std::optional<Target> parse_target(std::string_view target);

/// The items of a comma-separated list, in order, empty items included ("a,,b" → a, "", b;
/// "" → one empty item). Callers decide what an empty item means.
std::vector<std::string_view> split_list(std::string_view list);

}  // namespace xiaonao::domain
