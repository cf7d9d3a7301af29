#include "xiaonao/domain/orders.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "xiaonao/domain/query.hpp"
#include "xiaonao/domain/units.hpp"

namespace xiaonao::domain::orders {
namespace {

using nlohmann::json;
namespace loop = domain::loop;

Error invalid(std::string field, std::string message) {
  return Error{ErrorKind::invalid_field, std::move(message), std::move(field)};
}

// Refuses members outside `allowed`: a misspelt member must not be ignored silently.
std::optional<Error> only_members(const json& body, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : body.items()) {
    (void)value;
    if (std::none_of(allowed.begin(), allowed.end(), [&key](const char* a) { return key == a; }))
      return invalid(key, "unknown member '" + key + "'");
  }
  return std::nullopt;
}

// A string member of at most `max` bytes ("" when absent or null); `required` demands a
// non-empty value.
Result<std::string> text(const json& body, const char* name, std::size_t max, bool required) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return Error{ErrorKind::missing_field, std::string(name) + " is required", name};
    return std::string();
  }
  if (!it->is_string()) return invalid(name, std::string(name) + " must be a string");
  auto v = it->get<std::string>();
  if (v.size() > max) return invalid(name, std::string(name) + " is longer than " + std::to_string(max) + " bytes");
  if (required && v.empty()) return Error{ErrorKind::missing_field, std::string(name) + " must not be empty", name};
  return v;
}

bool is_code(std::string_view s) {
  return !s.empty() && s.size() <= 32 && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
}

}  // namespace

Result<TransitionRequest> parse_transition(const json& body) {
  if (!body.is_object()) return invalid("", "body must be a JSON object");
  if (auto e = only_members(body, {"event", "reason", "category", "priority"})) return *e;
  auto ev = text(body, "event", 32, true);
  if (!ev) return ev.error();
  const auto e = loop::parse_incident_event(*ev);
  if (!e) return invalid("event", "event must be one of assess, resolve, close, cancel");
  using E = loop::IncidentEvent;
  if (*e == E::dispatch || *e == E::arrive)
    return invalid("event", std::string("'") + *ev + "' happens through orders (POST /api/v1/incidents/{id}/orders)");
  if (*e == E::divert || *e == E::reclaim)
    return invalid("event", std::string("'") + *ev + "' happens through diversions (POST /api/v1/incidents/{id}/diversions)");
  TransitionRequest r;
  r.event = *e;
  auto reason = text(body, "reason", kMaxReason, false);
  if (!reason) return reason.error();
  r.reason = std::move(*reason);
  const auto cat = body.find("category");
  const auto pri = body.find("priority");
  const bool has_cat = cat != body.end() && !cat->is_null();
  const bool has_pri = pri != body.end() && !pri->is_null();
  if ((has_cat || has_pri) && *e != E::assess)
    return invalid(has_cat ? "category" : "priority", "category and priority are corrected by assess only");
  if (has_cat) {
    if (!cat->is_string() || !is_code(cat->get_ref<const std::string&>()))
      return invalid("category", "category must be a category code");
    r.category = cat->get<std::string>();
  }
  if (has_pri) {
    if (!pri->is_number_integer() || pri->get<std::int64_t>() < 1 || pri->get<std::int64_t>() > 4)
      return invalid("priority", "priority must be an integer from 1 (highest) to 4");
    r.priority = static_cast<int>(pri->get<std::int64_t>());
  }
  // Cancelling needs a why: a false alarm or a duplicate must be told apart later.
  if (*e == E::cancel && r.reason.empty())
    return Error{ErrorKind::missing_field, "cancel needs a reason (false alarm, duplicate, ...)", "reason"};
  return r;
}

bool is_order_kind(std::string_view s) {
  return s == "respond" || s == "visit" || s == "video_check" || s == "search";
}

Result<OrderRequest> parse_order_request(const json& body) {
  if (!body.is_object()) return invalid("", "body must be a JSON object");
  if (auto e = only_members(body, {"station_id", "unit_ids", "instruction", "kind"})) return *e;
  OrderRequest r;
  auto station = text(body, "station_id", 64, false);
  if (!station) return station.error();
  if (!station->empty() && !is_reference_id(*station)) return invalid("station_id", "station_id must be a station id");
  r.station_id = std::move(*station);
  const auto units = body.find("unit_ids");
  if (units == body.end() || units->is_null())
    return Error{ErrorKind::missing_field, "unit_ids is required: the units to order", "unit_ids"};
  if (!units->is_array() || units->empty() || units->size() > kMaxUnitsPerRequest)
    return invalid("unit_ids", "unit_ids must be an array of 1 to " + std::to_string(kMaxUnitsPerRequest) + " unit ids");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < units->size(); ++i) {
    const auto& u = (*units)[i];
    const auto field = "unit_ids[" + std::to_string(i) + "]";
    if (!u.is_string() || !is_reference_id(u.get_ref<const std::string&>()))
      return invalid(field, field + " must be a unit id");
    if (!seen.insert(u.get<std::string>()).second) return invalid(field, field + " repeats a unit");
    r.unit_ids.push_back(u.get<std::string>());
  }
  auto instruction = text(body, "instruction", kMaxInstruction, true);
  if (!instruction) return instruction.error();
  r.instruction = std::move(*instruction);
  auto kind = text(body, "kind", 32, true);
  if (!kind) return kind.error();
  if (!is_order_kind(*kind)) return invalid("kind", "kind must be one of respond, visit, video_check, search");
  r.kind = std::move(*kind);
  return r;
}

Result<OrderEventRequest> parse_order_event(const json& body, TimePoint now) {
  if (!body.is_object()) return invalid("", "body must be a JSON object");
  if (auto e = only_members(body, {"type", "note", "at", "reason", "unit_id"})) return *e;
  auto type = text(body, "type", 32, true);
  if (!type) return type.error();
  const auto t = loop::parse_order_event(*type);
  if (!t) return invalid("type", "type must be one of ack, en_route, on_scene, complete, decline, reassign");
  OrderEventRequest r;
  r.type = *t;
  auto note = text(body, "note", kMaxNote, false);
  if (!note) return note.error();
  r.note = std::move(*note);
  auto at = text(body, "at", 64, false);
  if (!at) return at.error();
  if (!at->empty()) {
    r.at = parse_rfc3339(*at);
    if (!r.at) return invalid("at", "at must be an RFC 3339 time");
    if (*r.at > now + kFutureSkew) return invalid("at", "at lies in the future");
  }
  const bool decline = r.type == loop::OrderEvent::decline;
  const bool reassign = r.type == loop::OrderEvent::reassign;
  auto reason = text(body, "reason", kMaxReason, decline);
  if (!reason) return reason.error();
  r.reason = std::move(*reason);
  auto unit = text(body, "unit_id", 64, reassign);
  if (!unit) return unit.error();
  if (!unit->empty() && !reassign) return invalid("unit_id", "unit_id is for reassign only");
  if (reassign && !is_reference_id(*unit)) return invalid("unit_id", "unit_id must be a unit id");
  r.unit_id = std::move(*unit);
  return r;
}

Result<OrderQuery> parse_order_query(const std::function<std::optional<std::string>(const char*)>& get) {
  OrderQuery q;
  const auto bad = [](const char* key, const std::string& why) { return Error{ErrorKind::bad_request, why, key}; };
  if (auto v = get("incident_id")) {
    if (!is_uuid(*v)) return bad("incident_id", "incident_id must be a UUID");
    q.incident_id = *v;
  }
  for (auto [key, out] : {std::pair{"unit_id", &q.unit_id}, std::pair{"station_id", &q.station_id}}) {
    if (auto v = get(key)) {
      if (!is_reference_id(*v)) return bad(key, std::string(key) + " must be an id");
      *out = *v;
    }
  }
  if (auto v = get("state")) {
    for (auto s : split_list(*v)) {
      if (!loop::parse_order_state(s)) return bad("state", "state must be a comma-separated list of order states");
      q.states.emplace_back(s);
    }
    if (q.states.empty()) return bad("state", "state must be a comma-separated list of order states");
  }
  if (auto v = get("limit")) {
    if (v->empty() || v->size() > 3 || v->find_first_not_of("0123456789") != std::string::npos || std::stoi(*v) < 1 ||
        std::stoi(*v) > 500)
      return bad("limit", "limit must be an integer from 1 to 500");
    q.limit = std::stoi(*v);
  }
  if (auto v = get("cursor")) {
    q.after = decode_cursor(*v);
    if (!q.after) return bad("cursor", "cursor is not one this server issued");
  }
  return q;
}

std::string format_order_number(TimePoint at, std::int64_t serial, int utc_offset_minutes) {
  // The incident number's form with its "XN" prefix swapped for "O".
  return "O" + format_incident_number(at, serial, utc_offset_minutes).substr(2);
}

}  // namespace xiaonao::domain::orders
