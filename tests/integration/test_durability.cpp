// Nothing lost: SIGKILL the server while clients post; every alert that got a 2xx is stored and
// on the feed, no seq is skipped or repeated, and retrying the unanswered ones never duplicates.
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Durability : public IntegrationTest {};

/// One POST and what came of it.
struct Outcome {
  json alert;
  bool acked = false;      ///< a 2xx arrived
  std::string alert_id;    ///< from the 2xx
  std::string unknown;     ///< why the outcome is unknown (I/O error or non-2xx)
};

TEST_F(Durability, SigkillMidStreamLosesNoAcknowledgedAlertAndSkipsNoSeq) {
  Server& server = start_server();
  constexpr int kThreads = 4;
  constexpr int kCycles = 2;
  std::vector<Outcome> outcomes;

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    const unsigned short port = server.port();
    std::atomic<bool> killed{false};
    std::atomic<int> acked{0};
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        ApiClient http(port, 10s);
        for (int i = 0;; ++i) {
          // Every thread makes at least one attempt that starts after the kill.
          const bool after_kill = killed.load();
          Outcome o;
          o.alert = make_alert(i % 2 ? "fraud" : "robbery");
          try {
            auto r = post_alert(http, o.alert);
            if (r.status == 200 || r.status == 201) {
              o.acked = true;
              o.alert_id = r.json().value("alert_id", "");
              ++acked;
            } else {
              o.unknown = "status " + std::to_string(r.status) + " " + r.body;
            }
          } catch (const std::exception& e) {
            o.unknown = e.what();
          }
          {
            std::lock_guard lock(mu);
            outcomes.push_back(std::move(o));
          }
          if (after_kill) break;
        }
      });
    }
    // Kill while the posts stream in, once a fair number were acknowledged.
    const bool reached = wait_until([&] { return acked.load() >= 300; }, 120s);
    server.kill(SIGKILL);
    killed = true;
    for (auto& th : threads) th.join();
    ASSERT_TRUE(reached) << "only " << acked.load() << " alerts acknowledged before the deadline";

    server.restart();
  }

  std::size_t acked_count = 0, unknown_count = 0;
  for (const auto& o : outcomes) (o.acked ? acked_count : unknown_count)++;
  ASSERT_GE(acked_count, 600u);
  ASSERT_GE(unknown_count, static_cast<std::size_t>(kThreads))
      << "every thread's post after the kill must have failed";

  // Every acknowledged alert is stored, under the id it was acknowledged with.
  std::size_t missing = 0;
  for (const auto& o : outcomes) {
    if (!o.acked) continue;
    auto r = sql().exec("SELECT id::text FROM alerts WHERE source = $1 AND source_ref = $2",
                        o.alert["source"].get<std::string>(),
                        o.alert["source_ref"].get<std::string>());
    if (r.size() != 1 || std::string(r[0][0].c_str()) != o.alert_id) {
      if (++missing <= 5) {
        ADD_FAILURE() << "acknowledged alert " << o.alert["source_ref"] << " (" << o.alert_id
                      << ") is not stored as acknowledged (" << r.size() << " rows)";
      }
    }
  }
  EXPECT_EQ(missing, 0u) << "acknowledged alerts lost";
  EXPECT_EQ(sql().seq_table_problem(), "");

  // ... and on the feed of the restarted server.
  const std::int64_t m = sql().max_seq();
  {
    FeedReader feed(server.port(), "since=0");
    ASSERT_TRUE(feed.read_through(m, 120s)) << "replay stopped at " << feed.last_seq() << " of " << m;
    EXPECT_EQ(seq_problem(feed.events(), 1), "");
    const auto ids = received_alert_ids(feed.events());
    const std::set<std::string> on_feed(ids.begin(), ids.end());
    EXPECT_EQ(on_feed.size(), ids.size()) << "an alert.received appears twice";
    std::size_t not_on_feed = 0;
    for (const auto& o : outcomes) {
      if (o.acked && !on_feed.count(o.alert_id)) ++not_on_feed;
    }
    EXPECT_EQ(not_on_feed, 0u) << "acknowledged alerts without an alert.received on the feed";
  }

  // Retrying the unknown outcomes: 200 (it had been stored) or 201, never a second row.
  ApiClient http(server.port());
  for (const auto& o : outcomes) {
    if (o.acked) continue;
    auto r = post_alert(http, o.alert);
    EXPECT_TRUE(r.status == 200 || r.status == 201)
        << "retry of " << o.alert["source_ref"] << ": " << r.status << " " << r.body;
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE source = $1 AND source_ref = $2",
                           o.alert["source"].get<std::string>(),
                           o.alert["source_ref"].get<std::string>()),
              1);
  }
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"),
            static_cast<std::int64_t>(outcomes.size()))
      << "one row per distinct alert posted";

  // The seqs handed out after the restarts continue without a gap, in the table and the feed.
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  EXPECT_EQ(sql().seq_table_problem(), "");
  const std::int64_t m2 = sql().max_seq();
  FeedReader tail(server.port(), "since=" + std::to_string(m));
  ASSERT_TRUE(tail.read_through(m2));
  EXPECT_EQ(seq_problem(tail.events(), m + 1), "");
}

}  // namespace
}  // namespace xiaonao::itest
