#include "xiaonao/domain/reference.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "xiaonao/domain/normalize.hpp"

namespace xiaonao::domain {

using nlohmann::json;

namespace {

constexpr std::array<const char*, 8> kKindNames = {"stations", "zones",   "grids", "addresses",
                                                   "persons",  "cameras", "units", "markers"};
const std::vector<std::string> kAreaTypes = {"urban", "suburban", "rural"};
const std::vector<std::string> kUnitKinds = {"patrol_car", "kiosk", "ptu", "officer", "drone"};
const std::vector<std::string> kUnitStatuses = {"available", "busy", "off_duty", "out_of_service"};
const std::vector<std::string> kPersonFlags = {"elderly_alone", "mental_illness", "person_of_interest",
                                               "floating",      "minor",          "disabled"};
constexpr std::size_t kMaxAliases = 32;
constexpr std::size_t kMaxPhones = 16;
constexpr std::size_t kMaxRingPoints = 100000;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "|") + s;
  return out;
}

// Reads the properties of one feature; every error names the full path of the member.
class Props {
 public:
  Props(const json& props, std::string prefix) : p_(props), prefix_(std::move(prefix)) {}

  std::string path(const char* name) const { return prefix_ + "." + name; }

  Error invalid(const char* name, const std::string& why) const {
    return Error{ErrorKind::invalid_field, path(name) + " " + why, path(name)};
  }

  const json* find(const char* name) const {
    const auto it = p_.find(name);
    if (it == p_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // A text: a JSON string without NUL (and, unless `free_text`, without any control
  // character), at most max bytes. Absent or null: nullopt, or an error when required.
  std::optional<Error> text(const char* name, bool required, std::size_t max, std::optional<std::string>& out,
                            bool free_text = false) const {
    const json* v = find(name);
    if (!v) {
      if (required) return Error{ErrorKind::missing_field, path(name) + " is required", path(name)};
      out.reset();
      return std::nullopt;
    }
    if (!v->is_string()) return invalid(name, "must be a string");
    const auto& s = v->get_ref<const std::string&>();
    if (auto e = check_text(name, s, max, free_text)) return e;
    if (required && s.empty()) return invalid(name, "must not be empty");
    out = s;
    return std::nullopt;
  }

  std::optional<Error> required_text(const char* name, std::size_t max, std::string& out, bool free_text = false) const {
    std::optional<std::string> v;
    if (auto e = text(name, true, max, v, free_text)) return e;
    out = std::move(*v);
    return std::nullopt;
  }

  // An id: a non-empty string (or a non-negative integer, written in decimal) of at most
  // kRefMaxId bytes without control characters.
  std::optional<Error> id(const char* name, bool required, std::optional<std::string>& out) const {
    const json* v = find(name);
    if (v && v->is_number_unsigned()) {
      out = std::to_string(v->get<std::uint64_t>());
      return std::nullopt;
    }
    if (v && v->is_number_integer()) {  // signed: only when built in C++, a parsed one is unsigned
      if (v->get<std::int64_t>() < 0) return invalid(name, "must be a string or a non-negative integer");
      out = std::to_string(v->get<std::int64_t>());
      return std::nullopt;
    }
    if (v && !v->is_string()) return invalid(name, "must be a string or a non-negative integer");
    if (auto e = text(name, required, kRefMaxId, out)) return e;
    if (out && out->empty()) return invalid(name, "must not be empty");
    return std::nullopt;
  }

  std::optional<Error> required_id(const char* name, std::string& out) const {
    std::optional<std::string> v;
    if (auto e = id(name, true, v)) return e;
    out = std::move(*v);
    return std::nullopt;
  }

  std::optional<Error> one_of(const char* name, const std::vector<std::string>& allowed, std::string& out) const {
    std::optional<std::string> v;
    if (auto e = text(name, true, 64, v)) return e;
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      return invalid(name, "must be one of " + join(allowed));
    out = std::move(*v);
    return std::nullopt;
  }

  // A finite number; nullopt when absent.
  std::optional<Error> number(const char* name, std::optional<double>& out) const {
    const json* v = find(name);
    if (!v) {
      out.reset();
      return std::nullopt;
    }
    if (!v->is_number()) return invalid(name, "must be a number");
    const double d = v->get<double>();
    if (!std::isfinite(d)) return invalid(name, "must be a finite number");
    out = d;
    return std::nullopt;
  }

  // An array of texts (a single string is taken as an array of one when `single_ok`).
  std::optional<Error> texts(const char* name, std::size_t max_items, std::size_t max_len, bool single_ok,
                             std::vector<std::string>& out) const {
    out.clear();
    const json* v = find(name);
    if (!v) return std::nullopt;
    if (single_ok && v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      if (auto e = check_text(name, s, max_len, false)) return e;
      out.push_back(s);
      return std::nullopt;
    }
    if (!v->is_array())
      return invalid(name, single_ok ? "must be a string or an array of strings" : "must be an array of strings");
    if (v->size() > max_items) return invalid(name, "has more than " + std::to_string(max_items) + " items");
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto& item = (*v)[i];
      const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
      if (!item.is_string())
        return Error{ErrorKind::invalid_field, path(item_name.c_str()) + " must be a string", path(item_name.c_str())};
      const auto& s = item.get_ref<const std::string&>();
      if (auto e = check_text(item_name.c_str(), s, max_len, false)) return e;
      out.push_back(s);
    }
    return std::nullopt;
  }

 private:
  std::optional<Error> check_text(const char* name, const std::string& s, std::size_t max, bool free_text) const {
    if (s.size() > max) return invalid(name, "is longer than " + std::to_string(max) + " bytes");
    for (unsigned char c : s) {
      if (c == 0 || (c < 0x20 && !(free_text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f)
        return invalid(name, "must not contain control characters");
    }
    return std::nullopt;
  }

  const json& p_;
  std::string prefix_;
};

std::optional<Error> position(const json& v, const std::string& path, LonLat& out) {
  if (!v.is_array() || v.size() < 2 || v.size() > 3)
    return Error{ErrorKind::invalid_field, path + " must be a position [lon, lat]", path};
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number() || !std::isfinite(v[i].get<double>()))
      return Error{ErrorKind::invalid_field, path + " must hold finite numbers", path};
  }
  out.lon = v[0].get<double>();
  out.lat = v[1].get<double>();
  if (out.lon < -180 || out.lon > 180)
    return Error{ErrorKind::invalid_field, path + " longitude must be within -180..180", path};
  if (out.lat < -90 || out.lat > 90)
    return Error{ErrorKind::invalid_field, path + " latitude must be within -90..90", path};
  return std::nullopt;
}

std::optional<Error> polygon(const json& v, const std::string& path, Polygon& out) {
  if (!v.is_array() || v.empty())
    return Error{ErrorKind::invalid_field, path + " must be an array of linear rings", path};
  for (std::size_t r = 0; r < v.size(); ++r) {
    const auto ring_path = path + "[" + std::to_string(r) + "]";
    const auto& ring = v[r];
    if (!ring.is_array() || ring.size() < 4)
      return Error{ErrorKind::invalid_field, ring_path + " must be a ring of at least 4 positions", ring_path};
    if (ring.size() > kMaxRingPoints)
      return Error{ErrorKind::invalid_field, ring_path + " has more than " + std::to_string(kMaxRingPoints) + " positions", ring_path};
    std::vector<LonLat> pts;
    pts.reserve(ring.size());
    for (std::size_t i = 0; i < ring.size(); ++i) {
      LonLat p;
      if (auto e = position(ring[i], ring_path + "[" + std::to_string(i) + "]", p)) return e;
      pts.push_back(p);
    }
    if (pts.front().lon != pts.back().lon || pts.front().lat != pts.back().lat)
      return Error{ErrorKind::invalid_field, ring_path + " must be closed (last position equal to the first)", ring_path};
    out.push_back(std::move(pts));
  }
  return std::nullopt;
}

// The geometry of one feature. `want`: "Point", "Polygon" (also MultiPolygon) or "" (none).
std::optional<Error> geometry(const json& feature, const std::string& prefix, const char* want, LonLat* point,
                              MultiPolygon* multi) {
  const std::string path = prefix + ".geometry";
  const auto it = feature.find("geometry");
  const bool absent = it == feature.end() || it->is_null();
  if (!*want) {
    if (!absent) return Error{ErrorKind::invalid_field, path + " must be null for this kind", path};
    return std::nullopt;
  }
  if (absent) return Error{ErrorKind::missing_field, path + " is required", path};
  const auto& g = *it;
  if (!g.is_object()) return Error{ErrorKind::invalid_field, path + " must be a GeoJSON geometry object", path};
  const auto t = g.find("type");
  const std::string type = t != g.end() && t->is_string() ? t->get<std::string>() : "";
  const auto c = g.find("coordinates");
  const std::string cpath = path + ".coordinates";
  if (point) {
    if (type != "Point") return Error{ErrorKind::invalid_field, path + ".type must be Point", path + ".type"};
    if (c == g.end()) return Error{ErrorKind::missing_field, cpath + " is required", cpath};
    return position(*c, cpath, *point);
  }
  if (type != "Polygon" && type != "MultiPolygon")
    return Error{ErrorKind::invalid_field, path + ".type must be Polygon or MultiPolygon", path + ".type"};
  if (c == g.end()) return Error{ErrorKind::missing_field, cpath + " is required", cpath};
  multi->clear();
  if (type == "Polygon") {
    Polygon p;
    if (auto e = polygon(*c, cpath, p)) return e;
    multi->push_back(std::move(p));
    return std::nullopt;
  }
  if (!c->is_array() || c->empty())
    return Error{ErrorKind::invalid_field, cpath + " must be a non-empty array of polygons", cpath};
  for (std::size_t i = 0; i < c->size(); ++i) {
    Polygon p;
    if (auto e = polygon((*c)[i], cpath + "[" + std::to_string(i) + "]", p)) return e;
    multi->push_back(std::move(p));
  }
  return std::nullopt;
}

#define XN_TRY(expr)            \
  do {                          \
    if (auto e_ = (expr)) return *e_; \
  } while (0)

void append_number(std::string& out, double d) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

void append_ring(std::string& out, const std::vector<LonLat>& ring) {
  out += '(';
  for (std::size_t i = 0; i < ring.size(); ++i) {
    if (i) out += ',';
    append_number(out, ring[i].lon);
    out += ' ';
    append_number(out, ring[i].lat);
  }
  out += ')';
}

}  // namespace

const std::vector<RefKind>& all_ref_kinds() {
  static const std::vector<RefKind> kinds = {RefKind::stations, RefKind::zones,   RefKind::grids, RefKind::addresses,
                                             RefKind::persons,  RefKind::cameras, RefKind::units, RefKind::markers};
  return kinds;
}

const char* ref_kind_name(RefKind kind) { return kKindNames[static_cast<std::size_t>(kind)]; }

std::optional<RefKind> parse_ref_kind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (name == kKindNames[i]) return static_cast<RefKind>(i);
  }
  return std::nullopt;
}

const std::vector<std::string>& person_flags() { return kPersonFlags; }

const std::string& ref_row_id(const RefRow& row) {
  return std::visit([](const auto& r) -> const std::string& { return r.id; }, row);
}

Result<RefRow> parse_ref_feature(RefKind kind, const json& feature, std::size_t index) {
  const std::string prefix = "features[" + std::to_string(index) + "]";
  if (!feature.is_object()) return Error{ErrorKind::invalid_field, prefix + " must be a GeoJSON Feature object", prefix};
  const auto t = feature.find("type");
  if (t == feature.end() || !t->is_string() || *t != "Feature")
    return Error{ErrorKind::invalid_field, prefix + ".type must be \"Feature\"", prefix + ".type"};
  const auto pit = feature.find("properties");
  if (pit == feature.end() || !pit->is_object())
    return Error{ErrorKind::invalid_field, prefix + ".properties must be an object", prefix + ".properties"};
  const Props p(*pit, prefix + ".properties");

  switch (kind) {
    case RefKind::stations: {
      StationRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("name", kRefMaxName, r.name));
      XN_TRY(p.text("phone", false, 64, r.phone));
      XN_TRY(geometry(feature, prefix, "Point", &r.point, nullptr));
      return RefRow{std::move(r)};
    }
    case RefKind::zones: {
      ZoneRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("name", kRefMaxName, r.name));
      std::optional<std::string> station;
      XN_TRY(p.id("station_id", true, station));
      r.station_id = std::move(*station);
      XN_TRY(p.one_of("area_type", kAreaTypes, r.area_type));
      XN_TRY(p.text("officer_name", false, kRefMaxName, r.officer_name));
      XN_TRY(p.text("officer_phone", false, 64, r.officer_phone));
      XN_TRY(geometry(feature, prefix, "Polygon", nullptr, &r.geom));
      return RefRow{std::move(r)};
    }
    case RefKind::grids: {
      GridRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("name", kRefMaxName, r.name));
      std::optional<std::string> zone;
      XN_TRY(p.id("zone_id", true, zone));
      r.zone_id = std::move(*zone);
      XN_TRY(p.text("worker_name", false, kRefMaxName, r.worker_name));
      XN_TRY(p.text("worker_phone", false, 64, r.worker_phone));
      XN_TRY(geometry(feature, prefix, "Polygon", nullptr, &r.geom));
      return RefRow{std::move(r)};
    }
    case RefKind::addresses: {
      AddressRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("text", kRefMaxText, r.text));
      r.norm = normalize_address(r.text);
      if (r.norm.empty()) return p.invalid("text", "has nothing left to match on once normalised");
      XN_TRY(p.texts("aliases", kMaxAliases, kRefMaxText, false, r.aliases));
      for (const auto& a : r.aliases) {
        auto n = normalize_address(a);
        if (n.empty() || n == r.norm) continue;
        if (std::find(r.alias_norms.begin(), r.alias_norms.end(), n) == r.alias_norms.end())
          r.alias_norms.push_back(std::move(n));
      }
      XN_TRY(geometry(feature, prefix, "Point", &r.point, nullptr));
      return RefRow{std::move(r)};
    }
    case RefKind::persons: {
      PersonRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("name", kRefMaxName, r.name));
      XN_TRY(p.text("id_number", false, 32, r.id_number));
      XN_TRY(p.id("address_id", false, r.address_id));
      std::vector<std::string> phones;
      XN_TRY(p.texts("phone", kMaxPhones, 64, true, phones));
      for (const auto& ph : phones) {
        auto n = normalize_phone(ph);
        if (n.empty()) continue;
        if (std::find(r.phones.begin(), r.phones.end(), n) == r.phones.end()) r.phones.push_back(std::move(n));
      }
      std::vector<std::string> flags;
      XN_TRY(p.texts("flags", kPersonFlags.size() * 2, 64, false, flags));
      for (std::size_t i = 0; i < flags.size(); ++i) {
        if (std::find(kPersonFlags.begin(), kPersonFlags.end(), flags[i]) == kPersonFlags.end()) {
          const auto name = "flags[" + std::to_string(i) + "]";
          return p.invalid(name.c_str(), "must be one of " + join(kPersonFlags));
        }
        if (std::find(r.flags.begin(), r.flags.end(), flags[i]) == r.flags.end()) r.flags.push_back(flags[i]);
      }
      XN_TRY(geometry(feature, prefix, "", nullptr, nullptr));
      return RefRow{std::move(r)};
    }
    case RefKind::cameras: {
      CameraRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("name", kRefMaxName, r.name));
      XN_TRY(p.number("bearing_deg", r.bearing_deg));
      if (r.bearing_deg && !(*r.bearing_deg >= 0 && *r.bearing_deg < 360))
        return p.invalid("bearing_deg", "must be within 0 (inclusive) and 360 (exclusive)");
      std::optional<double> fov, range;
      XN_TRY(p.number("fov_deg", fov));
      if (fov && !(*fov > 0 && *fov <= 360)) return p.invalid("fov_deg", "must be above 0 and at most 360");
      r.fov_deg = fov.value_or(360);
      if (!r.bearing_deg && r.fov_deg < 360)
        return Error{ErrorKind::missing_field, p.path("bearing_deg") + " is required when fov_deg is below 360",
                     p.path("bearing_deg")};
      XN_TRY(p.number("range_m", range));
      if (!range) return Error{ErrorKind::missing_field, p.path("range_m") + " is required", p.path("range_m")};
      if (!(*range > 0) || *range > 100000) return p.invalid("range_m", "must be above 0 and at most 100000");
      r.range_m = *range;
      XN_TRY(p.text("stream_url", false, kRefMaxText, r.stream_url));
      if (const json* v = p.find("online")) {
        if (!v->is_boolean()) return p.invalid("online", "must be true or false");
        r.online = v->get<bool>();
      }
      XN_TRY(geometry(feature, prefix, "Point", &r.point, nullptr));
      return RefRow{std::move(r)};
    }
    case RefKind::units: {
      UnitRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.required_text("call_sign", kRefMaxName, r.call_sign));
      XN_TRY(p.one_of("kind", kUnitKinds, r.kind));
      XN_TRY(p.id("station_id", false, r.station_id));
      XN_TRY(p.one_of("status", kUnitStatuses, r.status));
      XN_TRY(geometry(feature, prefix, "Point", &r.point, nullptr));
      return RefRow{std::move(r)};
    }
    case RefKind::markers: {
      MarkerRow r;
      XN_TRY(p.required_id("id", r.id));
      XN_TRY(p.text("description", false, kRefMaxText, r.description, true));
      XN_TRY(p.id("camera_id", false, r.camera_id));
      XN_TRY(geometry(feature, prefix, "Point", &r.point, nullptr));
      return RefRow{std::move(r)};
    }
  }
  return Error{ErrorKind::internal, "unknown reference kind", ""};
}

std::optional<Error> RefIdSet::add(const std::string& id, std::size_t index) {
  if (ids_.insert(id).second) return std::nullopt;
  const auto path = "features[" + std::to_string(index) + "].properties.id";
  return Error{ErrorKind::invalid_field, path + " '" + id + "' appears more than once in the batch", path};
}

Result<std::vector<RefRow>> parse_ref_collection(RefKind kind, const json& doc) {
  if (!doc.is_object()) return Error{ErrorKind::invalid_field, "body must be a GeoJSON FeatureCollection object", ""};
  const auto t = doc.find("type");
  if (t == doc.end() || !t->is_string() || *t != "FeatureCollection")
    return Error{ErrorKind::invalid_field, "type must be \"FeatureCollection\"", "type"};
  const auto f = doc.find("features");
  if (f == doc.end() || !f->is_array())
    return Error{ErrorKind::invalid_field, "features must be an array of GeoJSON Features", "features"};
  std::vector<RefRow> rows;
  rows.reserve(f->size());
  RefIdSet ids;
  for (std::size_t i = 0; i < f->size(); ++i) {
    auto r = parse_ref_feature(kind, (*f)[i], i);
    if (!r) return r.error();
    if (auto e = ids.add(ref_row_id(*r), i)) return *e;
    rows.push_back(std::move(*r));
  }
  return rows;
}

std::string ewkt(const LonLat& p) {
  std::string out = "SRID=4326;POINT(";
  append_number(out, p.lon);
  out += ' ';
  append_number(out, p.lat);
  out += ')';
  return out;
}

std::string ewkt(const MultiPolygon& m) {
  std::string out = "SRID=4326;MULTIPOLYGON(";
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i) out += ',';
    out += '(';
    for (std::size_t r = 0; r < m[i].size(); ++r) {
      if (r) out += ',';
      append_ring(out, m[i][r]);
    }
    out += ')';
  }
  out += ')';
  return out;
}

}  // namespace xiaonao::domain
