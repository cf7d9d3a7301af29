#include "xiaonao/domain/reference.hpp"

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

using nlohmann::json;

json point(double lon = 119.92, double lat = 28.45) {
  return {{"type", "Point"}, {"coordinates", {lon, lat}}};
}

json square(double x = 119.9, double y = 28.4, double d = 0.01) {
  return {{"type", "Polygon"}, {"coordinates", {{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}}}};
}

json feature(json props, json geom = nullptr) {
  return {{"type", "Feature"}, {"properties", std::move(props)}, {"geometry", std::move(geom)}};
}

// The error of parsing `f` as feature 3 of `kind`; fails the test when it parses.
Error error_of(RefKind kind, const json& f) {
  auto r = parse_ref_feature(kind, f, 3);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

TEST(RefKind, NamesRoundTrip) {
  EXPECT_EQ(all_ref_kinds().size(), 8u);
  for (auto k : all_ref_kinds()) EXPECT_EQ(parse_ref_kind(ref_kind_name(k)), k);
  EXPECT_FALSE(parse_ref_kind("people"));
  EXPECT_FALSE(parse_ref_kind(""));
}

TEST(RefFeature, Station) {
  auto r = parse_ref_feature(RefKind::stations, feature({{"id", "S1"}, {"name", "城东派出所"}, {"phone", "0578-1"}}, point()), 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = std::get<StationRow>(*r);
  EXPECT_EQ(s.id, "S1");
  EXPECT_EQ(s.name, "城东派出所");
  EXPECT_EQ(s.phone, "0578-1");
  EXPECT_DOUBLE_EQ(s.point.lon, 119.92);
  EXPECT_EQ(ewkt(s.point), "SRID=4326;POINT(119.92 28.45)");
}

TEST(RefFeature, ZonePolygonBecomesMultiPolygon) {
  auto r = parse_ref_feature(RefKind::zones,
                             feature({{"id", "Z1"}, {"name", "一区"}, {"station_id", "S1"}, {"area_type", "urban"},
                                      {"officer_name", "王警官"}, {"officer_phone", "13800000000"}},
                                     square(1, 2, 1)),
                             0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& z = std::get<ZoneRow>(*r);
  ASSERT_EQ(z.geom.size(), 1u);
  EXPECT_EQ(z.area_type, "urban");
  EXPECT_EQ(ewkt(z.geom), "SRID=4326;MULTIPOLYGON(((1 2,2 2,2 3,1 3,1 2)))");
}

TEST(RefFeature, GridMultiPolygonKeepsEveryPart) {
  json mp = {{"type", "MultiPolygon"},
             {"coordinates", {square(0, 0, 1)["coordinates"], square(5, 5, 1)["coordinates"]}}};
  auto r = parse_ref_feature(RefKind::grids, feature({{"id", "G1"}, {"name", "网格1"}, {"zone_id", "Z1"}, {"worker_name", "李"}}, mp), 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<GridRow>(*r).geom.size(), 2u);
  EXPECT_FALSE(std::get<GridRow>(*r).worker_phone);
}

TEST(RefFeature, AddressNormalisesTextAndAliases) {
  auto r = parse_ref_feature(RefKind::addresses,
                             feature({{"id", "A1"}, {"text", "中山街１２３号（B幢）"}, {"aliases", {"老邮局", "老邮局 ", "", "中山街123号B幢"}}}, point()), 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& a = std::get<AddressRow>(*r);
  EXPECT_EQ(a.norm, "中山街123号b幢");
  EXPECT_EQ(a.aliases.size(), 4u);
  EXPECT_EQ(a.alias_norms, std::vector<std::string>{"老邮局"});
}

TEST(RefFeature, PersonPhonesAsStringOrArrayAreNormalised) {
  auto one = parse_ref_feature(RefKind::persons, feature({{"id", "P1"}, {"name", "张三"}, {"phone", "+86 138-0000-0001"}}), 0);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(std::get<PersonRow>(*one).phones, std::vector<std::string>{"13800000001"});
  auto many = parse_ref_feature(
      RefKind::persons,
      feature({{"id", 42}, {"name", "李四"}, {"phone", {"13800000001", "8613800000001", "13900000002", "--"}},
               {"flags", {"elderly_alone", "disabled", "elderly_alone"}}, {"address_id", "A1"}, {"id_number", "3311"}}),
      0);
  ASSERT_TRUE(many.ok()) << many.error().message;
  const auto& p = std::get<PersonRow>(*many);
  EXPECT_EQ(p.id, "42");
  EXPECT_EQ(p.phones, (std::vector<std::string>{"13800000001", "13900000002"}));
  EXPECT_EQ(p.flags, (std::vector<std::string>{"elderly_alone", "disabled"}));
  EXPECT_EQ(p.address_id, "A1");
  auto bare = parse_ref_feature(RefKind::persons, json{{"type", "Feature"}, {"properties", {{"id", "P2"}, {"name", "王"}}}}, 0);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(std::get<PersonRow>(*bare).phones.empty());
}

TEST(RefFeature, CameraDefaultsAndDirectional) {
  auto dome = parse_ref_feature(RefKind::cameras, feature({{"id", "C1"}, {"name", "路口"}, {"range_m", 80}}, point()), 0);
  ASSERT_TRUE(dome.ok()) << dome.error().message;
  const auto& d = std::get<CameraRow>(*dome);
  EXPECT_FALSE(d.bearing_deg);
  EXPECT_EQ(d.fov_deg, 360);
  EXPECT_TRUE(d.online);
  auto dir = parse_ref_feature(RefKind::cameras,
                               feature({{"id", "C2"}, {"name", "北向"}, {"bearing_deg", 0}, {"fov_deg", 60}, {"range_m", 120.5},
                                        {"stream_url", "rtsp://10.0.0.1/1"}, {"online", false}},
                                       point()),
                               0);
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  EXPECT_EQ(std::get<CameraRow>(*dir).bearing_deg, 0.0);
  EXPECT_FALSE(std::get<CameraRow>(*dir).online);
}

TEST(RefFeature, UnitAndMarker) {
  auto u = parse_ref_feature(RefKind::units,
                             feature({{"id", "U1"}, {"call_sign", "城东1号"}, {"kind", "patrol_car"}, {"station_id", "S1"}, {"status", "available"}}, point()), 0);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(std::get<UnitRow>(*u).kind, "patrol_car");
  auto m = parse_ref_feature(RefKind::markers, feature({{"id", "LS-0001"}, {"description", "江滨路\n3号柱"}, {"camera_id", "C1"}}, point()), 0);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(std::get<MarkerRow>(*m).camera_id, "C1");
}

TEST(RefFeatureErrors, FeatureShape) {
  EXPECT_EQ(error_of(RefKind::stations, json::array()).field, "features[3]");
  EXPECT_EQ(error_of(RefKind::stations, json{{"type", "Point"}}).field, "features[3].type");
  EXPECT_EQ(error_of(RefKind::stations, json{{"type", "Feature"}, {"properties", 1}}).field, "features[3].properties");
}

TEST(RefFeatureErrors, Ids) {
  EXPECT_EQ(error_of(RefKind::stations, feature({{"name", "x"}}, point())).kind, ErrorKind::missing_field);
  EXPECT_EQ(error_of(RefKind::stations, feature({{"name", "x"}}, point())).field, "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", ""}, {"name", "x"}}, point())).field, "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", std::string(65, 'a')}, {"name", "x"}}, point())).field,
            "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", -1}, {"name", "x"}}, point())).field, "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", 1.5}, {"name", "x"}}, point())).field, "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "a\tb"}, {"name", "x"}}, point())).field, "features[3].properties.id");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", std::string("a\0b", 3)}, {"name", "x"}}, point())).field,
            "features[3].properties.id");
}

TEST(RefFeatureErrors, RequiredNamesAndTypes) {
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "S"}}, point())).field, "features[3].properties.name");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "S"}, {"name", ""}}, point())).field, "features[3].properties.name");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "S"}, {"name", 5}}, point())).field, "features[3].properties.name");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "S"}, {"name", std::string(300, 'x')}}, point())).field,
            "features[3].properties.name");
  EXPECT_EQ(error_of(RefKind::stations, feature({{"id", "S"}, {"name", "x"}, {"phone", 1}}, point())).field,
            "features[3].properties.phone");
  EXPECT_EQ(error_of(RefKind::addresses, feature({{"id", "A"}}, point())).field, "features[3].properties.text");
  EXPECT_EQ(error_of(RefKind::addresses, feature({{"id", "A"}, {"text", "，。"}}, point())).field, "features[3].properties.text");
  EXPECT_EQ(error_of(RefKind::addresses, feature({{"id", "A"}, {"text", "x"}, {"aliases", "y"}}, point())).field,
            "features[3].properties.aliases");
  EXPECT_EQ(error_of(RefKind::addresses, feature({{"id", "A"}, {"text", "x"}, {"aliases", {"y", 2}}}, point())).field,
            "features[3].properties.aliases[1]");
  EXPECT_EQ(error_of(RefKind::units, feature({{"id", "U"}, {"kind", "ptu"}, {"status", "busy"}}, point())).field,
            "features[3].properties.call_sign");
  EXPECT_EQ(error_of(RefKind::grids, feature({{"id", "G"}, {"name", "g"}}, square())).field, "features[3].properties.zone_id");
  EXPECT_EQ(error_of(RefKind::zones, feature({{"id", "Z"}, {"name", "z"}, {"area_type", "urban"}}, square())).field,
            "features[3].properties.station_id");
}

TEST(RefFeatureErrors, Enums) {
  const json zone = {{"id", "Z"}, {"name", "z"}, {"station_id", "S"}, {"area_type", "downtown"}};
  auto e = error_of(RefKind::zones, feature(zone, square()));
  EXPECT_EQ(e.field, "features[3].properties.area_type");
  EXPECT_EQ(e.kind, ErrorKind::invalid_field);
  EXPECT_NE(e.message.find("urban"), std::string::npos);
  const json unit = {{"id", "U"}, {"call_sign", "c"}, {"kind", "tank"}, {"status", "busy"}};
  EXPECT_EQ(error_of(RefKind::units, feature(unit, point())).field, "features[3].properties.kind");
  json unit2 = unit;
  unit2["kind"] = "drone";
  unit2["status"] = "asleep";
  EXPECT_EQ(error_of(RefKind::units, feature(unit2, point())).field, "features[3].properties.status");
  unit2.erase("status");
  EXPECT_EQ(error_of(RefKind::units, feature(unit2, point())).kind, ErrorKind::missing_field);
  EXPECT_EQ(error_of(RefKind::persons, feature({{"id", "P"}, {"name", "p"}, {"flags", {"minor", "vip"}}})).field,
            "features[3].properties.flags[1]");
  EXPECT_EQ(error_of(RefKind::persons, feature({{"id", "P"}, {"name", "p"}, {"flags", "minor"}})).field,
            "features[3].properties.flags");
  EXPECT_EQ(error_of(RefKind::persons, feature({{"id", "P"}, {"name", "p"}, {"phone", {1}}})).field,
            "features[3].properties.phone[0]");
}

TEST(RefFeatureErrors, CameraNumbers) {
  auto cam = [](json extra) {
    json p = {{"id", "C"}, {"name", "c"}, {"range_m", 50}};
    p.update(extra);
    return feature(p, point());
  };
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"bearing_deg", 360}})).field, "features[3].properties.bearing_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"bearing_deg", -0.5}})).field, "features[3].properties.bearing_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"bearing_deg", "N"}})).field, "features[3].properties.bearing_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"bearing_deg", 10}, {"fov_deg", 0}})).field, "features[3].properties.fov_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"bearing_deg", 10}, {"fov_deg", 361}})).field, "features[3].properties.fov_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"fov_deg", 90}})).field, "features[3].properties.bearing_deg");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"range_m", 0}})).field, "features[3].properties.range_m");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"range_m", nullptr}})).field, "features[3].properties.range_m");
  EXPECT_EQ(error_of(RefKind::cameras, cam({{"online", "yes"}})).field, "features[3].properties.online");
}

TEST(RefFeatureErrors, Geometry) {
  const json st = {{"id", "S"}, {"name", "s"}};
  EXPECT_EQ(error_of(RefKind::stations, feature(st)).field, "features[3].geometry");
  EXPECT_EQ(error_of(RefKind::stations, feature(st)).kind, ErrorKind::missing_field);
  EXPECT_EQ(error_of(RefKind::stations, feature(st, "POINT(1 2)")).field, "features[3].geometry");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, square())).field, "features[3].geometry.type");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, point(181, 0))).field, "features[3].geometry.coordinates");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, point(0, -90.5))).field, "features[3].geometry.coordinates");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, json{{"type", "Point"}, {"coordinates", {1}}})).field,
            "features[3].geometry.coordinates");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, json{{"type", "Point"}, {"coordinates", {1, "2"}}})).field,
            "features[3].geometry.coordinates");
  EXPECT_EQ(error_of(RefKind::stations, feature(st, json{{"type", "Point"}})).field, "features[3].geometry.coordinates");
  // A third (altitude) value is accepted and ignored.
  EXPECT_TRUE(parse_ref_feature(RefKind::stations, feature(st, json{{"type", "Point"}, {"coordinates", {1, 2, 30}}}), 0).ok());
  // Persons have no geometry.
  EXPECT_EQ(error_of(RefKind::persons, feature({{"id", "P"}, {"name", "p"}}, point())).field, "features[3].geometry");
}

TEST(RefFeatureErrors, PolygonRings) {
  const json z = {{"id", "Z"}, {"name", "z"}, {"station_id", "S"}, {"area_type", "rural"}};
  json open = {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}};
  auto e = error_of(RefKind::zones, feature(z, open));
  EXPECT_EQ(e.field, "features[3].geometry.coordinates[0]");
  EXPECT_NE(e.message.find("closed"), std::string::npos);
  json tiny = {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 0}, {0, 0}}}}};
  EXPECT_EQ(error_of(RefKind::zones, feature(z, tiny)).field, "features[3].geometry.coordinates[0]");
  json bad_point = {{"type", "Polygon"}, {"coordinates", {{{0, 0}, {1, 0}, {1, 100}, {0, 0}}}}};
  EXPECT_EQ(error_of(RefKind::zones, feature(z, bad_point)).field, "features[3].geometry.coordinates[0][2]");
  json empty = {{"type", "Polygon"}, {"coordinates", json::array()}};
  EXPECT_EQ(error_of(RefKind::zones, feature(z, empty)).field, "features[3].geometry.coordinates");
  json multi_bad = {{"type", "MultiPolygon"}, {"coordinates", {square()["coordinates"], open["coordinates"]}}};
  EXPECT_EQ(error_of(RefKind::zones, feature(z, multi_bad)).field, "features[3].geometry.coordinates[1][0]");
  EXPECT_EQ(error_of(RefKind::zones, feature(z, point())).field, "features[3].geometry.type");
}

TEST(RefCollection, ParsesAndRefusesDuplicatesAndWrongShapes) {
  json fc = {{"type", "FeatureCollection"},
             {"features", {feature({{"id", "S1"}, {"name", "a"}}, point()), feature({{"id", "S2"}, {"name", "b"}}, point())}}};
  auto ok = parse_ref_collection(RefKind::stations, fc);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ(ref_row_id((*ok)[1]), "S2");

  fc["features"].push_back(feature({{"id", "S1"}, {"name", "c"}}, point()));
  auto dup = parse_ref_collection(RefKind::stations, fc);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().field, "features[2].properties.id");

  EXPECT_EQ(parse_ref_collection(RefKind::stations, json{{"type", "Feature"}}).error().field, "type");
  EXPECT_EQ(parse_ref_collection(RefKind::stations, json{{"features", json::array()}}).error().field, "type");
  EXPECT_EQ(parse_ref_collection(RefKind::stations, json{{"type", "FeatureCollection"}}).error().field, "features");
  EXPECT_EQ(parse_ref_collection(RefKind::stations, json{{"type", "FeatureCollection"}, {"features", {}}}).error().field,
            "features");
  EXPECT_TRUE(parse_ref_collection(RefKind::stations, json{{"type", "FeatureCollection"}, {"features", json::array()}}).ok());
  EXPECT_FALSE(parse_ref_collection(RefKind::stations, json::array()).ok());
}

TEST(RefEwkt, ShortestRoundTripNumbers) {
  EXPECT_EQ(ewkt(LonLat{120.123456789, -28.5}), "SRID=4326;POINT(120.123456789 -28.5)");
  EXPECT_EQ(ewkt(LonLat{0.1, 0}), "SRID=4326;POINT(0.1 0)");
}

}  // namespace
}  // namespace xiaonao::domain
