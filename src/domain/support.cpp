#include "xiaonao/domain/support.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/incident.hpp"

namespace xiaonao::domain::support {
namespace {

using nlohmann::json;
using namespace std::chrono;

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

template <std::size_t N>
std::string list_text(const std::array<std::string_view, N>& list) {
  std::string out;
  for (const auto s : list) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

Error missing(const std::string& field) { return Error{ErrorKind::missing_field, field + " is required", field}; }
Error invalid(const std::string& field, const std::string& what) {
  return Error{ErrorKind::invalid_field, field + " " + what, field};
}

// Code points of valid UTF-8 (nlohmann has checked the encoding), or -1 when the text holds a
// control character other than tab, CR and LF (or any when !multiline).
long code_points(std::string_view s, bool multiline) {
  long n = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      if (!multiline || (c != '\t' && c != '\n' && c != '\r')) return -1;
    }
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// A text member: absent or null → "" (missing_field when required); not a string, empty when
// required, too long or with control characters → invalid_field.
Result<std::string> text(const json& body, const char* name, bool required, std::size_t max, bool multiline,
                         const std::string& prefix = "") {
  const std::string field = prefix + name;
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return missing(field);
    return std::string();
  }
  if (!it->is_string()) return invalid(field, "must be a string");
  auto v = it->get<std::string>();
  const auto n = code_points(v, multiline);
  if (n < 0) return invalid(field, "must not contain control characters");
  if (required && n == 0) return invalid(field, "must not be empty");
  if (static_cast<std::size_t>(n) > max)
    return invalid(field, "is longer than " + std::to_string(max) + " characters");
  return v;
}

// A code from `list`.
template <std::size_t N>
Result<std::string> code(const json& body, const char* name, const std::array<std::string_view, N>& list) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return missing(name);
  if (!it->is_string() || !one_of(list, it->get<std::string>()))
    return invalid(name, "must be one of: " + list_text(list));
  return it->get<std::string>();
}

// An integer member in [lo, hi]; absent or null → nullopt.
Result<std::optional<int>> integer(const json& body, const char* name, int lo, int hi) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int>{};
  const std::string range = "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (it->is_number_integer()) {
    // Both signed and unsigned JSON integers: compare in 64 bits.
    const auto v = it->is_number_unsigned() ? static_cast<long long>(std::min<unsigned long long>(
                                                  it->get<unsigned long long>(), 1ull << 62))
                                            : it->get<long long>();
    if (v < lo || v > hi) return invalid(name, range);
    return std::optional<int>{static_cast<int>(v)};
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (d >= lo && d <= hi && d == std::floor(d))
      return std::optional<int>{static_cast<int>(d)};
  }
  return invalid(name, range);
}

}  // namespace

bool is_support_kind(std::string_view s) { return one_of(kSupportKinds, s); }
bool is_agency(std::string_view s) { return one_of(kAgencies, s); }
bool is_outcome(std::string_view s) { return one_of(kOutcomes, s); }
bool is_verdict(std::string_view s) { return one_of(kVerdicts, s); }

Result<SupportRequestInput> parse_support_request(const json& body) {
  SupportRequestInput in;
  auto kind = code(body, "kind", kSupportKinds);
  if (!kind) return kind.error();
  in.kind = std::move(*kind);
  auto detail = text(body, "detail", true, kMaxDetail, true);
  if (!detail) return detail.error();
  in.detail = std::move(*detail);
  return in;
}

std::string assist_source_ref(std::string_view origin, std::string_view ref) {
  std::string out(origin);
  out += '/';
  out += ref;
  if (out.size() > 128) {
    std::size_t cut = 128;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

Result<ExternalSupportInput> parse_external_support(const json& body, TimePoint now, const std::string& generated_ref) {
  ExternalSupportInput in;
  auto origin = text(body, "origin", true, kMaxOrigin, false);
  if (!origin) return origin.error();
  in.origin = std::move(*origin);
  auto kind = code(body, "kind", kSupportKinds);
  if (!kind) return kind.error();
  in.kind = std::move(*kind);
  auto detail = text(body, "detail", true, kMaxDetail, true);
  if (!detail) return detail.error();
  in.detail = std::move(*detail);
  auto ref = text(body, "ref", false, kMaxRef, false);
  if (!ref) return ref.error();
  in.ref = std::move(*ref);

  const auto inc = body.find("incident");
  if (inc == body.end() || inc->is_null()) return missing("incident");
  if (!inc->is_object()) return invalid("incident", "must be an object");
  // The incident is an alert of source "assist": the alert's own validation applies, and the
  // (source, source_ref) key makes a retry with the same ref open nothing new.
  json alert = *inc;
  alert["source"] = "assist";
  alert["source_ref"] = assist_source_ref(in.origin, in.ref.empty() ? generated_ref : in.ref);
  if (alert.find("received_at") == alert.end() || alert["received_at"].is_null())
    alert["received_at"] = format_rfc3339(now);
  auto parsed = alert_from_json(alert);
  if (!parsed) {
    Error e = parsed.error();
    e.field = e.field.empty() ? "incident" : "incident." + e.field;
    e.message = "incident: " + e.message;
    return e;
  }
  in.alert = std::move(*parsed);
  return in;
}

Result<SupportEventInput> parse_support_event(const json& body) {
  SupportEventInput in;
  const auto t = body.find("type");
  if (t == body.end() || t->is_null()) return missing("type");
  const auto type = t->is_string() ? loop::parse_support_event(t->get<std::string>()) : std::nullopt;
  if (!type) return invalid("type", "must be one of: accept, answer, close, reject");
  in.type = *type;
  auto note = text(body, "note", in.type == loop::SupportEvent::reject, kMaxNote, true);
  if (!note) return note.error();
  in.note = std::move(*note);
  auto answer = text(body, "answer", in.type == loop::SupportEvent::answer, kMaxNote, true);
  if (!answer) return answer.error();
  if (in.type != loop::SupportEvent::answer && !answer->empty())
    return invalid("answer", "is only for type answer");
  in.answer = std::move(*answer);
  return in;
}

std::string format_support_number(TimePoint at, std::int64_t serial, int utc_offset_minutes) {
  // The incident number's form with its "XN" prefix swapped for "S".
  return "S" + format_incident_number(at, serial, utc_offset_minutes).substr(2);
}

Result<DiversionInput> parse_diversion(const json& body) {
  DiversionInput in;
  auto agency = code(body, "agency", kAgencies);
  if (!agency) return agency.error();
  in.agency = std::move(*agency);
  auto note = text(body, "note", false, kMaxNote, true);
  if (!note) return note.error();
  in.note = std::move(*note);
  return in;
}

Result<DiversionEventInput> parse_diversion_event(const json& body) {
  DiversionEventInput in;
  const auto t = body.find("type");
  if (t == body.end() || t->is_null()) return missing("type");
  const auto type = t->is_string() ? loop::parse_diversion_event(t->get<std::string>()) : std::nullopt;
  if (!type) return invalid("type", "must be one of: accept, reject, done");
  in.type = *type;
  auto note = text(body, "note", false, kMaxNote, true);
  if (!note) return note.error();
  in.note = std::move(*note);
  auto reason = text(body, "reason", in.type == loop::DiversionEvent::reject, kMaxNote, true);
  if (!reason) return reason.error();
  if (in.type != loop::DiversionEvent::reject && !reason->empty())
    return invalid("reason", "is only for type reject");
  in.reason = std::move(*reason);
  return in;
}

Result<FeedbackInput> parse_feedback(const json& body) {
  FeedbackInput in;
  auto outcome = code(body, "outcome", kOutcomes);
  if (!outcome) return outcome.error();
  in.outcome = std::move(*outcome);
  auto summary = text(body, "summary", true, kMaxNote, true);
  if (!summary) return summary.error();
  in.summary = std::move(*summary);
  auto people = integer(body, "people_involved", 0, 10000);
  if (!people) return people.error();
  in.people_involved = *people;
  auto property = text(body, "property_recovered", false, 500, true);
  if (!property) return property.error();
  if (!property->empty()) in.property_recovered = std::move(*property);
  return in;
}

Result<CallbackInput> parse_callback(const json& body) {
  CallbackInput in;
  const auto r = body.find("reached");
  if (r == body.end() || r->is_null()) return missing("reached");
  if (!r->is_boolean()) return invalid("reached", "must be true or false");
  in.reached = r->get<bool>();
  auto sat = integer(body, "satisfaction", 1, 5);
  if (!sat) return sat.error();
  if (in.reached && !*sat) return missing("satisfaction");
  if (!in.reached && *sat) return invalid("satisfaction", "is only for a caller who was reached");
  in.satisfaction = *sat;
  auto note = text(body, "note", false, kMaxNote, true);
  if (!note) return note.error();
  in.note = std::move(*note);
  return in;
}

Result<ReviewInput> parse_review(const json& body) {
  ReviewInput in;
  auto verdict = code(body, "verdict", kVerdicts);
  if (!verdict) return verdict.error();
  in.verdict = std::move(*verdict);
  auto note = text(body, "note", false, kMaxNote, true);
  if (!note) return note.error();
  in.note = std::move(*note);
  return in;
}

bool accepts_feedback(loop::IncidentState s) {
  using S = loop::IncidentState;
  return s == S::dispatched || s == S::on_scene || s == S::resolved;
}

bool accepts_review(loop::IncidentState s) { return s == loop::IncidentState::resolved; }

bool accepts_support_request(loop::IncidentState s) { return !loop::is_final(s) && s != loop::IncidentState::count_; }

const char* name(GroupBy g) {
  switch (g) {
    case GroupBy::station: return "station";
    case GroupBy::category: return "category";
    default: return "none";
  }
}

Result<ResponseQuery> parse_response_query(const std::map<std::string, std::string>& q, const std::string& scope) {
  ResponseQuery out;
  const auto code_param = [&q](const char* key, std::optional<std::string>& dst) -> std::optional<Error> {
    const auto it = q.find(key);
    if (it == q.end()) return std::nullopt;
    const auto& v = it->second;
    const bool ok = !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u < 0x7f && c != ',';
    });
    if (!ok) return Error{ErrorKind::bad_request, std::string(key) + " must be one code (1-64 printable ASCII)", key};
    dst = v;
    return std::nullopt;
  };
  if (auto e = code_param("station_id", out.station_id)) return *e;
  if (auto e = code_param("category", out.category)) return *e;
  for (const char* key : {"from", "to"}) {
    const auto it = q.find(key);
    if (it == q.end()) continue;
    auto t = parse_rfc3339(it->second);
    if (!t) return Error{ErrorKind::bad_request, std::string(key) + " must be an RFC 3339 time", key};
    (std::string_view(key) == "from" ? out.from : out.to) = *t;
  }
  if (out.from && out.to && *out.to < *out.from)
    return Error{ErrorKind::bad_request, "to must not be before from", "to"};
  if (const auto it = q.find("group_by"); it != q.end()) {
    if (it->second == "station") out.group_by = GroupBy::station;
    else if (it->second == "category") out.group_by = GroupBy::category;
    else return Error{ErrorKind::bad_request, "group_by must be station or category", "group_by"};
  }
  if (!scope.empty()) {
    if (out.station_id && *out.station_id != scope)
      return Error{ErrorKind::forbidden, "a station role sees its own station's statistics only", "station_id"};
    out.station_id = scope;
  }
  return out;
}

}  // namespace xiaonao::domain::support
