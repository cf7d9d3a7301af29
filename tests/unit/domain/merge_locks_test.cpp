// The merge lock by area (domain::fusion::merge_locks): alerts within the merge radius of each
// other always lock a cell in common; distant ones do not; the global key where cells cannot say it.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

#include <gtest/gtest.h>

#include "xiaonao/domain/fusion.hpp"

namespace xiaonao::domain::fusion {
namespace {

bool shares_a_cell(const MergeLocks& a, const MergeLocks& b) {
  std::vector<std::int32_t> common;
  std::set_intersection(a.cells.begin(), a.cells.end(), b.cells.begin(), b.cells.end(), std::back_inserter(common));
  return !common.empty();
}

bool holds(const MergeLocks& l, GeoPoint p) {
  return std::binary_search(l.cells.begin(), l.cells.end(), merge_cell(p));
}

TEST(FusionMergeLocks, CellKeysCoverTheEarthInInt32) {
  EXPECT_EQ(merge_cell({-180.0, -90.0}), 0);
  EXPECT_EQ(merge_cell({180.0, 90.0}), 36000 * 18001 + 18000);
  EXPECT_NE(merge_cell({119.455, 28.455}), merge_cell({119.465, 28.455}));
  EXPECT_NE(merge_cell({119.455, 28.455}), merge_cell({119.455, 28.465}));
  EXPECT_EQ(merge_cell({119.451, 28.451}), merge_cell({119.459, 28.459}));
}

TEST(FusionMergeLocks, AnAlertInTheMiddleOfItsCellLocksOnlyThatCell) {
  const auto l = merge_locks({{119.455, 28.455}}, 200);
  EXPECT_FALSE(l.global);
  EXPECT_EQ(l.cells, std::vector<std::int32_t>{merge_cell({119.455, 28.455})});
}

TEST(FusionMergeLocks, AnAlertNearAnEdgeLocksTheNeighbourToo) {
  // 10 m west of the line lon = 119.5, 10 m south of lat = 28.46: four cells.
  const GeoPoint p{119.5 - 0.0001, 28.46 - 0.00009};
  const auto l = merge_locks({p}, 200);
  EXPECT_FALSE(l.global);
  EXPECT_EQ(l.cells.size(), 4u);
  EXPECT_TRUE(holds(l, p));
  EXPECT_TRUE(holds(l, {119.5001, 28.46 - 0.00009}));
  EXPECT_TRUE(holds(l, {119.5 - 0.0001, 28.4601}));
  EXPECT_TRUE(holds(l, {119.5001, 28.4601}));
}

TEST(FusionMergeLocks, DistantBatchesShareNoCellAndABatchLocksAllItsAlertsCells) {
  const GeoPoint a{119.455, 28.455}, b{119.555, 28.455};
  const auto la = merge_locks({a}, 200), lb = merge_locks({b}, 200);
  EXPECT_FALSE(shares_a_cell(la, lb));
  const auto both = merge_locks({b, a, a}, 200);
  EXPECT_EQ(both.cells.size(), 2u);
  EXPECT_TRUE(std::is_sorted(both.cells.begin(), both.cells.end()));
  EXPECT_TRUE(holds(both, a));
  EXPECT_TRUE(holds(both, b));
}

TEST(FusionMergeLocks, GlobalKeyWhereCellsCannotSayIt) {
  EXPECT_TRUE(merge_locks({{10.0, 86.0}}, 200).global) << "near a pole";
  EXPECT_TRUE(merge_locks({{10.0, -84.999}}, 200).global) << "the box reaches past 85°";
  EXPECT_TRUE(merge_locks({{179.9999, 10.0}}, 200).global) << "across the antimeridian";
  EXPECT_TRUE(merge_locks({{-179.9999, 10.0}}, 200).global);
  EXPECT_TRUE(merge_locks({{119.455, 28.455}}, 10000).global) << "too many cells for a 10-km radius";
  EXPECT_TRUE(merge_locks({{119.455, std::nan("")}}, 200).global);
  // Many alerts spread over the county: more than 64 cells in all.
  std::vector<GeoPoint> spread;
  for (int i = 0; i < 70; ++i) spread.push_back({119.0 + i * 0.02, 28.455});
  EXPECT_TRUE(merge_locks(spread, 200).global);
}

// The property the lock rests on: two points within the radius of each other (measured on the
// sphere, with 4% to spare for the spheroid PostGIS measures on) always share a cell, and
// each batch holds its own cell.
TEST(FusionMergeLocks, PointsWithinTheRadiusAlwaysShareACell) {
  std::mt19937_64 rng(20261126);
  std::uniform_real_distribution<double> lat_d(-84.0, 84.0), lon_d(-179.0, 179.0), radius_d(1.0, 3000.0),
      unit(-1.0, 1.0);
  int pairs = 0, global = 0;
  for (int i = 0; i < 200000 && pairs < 20000; ++i) {
    const double radius = i % 4 == 0 ? 200.0 : radius_d(rng);
    const GeoPoint p{lon_d(rng), lat_d(rng)};
    const double dlat = radius * 1.2 / 111195.0;
    const double dlon = dlat / std::max(0.05, std::cos(p.lat * M_PI / 180.0));
    // Near cell edges more often than chance: snap p to an edge now and then.
    GeoPoint q{p.lon + unit(rng) * dlon, p.lat + unit(rng) * dlat};
    if (i % 3 == 0) q.lon = std::round(q.lon * 100.0) / 100.0 + unit(rng) * 1e-7;
    if (i % 5 == 0) q.lat = std::round(q.lat * 100.0) / 100.0 + unit(rng) * 1e-7;
    if (distance_m(p, q) > radius * 1.04) continue;
    ++pairs;
    const auto lp = merge_locks({p}, radius), lq = merge_locks({q}, radius);
    if (lp.global || lq.global) {
      ++global;
      continue;
    }
    ASSERT_TRUE(holds(lp, p) && holds(lq, q));
    ASSERT_TRUE(shares_a_cell(lp, lq)) << "p " << p.lon << "," << p.lat << " q " << q.lon << "," << q.lat
                                       << " radius " << radius;
  }
  EXPECT_GE(pairs, 20000);
  EXPECT_LT(global, pairs / 2);
}

}  // namespace
}  // namespace xiaonao::domain::fusion
