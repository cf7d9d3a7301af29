// The feed: replay from the event table, then live, with no gap or duplicate at the seam,
// `since`, the category filter, resume after a reconnect, refused bad parameters.
#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Feed : public IntegrationTest {
 protected:
  /// Posts `n` alerts of `category` and returns their alert ids (fails the test on a non-201).
  std::vector<std::string> post_n(client::HttpClient& http, int n, const std::string& category) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto r = post_alert(http, make_alert(category));
      EXPECT_EQ(r.status, 201) << r.body;
      if (r.status == 201) ids.push_back(r.json()["alert_id"].get<std::string>());
    }
    return ids;
  }

  /// Every frame's type and alert/incident matches the events table row with its seq.
  void expect_frames_match_table(const std::vector<FeedEvent>& events) {
    for (const auto& e : events) {
      auto row = sql().exec(
          "SELECT type, coalesce(incident_id::text, ''), coalesce(data->>'alert_id', '') "
          "FROM events WHERE seq = $1",
          e.seq);
      ASSERT_EQ(row.size(), 1u) << "frame seq " << e.seq << " is not in the events table";
      EXPECT_EQ(e.type, std::string(row[0][0].c_str())) << "seq " << e.seq;
      if (e.type == "alert.received") {
        EXPECT_EQ(e.data.value("alert_id", ""), std::string(row[0][2].c_str())) << "seq " << e.seq;
        EXPECT_EQ(e.data.value("incident_id", ""), std::string(row[0][1].c_str())) << "seq " << e.seq;
      }
    }
  }
};

TEST_F(Feed, ReplayFromZeroThenLiveWithoutGapOrDuplicate) {
  Server& server = start_server();
  ApiClient http(server.port());
  const auto first = post_n(http, 5, "fraud");
  ASSERT_EQ(first.size(), 5u);
  const std::int64_t m1 = sql().max_seq();
  ASSERT_GE(m1, 5);
  ASSERT_EQ(sql().seq_table_problem(), "");

  FeedReader feed(server.port(), "since=0");
  ASSERT_TRUE(feed.read_through(m1)) << "replay stopped at seq " << feed.last_seq() << " of " << m1;
  EXPECT_EQ(seq_problem(feed.events(), 1), "");
  EXPECT_EQ(feed.events().size(), static_cast<std::size_t>(m1));
  auto got = received_alert_ids(feed.events());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            std::set<std::string>(first.begin(), first.end()));

  // Live frames continue from the replay.
  const auto second = post_n(http, 5, "theft");
  const std::int64_t m2 = sql().max_seq();
  ASSERT_GT(m2, m1);
  ASSERT_TRUE(feed.read_through(m2)) << "live stopped at seq " << feed.last_seq() << " of " << m2;
  EXPECT_EQ(seq_problem(feed.events(), 1), "");
  EXPECT_EQ(feed.events().size(), static_cast<std::size_t>(m2));
  got = received_alert_ids(feed.events());
  std::set<std::string> want(first.begin(), first.end());
  want.insert(second.begin(), second.end());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  EXPECT_TRUE(feed.errors().empty()) << feed.errors().front();
  expect_frames_match_table(feed.events());

  // Frame content: the incident on incident.opened, no personal data anywhere.
  for (const auto& e : feed.events()) {
    EXPECT_EQ(e.text.find("13857801234"), std::string::npos)
        << "the caller's phone is on the feed: " << e.text;
    EXPECT_EQ(e.text.find("李芳"), std::string::npos) << "the caller's name is on the feed: " << e.text;
    EXPECT_FALSE(e.data.contains("caller")) << e.text;
    EXPECT_FALSE(e.data.contains("subject")) << e.text;
    if (e.type == "incident.opened") {
      EXPECT_TRUE(e.data.contains("id") && e.data.contains("number") && e.data.contains("category"))
          << e.text;
    }
    if (e.type == "alert.received") {
      for (const char* k : {"alert_id", "incident_id", "incident_number", "merged", "source",
                            "category", "priority", "received_at"}) {
        EXPECT_TRUE(e.data.contains(k)) << "alert.received without " << k << ": " << e.text;
      }
    }
  }
}

// A reader that pauses while megabytes of replay wait: the server's writes in place fill the
// socket, the rest goes by async_write, and the writes in place resume once it drains. Every
// frame arrives whole and in order, and the reader is not cut off.
TEST_F(Feed, AReaderThatPausesOverAFullSocketGetsEveryFrameWhole) {
  Server& server = start_server();
  std::string description;
  for (int i = 0; i < 1300; ++i) description += "警";  // 3,900 bytes, on both events of an alert
  constexpr int kAlerts = 1500;                          // about 12 MB of frames
  constexpr int kThreads = 8;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&] {
      ApiClient http(server.port());
      for (int i = next.fetch_add(1); i < kAlerts; i = next.fetch_add(1)) {
        json a = make_alert("theft");
        a["description"] = description;
        if (post_alert(http, a).status != 201) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);
  const std::int64_t m = sql().max_seq();

  FeedReader feed(server.port(), "since=0");
  std::this_thread::sleep_for(1500ms);  // the server fills the socket meanwhile
  ASSERT_TRUE(feed.read_through(m, 120s)) << "stopped at seq " << feed.last_seq() << " of " << m;
  EXPECT_FALSE(feed.closed()) << "cut off with code " << feed.close_code();
  EXPECT_TRUE(feed.errors().empty()) << feed.errors().front();
  EXPECT_EQ(seq_problem(feed.events(), 1), "");
  EXPECT_EQ(feed.events().size(), static_cast<std::size_t>(m));
  for (const auto& e : feed.events()) {
    if (e.type == "alert.received") {
      EXPECT_EQ(e.data.value("description", ""), description) << "seq " << e.seq;
    }
  }
}

TEST_F(Feed, SinceNReplaysExactlyTheEventsAfterN) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(post_n(http, 6, "theft").size(), 6u);
  const std::int64_t m = sql().max_seq();
  const std::int64_t n = m / 2;

  FeedReader mid(server.port(), "since=" + std::to_string(n));
  ASSERT_TRUE(mid.read_through(m));
  EXPECT_EQ(seq_problem(mid.events(), n + 1), "");
  EXPECT_EQ(mid.events().size(), static_cast<std::size_t>(m - n));
  expect_frames_match_table(mid.events());

  // since = the last seq: nothing replayed, the next event is the first frame.
  FeedReader tail(server.port(), "since=" + std::to_string(m));
  ASSERT_EQ(post_n(http, 1, "theft").size(), 1u);
  const std::int64_t m2 = sql().max_seq();
  ASSERT_TRUE(tail.read_through(m2));
  EXPECT_EQ(seq_problem(tail.events(), m + 1), "");
  EXPECT_EQ(tail.events().size(), static_cast<std::size_t>(m2 - m));
}

TEST_F(Feed, WithoutSinceTheFeedStartsWithTheNextEvent) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(post_n(http, 2, "theft").size(), 2u);
  const std::int64_t m = sql().max_seq();

  FeedReader live(server.port(), "");
  ASSERT_EQ(post_n(http, 1, "fraud").size(), 1u);
  const std::int64_t m2 = sql().max_seq();
  ASSERT_TRUE(live.read_through(m2)) << "got up to " << live.last_seq();
  EXPECT_EQ(seq_problem(live.events(), m + 1), "") << "no replay without since";
}

TEST_F(Feed, CategoryFilterDeliversOnlyThoseCategories) {
  Server& server = start_server();
  ApiClient http(server.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(post_n(http, 1, "fraud").size(), 1u);
    ASSERT_EQ(post_n(http, 1, "theft").size(), 1u);
    ASSERT_EQ(post_n(http, 1, "noise").size(), 1u);
  }
  auto expected_seqs = [&](std::int64_t after) {
    std::vector<std::int64_t> out;
    for (const auto& row : sql().exec("SELECT seq FROM events WHERE category IN ('fraud', 'noise') "
                                      "AND seq > $1 ORDER BY seq",
                                      after)) {
      out.push_back(row[0].as<std::int64_t>());
    }
    return out;
  };
  const auto want = expected_seqs(0);
  ASSERT_FALSE(want.empty()) << "the events table has no category on fraud/noise events";
  ASSERT_EQ(sql().scalar("SELECT count(*) FROM events WHERE category IS NULL"), 0)
      << "every intake event carries its category";

  FeedReader feed(server.port(), "since=0&category=fraud,noise");
  ASSERT_TRUE(feed.read_through(want.back()));
  EXPECT_EQ(seqs_of(feed.events()), want);

  // Live: a theft then a fraud; only the fraud's frames arrive, and since frames come in seq
  // order, the theft's would have come first.
  const std::int64_t before = sql().max_seq();
  ASSERT_EQ(post_n(http, 1, "theft").size(), 1u);
  ASSERT_EQ(post_n(http, 1, "fraud").size(), 1u);
  const auto live_want = expected_seqs(before);
  ASSERT_FALSE(live_want.empty());
  ASSERT_TRUE(feed.read_through(live_want.back()));
  auto all_want = want;
  all_want.insert(all_want.end(), live_want.begin(), live_want.end());
  EXPECT_EQ(seqs_of(feed.events()), all_want);
  for (const auto& e : feed.events()) {
    const std::string cat = e.data.value("category", "");
    EXPECT_TRUE(cat == "fraud" || cat == "noise") << e.text;
  }
  EXPECT_TRUE(feed.errors().empty());
}

TEST_F(Feed, ResumeAfterReconnectLeavesNoGapOrDuplicate) {
  Server& server = start_server();
  // A writer keeps posting while the subscriber hops between connections.
  std::atomic<bool> writer_done{false};
  std::atomic<int> writer_errors{0};
  std::thread writer([&] {
    ApiClient http(server.port());
    for (int i = 0; i < 120; ++i) {
      try {
        if (post_alert(http, make_alert(i % 2 ? "theft" : "dispute")).status != 201) ++writer_errors;
      } catch (const std::exception&) {
        ++writer_errors;
      }
    }
    writer_done = true;
  });

  std::vector<FeedEvent> all;
  std::int64_t last = 0;
  for (int hop = 0; hop < 4; ++hop) {
    FeedReader feed(server.port(), "since=" + std::to_string(last));
    // Each connection reads at least a few frames, then drops while frames are in flight.
    const bool got = feed.read_count(15, 60s);
    if (hop < 3) {
      EXPECT_TRUE(got) << "hop " << hop << ": no frames";
    }
    feed.ws().close();
    EXPECT_TRUE(feed.errors().empty());
    all.insert(all.end(), feed.events().begin(), feed.events().end());
    last = feed.last_seq() > 0 ? feed.last_seq() : last;
  }
  writer.join();
  ASSERT_EQ(writer_errors.load(), 0);
  const std::int64_t m = sql().max_seq();
  FeedReader final_feed(server.port(), "since=" + std::to_string(last));
  ASSERT_TRUE(final_feed.read_through(m));
  all.insert(all.end(), final_feed.events().begin(), final_feed.events().end());
  EXPECT_EQ(seq_problem(all, 1), "");
  EXPECT_EQ(all.size(), static_cast<std::size_t>(m));
  EXPECT_EQ(received_alert_ids(all).size(), 120u);
}

// The NOTIFY of a local batch reaches the listener about when the writer gets its COMMIT back;
// the listener waits for the local batches in flight (store/commits_in_flight.hpp) instead of
// reading their events back from the table. Each of these alerts is its own batch. The poll is
// out of the way; the listener's first read, at start-up, is the only one expected. (The wait is
// bounded at 250 ms, far above what handing a batch's frames to the hub takes: one read is
// allowed for a writer descheduled that long on a loaded machine.)
TEST_F(Feed, OwnCommitsReachTheFeedWithoutAReadOfTheEventsTable) {
  ServerOptions o;
  o.env = {{"XIAONAO_FEED_POLL_INTERVAL_MS", "600000"}};
  Server& server = start_server(o);
  ApiClient http(server.port());
  FeedReader feed(server.port(), "");
  const auto reads = [&] {
    return metric_value(http.get("/metrics").body, "xiaonao_feed_table_reads_total").value_or(-1);
  };
  ASSERT_TRUE(wait_until([&] { return reads() >= 1.0; }, std::chrono::seconds(30))) << "no start-up read";
  const double before = reads();
  const auto ids = post_n(http, 20, "theft");
  ASSERT_EQ(ids.size(), 20u);
  ASSERT_TRUE(feed.read_through(sql().max_seq()));
  EXPECT_EQ(received_alert_ids(feed.events()).size(), 20u);
  EXPECT_LE(reads() - before, 1.0) << "the listener read this instance's own events back from the table";
}

TEST_F(Feed, BadSinceOrCategoryIsRefusedWith400BeforeTheUpgrade) {
  Server& server = start_server();
  for (const char* q : {"since=abc", "since=-1", "since=1.5", "since=99999999999999999999999",
                        "since=12abc", "since=", "category=BAD%20CODE!", "category="}) {
    try {
      FeedReader f(server.port(), q);
      ADD_FAILURE() << "/ws/feed?" << q << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("400"), std::string::npos)
          << "/ws/feed?" << q << ": " << e.what();
    }
  }
  // Still serving feeds.
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  FeedReader ok(server.port(), "since=0");
  EXPECT_TRUE(ok.read_through(sql().max_seq()));
}

TEST_F(Feed, UnknownCategoryFilterIsRefusedWith400) {
  // A filter naming no category would silently deliver nothing forever; like intake (422
  // unknown_category), the feed refuses it.
  Server& server = start_server();
  for (const char* q : {"category=no_such_category", "category=fraud,no_such_category"}) {
    try {
      FeedReader f(server.port(), q);
      ADD_FAILURE() << "/ws/feed?" << q << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("400"), std::string::npos)
          << "/ws/feed?" << q << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace xiaonao::itest
