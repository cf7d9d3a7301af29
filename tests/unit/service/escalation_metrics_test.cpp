// The escalation metrics: missed deadlines by kind and the lag histogram, present before the
// first miss.
#include <gtest/gtest.h>

#include "xiaonao/service/metrics.hpp"

namespace xiaonao::service {
namespace {

TEST(EscalationMetrics, PresentBeforeTheFirstMiss) {
  Metrics m;
  const auto text = m.render();
  EXPECT_NE(text.find("# TYPE xiaonao_deadlines_missed_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE xiaonao_escalation_lag_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_count 0\n"), std::string::npos);
}

TEST(EscalationMetrics, CountsByKindAndBucketsTheLag) {
  Metrics m;
  m.observe_deadline_missed("acknowledge", 0.04);
  m.observe_deadline_missed("acknowledge", 0.6);
  m.observe_deadline_missed("arrive", 120.0);
  const auto text = m.render();
  EXPECT_NE(text.find("xiaonao_deadlines_missed_total{kind=\"acknowledge\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_deadlines_missed_total{kind=\"arrive\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_bucket{le=\"0.05\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_bucket{le=\"300\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("xiaonao_escalation_lag_seconds_count 3\n"), std::string::npos);
}

}  // namespace
}  // namespace xiaonao::service
