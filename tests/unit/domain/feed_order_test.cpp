#include "xiaonao/domain/feed_order.hpp"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

Frame frame(std::int64_t seq, std::string tag = "") {
  Frame f;
  f.seq = seq;
  f.category = "fraud";
  f.wire = std::make_shared<const std::string>("{\"seq\":" + std::to_string(seq) + tag + "}");
  return f;
}

std::vector<Frame> frames(std::initializer_list<std::int64_t> seqs) {
  std::vector<Frame> out;
  for (auto s : seqs) out.push_back(frame(s));
  return out;
}

std::vector<std::int64_t> seqs(const std::vector<Frame>& fs) {
  std::vector<std::int64_t> out;
  for (const auto& f : fs) out.push_back(f.seq);
  return out;
}

using Seqs = std::vector<std::int64_t>;

TEST(FeedOrder, ReleasesInOrderFramesAtOnce) {
  FeedOrder order(0);
  EXPECT_EQ(seqs(order.offer(frames({1, 2, 3}))), (Seqs{1, 2, 3}));
  EXPECT_EQ(order.last_released(), 3);
  EXPECT_FALSE(order.has_gap());
  EXPECT_EQ(order.first_pending(), 0);
  EXPECT_EQ(seqs(order.offer(frames({4}))), (Seqs{4}));
}

TEST(FeedOrder, SortsOutOfOrderFramesWithinOneOffer) {
  FeedOrder order(10);
  EXPECT_EQ(seqs(order.offer(frames({13, 11, 12}))), (Seqs{11, 12, 13}));
  EXPECT_EQ(order.last_released(), 13);
}

TEST(FeedOrder, HoldsFramesAfterAGapUntilItIsFilled) {
  FeedOrder order(0);
  EXPECT_EQ(seqs(order.offer(frames({1, 3, 4}))), (Seqs{1}));
  EXPECT_TRUE(order.has_gap());
  EXPECT_EQ(order.first_pending(), 3);
  EXPECT_EQ(order.last_released(), 1);

  EXPECT_TRUE(order.offer(frames({6})).empty());
  EXPECT_EQ(order.first_pending(), 3);

  // The missing frame arrives (e.g. from a catch-up query): the run up to the next gap goes.
  EXPECT_EQ(seqs(order.offer(frames({2}))), (Seqs{2, 3, 4}));
  EXPECT_TRUE(order.has_gap());
  EXPECT_EQ(order.first_pending(), 6);

  EXPECT_EQ(seqs(order.offer(frames({5}))), (Seqs{5, 6}));
  EXPECT_FALSE(order.has_gap());
  EXPECT_EQ(order.last_released(), 6);
}

TEST(FeedOrder, DropsFramesAlreadyReleased) {
  FeedOrder order(100);
  EXPECT_TRUE(order.offer(frames({99, 100, 50})).empty());
  EXPECT_FALSE(order.has_gap());
  EXPECT_EQ(seqs(order.offer(frames({101, 100, 101}))), (Seqs{101}));
  EXPECT_EQ(seqs(order.offer(frames({101, 102}))), (Seqs{102}));
  EXPECT_EQ(order.last_released(), 102);
}

TEST(FeedOrder, DuplicatesWhilePendingAreReleasedOnce) {
  FeedOrder order(0);
  auto first = frame(2, ",\"copy\":1");
  auto second = frame(2, ",\"copy\":2");
  EXPECT_TRUE(order.offer({first}).empty());
  EXPECT_TRUE(order.offer({second, frame(3)}).empty());
  const auto out = order.offer(frames({1}));
  ASSERT_EQ(seqs(out), (Seqs{1, 2, 3}));
  // The first copy offered is the one kept.
  EXPECT_EQ(*out[1].wire, *first.wire);
}

TEST(FeedOrder, KeepsFramePayloadsIntact) {
  FeedOrder order(0);
  auto f = frame(1);
  f.station_id = "station-7";
  const auto text = f.wire;
  const auto out = order.offer({f});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wire, text);  // the same shared buffer, not a copy
  EXPECT_EQ(out[0].category, "fraud");
  EXPECT_EQ(out[0].station_id, "station-7");
}

TEST(FeedOrder, EmptyOfferReleasesNothing) {
  FeedOrder order(5);
  EXPECT_TRUE(order.offer({}).empty());
  EXPECT_EQ(order.last_released(), 5);
}

TEST(FeedOrder, ReverseOrderReleasesEverythingWithTheLastPiece) {
  FeedOrder order(0);
  for (std::int64_t s = 1000; s >= 2; --s) ASSERT_TRUE(order.offer(frames({s})).empty());
  const auto out = order.offer(frames({1}));
  ASSERT_EQ(out.size(), 1000u);
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_FALSE(order.has_gap());
}

}  // namespace
}  // namespace xiaonao::domain
