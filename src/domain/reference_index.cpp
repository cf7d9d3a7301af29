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
  for (std::uint32_t k = 0; k < order.size(); ++k)
    for (const auto& alias : m.pending[order[k]].aliases) m.norms.add(alias, k);
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

bool Addresses::fuzzy_ready() const { return impl_->fuzzy_ready; }

std::vector<Addresses::Scored> Addresses::fuzzy(const std::string& norm, std::size_t limit, double floor) const {
  std::vector<Scored> out;
  for (const auto& m : impl_->norms.best(norm, limit, floor)) out.push_back({&impl_->all[m.index], m.score});
  return out;
}

std::size_t Addresses::size() const { return impl_->all.size(); }

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
