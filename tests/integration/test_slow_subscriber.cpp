// A subscriber that stops reading is cut off with close code 4001 without holding up a reader
// that keeps up, and resumes with `since` without a gap.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class SlowSubscriber : public IntegrationTest {};

TEST_F(SlowSubscriber, IsCutOffWith4001AndResumesWithoutAGap) {
  ServerOptions options;
  options.env = {
      // Small next to the slow one's backlog (thousands of frames), large enough that the
      // reader that keeps up survives being descheduled for a few hundred milliseconds while
      // eight posting threads, the server and PostgreSQL (and, under ctest -j2, another test)
      // share two cores: at 64 it was once cut off there.
      {"XIAONAO_FEED_SEND_QUEUE_MAX", "256"},
      // Small commits, so that one commit never publishes more frames at once than a reader
      // that keeps up may have queued.
      {"XIAONAO_DB_BATCH_MAX", "4"},
      // The slow client reads late: give it the longest grace to take the close frame, and
      // keep pings out of the picture.
      {"XIAONAO_FEED_SLOW_CLOSE_GRACE_MS", "60000"},
      {"XIAONAO_FEED_PING_INTERVAL_MS", "600000"},
  };
  Server& server = start_server(options);
  const unsigned short port = server.port();

  // The slow one connects first and then never reads until the end.
  client::WsClient slow("127.0.0.1", port, "/ws/feed?since=0", 10s, auth_headers());

  // The reader that keeps up, on its own thread.
  std::atomic<std::int64_t> target{0};
  std::vector<FeedEvent> fast_events;
  std::vector<std::string> fast_errors;
  bool fast_closed = false;
  int fast_code = 0;
  FeedReader fast(port, "since=0");
  std::thread fast_thread([&] {
    fast.read_until(
        [&] {
          const auto t = target.load();
          return t > 0 && fast.last_seq() >= t;
        },
        600s);
    fast_events = fast.events();
    fast_errors = fast.errors();
    fast_closed = fast.closed();
    fast_code = fast.close_code();
  });

  // Frames of ~4 KB each (the description is on both events of an alert): enough of them to
  // fill the kernel's socket buffers of the slow connection several times over (about 4 MB on
  // Linux loopback while the receiver does not read), after which the server's queue for it
  // grows past its limit. Post in rounds until the server reports one subscriber left (a hint
  // only: the close code the slow client reads below is what counts), at most kMax alerts.
  std::string description;
  for (int i = 0; i < 1300; ++i) description += "警";  // 3 bytes each: 3,900 bytes
  constexpr int kFirstRound = 1500;
  constexpr int kRound = 500;
  constexpr int kMax = 6000;
  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  int posted = 0;
  ApiClient metrics_http(port);
  while (posted < kMax) {
    const int round = posted == 0 ? kFirstRound : kRound;
    std::atomic<int> next{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&] {
        ApiClient http(port);
        for (int i = next.fetch_add(1); i < round; i = next.fetch_add(1)) {
          json a = make_alert(i % 3 ? "theft" : "fraud");
          a["description"] = description;
          try {
            auto r = post_alert(http, a);
            if (r.status != 201) ++failures;
          } catch (const std::exception&) {
            ++failures;
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    posted += round;
    if (failures.load() != 0) break;
    auto metrics = metrics_http.get("/metrics");
    auto subscribers = metric_value(metrics.body, "xiaonao_feed_subscribers");
    if (subscribers && *subscribers <= 1.0) break;
  }
  const std::int64_t m = sql().max_seq();
  target = m;
  fast_thread.join();
  ASSERT_EQ(failures.load(), 0) << "posts that did not get 201";
  ASSERT_EQ(sql().seq_table_problem(), "");

  EXPECT_TRUE(fast_errors.empty());
  EXPECT_FALSE(fast_closed) << "the reader that keeps up was closed with code " << fast_code;
  EXPECT_EQ(seq_problem(fast_events, 1), "");
  EXPECT_EQ(fast_events.size(), static_cast<std::size_t>(m))
      << "the reader that keeps up got all " << m << " frames";

  // Now the slow one reads: whatever reached its socket, then the close frame.
  std::vector<FeedEvent> slow_events;
  const auto until = Clock::now() + 120s;
  while (!slow.closed() && Clock::now() < until) {
    auto text = slow.read(1s);
    if (!text) continue;
    std::string error;
    auto e = parse_feed_frame(*text, error);
    ASSERT_TRUE(e) << error;
    slow_events.push_back(std::move(*e));
  }
  ASSERT_TRUE(slow.closed()) << "the slow subscriber was never cut off (it read "
                             << slow_events.size() << " of " << m << " frames)";
  EXPECT_EQ(slow.close_code(), 4001) << "after " << slow_events.size() << " frames";
  EXPECT_EQ(seq_problem(slow_events, 1), "") << "what the slow one got before the cut is in order";
  EXPECT_LT(slow_events.size(), static_cast<std::size_t>(m))
      << "it got everything: it was not really behind";

  // It resumes after the last seq it read and gets the rest.
  const std::int64_t last = slow_events.empty() ? 0 : slow_events.back().seq;
  FeedReader resumed(port, "since=" + std::to_string(last));
  ASSERT_TRUE(resumed.read_through(m, 120s)) << "resumed feed stopped at " << resumed.last_seq();
  EXPECT_EQ(seq_problem(resumed.events(), last + 1), "");
  EXPECT_EQ(resumed.events().size(), static_cast<std::size_t>(m - last));
}

}  // namespace
}  // namespace xiaonao::itest
