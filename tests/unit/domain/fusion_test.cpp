#include "xiaonao/domain/fusion.hpp"

#include <cmath>

#include <set>

#include <gtest/gtest.h>

namespace xiaonao::domain::fusion {
namespace {

using namespace std::chrono_literals;

// About 1 m of latitude in degrees, and of longitude at 28° N.
constexpr double kLat1m = 1.0 / 111195.0;
constexpr double kLon1m = kLat1m / 0.8829475928589269;  // cos(28°)

const GeoPoint kCam{119.9, 28.0};
GeoPoint north_of(GeoPoint p, double m) { return {p.lon, p.lat + m * kLat1m}; }
GeoPoint east_of(GeoPoint p, double m) { return {p.lon + m * kLon1m, p.lat}; }

TEST(FusionGeometry, DistanceAndBearing) {
  EXPECT_NEAR(distance_m(kCam, north_of(kCam, 100)), 100.0, 0.5);
  EXPECT_NEAR(distance_m(kCam, east_of(kCam, 100)), 100.0, 0.5);
  EXPECT_NEAR(bearing_deg(kCam, north_of(kCam, 50)), 0.0, 0.01);
  EXPECT_NEAR(bearing_deg(kCam, east_of(kCam, 50)), 90.0, 0.1);
  EXPECT_NEAR(bearing_deg(kCam, north_of(kCam, -50)), 180.0, 0.01);
  EXPECT_NEAR(bearing_deg(kCam, east_of(kCam, -50)), 270.0, 0.1);
}

TEST(FusionInView, InFrontBehindAndBeyondRange) {
  const CameraGeometry east{kCam, 90.0, 60.0, 100.0};
  EXPECT_TRUE(in_view(east, east_of(kCam, 50)));
  EXPECT_FALSE(in_view(east, east_of(kCam, -50))) << "behind";
  EXPECT_FALSE(in_view(east, east_of(kCam, 150))) << "beyond range";
  EXPECT_FALSE(in_view(east, north_of(kCam, 50))) << "90° off axis";
}

TEST(FusionInView, EdgeOfTheWedge) {
  // 30° off a 60° camera's axis is on the edge: seen; 32° is not.
  const CameraGeometry north{kCam, 0.0, 60.0, 200.0};
  const GeoPoint p30{kCam.lon + 50 * std::sin(30 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(30 * M_PI / 180) * kLat1m};
  const GeoPoint p32{kCam.lon + 50 * std::sin(32 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(32 * M_PI / 180) * kLat1m};
  const GeoPoint p28{kCam.lon + 50 * std::sin(28 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(28 * M_PI / 180) * kLat1m};
  EXPECT_TRUE(in_view(north, p28));
  EXPECT_NEAR(bearing_deg(kCam, p30), 30.0, 0.05);
  EXPECT_FALSE(in_view(north, p32));
}

TEST(FusionInView, WrapsAroundNorth) {
  // Facing 350° with 40° fov sees 330°..10°: a point at 5° (across north) is in view.
  const CameraGeometry cam{kCam, 350.0, 40.0, 200.0};
  const GeoPoint p5{kCam.lon + 50 * std::sin(5 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(5 * M_PI / 180) * kLat1m};
  const GeoPoint p15{kCam.lon + 50 * std::sin(15 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(15 * M_PI / 180) * kLat1m};
  EXPECT_TRUE(in_view(cam, p5));
  EXPECT_FALSE(in_view(cam, p15));
  const CameraGeometry cam10{kCam, 10.0, 40.0, 200.0};
  const GeoPoint p355{kCam.lon - 50 * std::sin(5 * M_PI / 180) * kLon1m, kCam.lat + 50 * std::cos(5 * M_PI / 180) * kLat1m};
  EXPECT_TRUE(in_view(cam10, p355));
}

TEST(FusionInView, DomeSeesAllAroundWithinRange) {
  const CameraGeometry dome{kCam, std::nullopt, 360.0, 80.0};
  EXPECT_TRUE(in_view(dome, east_of(kCam, -50)));
  EXPECT_TRUE(in_view(dome, north_of(kCam, 79)));
  EXPECT_FALSE(in_view(dome, north_of(kCam, 81)));
  const CameraGeometry full{kCam, 45.0, 360.0, 80.0};
  EXPECT_TRUE(in_view(full, east_of(kCam, -50)));
  EXPECT_TRUE(in_view(CameraGeometry{kCam, 90.0, 10.0, 50.0}, kCam)) << "at the camera itself";
}

TEST(FusionCategories, RelatedGroups) {
  EXPECT_TRUE(related_categories("theft", "theft"));
  EXPECT_TRUE(related_categories("theft", "burglary"));
  EXPECT_TRUE(related_categories("assault", "robbery"));
  EXPECT_TRUE(related_categories("fire", "medical"));
  EXPECT_FALSE(related_categories("theft", "assault"));
  EXPECT_FALSE(related_categories("fraud", "noise"));
}

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'790'000'000));

TEST(FusionMerge, DistanceTimeAndCategory) {
  const MergeRule rule{200, 600};
  const std::vector<MergeCandidate> open{{"a", "theft", north_of(kCam, 0), kT0}};
  EXPECT_EQ(merge_target({"theft", north_of(kCam, 150), kT0 + 300s}, open, rule), 0u);
  EXPECT_EQ(merge_target({"burglary", north_of(kCam, 150), kT0 + 300s}, open, rule), 0u) << "related";
  EXPECT_FALSE(merge_target({"theft", north_of(kCam, 250), kT0 + 300s}, open, rule)) << "too far";
  EXPECT_FALSE(merge_target({"theft", north_of(kCam, 10), kT0 + 601s}, open, rule)) << "too late";
  EXPECT_TRUE(merge_target({"theft", north_of(kCam, 10), kT0 + 600s}, open, rule)) << "window inclusive";
  EXPECT_FALSE(merge_target({"assault", north_of(kCam, 10), kT0 + 60s}, open, rule)) << "unrelated";
  EXPECT_FALSE(merge_target({"theft", north_of(kCam, 10), kT0 + 60s}, {}, rule)) << "no open incident (closed ones are not offered)";
}

TEST(FusionMerge, PrefersSameCategoryThenNearest) {
  const MergeRule rule{200, 600};
  const std::vector<MergeCandidate> open{{"a", "burglary", north_of(kCam, 5), kT0},
                                         {"b", "theft", north_of(kCam, 100), kT0},
                                         {"c", "theft", north_of(kCam, 50), kT0}};
  EXPECT_EQ(merge_target({"theft", kCam, kT0 + 10s}, open, rule), 2u);
  EXPECT_EQ(merge_target({"burglary", kCam, kT0 + 10s}, open, rule), 0u);
}

TEST(FusionMerge, InBatchAlertJoinsAnIncidentOpenedEarlierInTheBatch) {
  const MergeRule rule{200, 600};
  const std::vector<std::optional<MergeAlert>> alerts{
      MergeAlert{"theft", kCam, kT0}, std::nullopt, MergeAlert{"theft", north_of(kCam, 20), kT0 + 5s},
      MergeAlert{"theft", north_of(kCam, 2000), kT0 + 5s}};
  const auto plan = plan_merges(alerts, {}, {"n0", "n1", "n2", "n3"}, rule);
  ASSERT_EQ(plan.target.size(), 4u);
  EXPECT_EQ(plan.target[0], -1);
  EXPECT_EQ(plan.target[1], -1) << "unlocated alerts never merge";
  ASSERT_GE(plan.target[2], 0);
  EXPECT_EQ(plan.targets[plan.target[2]].id, "n0");
  EXPECT_EQ(plan.opened_by[plan.target[2]], 0);
  EXPECT_EQ(plan.target[3], -1);
  const auto with_open = plan_merges(alerts, {{"old", "theft", north_of(kCam, 10), kT0 - 60s}}, {"n0", "n1", "n2", "n3"}, rule);
  EXPECT_EQ(with_open.target[0], 0);
  EXPECT_EQ(with_open.opened_by[0], -1);
}

TEST(FusionRank, MarkerCameraThenInViewThenNearest) {
  std::vector<CameraHit> cams{{"far_view", 200, true, false},
                              {"near_blind", 10, false, false},
                              {"near_view", 30, true, false},
                              {"marker", 250, false, true}};
  rank_cameras(cams, 3);
  ASSERT_EQ(cams.size(), 3u);
  EXPECT_EQ(cams[0].id, "marker");
  EXPECT_EQ(cams[1].id, "near_view");
  EXPECT_EQ(cams[2].id, "far_view");
}

TEST(FusionRank, VulnerableResidentsFirst) {
  std::vector<Resident> r{{"p1", {}}, {"p2", {"floating"}}, {"p3", {"person_of_interest"}}, {"p4", {"minor"}},
                          {"p0", {"floating", "elderly_alone"}}};
  order_residents(r);
  EXPECT_EQ(r[0].id, "p0");
  EXPECT_EQ(r[1].id, "p4");
  EXPECT_EQ(r[2].id, "p3");
  EXPECT_EQ(r[3].id, "p2");
  EXPECT_EQ(r[4].id, "p1");
}

TEST(FusionAddress, ConfidentAmbiguousAndTooWeak) {
  const AddressRule rule{0.3, 0.6, 0.1};
  auto d = decide_address({{"a", 0.8}, {"b", 0.4}}, rule);
  EXPECT_TRUE(d.use);
  EXPECT_FALSE(d.ambiguous);
  EXPECT_DOUBLE_EQ(d.confidence, 0.8);
  d = decide_address({{"a", 0.8}, {"b", 0.75}}, rule);
  EXPECT_TRUE(d.use);
  EXPECT_TRUE(d.ambiguous);
  EXPECT_DOUBLE_EQ(d.confidence, 0.4);
  d = decide_address({{"a", 0.2}}, rule);
  EXPECT_FALSE(d.use);
  EXPECT_TRUE(d.ambiguous);
  d = decide_address({}, rule);
  EXPECT_FALSE(d.use);
  EXPECT_FALSE(d.ambiguous);
}

}  // namespace
}  // namespace xiaonao::domain::fusion

namespace xiaonao::domain::fusion {
namespace {

using namespace std::chrono_literals;

HistoryPeer peer(std::string id, TimePoint at_time, std::optional<GeoPoint> at, std::string address,
                 std::vector<std::string> phones) {
  return {std::move(id), at_time, at, std::move(address), std::move(phones)};
}

TEST(FusionHistoryPeers, EachReasonAloneAndTogether) {
  const TimePoint t0{std::chrono::seconds(1'800'000'000)};
  const GeoPoint here{119.9, 28.0};
  const auto self = peer("b", t0, here, "addr-1", {"13800000001", "13800000002"});
  EXPECT_EQ(history_reasons(self, peer("a", t0 - 1s, std::nullopt, "addr-1", {}), 100, 365),
            (std::vector<std::string>{"address"}));
  EXPECT_EQ(history_reasons(self, peer("a", t0 - 1s, std::nullopt, "", {"13800000002"}), 100, 365),
            (std::vector<std::string>{"caller"}));
  EXPECT_EQ(history_reasons(self, peer("a", t0 - 1s, GeoPoint{119.9, 28.0 + 99 / 111195.0}, "", {}), 100, 365),
            (std::vector<std::string>{"place"}));
  EXPECT_TRUE(history_reasons(self, peer("a", t0 - 1s, GeoPoint{119.9, 28.0 + 101 / 111195.0}, "", {}), 100, 365)
                  .empty());
  EXPECT_EQ(history_reasons(self, peer("a", t0, here, "addr-1", {"13800000001"}), 100, 365),
            (std::vector<std::string>{"address", "caller", "place"}));
}

TEST(FusionHistoryPeers, NeverSelfNeverLaterNeverBeyondTheLookBack) {
  const TimePoint t0{std::chrono::seconds(1'800'000'000)};
  const GeoPoint here{119.9, 28.0};
  const auto self = peer("b", t0, here, "addr-1", {"1"});
  EXPECT_TRUE(history_reasons(self, self, 100, 365).empty());
  EXPECT_TRUE(history_reasons(self, peer("c", t0 + 1us, here, "addr-1", {"1"}), 100, 365).empty());
  EXPECT_FALSE(history_reasons(self, peer("c", t0 - 24h * 365, here, "", {}), 100, 365).empty());
  EXPECT_TRUE(history_reasons(self, peer("c", t0 - 24h * 365 - 1us, here, "", {}), 100, 365).empty());
  // Unlocated incidents never match by place, and an empty address matches nothing.
  EXPECT_TRUE(history_reasons(peer("b", t0, std::nullopt, "", {}), peer("a", t0, std::nullopt, "", {}), 100, 365)
                  .empty());
}

}  // namespace
}  // namespace xiaonao::domain::fusion

namespace xiaonao::domain::fusion {
namespace {

TEST(FusionRelatedTo, ListsExactlyTheRelatedCategories) {
  const std::vector<std::string> all{"fraud", "theft", "burglary", "robbery", "assault", "gambling", "dispute",
                                     "noise", "traffic_accident", "fire", "medical", "missing_person",
                                     "lost_property", "suicide_risk", "help", "other", "unknown_code"};
  for (const auto& a : all) {
    const auto list = related_to(a);
    EXPECT_EQ(list.front(), a);
    for (const auto& b : all) {
      const bool listed = std::find(list.begin(), list.end(), b) != list.end();
      EXPECT_EQ(listed, related_categories(a, b)) << a << " / " << b;
    }
    std::set<std::string> unique(list.begin(), list.end());
    EXPECT_EQ(unique.size(), list.size()) << a;
  }
  EXPECT_EQ(related_to("robbery").size(), 5u);  // in two groups
}

}  // namespace
}  // namespace xiaonao::domain::fusion
