#include "xiaonao/domain/json_limits.hpp"

namespace xiaonao::domain {

// A single pass over the bytes, tracking only "inside a string" and "after a backslash":
// enough to skip brackets in string values without decoding anything. The input may be
// invalid JSON; the full parser that runs afterwards reports that.
std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        ++depth;
        if (depth > deepest) {
          deepest = depth;
          if (deepest > limit) return limit + 1;
        }
        break;
      case ']':
      case '}':
        // An unbalanced closer is a syntax error for the parser; never wrap below zero.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace xiaonao::domain
