#include "xiaonao/domain/alert.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/json_limits.hpp"

namespace xiaonao::domain {

namespace {

using nlohmann::json;

Error missing(std::string field) {
  std::string message = field + " is required";
  return Error{ErrorKind::missing_field, std::move(message), std::move(field)};
}

Error invalid(std::string field, std::string message) {
  return Error{ErrorKind::invalid_field, std::move(message), std::move(field)};
}

// Which control characters a text field tolerates.
enum class Controls {
  none,       // single-line values: no C0, DEL or C1 control characters at all
  multiline,  // free text: tab, line feed and carriage return allowed, other controls not
};

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// Counts Unicode code points, so that limits mean "characters" for Chinese text too.
// Returns nullopt for invalid UTF-8 (overlong forms, surrogates, > U+10FFFF) or for a
// forbidden control character. U+0000 is always refused: PostgreSQL text cannot hold it.
std::optional<std::size_t> count_code_points(std::string_view s, Controls controls) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    std::size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1F;
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0F;
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07;
      len = 4;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    if (is_control(cp)) {
      const bool allowed =
          controls == Controls::multiline && (cp == '\t' || cp == '\n' || cp == '\r');
      if (!allowed) return std::nullopt;
    }
    ++count;
    i += len;
  }
  return count;
}

// The rule for one text field: its path, its bounds in code points and what it may contain.
struct TextRule {
  const char* field;
  std::size_t min_len;
  std::size_t max_len;
  Controls controls;
};

std::string range_text(const TextRule& r) {
  if (r.min_len == 0) return "at most " + std::to_string(r.max_len) + " characters";
  return std::to_string(r.min_len) + " to " + std::to_string(r.max_len) + " characters";
}

// Validates a present (non-null) value as text under `rule`.
Result<std::string> text_field(const json& v, const TextRule& rule) {
  if (!v.is_string()) return invalid(rule.field, std::string(rule.field) + " must be a string");
  const auto& s = v.get_ref<const std::string&>();
  const auto n = count_code_points(s, rule.controls);
  if (!n) {
    return invalid(rule.field, std::string(rule.field) +
                                   " must be valid UTF-8 text without control characters");
  }
  if (*n < rule.min_len || *n > rule.max_len) {
    return invalid(rule.field, std::string(rule.field) + " must be " + range_text(rule));
  }
  return s;
}

// The member `key` of object `obj`, or nullptr when absent or JSON null (null means absent).
const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// Phone numbers as the 110 platform and carriers write them: digits with +, - and spaces.
Result<std::string> phone_field(const json& v, const char* field) {
  const std::string f = field;
  const std::string rule = f + " must be 3 to 20 characters of digits, '+', '-' or space";
  if (!v.is_string()) return invalid(f, f + " must be a string");
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 3 || s.size() > 20) return invalid(f, rule);
  bool any_digit = false;
  for (const char c : s) {
    if (c >= '0' && c <= '9') {
      any_digit = true;
    } else if (c != '+' && c != '-' && c != ' ') {
      return invalid(f, rule);
    }
  }
  // "---" satisfies the character set but is no phone number.
  if (!any_digit) return invalid(f, rule + ", with at least one digit");
  return s;
}

// Resident identity card numbers: 18 characters (or the old 15), digits, the last may be X.
Result<std::string> id_number_field(const json& v) {
  const std::string f = "subject.id_number";
  const std::string rule = f + " must be 15 or 18 characters of digits, the last may be X";
  if (!v.is_string()) return invalid(f, f + " must be a string");
  std::string s = v.get<std::string>();
  if (s.size() != 15 && s.size() != 18) return invalid(f, rule);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') continue;
    if (i + 1 == s.size() && (c == 'X' || c == 'x')) {
      s[i] = 'X';  // one spelling, so that look-ups by id_number match
      continue;
    }
    return invalid(f, rule);
  }
  return s;
}

Result<double> coordinate(const json& loc, const char* key, double bound) {
  const std::string f = std::string("location.") + key;
  const json* v = member(loc, key);
  if (v == nullptr) return missing(f);
  const std::string rule = f + " must be a number in [" + std::to_string(static_cast<int>(-bound)) +
                           ", " + std::to_string(static_cast<int>(bound)) + "]";
  if (!v->is_number()) return invalid(f, rule);
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < -bound || d > bound) return invalid(f, rule);
  return d;
}

Result<int> priority_field(const json& v) {
  const std::string rule = "priority must be an integer from 1 to 4";
  // JSON booleans and 2.0 are not integers here; is_number_integer() excludes both.
  if (!v.is_number_integer()) return invalid("priority", rule);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u < 1 || u > 4) return invalid("priority", rule);
    return static_cast<int>(u);
  }
  const auto i = v.get<std::int64_t>();
  if (i < 1 || i > 4) return invalid("priority", rule);
  return static_cast<int>(i);
}

bool source_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

Result<std::string> source_field(const json& v) {
  const std::string rule = "source must be 1 to 32 characters of a-z, 0-9, '_' or '-'";
  if (!v.is_string()) return invalid("source", "source must be a string");
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 32) return invalid("source", rule);
  for (const char c : s) {
    if (!source_char(c)) return invalid("source", rule);
  }
  return s;
}

}  // namespace

Result<AlertInput> parse_alert(std::string_view body, const AlertLimits& limits) {
  // Bound the nesting before the parser sees it: a body of 100k '[' must cost a scan, not a
  // deep recursion or a large tree.
  if (json_depth(body, limits.max_depth) > limits.max_depth) {
    return Error{ErrorKind::malformed_json,
                 "JSON nests deeper than " + std::to_string(limits.max_depth) + " levels", ""};
  }
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error{ErrorKind::malformed_json, "body is not valid JSON", ""};
  }
  return alert_from_json(j, limits);
}

Result<AlertInput> alert_from_json(const json& j, const AlertLimits& limits) {
  if (!j.is_object()) return invalid("", "body must be a JSON object");
  AlertInput a;

  // Fields are checked in the contract's order, so the first error reported is predictable.
  {
    const json* v = member(j, "source");
    if (v == nullptr) return missing("source");
    auto r = source_field(*v);
    if (!r) return r.error();
    a.source = std::move(*r);
  }
  {
    const json* v = member(j, "source_ref");
    if (v == nullptr) return missing("source_ref");
    auto r = text_field(*v, {"source_ref", 1, 128, Controls::none});
    if (!r) return r.error();
    a.source_ref = std::move(*r);
  }
  {
    const json* v = member(j, "received_at");
    if (v == nullptr) return missing("received_at");
    if (!v->is_string()) return invalid("received_at", "received_at must be a string");
    const auto t = parse_rfc3339(v->get_ref<const std::string&>());
    if (!t) {
      return invalid("received_at",
                     "received_at must be an RFC 3339 date-time with an offset or Z, "
                     "e.g. 2026-11-26T08:30:00+08:00");
    }
    a.received_at = *t;
  }
  {
    const json* v = member(j, "category");
    if (v == nullptr) return missing("category");
    // Only the shape is checked here; whether the code exists is the service's question
    // (unknown_category), since the categories live in the database.
    auto r = text_field(*v, {"category", 1, 64, Controls::none});
    if (!r) return r.error();
    a.category = std::move(*r);
  }
  if (const json* v = member(j, "priority")) {
    auto r = priority_field(*v);
    if (!r) return r.error();
    a.priority = *r;
  }
  if (const json* v = member(j, "caller")) {
    if (!v->is_object()) return invalid("caller", "caller must be an object");
    Caller c;
    if (const json* p = member(*v, "phone")) {
      auto r = phone_field(*p, "caller.phone");
      if (!r) return r.error();
      c.phone = std::move(*r);
    }
    if (const json* n = member(*v, "name")) {
      auto r = text_field(*n, {"caller.name", 0, 64, Controls::none});
      if (!r) return r.error();
      c.name = std::move(*r);
    }
    a.caller = std::move(c);
  }
  if (const json* v = member(j, "location")) {
    if (!v->is_object()) return invalid("location", "location must be an object");
    auto lon = coordinate(*v, "lon", 180.0);
    if (!lon) return lon.error();
    auto lat = coordinate(*v, "lat", 90.0);
    if (!lat) return lat.error();
    a.location = GeoPoint{*lon, *lat};
  }
  if (const json* v = member(j, "address")) {
    auto r = text_field(*v, {"address", 1, limits.max_address, Controls::multiline});
    if (!r) return r.error();
    a.address = std::move(*r);
  }
  if (const json* v = member(j, "marker")) {
    auto r = text_field(*v, {"marker", 1, 64, Controls::none});
    if (!r) return r.error();
    a.marker = std::move(*r);
  }
  if (const json* v = member(j, "subject")) {
    if (!v->is_object()) return invalid("subject", "subject must be an object");
    Subject s;
    if (const json* p = member(*v, "phone")) {
      auto r = phone_field(*p, "subject.phone");
      if (!r) return r.error();
      s.phone = std::move(*r);
    }
    if (const json* n = member(*v, "id_number")) {
      auto r = id_number_field(*n);
      if (!r) return r.error();
      s.id_number = std::move(*r);
    }
    if (!s.phone && !s.id_number) {
      return invalid("subject", "subject must have a phone or an id_number");
    }
    a.subject = std::move(s);
  }
  if (const json* v = member(j, "description")) {
    auto r = text_field(*v, {"description", 0, limits.max_description, Controls::multiline});
    if (!r) return r.error();
    a.description = std::move(*r);
  }
  return a;
}

json to_json(const AlertInput& a) {
  auto opt = [](const auto& o) -> json {
    if (o) return json(*o);
    return nullptr;
  };
  json j = json::object();
  j["source"] = a.source;
  j["source_ref"] = a.source_ref;
  j["received_at"] = format_rfc3339(a.received_at);
  j["category"] = a.category;
  j["priority"] = opt(a.priority);
  if (a.caller) {
    j["caller"] = {{"phone", opt(a.caller->phone)}, {"name", opt(a.caller->name)}};
  } else {
    j["caller"] = nullptr;
  }
  if (a.location) {
    j["location"] = {{"lon", a.location->lon}, {"lat", a.location->lat}};
  } else {
    j["location"] = nullptr;
  }
  j["address"] = opt(a.address);
  j["marker"] = opt(a.marker);
  if (a.subject) {
    j["subject"] = {{"phone", opt(a.subject->phone)}, {"id_number", opt(a.subject->id_number)}};
  } else {
    j["subject"] = nullptr;
  }
  j["description"] = opt(a.description);
  return j;
}

}  // namespace xiaonao::domain
