// The reference data in memory (domain::reference): covering polygons with PostGIS's rules
// (boundary included, smallest id on a shared edge, holes, either ring orientation), the
// nearest online cameras against a brute-force scan, addresses by text and alias.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/reference_index.hpp"

namespace xiaonao::domain::reference {
namespace {

std::string square(double x0, double y0, double x1, double y1) {
  return "POLYGON((" + std::to_string(x0) + " " + std::to_string(y0) + "," + std::to_string(x1) + " " +
         std::to_string(y0) + "," + std::to_string(x1) + " " + std::to_string(y1) + "," + std::to_string(x0) + " " +
         std::to_string(y1) + "," + std::to_string(x0) + " " + std::to_string(y0) + "))";
}

TEST(ReferenceAreas, BoundaryCountsAndTheSmallestIdWinsOnASharedEdge) {
  Areas zones;
  // Added out of order: the answer must not depend on it.
  ASSERT_TRUE(zones.add("Z2", "S02", square(119.91, 28.45, 119.92, 28.46)));
  ASSERT_TRUE(zones.add("Z1", "S01", square(119.90, 28.45, 119.91, 28.46)));
  zones.build();
  EXPECT_EQ(zones.size(), 2u);
  const auto* edge = zones.covering({119.91, 28.4555});
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(edge->id, "Z1");
  EXPECT_EQ(edge->station_id, "S01");
  EXPECT_EQ(zones.covering({119.915, 28.455})->id, "Z2");
  EXPECT_EQ(zones.covering({119.92, 28.46})->id, "Z2");  // a corner
  EXPECT_EQ(zones.covering({119.9201, 28.455}), nullptr);
  EXPECT_EQ(zones.covering({0, 0}), nullptr);
}

TEST(ReferenceAreas, HolesMultiPolygonsAndEitherOrientation) {
  Areas a;
  // Clockwise outer ring (GeoJSON wants counter-clockwise; PostGIS takes both), with a hole.
  ASSERT_TRUE(a.add("H", "", "POLYGON((0 0,0 10,10 10,10 0,0 0),(4 4,6 4,6 6,4 6,4 4))"));
  ASSERT_TRUE(a.add("M", "", "MULTIPOLYGON(((20 0,22 0,22 2,20 2,20 0)),((30 0,32 0,32 2,30 2,30 0)))"));
  EXPECT_FALSE(a.add("P", "", "POINT(1 1)"));
  EXPECT_FALSE(a.add("X", "", "POLYGON((0 0,1"));
  a.build();
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.covering({1, 1})->id, "H");
  EXPECT_EQ(a.covering({5, 5}), nullptr);     // in the hole
  EXPECT_EQ(a.covering({4, 5})->id, "H");     // on the hole's edge: still covered
  EXPECT_EQ(a.covering({31, 1})->id, "M");    // the second part
  EXPECT_EQ(a.covering({25, 1}), nullptr);    // between the parts
}

TEST(ReferenceAreas, EmptyHasNoAnswer) {
  Areas a;
  a.build();
  EXPECT_EQ(a.covering({1, 1}), nullptr);
  EXPECT_FALSE(a.maybe_within({1, 1}, 1e6));
}

TEST(ReferenceAreas, MaybeWithinNeverMissesAZoneInReach) {
  Areas a;
  ASSERT_TRUE(a.add("Z", "", square(119.90, 28.45, 119.91, 28.46)));
  a.build();
  // 0.004° east of the edge is about 390 m at this latitude; 0.02° about 1,950 m.
  EXPECT_TRUE(a.maybe_within({119.914, 28.455}, 500));
  EXPECT_FALSE(a.maybe_within({119.93, 28.455}, 500));
  EXPECT_TRUE(a.maybe_within({119.93, 28.455}, 2500));
  EXPECT_TRUE(a.maybe_within({119.905, 28.455}, 0));  // inside
  // Property: whenever a polygon vertex is within the distance, the answer is yes.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lon(119.85, 119.96), lat(28.40, 28.51), metres(0, 3000);
  for (int k = 0; k < 2000; ++k) {
    const GeoPoint p{lon(rng), lat(rng)};
    const double m = metres(rng);
    bool near = false;
    for (const GeoPoint corner : {GeoPoint{119.90, 28.45}, GeoPoint{119.91, 28.45}, GeoPoint{119.91, 28.46}, GeoPoint{119.90, 28.46}})
      near = near || fusion::distance_m(p, corner) <= m;
    if (near) {
      EXPECT_TRUE(a.maybe_within(p, m)) << p.lon << " " << p.lat << " " << m;
    }
  }
}

TEST(ReferenceCameras, NearestOnlineMatchBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lon(119.80, 120.00), lat(28.40, 28.50), unit(0, 1);
  Cameras cams;
  std::vector<Camera> all;
  for (int i = 0; i < 3000; ++i) {
    Camera c;
    c.id = "C" + std::to_string(i);
    c.name = "camera " + std::to_string(i);
    c.at = {lon(rng), lat(rng)};
    c.range_m = 100;
    c.online = unit(rng) < 0.8;
    all.push_back(c);
    cams.add(c);
  }
  cams.build();
  EXPECT_EQ(cams.size(), 3000u);
  for (int q = 0; q < 300; ++q) {
    const GeoPoint p{lon(rng), lat(rng)};
    const double radius = q % 3 == 0 ? 50 : q % 3 == 1 ? 300 : 1500;
    const std::size_t limit = q % 2 ? 5 : 24;
    std::vector<std::pair<double, std::string>> expect;
    for (const auto& c : all) {
      const double d = fusion::distance_m(p, c.at);
      if (c.online && d <= radius) expect.emplace_back(d, c.id);
    }
    std::sort(expect.begin(), expect.end());
    if (expect.size() > limit) expect.resize(limit);
    const auto got = cams.nearest_online(p, radius, limit);
    ASSERT_EQ(got.size(), expect.size()) << "query " << q;
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].camera->id, expect[k].second);
      EXPECT_DOUBLE_EQ(got[k].distance_m, expect[k].first);
    }
  }
  ASSERT_NE(cams.find("C1"), nullptr);
  EXPECT_EQ(cams.find("C1")->name, "camera 1");
  EXPECT_EQ(cams.find("nope"), nullptr);
  EXPECT_TRUE(cams.nearest_online({119.9, 28.45}, 300, 0).empty());
}

TEST(ReferenceCameras, FarNorthTheBoxStillHoldsTheCircle) {
  // At 80° north a degree of longitude is 19 km: the search box must widen with latitude.
  Cameras cams;
  Camera c;
  c.id = "N";
  c.at = {10.05, 80.0};  // about 970 m east of the query point
  c.range_m = 1;
  cams.add(c);
  cams.build();
  ASSERT_EQ(cams.nearest_online({10.0, 80.0}, 1000, 8).size(), 1u);
  EXPECT_TRUE(cams.nearest_online({10.0, 80.0}, 900, 8).empty());
}

TEST(ReferenceAddresses, ExactThenAliasTheSmallestIdOfEach) {
  Addresses a;
  a.add("A2", "中山街12号", "中山街12号", {"中山街十二号"}, {1, 1});
  a.add("A1", "中山街 12 号", "中山街12号", {}, {2, 2});
  a.add("A3", "解放街8号", "解放街8号", {"中山街十二号", "解放八号"}, {3, 3});
  a.build();
  EXPECT_EQ(a.size(), 3u);
  ASSERT_NE(a.exact("中山街12号"), nullptr);
  EXPECT_EQ(a.exact("中山街12号")->id, "A1");
  EXPECT_EQ(a.exact("中山街12号")->text, "中山街 12 号");
  EXPECT_EQ(a.exact("中山街12号")->at.lon, 2);
  EXPECT_EQ(a.alias("中山街十二号")->id, "A2");
  EXPECT_EQ(a.alias("解放八号")->id, "A3");
  EXPECT_EQ(a.exact("解放八号"), nullptr);
  EXPECT_EQ(a.alias("中山街12号"), nullptr);
}

TEST(ReferenceAddresses, FuzzyRanksByTrigramSimilarityThenId) {
  const auto rules = trigram::CharRules::of_locale("C.UTF-8");
  if (!rules) GTEST_SKIP() << "no C.UTF-8 locale here";
  Addresses a(rules);
  a.add("A3", "解放街8号", "解放街8号", {}, {3, 3});
  a.add("A2", "中山街12号", "中山街12号", {}, {1, 1});
  a.add("A1", "中山街12号", "中山街12号", {}, {2, 2});
  a.add("A4", "中山街13号", "中山街13号", {}, {4, 4});
  a.build();
  EXPECT_TRUE(a.fuzzy_ready());
  const auto got = a.fuzzy("中山街12号楼", 3, 0.2);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].address->id, "A1");  // equal scores: the smaller id first
  EXPECT_EQ(got[1].address->id, "A2");
  EXPECT_EQ(got[0].score, got[1].score);
  EXPECT_EQ(got[2].address->id, "A4");
  EXPECT_LT(got[2].score, got[1].score);
  EXPECT_TRUE(a.fuzzy("完全不同", 3, 0.2).empty());
  EXPECT_FALSE(Addresses(std::nullopt).fuzzy_ready());
}

// A candidate says which alias gave its score: none when the standard text scores as well
// (a tie goes to the standard text), else the first alias added with that score.
TEST(ReferenceAddresses, FuzzyNamesTheAliasThatScored) {
  const auto rules = trigram::CharRules::of_locale("C.UTF-8");
  if (!rules) GTEST_SKIP() << "no C.UTF-8 locale here";
  Addresses a(rules);
  a.add("A1", "人民路200号", "人民路200号", {"阳光花园七幢", "阳光花园", "阳光花园七幢"}, {1, 1});
  a.add("A2", "阳光花园七幢二单元", "阳光花园七幢二单元", {"阳光花园七幢二单元"}, {2, 2});
  a.add("A3", "解放街8号", "解放街8号", {}, {3, 3});
  a.build();
  const auto got = a.fuzzy("阳光花园七幢二单", 3, 0.2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].address->id, "A2");
  EXPECT_EQ(got[0].alias, "");  // its standard text and its alias score alike: the text
  EXPECT_EQ(got[1].address->id, "A1");
  EXPECT_EQ(got[1].alias, "阳光花园七幢");  // its best alias; the first of the two equal ones
  EXPECT_GT(got[1].score, 0.2f);
  const auto by_text = a.fuzzy("人民路200", 1, 0.2);
  ASSERT_EQ(by_text.size(), 1u);
  EXPECT_EQ(by_text[0].address->id, "A1");
  EXPECT_EQ(by_text[0].alias, "");
}

TEST(ReferenceHomes, TheFirstPersonAddedWhoseAddressExists) {
  Addresses addresses;
  addresses.add("A1", "a1", "a1", {}, {120.0, 30.0});
  addresses.add("A2", "a2", "a2", {}, {120.1, 30.1});
  addresses.build();
  Homes homes;
  // Added in the database's id order: P1 lives at an address that is gone, P2 at A2, P3 at A1.
  homes.add("A-gone", {"13900000001"}, std::string("330100199001011234"));
  homes.add("A2", {"13900000001", "057812345678"}, std::string("330100199001011234"));
  homes.add("A1", {"57812345678", "1234567890123456789", "+86 139"}, std::string("33010019900101123X"));
  homes.add("A1", {}, std::string("330100900101123"));  // an old 15-digit number
  homes.add("A2", {}, std::string("33010019900101123x"));
  homes.build();
  EXPECT_EQ(homes.size(), 5u);
  EXPECT_EQ(homes.by_phone("13900000001", addresses)->id, "A2");
  // A leading zero is part of the number.
  EXPECT_EQ(homes.by_phone("057812345678", addresses)->id, "A2");
  EXPECT_EQ(homes.by_phone("57812345678", addresses)->id, "A1");
  EXPECT_EQ(homes.by_phone("0057812345678", addresses), nullptr);
  // Keys without the packed form: too long, not digits.
  EXPECT_EQ(homes.by_phone("1234567890123456789", addresses)->id, "A1");
  EXPECT_EQ(homes.by_phone("+86 139", addresses)->id, "A1");
  EXPECT_EQ(homes.by_phone("139", addresses), nullptr);
  EXPECT_EQ(homes.by_phone("", addresses), nullptr);
  EXPECT_EQ(homes.by_id_number("330100199001011234", addresses)->id, "A2");
  EXPECT_EQ(homes.by_id_number("33010019900101123X", addresses)->id, "A1");
  EXPECT_EQ(homes.by_id_number("33010019900101123x", addresses)->id, "A2");
  EXPECT_EQ(homes.by_id_number("330100900101123", addresses)->id, "A1");
  EXPECT_EQ(homes.by_id_number("330100199001011235", addresses), nullptr);
  // A phone is not an identity number.
  EXPECT_EQ(homes.by_id_number("13900000001", addresses), nullptr);
  EXPECT_EQ(addresses.find("A2")->id, "A2");
  EXPECT_EQ(addresses.find("A3"), nullptr);
}

// Packed keys are exact: every digit string of up to 17 digits, leading zeros included, is
// its own key (checked on random neighbours, which share most digits).
TEST(ReferenceHomes, PackedPhonesNeverCollide) {
  Addresses addresses;
  std::mt19937_64 rng(7);
  std::vector<std::string> phones;
  for (int k = 0; k < 3000; ++k) {
    std::string p(1 + rng() % 17, '0');
    for (auto& c : p) c = static_cast<char>('0' + rng() % 3);  // few digits: many near neighbours
    phones.push_back(p);
  }
  std::sort(phones.begin(), phones.end());
  phones.erase(std::unique(phones.begin(), phones.end()), phones.end());
  for (std::size_t k = 0; k < phones.size(); ++k)
    addresses.add("A" + std::to_string(k), "t", "t" + std::to_string(k), {}, {120.0, 30.0});
  addresses.build();
  Homes homes;
  for (std::size_t k = 0; k < phones.size(); ++k) homes.add("A" + std::to_string(k), {phones[k]}, std::nullopt);
  homes.build();
  for (std::size_t k = 0; k < phones.size(); ++k) {
    const auto* a = homes.by_phone(phones[k], addresses);
    ASSERT_NE(a, nullptr) << phones[k];
    EXPECT_EQ(a->id, "A" + std::to_string(k)) << phones[k];
  }
}

// The household as the parts statement lists it: per address the first `max` persons by id
// (the order added), the subjects' homes (each once, whichever key found them), "address"
// before "subject", at most `max` rows, a person at both listed twice.
TEST(ReferenceHomes, HouseholdAsTheStatementListsIt) {
  Homes homes;
  homes.add("A1", {"13900000001"}, std::string("330100199001011234"), "P1", {"floating", "elderly_alone"});
  homes.add("A2", {"13900000002"}, std::nullopt, "P2", {});
  homes.add("A1", {}, std::nullopt, "P3", {"minor"});
  homes.add("A3", {"13900000001", "+86 1"}, std::nullopt, "P4", {"disabled", "mental_illness", "person_of_interest"});
  homes.add("A1", {}, std::nullopt, "P5", {});
  homes.add("A2", {}, std::string("330100199001011234"), "P6", {});
  homes.build();
  ASSERT_TRUE(homes.households());
  const auto ids = [](const std::vector<Homes::Member>& m) {
    std::vector<std::string> out;
    for (const auto& x : m) out.push_back(x.person_id + "/" + x.via);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(homes.household("A1", {}, {}, 10)), (V{"P1/address", "P3/address", "P5/address"}));
  EXPECT_EQ(ids(homes.household("A1", {}, {}, 2)), (V{"P1/address", "P3/address"}));
  EXPECT_TRUE(homes.household("A9", {}, {}, 10).empty());
  EXPECT_TRUE(homes.household("", {}, {}, 10).empty());
  // 13900000001: P1 at A1, P4 at A3; the id number: P1 at A1 again, P6 at A2.
  EXPECT_EQ(ids(homes.household("A2", {"13900000001"}, {"330100199001011234"}, 10)),
            (V{"P2/address", "P6/address", "P1/subject", "P2/subject", "P3/subject", "P4/subject", "P5/subject",
               "P6/subject"}));
  EXPECT_EQ(ids(homes.household("", {"+86 1"}, {}, 10)), (V{"P4/subject"}));
  EXPECT_EQ(ids(homes.household("A3", {"13900000001"}, {}, 3)), (V{"P4/address", "P1/subject", "P3/subject"}));
  const auto m = homes.household("A3", {}, {}, 10);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].flags, (V{"disabled", "mental_illness", "person_of_interest"}));
  EXPECT_EQ(homes.household("A1", {}, {}, 1)[0].flags, (V{"floating", "elderly_alone"}));
}

// Flags import would refuse (unknown, repeated) cannot be told back exactly: the household is
// then left to the tables.
TEST(ReferenceHomes, UnknownOrRepeatedFlagsLeaveTheHouseholdToTheTables) {
  for (const auto& flags : {std::vector<std::string>{"vip"}, std::vector<std::string>{"minor", "minor"}}) {
    Homes homes;
    homes.add("A1", {}, std::nullopt, "P1", {"minor"});
    homes.add("A1", {}, std::nullopt, "P2", flags);
    homes.build();
    EXPECT_FALSE(homes.households());
  }
}

TEST(ReferenceIndex, VersionSumAndMarkers) {
  Index i;
  i.versions = {{"zones", 3}, {"cameras", 4}};
  EXPECT_EQ(i.version_sum(), 7);
  EXPECT_EQ(i.marker("M1"), nullptr);
  auto markers = std::make_shared<std::unordered_map<std::string, Marker>>();
  (*markers)["M1"] = Marker{{119.9, 28.4}, "CM"};
  i.markers = markers;
  ASSERT_NE(i.marker("M1"), nullptr);
  EXPECT_EQ(i.marker("M1")->camera_id, "CM");
  EXPECT_EQ(i.marker("M2"), nullptr);
}

}  // namespace
}  // namespace xiaonao::domain::reference
