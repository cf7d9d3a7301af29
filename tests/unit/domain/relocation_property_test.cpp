// Property test of the PATCH /api/v1/incidents/{id} body parser: for random JSON objects it never
// throws, and whatever it accepts is exactly one of a finite in-range point or a 1-128 byte id.
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/fusion.hpp"

namespace xiaonao::domain::fusion {
namespace {

using nlohmann::json;

json random_value(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 2 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return (rng() & 1) != 0;
    case 2: return static_cast<std::int64_t>(rng() % 400) - 200;
    case 3: {
      static const double specials[] = {0.0, -0.0, 180.0, -180.0, 90.0, -90.0, 180.0000001, 1e308,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(), 119.9, 28.45};
      return specials[rng() % std::size(specials)];
    }
    case 4: return std::string(rng() % 140, 'a');
    case 5: return std::string("A1");
    case 6: {
      json o = json::object();
      for (const char* k : {"lon", "lat", "alt"}) {
        if (rng() % 3 != 0) o[k] = random_value(rng, depth + 1);
      }
      return o;
    }
    default: {
      json a = json::array();
      for (std::size_t i = 0; i < rng() % 3; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
  }
}

TEST(RelocationProperty, AcceptsOnlyOneValidTarget) {
  std::mt19937_64 rng(20261126);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    json body = json::object();
    for (const char* k : {"location", "address_id", "status"}) {
      if (rng() % (std::string_view(k) == "status" ? 8 : 2) == 0) body[k] = random_value(rng, 0);
    }
    Result<Relocation> r = Error{ErrorKind::internal, "", ""};
    ASSERT_NO_THROW(r = parse_relocation(body)) << body.dump();
    if (!r) {
      EXPECT_FALSE(r.error().field.empty()) << body.dump();
      EXPECT_TRUE(r.error().kind == ErrorKind::invalid_field || r.error().kind == ErrorKind::missing_field);
      continue;
    }
    ++accepted;
    EXPECT_NE(r->location.has_value(), !r->address_id.empty()) << body.dump();
    if (r->location) {
      EXPECT_TRUE(std::isfinite(r->location->lon) && std::fabs(r->location->lon) <= 180.0) << body.dump();
      EXPECT_TRUE(std::isfinite(r->location->lat) && std::fabs(r->location->lat) <= 90.0) << body.dump();
    } else {
      EXPECT_LE(r->address_id.size(), 128u);
    }
  }
  EXPECT_GT(accepted, 100) << "the generator should hit valid bodies too";
}

TEST(RelocationProperty, Examples) {
  auto r = parse_relocation(json::parse(R"({"location":{"lon":119.9,"lat":28.45}})"));
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->location->lon, 119.9);
  r = parse_relocation(json::parse(R"({"address_id":"A1","location":null})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->address_id, "A1");
  EXPECT_EQ(parse_relocation(json::parse(R"({"location":{"lon":181,"lat":0}})")).error().field, "location.lon");
  EXPECT_EQ(parse_relocation(json::parse(R"({"location":{"lon":1,"lat":0,"alt":3}})")).error().field, "location.alt");
  EXPECT_EQ(parse_relocation(json::parse(R"({"note":"x"})")).error().field, "note");
}

}  // namespace
}  // namespace xiaonao::domain::fusion
