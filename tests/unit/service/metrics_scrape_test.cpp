// A scrape does not hold up the requests that record themselves while it runs: the sampled
// values are read, and the text written, without the lock that observe_request takes.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "xiaonao/service/metrics.hpp"

namespace xiaonao::service {
namespace {

TEST(MetricsScrape, RequestsRecordWhileASampledValueIsRead) {
  Metrics m;
  std::thread recorder;
  // The sampled value stands for one read under another component's lock (the feed hub's,
  // say): while it is being read, a request finishes on another thread and records itself.
  m.add_sampled("xiaonao_test_gauge", "gauge", "A value read at scrape time.", [&] {
    auto done = std::make_shared<std::promise<void>>();
    auto recorded = done->get_future();
    recorder = std::thread([&m, done] {
      m.observe_request("/api/v1/alerts", "POST", 201, 0.004);
      done->set_value();
    });
    return recorded.wait_for(std::chrono::seconds(2)) == std::future_status::ready ? 1.0 : 0.0;
  });
  const auto text = m.render();
  recorder.join();
  EXPECT_NE(text.find("xiaonao_test_gauge 1\n"), std::string::npos) << "the request waited for the scrape";
  const auto after = m.render();
  recorder.join();
  EXPECT_NE(after.find("xiaonao_http_requests_total{route=\"/api/v1/alerts\",method=\"POST\",status=\"201\"} 1\n"),
            std::string::npos);
  // The second scrape recorded a second request meanwhile; the first's copy did not see it.
  EXPECT_NE(after.find("xiaonao_http_request_duration_seconds_bucket{route=\"/api/v1/alerts\",le=\"0.005\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace xiaonao::service
