// The reference data in memory (include/xiaonao/domain/reference_index.hpp). Polygons and
// camera positions sit in Boost.Geometry R-trees (part of Boost, header-only): the tree finds
// the few candidates whose box holds the point, the exact test decides.
#include "xiaonao/domain/reference_index.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <boost/geometry.hpp>
#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/multi_polygon.hpp>
#include <boost/geometry/geometries/point_xy.hpp>
#include <boost/geometry/geometries/polygon.hpp>
#include <boost/geometry/index/rtree.hpp>

#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/reference.hpp"

namespace xiaonao::domain::reference {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

// Planar lon/lat, as PostGIS's geometry(…, 4326) predicates are.
using Pt = bg::model::d2::point_xy<double>;
using Box = bg::model::box<Pt>;
using Polygon = bg::model::polygon<Pt>;
using MultiPolygon = bg::model::multi_polygon<Polygon>;
using BoxEntry = std::pair<Box, std::size_t>;
using PointEntry = std::pair<Pt, std::size_t>;


// A box in degrees that holds every point within `metres` of `p` on the sphere: latitude by the
// arc, longitude widened by the circle's highest latitude (the whole band near a pole); a hair
// of margin, the exact test is the caller's.
Box search_box(GeoPoint p, double metres) {
  const double dlat = metres / fusion::earth_radius_m * 180.0 / std::numbers::pi * 1.001 + 1e-9;
  const double top = std::min(90.0, std::fabs(p.lat) + dlat);
  const double c = std::cos(top * std::numbers::pi / 180.0);
  const double dlon = c > 1e-6 ? std::min(180.0, dlat / c) : 180.0;
  return Box(Pt(p.lon - dlon, p.lat - dlat), Pt(p.lon + dlon, p.lat + dlat));
}

}  // namespace

// ---- Areas ----------------------------------------------------------------------------------

struct Areas::Impl {
  std::vector<Area> areas;
  std::vector<MultiPolygon> shapes;
  bgi::rtree<BoxEntry, bgi::rstar<16>> tree;
};

Areas::Areas() : impl_(std::make_unique<Impl>()) {}
Areas::~Areas() = default;
Areas::Areas(Areas&&) noexcept = default;
Areas& Areas::operator=(Areas&&) noexcept = default;

bool Areas::add(std::string id, std::string station_id, const std::string& wkt) {
  MultiPolygon shape;
  try {
    if (wkt.rfind("MULTIPOLYGON", 0) == 0) {
      bg::read_wkt(wkt, shape);
    } else if (wkt.rfind("POLYGON", 0) == 0) {
      Polygon p;
      bg::read_wkt(wkt, p);
      shape.push_back(std::move(p));
    } else {
      return false;
    }
  } catch (const bg::exception&) {
    return false;
  }
  // PostGIS accepts either ring orientation; Boost's default polygon wants clockwise, closed.
  bg::correct(shape);
  impl_->areas.push_back({std::move(id), std::move(station_id)});
  impl_->shapes.push_back(std::move(shape));
  return true;
}

void Areas::build() {
  std::vector<BoxEntry> boxes;
  boxes.reserve(impl_->shapes.size());
  for (std::size_t i = 0; i < impl_->shapes.size(); ++i) {
    // The box of the outer rings (the holes lie inside them), by hand: Boost's envelope of a
    // multipolygon trips GCC's -Wmaybe-uninitialized.
    double x0 = HUGE_VAL, y0 = HUGE_VAL, x1 = -HUGE_VAL, y1 = -HUGE_VAL;
    for (const auto& poly : impl_->shapes[i]) {
      for (const auto& q : poly.outer()) {
        x0 = std::min(x0, q.x());
        y0 = std::min(y0, q.y());
        x1 = std::max(x1, q.x());
        y1 = std::max(y1, q.y());
      }
    }
    if (x0 <= x1) boxes.emplace_back(Box(Pt(x0, y0), Pt(x1, y1)), i);
  }
  impl_->tree = bgi::rtree<BoxEntry, bgi::rstar<16>>(boxes.begin(), boxes.end());
}

const Areas::Area* Areas::covering(GeoPoint p) const {
  const Pt pt(p.lon, p.lat);
  const Area* best = nullptr;
  for (auto it = impl_->tree.qbegin(bgi::intersects(pt)); it != impl_->tree.qend(); ++it) {
    const auto i = it->second;
    if (best && impl_->areas[i].id >= best->id) continue;
    if (bg::covered_by(pt, impl_->shapes[i])) best = &impl_->areas[i];
  }
  return best;
}

bool Areas::maybe_within(GeoPoint p, double metres) const {
  return impl_->tree.qbegin(bgi::intersects(search_box(p, metres))) != impl_->tree.qend();
}

std::size_t Areas::size() const { return impl_->areas.size(); }

// ---- Cameras --------------------------------------------------------------------------------

struct Cameras::Impl {
  std::vector<Camera> cameras;
  std::unordered_map<std::string, std::size_t> by_id;
  bgi::rtree<PointEntry, bgi::rstar<16>> online;  // online cameras only
};

Cameras::Cameras() : impl_(std::make_unique<Impl>()) {}
Cameras::~Cameras() = default;
Cameras::Cameras(Cameras&&) noexcept = default;
Cameras& Cameras::operator=(Cameras&&) noexcept = default;

void Cameras::add(Camera c) { impl_->cameras.push_back(std::move(c)); }

void Cameras::build() {
  std::vector<PointEntry> points;
  for (std::size_t i = 0; i < impl_->cameras.size(); ++i) {
    const auto& c = impl_->cameras[i];
    impl_->by_id[c.id] = i;
    if (c.online) points.emplace_back(Pt(c.at.lon, c.at.lat), i);
  }
  impl_->online = bgi::rtree<PointEntry, bgi::rstar<16>>(points.begin(), points.end());
}

std::vector<CameraNear> Cameras::nearest_online(GeoPoint p, double radius_m, std::size_t limit) const {
  std::vector<CameraNear> out;
  if (limit == 0 || radius_m < 0) return out;
  for (auto it = impl_->online.qbegin(bgi::intersects(search_box(p, radius_m))); it != impl_->online.qend(); ++it) {
    const auto& cam = impl_->cameras[it->second];
    const double d = fusion::distance_m(p, cam.at);
    if (d <= radius_m) out.push_back({&cam, d});
  }
  std::sort(out.begin(), out.end(), [](const CameraNear& a, const CameraNear& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.camera->id < b.camera->id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

const Camera* Cameras::find(const std::string& id) const {
  const auto it = impl_->by_id.find(id);
  return it == impl_->by_id.end() ? nullptr : &impl_->cameras[it->second];
}

std::size_t Cameras::size() const { return impl_->cameras.size(); }

// ---- Addresses ------------------------------------------------------------------------------

struct Addresses::Impl {
  struct Pending {
    std::string norm;
    std::vector<std::string> aliases;
  };
  bool fuzzy_ready;
  std::vector<Address> all;  ///< by id after build()
  std::vector<Pending> pending;
  trigram::Index norms;      ///< all[i]'s normalised text is norms.text(i); its aliases follow, in group i
  std::unordered_map<std::string_view, std::uint32_t> by_norm;  ///< views into `norms`
  std::unordered_map<std::string, std::uint32_t> by_alias;
  /// all[k]'s aliases are the texts at positions [alias_starts[k], alias_starts[k + 1]) of norms.
  std::vector<std::uint32_t> alias_starts;

  explicit Impl(std::optional<trigram::CharRules> rules)
      : fuzzy_ready(rules.has_value()), norms(rules.value_or(trigram::CharRules::ascii())) {}
};

Addresses::Addresses(std::optional<trigram::CharRules> rules) : impl_(std::make_unique<Impl>(std::move(rules))) {}
Addresses::~Addresses() = default;
Addresses::Addresses(Addresses&&) noexcept = default;
Addresses& Addresses::operator=(Addresses&&) noexcept = default;

void Addresses::add(std::string id, std::string text, const std::string& norm,
                    const std::vector<std::string>& alias_norms, GeoPoint at) {
  impl_->all.push_back({std::move(id), std::move(text), at});
  impl_->pending.push_back({norm, alias_norms});
}

void Addresses::build() {
  auto& m = *impl_;
  std::vector<std::uint32_t> order(m.all.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return m.all[a].id < m.all[b].id; });
  std::vector<Address> sorted;
  sorted.reserve(order.size());
  for (const auto i : order) {
    sorted.push_back(std::move(m.all[i]));
    m.norms.add(m.pending[i].norm);
  }
  m.all = std::move(sorted);
  // Each alias after every standard text, in its address's group: the fuzzy match scores an
  // address by the best of its texts, as the locate statement does with address_aliases (021).
  m.alias_starts.assign(1, static_cast<std::uint32_t>(order.size()));
  for (std::uint32_t k = 0; k < order.size(); ++k) {
    for (const auto& alias : m.pending[order[k]].aliases) m.norms.add(alias, k);
    m.alias_starts.push_back(static_cast<std::uint32_t>(m.alias_starts.back() + m.pending[order[k]].aliases.size()));
  }
  m.norms.build();
  // In id order, so the first to claim a text is the smallest id.
  for (std::uint32_t k = 0; k < order.size(); ++k) {
    m.by_norm.try_emplace(m.norms.text(k), k);
    for (const auto& alias : m.pending[order[k]].aliases) m.by_alias.try_emplace(alias, k);
  }
  std::vector<Impl::Pending>().swap(m.pending);
}

const Address* Addresses::exact(const std::string& norm) const {
  const auto it = impl_->by_norm.find(norm);
  return it == impl_->by_norm.end() ? nullptr : &impl_->all[it->second];
}

const Address* Addresses::alias(const std::string& norm) const {
  const auto it = impl_->by_alias.find(norm);
  return it == impl_->by_alias.end() ? nullptr : &impl_->all[it->second];
}

const Address* Addresses::find(std::string_view id) const {
  const auto& all = impl_->all;
  const auto it = std::lower_bound(all.begin(), all.end(), id, [](const Address& a, std::string_view k) { return a.id < k; });
  return it != all.end() && it->id == id ? &*it : nullptr;
}

bool Addresses::fuzzy_ready() const { return impl_->fuzzy_ready; }

std::vector<Addresses::Scored> Addresses::fuzzy(const std::string& norm, std::size_t limit, double floor) const {
  const auto& im = *impl_;
  std::vector<Scored> out;
  const auto matches = im.norms.best(norm, limit, floor);
  if (matches.empty()) return out;
  // Which of an address's texts gave its score: looked at again for the few addresses kept.
  const auto query = trigram::trigrams(norm, im.norms.rules());
  for (const auto& m : matches) {
    std::string_view alias;
    if (im.norms.score(query, m.index) < m.score) {
      for (auto t = im.alias_starts[m.index]; t < im.alias_starts[m.index + 1]; ++t) {
        if (im.norms.score(query, t) == m.score) {
          alias = im.norms.text(t);
          break;
        }
      }
    }
    out.push_back({&im.all[m.index], m.score, alias});
  }
  return out;
}

std::size_t Addresses::size() const { return impl_->all.size(); }

// ---- Homes ----------------------------------------------------------------------------------

namespace {

// A phone of 1 to 17 digits as one integer (its value and its length, so that leading zeros
// count); anything else has none.
std::optional<std::uint64_t> phone_key(std::string_view s) {
  if (s.empty() || s.size() > 17) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v * 18 + s.size();
}

// An identity number of 17 digits and a check character (a digit or X) as one integer;
// anything else has none.
std::optional<std::uint64_t> id_key(std::string_view s) {
  if (s.size() != 18) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
  }
  const char check = s[17];
  if (check == 'X') return v * 11 + 10;
  if (check < '0' || check > '9') return std::nullopt;
  return v * 11 + static_cast<std::uint64_t>(check - '0');
}

// One kind of key: (key, address) in the order added, then sorted by key keeping that order
// among equal keys; keys with no integer form in a map.
struct HomeKeys {
  std::optional<std::uint64_t> (*encode)(std::string_view);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> packed;
  std::unordered_map<std::string, std::vector<std::uint32_t>> other;

  void add(const std::string& key, std::uint32_t address) {
    if (const auto k = encode(key)) {
      packed.emplace_back(*k, address);
    } else {
      other[key].push_back(address);
    }
  }
  void build() {
    std::stable_sort(packed.begin(), packed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    packed.shrink_to_fit();
  }
  // Calls `f(address)` for the addresses of `key` in the order added, until it returns true.
  template <typename F>
  void each(const std::string& key, F&& f) const {
    if (const auto k = encode(key)) {
      auto it = std::lower_bound(packed.begin(), packed.end(), *k, [](const auto& e, std::uint64_t v) { return e.first < v; });
      for (; it != packed.end() && it->first == *k; ++it)
        if (f(it->second)) return;
      return;
    }
    const auto it = other.find(key);
    if (it == other.end()) return;
    for (const auto address : it->second)
      if (f(address)) return;
  }
  // The first address of `key` for which `found` gives one.
  template <typename F>
  const Address* first(const std::string& key, F&& found) const {
    const Address* out = nullptr;
    each(key, [&](std::uint32_t address) { return (out = found(address)) != nullptr; });
    return out;
  }
};

// A person's flags as a code: 3 bits a flag (its place in person_flags() + 1), in the order
// stored; none when a flag is unknown or repeated (so at most six flags, 18 bits).
std::optional<std::uint32_t> flags_code(const std::vector<std::string>& flags) {
  const auto& known = person_flags();
  std::uint32_t code = 0, seen = 0;
  for (std::size_t k = 0; k < flags.size(); ++k) {
    const auto at = std::find(known.begin(), known.end(), flags[k]);
    if (at == known.end()) return std::nullopt;
    const auto bit = static_cast<std::uint32_t>(at - known.begin());
    if (seen & (1u << bit)) return std::nullopt;
    seen |= 1u << bit;
    code |= (bit + 1) << (3 * k);
  }
  return code;
}

}  // namespace

struct Homes::Impl {
  std::vector<std::string> address_ids;  ///< each once; the keys point here
  std::unordered_map<std::string, std::uint32_t> address_at;  ///< while adding
  HomeKeys phones{phone_key, {}, {}}, ids{id_key, {}, {}};
  // Person p (in the order added: by id) has the id person_ids[id_end[p - 1], id_end[p]) and
  // the flags flags[p]; it lives at address home[p] (while adding).
  std::string person_ids;
  std::vector<std::uint32_t> id_end, flags, home;
  // After build: the persons at address a are at_address[at_start[a], at_start[a + 1]), by id.
  std::vector<std::uint32_t> at_start, at_address;
  std::vector<std::uint32_t> by_text;  ///< address indexes in the order of their ids' text
  bool households = true;
  std::size_t count = 0;  ///< persons added

  std::string_view person_id(std::uint32_t p) const {
    const std::uint32_t begin = p == 0 ? 0 : id_end[p - 1];
    return std::string_view(person_ids).substr(begin, id_end[p] - begin);
  }
  std::optional<std::uint32_t> address(const std::string& id) const {
    const auto it = std::lower_bound(by_text.begin(), by_text.end(), id,
                                     [this](std::uint32_t a, const std::string& v) { return address_ids[a] < v; });
    if (it == by_text.end() || address_ids[*it] != id) return std::nullopt;
    return *it;
  }
};

Homes::Homes() : impl_(std::make_unique<Impl>()) {}
Homes::~Homes() = default;
Homes::Homes(Homes&&) noexcept = default;
Homes& Homes::operator=(Homes&&) noexcept = default;

void Homes::add(const std::string& address_id, const std::vector<std::string>& phones,
                const std::optional<std::string>& id_number, std::string_view person_id,
                const std::vector<std::string>& flags) {
  auto& m = *impl_;
  const auto [it, fresh] = m.address_at.try_emplace(address_id, static_cast<std::uint32_t>(m.address_ids.size()));
  if (fresh) m.address_ids.push_back(address_id);
  for (const auto& p : phones) m.phones.add(p, it->second);
  if (id_number) m.ids.add(*id_number, it->second);
  m.person_ids += person_id;
  m.id_end.push_back(static_cast<std::uint32_t>(m.person_ids.size()));
  const auto code = flags_code(flags);
  if (!code) m.households = false;
  m.flags.push_back(code.value_or(0));
  m.home.push_back(it->second);
  ++m.count;
}

void Homes::build() {
  auto& m = *impl_;
  m.phones.build();
  m.ids.build();
  std::unordered_map<std::string, std::uint32_t>().swap(m.address_at);
  // The persons by address, each address's in the order added (a counting sort).
  m.at_start.assign(m.address_ids.size() + 1, 0);
  for (const auto a : m.home) ++m.at_start[a + 1];
  for (std::size_t a = 0; a < m.address_ids.size(); ++a) m.at_start[a + 1] += m.at_start[a];
  m.at_address.resize(m.home.size());
  std::vector<std::uint32_t> next(m.at_start.begin(), m.at_start.end() - 1);
  for (std::uint32_t p = 0; p < m.home.size(); ++p) m.at_address[next[m.home[p]]++] = p;
  std::vector<std::uint32_t>().swap(m.home);
  m.by_text.resize(m.address_ids.size());
  for (std::uint32_t a = 0; a < m.by_text.size(); ++a) m.by_text[a] = a;
  std::sort(m.by_text.begin(), m.by_text.end(),
            [&m](std::uint32_t a, std::uint32_t b) { return m.address_ids[a] < m.address_ids[b]; });
  m.person_ids.shrink_to_fit();
}

const Address* Homes::by_phone(const std::string& phone, const Addresses& addresses) const {
  return impl_->phones.first(phone, [&](std::uint32_t a) { return addresses.find(impl_->address_ids[a]); });
}

const Address* Homes::by_id_number(const std::string& id_number, const Addresses& addresses) const {
  return impl_->ids.first(id_number, [&](std::uint32_t a) { return addresses.find(impl_->address_ids[a]); });
}

std::size_t Homes::size() const { return impl_->count; }

bool Homes::households() const { return impl_->households; }

std::vector<Homes::Member> Homes::household(const std::string& address_id,
                                            const std::vector<std::string>& subject_phones,
                                            const std::vector<std::string>& subject_ids, std::size_t max) const {
  const auto& m = *impl_;
  // (via, person): via 0 "address", 1 "subject"; persons are numbered in id order.
  std::vector<std::pair<int, std::uint32_t>> rows;
  const auto take = [&](int via, std::uint32_t a) {
    const auto end = std::min<std::size_t>(m.at_start[a + 1], m.at_start[a] + max);
    for (auto k = m.at_start[a]; k < end; ++k) rows.emplace_back(via, m.at_address[k]);
  };
  if (!address_id.empty()) {
    if (const auto a = m.address(address_id)) take(0, *a);
  }
  std::vector<std::uint32_t> homes;  // the subjects' home addresses, each once
  const auto add_home = [&](std::uint32_t a) {
    if (std::find(homes.begin(), homes.end(), a) == homes.end()) homes.push_back(a);
    return false;
  };
  for (const auto& p : subject_phones) m.phones.each(p, add_home);
  for (const auto& i : subject_ids) m.ids.each(i, add_home);
  for (const auto a : homes) take(1, a);
  std::sort(rows.begin(), rows.end());
  if (rows.size() > max) rows.resize(max);
  const auto& known = person_flags();
  std::vector<Member> out;
  out.reserve(rows.size());
  for (const auto& [via, p] : rows) {
    auto& member = out.emplace_back();
    member.person_id = std::string(m.person_id(p));
    for (auto code = m.flags[p]; code != 0; code >>= 3) member.flags.push_back(known[(code & 7) - 1]);
    member.via = via == 0 ? "address" : "subject";
  }
  return out;
}

// ---- Index ----------------------------------------------------------------------------------

std::int64_t Index::version_sum() const {
  std::int64_t sum = 0;
  for (const auto& [kind, v] : versions) sum += v;
  return sum;
}

const Marker* Index::marker(const std::string& id) const {
  if (!markers) return nullptr;
  const auto it = markers->find(id);
  return it == markers->end() ? nullptr : &it->second;
}

}  // namespace xiaonao::domain::reference
