#include "xiaonao/service/feed_hub.hpp"

#include <gtest/gtest.h>

#include "xiaonao/service/metrics.hpp"

namespace xiaonao::service {
namespace {

domain::Frame frame(std::int64_t seq, std::string category = "theft") {
  return {seq, std::move(category), "", std::make_shared<const std::string>("f" + std::to_string(seq))};
}

std::vector<domain::Frame> frames(std::int64_t from, std::int64_t to) {
  std::vector<domain::Frame> out;
  for (auto s = from; s <= to; ++s) out.push_back(frame(s));
  return out;
}

// Records every seq it is handed, in order.
struct Recorder final : Subscriber {
  std::vector<std::int64_t> seqs;
  void deliver(FrameBatch batch, std::chrono::steady_clock::time_point) override {
    for (const auto& f : *batch) seqs.push_back(f.seq);
  }
};

std::vector<std::int64_t> seqs_of(const std::vector<domain::Frame>& v) {
  std::vector<std::int64_t> out;
  for (const auto& f : v) out.push_back(f.seq);
  return out;
}

TEST(FeedHub, AttachAtHeadGetsOnlyLiveFrames) {
  FeedHub hub(100, 10);
  auto r = std::make_shared<Recorder>();
  auto backlog = hub.attach(r, 10, 50);
  ASSERT_TRUE(backlog.has_value());
  EXPECT_TRUE(backlog->empty());
  hub.offer(frames(11, 13));
  EXPECT_EQ(r->seqs, (std::vector<std::int64_t>{11, 12, 13}));
  EXPECT_EQ(hub.last_released(), 13);
  EXPECT_EQ(hub.published_total(), 3u);
}

TEST(FeedHub, AttachInsideRingReturnsTheMissingFramesThenLive) {
  FeedHub hub(100, 0);
  hub.offer(frames(1, 20));
  auto r = std::make_shared<Recorder>();
  auto backlog = hub.attach(r, 15, 50);
  ASSERT_TRUE(backlog.has_value());
  EXPECT_EQ(seqs_of(*backlog), (std::vector<std::int64_t>{16, 17, 18, 19, 20}));
  hub.offer(frames(21, 21));
  EXPECT_EQ(r->seqs, (std::vector<std::int64_t>{21}));
}

TEST(FeedHub, AttachOlderThanRingMustReplayFromTheTable) {
  FeedHub hub(5, 0);
  hub.offer(frames(1, 20));  // ring keeps 16..20
  auto r = std::make_shared<Recorder>();
  EXPECT_FALSE(hub.attach(r, 10, 50).has_value());
  EXPECT_TRUE(hub.attach(r, 15, 50).has_value());
}

TEST(FeedHub, AttachStartedBeforeTheHubMustReplayFromTheTable) {
  FeedHub hub(100, 500);  // events 1..500 exist only in the table
  auto r = std::make_shared<Recorder>();
  EXPECT_FALSE(hub.attach(r, 0, 1000).has_value());
  EXPECT_TRUE(hub.attach(r, 500, 1000).has_value());
}

TEST(FeedHub, AttachTooFarBehindReplaysInsteadOfFloodingTheQueue) {
  FeedHub hub(1000, 0);
  hub.offer(frames(1, 300));
  auto r = std::make_shared<Recorder>();
  EXPECT_FALSE(hub.attach(r, 100, 50).has_value());
  EXPECT_TRUE(hub.attach(r, 260, 50).has_value());
}

TEST(FeedHub, OutOfOrderOffersReachSubscribersInOrder) {
  FeedHub hub(100, 0);
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(hub.attach(a, 0, 10));
  ASSERT_TRUE(hub.attach(b, 0, 10));
  hub.offer(frames(3, 4));  // another instance's 1..2 not seen yet
  EXPECT_TRUE(a->seqs.empty());
  hub.offer(frames(1, 2));
  hub.offer(frames(2, 5));  // overlap from the table catch-up
  const std::vector<std::int64_t> want{1, 2, 3, 4, 5};
  EXPECT_EQ(a->seqs, want);
  EXPECT_EQ(b->seqs, want);
  EXPECT_EQ(hub.published_total(), 5u);
}

TEST(FeedHub, DetachedAndDestroyedSubscribersAreDropped) {
  FeedHub hub(100, 0);
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(hub.attach(a, 0, 10));
  ASSERT_TRUE(hub.attach(b, 0, 10));
  EXPECT_EQ(hub.subscriber_count(), 2u);
  hub.detach(a.get());
  EXPECT_EQ(hub.subscriber_count(), 1u);
  b.reset();
  hub.offer(frames(1, 1));
  EXPECT_EQ(hub.subscriber_count(), 0u);
  EXPECT_TRUE(a->seqs.empty());
}

TEST(Metrics, RendersCountersHistogramAndSampledValues) {
  Metrics m;
  m.observe_request("/api/v1/alerts", "POST", 201, 0.003);
  m.observe_request("/api/v1/alerts", "POST", 201, 0.2);
  m.observe_request("/api/v1/alerts", "POST", 422, 0.0001);
  m.add_sampled("xiaonao_feed_subscribers", "gauge", "Subscribers.", [] { return 7.0; });
  const auto text = m.render();
  EXPECT_NE(text.find(R"(xiaonao_http_requests_total{route="/api/v1/alerts",method="POST",status="201"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(xiaonao_http_requests_total{route="/api/v1/alerts",method="POST",status="422"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(xiaonao_http_request_duration_seconds_bucket{route="/api/v1/alerts",le="0.005"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(xiaonao_http_request_duration_seconds_bucket{route="/api/v1/alerts",le="+Inf"} 3)"),
            std::string::npos);
  EXPECT_NE(text.find("xiaonao_feed_subscribers 7\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE xiaonao_feed_subscribers gauge"), std::string::npos);
}

TEST(Metrics, FeedDeliveryIsAHistogramWithoutLabelsPresentBeforeTheFirstWrite) {
  Metrics m;
  EXPECT_NE(m.render().find("xiaonao_feed_delivery_seconds_count 0\n"), std::string::npos);
  m.observe_feed_delivery(0.0008);
  m.observe_feed_delivery(0.012);
  const auto text = m.render();
  EXPECT_NE(text.find("# TYPE xiaonao_feed_delivery_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_bucket{le=\"0.00075\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_bucket{le=\"0.015\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_sum 0.0128\n"), std::string::npos) << text;
  EXPECT_NE(text.find("xiaonao_feed_delivery_seconds_count 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace xiaonao::service
