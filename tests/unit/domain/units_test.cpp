// Validation of live unit data (position reports, status changes, track queries) and of the
// map's bbox, layers and simplify parameters.
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/units.hpp"

namespace xiaonao::domain {
namespace {

using nlohmann::json;

json good_position() { return json{{"lon", 120.65}, {"lat", 28.01}, {"at", "2026-11-26T08:30:00+08:00"}}; }

TEST(UnitsPosition, AcceptsAMinimalReport) {
  const auto r = parse_position(good_position());
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->lon, 120.65);
  EXPECT_DOUBLE_EQ(r->lat, 28.01);
  EXPECT_EQ(format_rfc3339(r->at), "2026-11-26T00:30:00.000000Z");
  EXPECT_FALSE(r->speed);
  EXPECT_FALSE(r->heading);
  EXPECT_TRUE(r->unit_id.empty());
}

TEST(UnitsPosition, AcceptsSpeedAndHeadingAndNulls) {
  auto j = good_position();
  j["speed"] = 12.5;
  j["heading"] = 359.9;
  auto r = parse_position(j);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(*r->speed, 12.5);
  EXPECT_DOUBLE_EQ(*r->heading, 359.9);
  j["speed"] = nullptr;
  j["heading"] = nullptr;
  r = parse_position(j);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->speed);
}

struct BadCase {
  const char* member;
  json value;
  ErrorKind kind;
};

TEST(UnitsPosition, RejectsEachBadFieldNamingIt) {
  const std::vector<BadCase> cases = {
      {"lon", nullptr, ErrorKind::missing_field},        {"lon", "120", ErrorKind::invalid_field},
      {"lon", 180.0001, ErrorKind::invalid_field},       {"lon", -181, ErrorKind::invalid_field},
      {"lat", nullptr, ErrorKind::missing_field},        {"lat", 90.5, ErrorKind::invalid_field},
      {"lat", true, ErrorKind::invalid_field},           {"at", nullptr, ErrorKind::missing_field},
      {"at", "yesterday", ErrorKind::invalid_field},     {"at", "2026-11-26T08:30:00", ErrorKind::invalid_field},
      {"at", 1700000000, ErrorKind::invalid_field},      {"speed", -1, ErrorKind::invalid_field},
      {"speed", 201, ErrorKind::invalid_field},          {"speed", "fast", ErrorKind::invalid_field},
      {"heading", 360, ErrorKind::invalid_field},        {"heading", -0.1, ErrorKind::invalid_field},
  };
  for (const auto& c : cases) {
    auto j = good_position();
    if (c.value.is_null()) {
      j.erase(c.member);
    } else {
      j[c.member] = c.value;
    }
    const auto r = parse_position(j);
    ASSERT_FALSE(r.ok()) << c.member << " = " << c.value.dump();
    EXPECT_EQ(r.error().field, c.member) << c.value.dump();
    EXPECT_EQ(r.error().kind, c.kind) << c.member << " = " << c.value.dump();
  }
}

TEST(UnitsPosition, BoundsAreInclusiveWhereTheyShouldBe) {
  for (double lon : {-180.0, 180.0}) {
    auto j = good_position();
    j["lon"] = lon;
    j["lat"] = lon / 2;
    j["speed"] = 0;
    j["heading"] = 0;
    EXPECT_TRUE(parse_position(j).ok()) << lon;
  }
}

TEST(UnitsPositionBatch, NamesTheBadItemAndField) {
  json body = {{"positions", json::array()}};
  for (int i = 0; i < 3; ++i) {
    auto p = good_position();
    p["unit_id"] = "car-" + std::to_string(i);
    body["positions"].push_back(p);
  }
  auto r = parse_position_batch(body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[2].unit_id, "car-2");

  body["positions"][1]["lat"] = 100;
  r = parse_position_batch(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "positions[1].lat");

  body["positions"][1]["lat"] = 28;
  body["positions"][2].erase("unit_id");
  r = parse_position_batch(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "positions[2].unit_id");
  EXPECT_EQ(r.error().kind, ErrorKind::missing_field);

  body["positions"][2]["unit_id"] = "has space";
  EXPECT_EQ(parse_position_batch(body).error().field, "positions[2].unit_id");
  body["positions"][2] = 7;
  EXPECT_EQ(parse_position_batch(body).error().field, "positions[2]");
}

TEST(UnitsPositionBatch, RejectsMissingEmptyAndOversizedLists) {
  EXPECT_EQ(parse_position_batch(json::object()).error().field, "positions");
  EXPECT_EQ(parse_position_batch(json{{"positions", json::object()}}).error().field, "positions");
  EXPECT_EQ(parse_position_batch(json{{"positions", json::array()}}).error().field, "positions");
  json big = {{"positions", json::array()}};
  auto p = good_position();
  p["unit_id"] = "u";
  for (int i = 0; i < 1001; ++i) big["positions"].push_back(p);
  EXPECT_EQ(parse_position_batch(big).error().field, "positions");
  big["positions"].erase(1000);
  EXPECT_TRUE(parse_position_batch(big).ok());
}

TEST(UnitsStatus, AcceptsTheFourStatusesOnly) {
  for (auto s : kUnitStatuses) EXPECT_TRUE(parse_status_body(json{{"status", s}}).ok()) << s;
  for (const json& bad : {json("AVAILABLE"), json("gone"), json(1), json("")}) {
    const auto r = parse_status_body(json{{"status", bad}});
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().field, "status");
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_field);
  }
  EXPECT_EQ(parse_status_body(json::object()).error().kind, ErrorKind::missing_field);
}

TEST(UnitsIds, ReferenceIdsArePrintableAsciiWithoutPathCharacters) {
  EXPECT_TRUE(is_reference_id("WZ-LC-car-017"));
  EXPECT_TRUE(is_reference_id(std::string(64, 'a')));
  for (const char* bad : {"", "a b", "a/b", "a?b", "a%b", "a#b", "车"}) EXPECT_FALSE(is_reference_id(bad)) << bad;
  EXPECT_FALSE(is_reference_id(std::string(65, 'a')));
}

TEST(MapBBox, ParsesAValidBox) {
  const auto b = parse_bbox("120.6,27.9,120.8,28.1", 2500);
  ASSERT_TRUE(b.ok());
  EXPECT_DOUBLE_EQ(b->min_lon, 120.6);
  EXPECT_DOUBLE_EQ(b->max_lat, 28.1);
  EXPECT_NEAR(b->area_km2(), 0.2 * 111.32 * std::cos(28.0 * M_PI / 180) * 0.2 * 111.32, 1e-6);
}

TEST(MapBBox, RejectsMalformedInvertedOutOfRangeAndHugeBoxes) {
  for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "a,b,c,d", "120.6, 27.9,120.8,28.1", "120.6,27.9,120.8,",
                          "nan,1,2,3", "inf,1,2,3", "120.8,27.9,120.6,28.1", "120.6,28.1,120.8,27.9",
                          "120.6,27.9,120.6,28.1", "-181,0,0,1", "0,-91,1,0", "0x1,1,2,3", "+1,1,2,3"}) {
    const auto b = parse_bbox(bad, 1e9);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.error().field, "bbox") << bad;
    EXPECT_EQ(b.error().kind, ErrorKind::bad_request) << bad;
  }
  EXPECT_FALSE(parse_bbox("120,27,121,28", 2500).ok());  // about 10,900 km²
  EXPECT_TRUE(parse_bbox("120,27,121,28", 20000).ok());
}

TEST(MapBBox, NeverThrowsOnRandomText) {
  std::mt19937 rng(42);
  const std::string alphabet = "0123456789.,-+eE naNinf\x01\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, ' ');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    const auto b = parse_bbox(s, 2500);
    if (b.ok()) {
      EXPECT_LT(b->min_lon, b->max_lon) << s;
      EXPECT_LT(b->min_lat, b->max_lat) << s;
      EXPECT_LE(b->area_km2(), 2500) << s;
    } else {
      EXPECT_EQ(b.error().field, "bbox");
    }
  }
}

TEST(MapLayers, DefaultsToAllAndKeepsOneFixedOrder) {
  auto l = parse_layers(std::nullopt);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), kMapLayers.size());
  l = parse_layers("units,stations,units");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"stations", "units"}));
}

TEST(MapLayers, NamesTheUnknownLayer) {
  for (const char* bad : {"units,roads", "units,", ",units", "Units"}) {
    const auto l = parse_layers(std::string_view(bad));
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.error().field, "layers");
  }
  EXPECT_NE(parse_layers(std::string_view("units,roads")).error().message.find("'roads'"), std::string::npos);
  EXPECT_NE(parse_layers(std::string_view("a\x01")).error().message.find("'a?'"), std::string::npos);
}

TEST(MapSimplify, IsAToleranceInMetres) {
  EXPECT_EQ(*parse_simplify(std::nullopt), 0.0);
  EXPECT_EQ(*parse_simplify("12.5"), 12.5);
  for (const char* bad : {"", "-1", "1001", "x", "nan"}) EXPECT_EQ(parse_simplify(bad).error().field, "simplify") << bad;
}

TEST(UnitsTrackQuery, DefaultsAndLimits) {
  const auto now = *parse_rfc3339("2026-11-26T08:00:00Z");
  auto q = parse_track_query(std::nullopt, std::nullopt, std::nullopt, now, 24, 10000);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->to, now);
  EXPECT_EQ(q->to - q->from, std::chrono::hours(1));
  EXPECT_EQ(q->limit, 10000);
  q = parse_track_query("2026-11-25T08:00:00Z", "2026-11-26T08:00:00Z", "50", now, 24, 10000);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->limit, 50);
  EXPECT_EQ(parse_track_query("2026-11-25T07:59:59Z", "2026-11-26T08:00:00Z", std::nullopt, now, 24, 10).error().field,
            "from");
  EXPECT_EQ(parse_track_query("2026-11-26T09:00:00Z", "2026-11-26T08:00:00Z", std::nullopt, now, 24, 10).error().field,
            "from");
  EXPECT_EQ(parse_track_query("noon", std::nullopt, std::nullopt, now, 24, 10).error().field, "from");
  EXPECT_EQ(parse_track_query(std::nullopt, "noon", std::nullopt, now, 24, 10).error().field, "to");
  for (const char* bad : {"0", "11", "-1", "", "1e3", "5x"})
    EXPECT_EQ(parse_track_query(std::nullopt, std::nullopt, std::string_view(bad), now, 24, 10).error().field, "limit")
        << bad;
}

}  // namespace
}  // namespace xiaonao::domain
