// Many concurrent writers and two instances on one database: every subscriber sees every seq
// exactly once, in order.
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

/// What one subscriber thread saw.
struct Seen {
  std::vector<FeedEvent> events;
  std::vector<std::string> errors;
  bool closed = false;
  int close_code = 0;
};

/// Reads `reader` on a thread until a frame with seq >= target arrives (target 0: not known
/// yet), the connection closes, or 300 s pass.
std::thread read_in_thread(FeedReader& reader, std::atomic<std::int64_t>& target, Seen& out) {
  return std::thread([&reader, &target, &out] {
    reader.read_until(
        [&] {
          const auto t = target.load();
          return t > 0 && reader.last_seq() >= t;
        },
        300s);
    out.events = reader.events();
    out.errors = reader.errors();
    out.closed = reader.closed();
    out.close_code = reader.close_code();
  });
}

class ConcurrentWriters : public IntegrationTest {};

TEST_F(ConcurrentWriters, EightWritersThreeSubscribersSeeEverySeqOnce) {
  Server& server = start_server();
  const unsigned short port = server.port();
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 100;
  constexpr int kSubscribers = 3;

  std::vector<std::unique_ptr<FeedReader>> readers;
  for (int i = 0; i < kSubscribers; ++i) {
    readers.push_back(std::make_unique<FeedReader>(port, "since=0"));
  }
  std::atomic<std::int64_t> target{0};
  std::vector<Seen> seen(kSubscribers);
  std::vector<std::thread> reader_threads;
  for (int i = 0; i < kSubscribers; ++i) {
    reader_threads.push_back(read_in_thread(*readers[i], target, seen[i]));
  }

  std::mutex mu;
  std::set<std::string> alert_ids;
  std::vector<std::string> failures;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      ApiClient http(port);
      for (int i = 0; i < kPerWriter; ++i) {
        try {
          auto r = post_alert(http, make_alert(i % 2 ? "fraud" : "assault"));
          std::lock_guard lock(mu);
          if (r.status == 201) {
            alert_ids.insert(r.json()["alert_id"].get<std::string>());
          } else {
            failures.push_back("writer " + std::to_string(w) + ": " + std::to_string(r.status) +
                               " " + r.body);
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          failures.push_back("writer " + std::to_string(w) + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  const std::int64_t m = sql().max_seq();
  target = m > 0 ? m : 1;
  for (auto& t : reader_threads) t.join();

  ASSERT_TRUE(failures.empty()) << failures.size() << " failed posts, first: " << failures.front();
  ASSERT_EQ(alert_ids.size(), static_cast<std::size_t>(kWriters * kPerWriter));
  EXPECT_EQ(sql().seq_table_problem(), "");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), kWriters * kPerWriter);
  for (int i = 0; i < kSubscribers; ++i) {
    SCOPED_TRACE("subscriber " + std::to_string(i));
    EXPECT_TRUE(seen[i].errors.empty());
    EXPECT_FALSE(seen[i].closed) << "closed with code " << seen[i].close_code;
    EXPECT_EQ(seq_problem(seen[i].events, 1), "");
    EXPECT_EQ(seen[i].events.size(), static_cast<std::size_t>(m));
    const auto ids = received_alert_ids(seen[i].events);
    EXPECT_EQ(ids.size(), alert_ids.size()) << "each alert.received exactly once";
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), alert_ids);
  }
}

class TwoInstances : public IntegrationTest {};

TEST_F(TwoInstances, BothFeedsCarryEveryEventInTheSameOrder) {
  // Both start at the same moment on a fresh database: their migrations race too.
  Server& a = add_server();
  Server& b = add_server();
  a.spawn();
  b.spawn();
  a.wait_started();
  b.wait_started();
  EXPECT_EQ(sql().scalar("SELECT count(*) - count(DISTINCT version) FROM schema_migrations"), 0);

  FeedReader fa(a.port(), "since=0");
  FeedReader fb(b.port(), "since=0");
  std::atomic<std::int64_t> target{0};
  Seen sa, sb;
  std::thread ta = read_in_thread(fa, target, sa);
  std::thread tb = read_in_thread(fb, target, sb);

  constexpr int kWriters = 4;
  constexpr int kPerWriter = 60;
  std::mutex mu;
  std::set<std::string> via_a, via_b;
  std::vector<std::string> failures;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      ApiClient ha(a.port());
      ApiClient hb(b.port());
      for (int i = 0; i < kPerWriter; ++i) {
        const bool to_a = (i + w) % 2 == 0;
        try {
          auto r = post_alert(to_a ? ha : hb, make_alert(i % 3 ? "theft" : "dispute"));
          std::lock_guard lock(mu);
          if (r.status == 201) {
            (to_a ? via_a : via_b).insert(r.json()["alert_id"].get<std::string>());
          } else {
            failures.push_back(std::to_string(r.status) + " " + r.body);
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          failures.push_back(e.what());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  const std::int64_t m = sql().max_seq();
  target = m > 0 ? m : 1;
  ta.join();
  tb.join();

  ASSERT_TRUE(failures.empty()) << failures.size() << " failed posts, first: " << failures.front();
  EXPECT_EQ(sql().seq_table_problem(), "");
  std::set<std::string> all = via_a;
  all.insert(via_b.begin(), via_b.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kWriters * kPerWriter));

  for (const Seen* s : {&sa, &sb}) {
    SCOPED_TRACE(s == &sa ? "feed of A" : "feed of B");
    EXPECT_TRUE(s->errors.empty());
    EXPECT_FALSE(s->closed) << "closed with code " << s->close_code;
    EXPECT_EQ(seq_problem(s->events, 1), "");
    EXPECT_EQ(s->events.size(), static_cast<std::size_t>(m));
    const auto ids = received_alert_ids(s->events);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), all)
        << "alerts posted to either instance are on this feed";
  }
  // Identical sequences: same seq, same type, same alert at every position.
  ASSERT_EQ(sa.events.size(), sb.events.size());
  for (std::size_t i = 0; i < sa.events.size(); ++i) {
    EXPECT_EQ(sa.events[i].seq, sb.events[i].seq) << "position " << i;
    EXPECT_EQ(sa.events[i].type, sb.events[i].type) << "position " << i;
    EXPECT_EQ(sa.events[i].data.value("alert_id", ""), sb.events[i].data.value("alert_id", ""))
        << "position " << i;
    EXPECT_EQ(sa.events[i].data, sb.events[i].data) << "position " << i;
  }
}

}  // namespace
}  // namespace xiaonao::itest
