// The demo county generator: determinism, sizes, identity numbers, and the geometry promises
// (addresses in their grid, grids tiling their zone, zones never overlapping, valid rings).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "xiaonao/county/county.hpp"

namespace xc = xiaonao::county;
namespace fs = std::filesystem;

namespace {

const char* const kKinds[] = {"stations", "zones", "grids", "addresses", "persons", "cameras", "units", "markers"};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh temporary directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "xiaonao-county-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const xc::County& small_county() {
  static const xc::County c = xc::make_county(7, xc::Scale::small);
  return c;
}
const xc::County& full_county() {
  static const xc::County c = xc::make_county(1, xc::Scale::full);
  return c;
}

bool convex_ccw(const std::vector<xc::Pt>& q) {
  for (std::size_t i = 0; i < q.size(); ++i) {
    const auto& a = q[i];
    const auto& b = q[(i + 1) % q.size()];
    const auto& c = q[(i + 2) % q.size()];
    if ((b.lon - a.lon) * (c.lat - b.lat) - (b.lat - a.lat) * (c.lon - b.lon) <= 0) return false;
  }
  return true;
}

}  // namespace

TEST(CountyIdNumber, CheckCharacterFollowsGb11643) {
  // The standard's own example, and one ending in a digit.
  EXPECT_EQ(xc::id_check_char("11010519491231002"), 'X');
  EXPECT_TRUE(xc::id_number_valid("11010519491231002X"));
  EXPECT_EQ(xc::id_check_char("44052418800101001"), '4');  // the widely cited 440524188001010014
  EXPECT_FALSE(xc::id_number_valid("110105194912310021"));
  EXPECT_FALSE(xc::id_number_valid("11010519491231002"));
  EXPECT_EQ(xc::id_check_char("1101051949123100A"), '?');
}

TEST(CountyGeometry, HelpersAgreeOnASquare) {
  const xc::Ring sq = {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}};
  EXPECT_DOUBLE_EQ(xc::ring_area(sq), 1.0);
  EXPECT_TRUE(xc::ring_is_simple(sq));
  EXPECT_TRUE(xc::point_in_ring({0.5, 0.5}, sq));
  EXPECT_FALSE(xc::point_in_ring({1.5, 0.5}, sq));
  const xc::Ring bowtie = {{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}};
  EXPECT_FALSE(xc::ring_is_simple(bowtie));
  const xc::Ring open = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  EXPECT_FALSE(xc::ring_is_simple(open));
  const xc::Pt p{119.57, 28.12};
  EXPECT_NEAR(xc::distance_m(p, xc::offset_m(p, 100, 37)), 100, 0.5);
}

TEST(County, SameSeedSameBytesOtherSeedOtherBytes) {
  TempDir a, b, c;
  xc::write_county(xc::make_county(42, xc::Scale::small), a.path.string());
  xc::write_county(xc::make_county(42, xc::Scale::small), b.path.string());
  xc::write_county(xc::make_county(43, xc::Scale::small), c.path.string());
  for (const char* kind : kKinds) {
    const std::string file = std::string(kind) + ".geojson";
    EXPECT_EQ(slurp(a.path / file), slurp(b.path / file)) << file;
  }
  EXPECT_EQ(slurp(a.path / "county.json"), slurp(b.path / "county.json"));
  EXPECT_EQ(slurp(a.path / "samples.json"), slurp(b.path / "samples.json"));
  EXPECT_NE(slurp(a.path / "addresses.geojson"), slurp(c.path / "addresses.geojson"));
  EXPECT_NE(slurp(a.path / "persons.geojson"), slurp(c.path / "persons.geojson"));
}

TEST(County, SmallScaleSizes) {
  const auto& c = small_county();
  EXPECT_EQ(c.stations.size(), 3u);
  EXPECT_EQ(c.zones.size(), 12u);
  EXPECT_GE(c.grids.size(), 50u);
  EXPECT_LE(c.grids.size(), 90u);
  EXPECT_EQ(c.addresses.size(), 2000u);
  EXPECT_EQ(c.cameras.size(), 200u);
  EXPECT_EQ(c.units.size(), 30u);
  EXPECT_EQ(c.markers.size(), 20u);
  long persons = 0;
  xc::for_each_person(c, [&](const xc::Person&) { ++persons; });
  EXPECT_EQ(persons, 10000);
}

TEST(County, FullScaleSizes) {
  const auto& c = full_county();
  EXPECT_EQ(c.stations.size(), 15u);
  EXPECT_GE(c.zones.size(), 150u);
  EXPECT_GE(c.grids.size(), 900u);
  EXPECT_LE(c.grids.size(), 1100u);
  EXPECT_EQ(c.addresses.size(), 200000u);
  EXPECT_EQ(c.cameras.size(), 10000u);
  EXPECT_EQ(c.markers.size(), 220u);
  std::map<std::string, int> kinds;
  for (const auto& u : c.units) ++kinds[u.kind];
  EXPECT_EQ(kinds["patrol_car"], 153);
  EXPECT_EQ(kinds["kiosk"], 37);
  EXPECT_EQ(kinds["ptu"], 3);
  EXPECT_EQ(kinds["officer"], 60);
  EXPECT_EQ(kinds["drone"], 3);
  long residents = 0;
  for (auto h : c.household) residents += h;
  EXPECT_EQ(residents, 1000000);
  // About 30 × 30 km around Yunhe's county seat.
  const double w = xc::distance_m({c.bbox_min.lon, c.centre.lat}, {c.bbox_max.lon, c.centre.lat});
  const double h = xc::distance_m({c.centre.lon, c.bbox_min.lat}, {c.centre.lon, c.bbox_max.lat});
  EXPECT_NEAR(w, 30000, 500);
  EXPECT_NEAR(h, 30000, 500);
  std::map<std::string, int> types;
  for (const auto& z : c.zones) ++types[z.area_type];
  EXPECT_GT(types["urban"], 10);
  EXPECT_GT(types["suburban"], 20);
  EXPECT_GT(types["rural"], 50);
}

TEST(County, EveryStationOwnsZonesAndTheCountySeatIsUrban) {
  for (const auto* c : {&small_county(), &full_county()}) {
    std::map<std::string, int> zones;
    for (const auto& z : c->zones) ++zones[z.station_id];
    for (const auto& s : c->stations) EXPECT_GT(zones[s.id], 0) << s.id;
    // S01 (the demo duty officer's station) covers part of the county seat.
    bool s01_urban = false;
    for (const auto& z : c->zones) s01_urban |= z.station_id == "S01" && z.area_type == "urban";
    EXPECT_TRUE(s01_urban);
  }
}

TEST(County, LatticeCellsAreConvexSoPolygonsAreValid) {
  for (const auto* c : {&small_county(), &full_county()}) {
    for (int j = 0; j < c->lattice_ny; ++j)
      for (int i = 0; i < c->lattice_nx; ++i) ASSERT_TRUE(convex_ccw(c->cell_quad(i, j))) << i << "," << j;
    for (const auto& z : c->zones) {
      EXPECT_TRUE(xc::ring_is_simple(z.ring)) << z.id;
      EXPECT_GT(xc::ring_area(z.ring), 0) << z.id << " is not counter-clockwise";
    }
    for (const auto& g : c->grids) {
      EXPECT_TRUE(xc::ring_is_simple(g.ring)) << g.id;
      EXPECT_GT(xc::ring_area(g.ring), 0) << g.id;
    }
  }
}

TEST(County, ZonesTileTheCountyWithoutOverlap) {
  for (const auto* c : {&small_county(), &full_county()}) {
    // Their areas add up to the county's box...
    double sum = 0;
    for (const auto& z : c->zones) sum += xc::ring_area(z.ring);
    const double box = (c->bbox_max.lon - c->bbox_min.lon) * (c->bbox_max.lat - c->bbox_min.lat);
    EXPECT_NEAR(sum / box, 1.0, 1e-9);
    // ...and every point of the county lies in exactly one of them.
    std::uint64_t s = 12345;
    auto next = [&] {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<double>(s >> 11) * 0x1.0p-53;
    };
    for (int n = 0; n < 5000; ++n) {
      const xc::Pt p{c->bbox_min.lon + next() * (c->bbox_max.lon - c->bbox_min.lon),
                     c->bbox_min.lat + next() * (c->bbox_max.lat - c->bbox_min.lat)};
      int in = 0;
      for (const auto& z : c->zones) in += xc::point_in_ring(p, z.ring) ? 1 : 0;
      ASSERT_EQ(in, 1) << p.lon << "," << p.lat;
    }
  }
}

TEST(County, GridsTileTheirZone) {
  for (const auto* c : {&small_county(), &full_county()}) {
    std::vector<double> grid_area(c->zones.size(), 0);
    for (const auto& g : c->grids) {
      const auto& z = c->zones[static_cast<std::size_t>(g.zone)];
      ASSERT_EQ(g.zone_id, z.id);
      grid_area[static_cast<std::size_t>(g.zone)] += xc::ring_area(g.ring);
      // Each vertex of a grid is a vertex of its zone's ring or strictly inside the zone.
      for (const auto& v : g.ring) {
        const bool on_ring = std::find(z.ring.begin(), z.ring.end(), v) != z.ring.end();
        EXPECT_TRUE(on_ring || xc::point_in_ring(v, z.ring)) << g.id << " leaves " << z.id;
      }
    }
    for (std::size_t z = 0; z < c->zones.size(); ++z)
      EXPECT_NEAR(grid_area[z] / xc::ring_area(c->zones[z].ring), 1.0, 1e-9) << c->zones[z].id;
    // No two grids overlap: a point of a zone is in exactly one of its grids.
    for (std::size_t n = 0; n < c->addresses.size(); n += 37) {
      const auto& a = c->addresses[n];
      int in = 0;
      for (const auto& g : c->grids) in += xc::point_in_ring(a.point, g.ring) ? 1 : 0;
      EXPECT_EQ(in, 1) << a.id;
    }
  }
}

TEST(County, EveryAddressLiesInsideItsGrid) {
  for (const auto* c : {&small_county(), &full_county()}) {
    for (const auto& a : c->addresses) {
      ASSERT_TRUE(xc::point_in_ring(a.point, c->grids[static_cast<std::size_t>(a.grid)].ring)) << a.id;
    }
  }
}

TEST(County, AddressTextsAndAliasesAreUnique) {
  for (const auto* c : {&small_county(), &full_county()}) {
    std::set<std::string> seen;
    long with_alias = 0;
    for (const auto& a : c->addresses) {
      EXPECT_EQ(a.text.rfind("云和县", 0), 0u) << a.text;
      ASSERT_TRUE(seen.insert(a.text).second) << "duplicate " << a.text;
      with_alias += a.aliases.empty() ? 0 : 1;
    }
    for (const auto& a : c->addresses)
      for (const auto& al : a.aliases) ASSERT_TRUE(seen.insert(al).second) << "ambiguous alias " << al;
    EXPECT_GT(with_alias, static_cast<long>(c->addresses.size()) / 20);
  }
}

TEST(County, PersonsHaveValidIdsPhonesAndRealisticFlags) {
  const auto& c = small_county();
  std::set<std::string> ids, phones;
  long n = 0, two_phones = 0;
  long flags[6] = {};
  bool bad_flag_order = false;
  xc::for_each_person(c, [&](const xc::Person& p) {
    ++n;
    ASSERT_TRUE(xc::id_number_valid(p.id_number)) << p.id_number;
    ASSERT_TRUE(ids.insert(p.id_number).second) << "duplicate " << p.id_number;
    // The birth date in the number is a real date, and "minor" agrees with it (at 2026-01-01).
    const int y = std::stoi(p.id_number.substr(6, 4)), m = std::stoi(p.id_number.substr(10, 2)),
              d = std::stoi(p.id_number.substr(12, 2));
    ASSERT_GE(m, 1);
    ASSERT_LE(m, 12);
    ASSERT_GE(d, 1);
    ASSERT_LE(d, 31);
    const bool minor = std::find(p.flags.begin(), p.flags.end(), std::string_view("minor")) != p.flags.end();
    EXPECT_EQ(minor, y + 18 > 2026 || (y + 18 == 2026 && (m > 1 || d > 1))) << p.id_number;
    for (const auto& ph : p.phones) {
      ASSERT_EQ(ph.size(), 11u);
      ASSERT_EQ(ph[0], '1');
      ASSERT_TRUE(std::all_of(ph.begin(), ph.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
      ASSERT_TRUE(phones.insert(ph).second) << "shared phone " << ph;
    }
    two_phones += p.phones.size() == 2 ? 1 : 0;
    std::size_t last = 0;
    for (const char* f : p.flags) {
      const auto k = static_cast<std::size_t>(
          std::find_if(std::begin(xc::kFlags), std::end(xc::kFlags), [&](const char* x) { return std::string_view(x) == f; }) -
          std::begin(xc::kFlags));
      ASSERT_LT(k, 6u);
      if (k < last) bad_flag_order = true;
      last = k;
      ++flags[k];
    }
  });
  EXPECT_FALSE(bad_flag_order);
  EXPECT_GT(two_phones, 0);
  auto rate = [&](int k) { return 100.0 * static_cast<double>(flags[k]) / static_cast<double>(n); };
  EXPECT_NEAR(rate(0), 3.0, 1.0);   // elderly_alone
  EXPECT_NEAR(rate(1), 0.5, 0.3);   // mental_illness
  EXPECT_NEAR(rate(2), 0.3, 0.2);   // person_of_interest
  EXPECT_NEAR(rate(3), 10.0, 2.5);  // floating
  EXPECT_NEAR(rate(4), 15.0, 3.0);  // minor
  EXPECT_NEAR(rate(5), 2.0, 0.8);   // disabled
}

TEST(County, CamerasUnitsAndMarkersAreAsSpecified) {
  for (const auto* c : {&small_county(), &full_county()}) {
    long offline = 0, domes = 0;
    for (const auto& cam : c->cameras) {
      if (cam.dome) {
        ++domes;
        EXPECT_EQ(cam.fov_deg, 360);
      } else {
        EXPECT_GE(cam.fov_deg, 60);
        EXPECT_LE(cam.fov_deg, 120);
        EXPECT_GE(cam.bearing_deg, 0);
        EXPECT_LT(cam.bearing_deg, 360);
      }
      EXPECT_GE(cam.range_m, 50);
      EXPECT_LE(cam.range_m, 200);
      EXPECT_EQ(cam.stream_url.rfind("rtsp://video.local/", 0), 0u);
      offline += cam.online ? 0 : 1;
    }
    const auto nc = static_cast<double>(c->cameras.size());
    EXPECT_NEAR(static_cast<double>(offline) / nc, 0.05, 0.04);
    EXPECT_GT(domes, 0);
    std::set<std::string> station_ids;
    for (const auto& s : c->stations) station_ids.insert(s.id);
    long available = 0;
    for (const auto& u : c->units) {
      EXPECT_TRUE(station_ids.count(u.station_id)) << u.id;
      available += u.status == "available" ? 1 : 0;
    }
    EXPECT_GT(available * 10, static_cast<long>(c->units.size()) * 6);
    long with_camera = 0;
    for (std::size_t i = 0; i < c->markers.size(); ++i) {
      const auto& m = c->markers[i];
      char code[32];
      std::snprintf(code, sizeof code, "YH-%04zu", i + 1);
      EXPECT_EQ(m.id, code);
      if (m.camera >= 0) {
        ++with_camera;
        EXPECT_LT(xc::distance_m(m.point, c->cameras[static_cast<std::size_t>(m.camera)].point), 50.0) << m.id;
      }
    }
    EXPECT_EQ(with_camera, static_cast<long>(c->markers.size() + 1) / 2);
  }
}

TEST(County, FilesCarryExactlyTheImportProperties) {
  TempDir dir;
  const auto r = xc::write_county(small_county(), dir.path.string());
  EXPECT_EQ(r.persons, 10000);
  const std::map<std::string, std::pair<std::string, std::set<std::string>>> expected = {
      {"stations", {"Point", {"id", "name", "phone"}}},
      {"zones", {"Polygon", {"id", "name", "station_id", "area_type", "officer_name", "officer_phone"}}},
      {"grids", {"Polygon", {"id", "name", "zone_id", "worker_name", "worker_phone"}}},
      {"addresses", {"Point", {"id", "text", "aliases"}}},
      {"persons", {"", {"id", "name", "id_number", "phone", "address_id", "flags"}}},
      {"cameras", {"Point", {"id", "name", "bearing_deg", "fov_deg", "range_m", "stream_url", "online"}}},
      {"units", {"Point", {"id", "call_sign", "kind", "station_id", "status"}}},
      {"markers", {"Point", {"id", "description", "camera_id"}}}};
  for (const auto& [kind, spec] : expected) {
    const auto doc = nlohmann::json::parse(slurp(dir.path / (kind + ".geojson")));
    ASSERT_EQ(doc.at("type"), "FeatureCollection") << kind;
    ASSERT_FALSE(doc.at("features").empty()) << kind;
    std::set<std::string> ids;
    for (const auto& f : doc.at("features")) {
      ASSERT_EQ(f.at("type"), "Feature");
      if (spec.first.empty()) {
        EXPECT_TRUE(f.at("geometry").is_null());
      } else {
        EXPECT_EQ(f.at("geometry").at("type"), spec.first) << kind;
      }
      for (const auto& [k, v] : f.at("properties").items()) EXPECT_TRUE(spec.second.count(k)) << kind << "." << k;
      ASSERT_TRUE(ids.insert(f.at("properties").at("id").get<std::string>()).second) << kind;
      if (spec.first == "Polygon") {
        const auto& ring = f.at("geometry").at("coordinates").at(0);
        EXPECT_EQ(ring.front(), ring.back()) << kind << " ring not closed";
      }
    }
  }
  const auto meta = nlohmann::json::parse(slurp(dir.path / "county.json"));
  EXPECT_EQ(meta.at("seed"), 7);
  EXPECT_EQ(meta.at("scale"), "small");
  EXPECT_EQ(meta.at("counts").at("persons"), 10000);
  EXPECT_EQ(meta.at("bbox").size(), 4u);
  const auto samples = nlohmann::json::parse(slurp(dir.path / "samples.json"));
  EXPECT_FALSE(samples.at("addresses").empty());
  EXPECT_EQ(samples.at("markers").size(), 20u);
  EXPECT_FALSE(samples.at("residents").empty());
}
