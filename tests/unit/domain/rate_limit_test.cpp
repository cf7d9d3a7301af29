#include "xiaonao/domain/rate_limit.hpp"

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, BurstThenRate) {
  RateLimiter r(10, 5);
  const auto t0 = SteadyTime{} + 100s;
  double retry = 0;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(r.allow("a", t0, retry)) << i;
  EXPECT_FALSE(r.allow("a", t0, retry));
  EXPECT_NEAR(retry, 0.1, 1e-9);
  EXPECT_TRUE(r.allow("b", t0, retry));  // names are independent
  EXPECT_FALSE(r.allow("a", t0 + 50ms, retry));
  EXPECT_TRUE(r.allow("a", t0 + 100ms, retry));
  EXPECT_TRUE(r.allow("a", t0 + 10s, retry));  // refilled, capped at the burst
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.allow("a", t0 + 10s, retry));
  EXPECT_FALSE(r.allow("a", t0 + 10s, retry));
}

TEST(RateLimiter, ManyNamesDoNotGrowWithoutBound) {
  RateLimiter r(1, 1, 100);
  const auto t0 = SteadyTime{} + 100s;
  double retry = 0;
  for (int i = 0; i < 10000; ++i) r.allow("addr" + std::to_string(i), t0, retry);
  EXPECT_LE(r.size(), 100u);
}

TEST(LoginThrottle, BlocksAfterFailuresUntilTheWindowPasses) {
  LoginThrottle t(3, 60s);
  const auto t0 = SteadyTime{} + 100s;
  t.failure("041234", t0);
  t.failure("041234", t0 + 1s);
  EXPECT_EQ(t.blocked_for("041234", t0 + 2s), 0);
  t.failure("041234", t0 + 2s);
  EXPECT_NEAR(t.blocked_for("041234", t0 + 2s), 58.0, 1e-6);
  EXPECT_EQ(t.blocked_for("other", t0 + 2s), 0);
  EXPECT_EQ(t.blocked_for("041234", t0 + 61s), 0);
  t.failure("041234", t0 + 61s);  // a new window
  EXPECT_EQ(t.blocked_for("041234", t0 + 61s), 0);
  t.success("041234");
  EXPECT_EQ(t.blocked_for("041234", t0 + 62s), 0);
}

}  // namespace
}  // namespace xiaonao::domain
