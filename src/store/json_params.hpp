#pragma once
// Writers of the JSON parameters that the batch statements read with json_to_recordset: a
// member that is null when the value is absent. Internal to the store.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/json_text.hpp"

namespace xiaonao::store::detail {

/// `key` with the text `*v`, or null when there is none.
inline void text_or_null(domain::JsonWriter& w, std::string_view key, const std::optional<std::string>* v) {
  w.key(key);
  if (v != nullptr && *v) {
    w.string(**v);
  } else {
    w.null();
  }
}

/// `key` with `v`, or null when it is empty.
inline void optional_text(domain::JsonWriter& w, std::string_view key, const std::string& v) {
  w.key(key);
  if (v.empty()) {
    w.null();
  } else {
    w.string(v);
  }
}

/// `lon` and `lat` of the point, or both null.
inline void lon_lat(domain::JsonWriter& w, const std::optional<domain::GeoPoint>& p) {
  if (p) {
    w.key("lon").number(p->lon).key("lat").number(p->lat);
  } else {
    w.key("lon").null().key("lat").null();
  }
}

/// A JSON array of strings, as a statement parameter.
inline std::string string_array(const std::vector<std::string>& v) {
  std::string out;
  domain::JsonWriter w(out);
  w.begin_array();
  for (const auto& s : v) w.string(s);
  w.end_array();
  return out;
}

}  // namespace xiaonao::store::detail
