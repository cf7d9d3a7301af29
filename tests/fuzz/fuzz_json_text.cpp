// libFuzzer harness for domain::JsonCursor (json_text), the reader of the JSON texts that
// PostgreSQL sends back to fusion (json_agg rows of the parts and of the merge candidates).
// Any bytes: skip() reads one value or throws std::invalid_argument, nothing else. Bytes that
// nlohmann accepts as JSON (nested no deeper than skip() follows): skip() reads all of it, and a
// walk with the typed readers (arrays, strings, numbers, integers, booleans, nulls; objects
// skipped) gets what nlohmann got, value for value; an array of arrays also reads the same row by
// row through each_json_row, and a row read to its end refuses one element more.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/json_text.hpp"

using xiaonao::domain::JsonCursor;
using xiaonao::domain::JsonRow;
using nlohmann::json;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_json_text: %s\n", what);
  std::abort();
}

std::size_t depth(const json& j) {
  std::size_t d = 0;
  if (j.is_array() || j.is_object())
    for (const auto& e : j) d = std::max(d, depth(e));
  return j.is_array() || j.is_object() ? d + 1 : 0;
}

// Reads the value `j` at the cursor with the reader of its kind.
void walk(JsonCursor& c, const json& j) {
  switch (j.type()) {
    case json::value_t::array:
      c.begin_array();
      for (const auto& e : j) {
        if (!c.more()) broken("array ended early");
        walk(c, e);
      }
      if (c.more()) broken("array went on");
      return;
    case json::value_t::object:
      c.skip();
      return;
    case json::value_t::string:
      if (c.string() != j.get_ref<const std::string&>()) broken("string differs");
      return;
    case json::value_t::boolean:
      if (c.boolean() != j.get<bool>()) broken("boolean differs");
      return;
    case json::value_t::null:
      if (!c.null()) broken("null not read");
      return;
    case json::value_t::number_unsigned:
      if (j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        if (c.number() != j.get<double>()) broken("large integer differs");
        return;
      }
      [[fallthrough]];
    case json::value_t::number_integer:
      if (c.integer() != j.get<std::int64_t>()) broken("integer differs");
      return;
    case json::value_t::number_float: {
      const double got = c.number(), want = j.get<double>();
      if (got != want || std::signbit(got) != std::signbit(want)) broken("number differs");
      return;
    }
    default:
      broken("unexpected kind");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool read = false;
  try {
    JsonCursor c(text);
    c.skip();
    read = c.at_end();
  } catch (const std::invalid_argument&) {
  }

  // nlohmann takes a NUL byte for the end of the input ("4\0x" reads as 4); JSON has none.
  if (text.find('\0') != std::string_view::npos) return 0;
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || depth(j) > 64) return 0;
  if (!read) broken("valid JSON not skipped");
  try {
    JsonCursor c(text);
    walk(c, j);
    if (!c.at_end()) broken("bytes left after the value");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "fuzz_json_text: %s\n", e.what());
    broken("valid JSON refused by a typed reader");
  }

  bool rows = j.is_array() && !text.empty();
  for (const auto& r : j) rows = rows && r.is_array();
  if (!rows) return 0;
  try {
    std::size_t k = 0;
    xiaonao::domain::each_json_row(text, [&](JsonRow& row) {
      if (k >= j.size()) broken("more rows than nlohmann read");
      for (const auto& e : j[k]) walk(row.next(), e);
      ++k;
    });
    if (k != j.size()) broken("fewer rows than nlohmann read");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "fuzz_json_text: %s\n", e.what());
    broken("rows refused");
  }
  if (!j.empty()) {  // one element past the end of the first row
    JsonCursor c(text);
    c.begin_array();
    c.more();
    JsonRow row(c);
    for (const auto& e : j[0]) walk(row.next(), e);
    try {
      row.next();
      broken("a row gave an element past its end");
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
