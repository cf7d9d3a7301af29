// Graceful shutdown: SIGTERM closes feeds with 1001 ("going away"), answers the requests that
// were already sent, and exits 0.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class GracefulShutdown : public IntegrationTest {};

TEST_F(GracefulShutdown, SigtermClosesFeedsWith1001FinishesPostsAndExits0) {
  Server& server = start_server();
  const unsigned short port = server.port();

  // A feed subscriber, read on its own thread until the server closes it.
  FeedReader sub(port, "since=0");
  std::thread sub_thread([&] { sub.read_until_closed(120s); });

  // Clients posting continuously; they stop once a post started after the signal fails.
  std::atomic<bool> term_sent{false};
  std::atomic<int> acked{0};
  std::mutex mu;
  std::vector<std::string> acked_refs;
  std::vector<std::string> bad_responses;
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      ApiClient http(port, 30s);
      const auto give_up = Clock::now() + 200s;
      while (Clock::now() < give_up) {
        const bool after = term_sent.load();
        json a = make_alert("dispute");
        try {
          auto r = post_alert(http, a);
          std::lock_guard lock(mu);
          if (r.status == 201) {
            acked_refs.push_back(a["source_ref"]);
            ++acked;
          } else {
            bad_responses.push_back(std::to_string(r.status) + " " + r.body);
          }
        } catch (const std::exception&) {
          // Refused, or closed before an answer: the outcome is unknown, which a client
          // must handle by retrying (idempotently) elsewhere.
          if (after) break;
        }
      }
    });
  }
  const bool streaming = wait_until([&] { return acked.load() >= 50; }, 60s);
  server.signal(SIGTERM);
  term_sent = true;

  const auto code = server.wait_exit(60s);
  for (auto& p : posters) p.join();
  sub_thread.join();

  ASSERT_TRUE(streaming) << "posting never got going";
  ASSERT_TRUE(code.has_value()) << "xiaonaod still runs 60 s after SIGTERM";
  EXPECT_EQ(*code, 0) << "exit status after SIGTERM";
  EXPECT_TRUE(sub.closed());
  EXPECT_EQ(sub.close_code(), 1001) << "feed close code on shutdown";
  EXPECT_EQ(seq_problem(sub.events(), 1), "");
  EXPECT_TRUE(bad_responses.empty())
      << bad_responses.size() << " non-201 answers during shutdown, first: " << bad_responses.front();

  for (const auto& ref : acked_refs) {
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE source_ref = $1", ref), 1)
        << "acknowledged alert " << ref << " not stored";
  }
  EXPECT_EQ(sql().seq_table_problem(), "");
}

TEST_F(GracefulShutdown, RequestAlreadySentWhenSigtermArrivesIsAnswered) {
  // On connections whose session is established (one request answered), a POST is written
  // whole into the server's socket before the signal is sent. Such a request is in flight: the
  // client cannot tell whether it was processed unless it gets the answer. Several rounds,
  // since whether the server has begun reading it yet is down to timing.
  Server& server = start_server();
  constexpr int kRounds = 25;
  constexpr int kRaw = 8;
  int unanswered = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round > 0) server.restart();
    const unsigned short port = server.port();
    std::vector<std::unique_ptr<RawConnection>> raws;
    for (int i = 0; i < kRaw; ++i) {
      raws.push_back(std::make_unique<RawConnection>(port));
      ASSERT_TRUE(raws.back()->send(raw_request("GET", "/healthz")));
      auto r = raws.back()->read_response();
      ASSERT_TRUE(r && r->status == 200);
    }
    std::vector<json> raw_alerts;
    for (auto& raw : raws) {
      json a = make_alert("fraud");
      raw_alerts.push_back(a);
      ASSERT_TRUE(raw->send(raw_request("POST", "/api/v1/alerts", a.dump(), "application/json", auth_headers())));
    }
    server.signal(SIGTERM);

    for (std::size_t i = 0; i < raws.size(); ++i) {
      std::optional<RawResponse> r;
      try {
        r = raws[i]->read_response(60s);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "request " << i << " sent before SIGTERM: " << e.what();
        continue;
      }
      if (!r) {
        // Closing a keep-alive connection whose request had not reached the server's parser
        // yet is allowed by HTTP; what must never happen is a request that was processed and
        // then not answered. So an unanswered alert must not be stored: the retry is safe.
        ++unanswered;
        EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE source_ref = $1",
                               raw_alerts[i]["source_ref"].get<std::string>()),
                  0)
            << "request " << i << " was stored but its connection closed without an answer";
        continue;
      }
      EXPECT_EQ(r->status, 201) << r->body;
      if (r->status == 201) {
        EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE source_ref = $1",
                               raw_alerts[i]["source_ref"].get<std::string>()),
                  1);
      }
    }
    const auto code = server.wait_exit(60s);
    ASSERT_TRUE(code.has_value()) << "xiaonaod still runs 60 s after SIGTERM";
    EXPECT_EQ(*code, 0);
  }
  // The server lingers for such requests, so nearly all are answered; a rare one may still be
  // between the socket and the parser when the linger ends on a loaded machine.
  EXPECT_LE(unanswered, kRounds * kRaw / 50) << "of " << kRounds * kRaw
                                             << " requests sent before SIGTERM, these had their connection closed "
                                                "without an answer";
}

TEST_F(GracefulShutdown, SigintAlsoClosesFeedsWith1001AndExits0) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  FeedReader sub(server.port(), "since=0");
  ASSERT_TRUE(sub.read_through(sql().max_seq(), 30s));  // the subscription is live
  server.signal(SIGINT);
  EXPECT_TRUE(sub.read_until_closed(60s));
  EXPECT_EQ(sub.close_code(), 1001);
  const auto code = server.wait_exit(60s);
  ASSERT_TRUE(code.has_value()) << "xiaonaod still runs 60 s after SIGINT";
  EXPECT_EQ(*code, 0);
}

TEST_F(GracefulShutdown, SubscriberThatJustConnectedAlsoGets1001) {
  // The handshake is complete when WsClient returns; a shutdown right after must still say
  // "going away" to this subscriber, however far its server-side set-up has got. Several
  // rounds, since the window is short.
  Server& server = start_server();
  int wrong = 0;
  std::string codes;
  for (int round = 0; round < 60; ++round) {
    if (round > 0) server.restart();
    FeedReader sub(server.port(), round % 2 ? "since=0" : "");
    server.signal(SIGTERM);
    sub.read_until_closed(60s);
    codes += std::to_string(sub.close_code()) + " ";
    if (sub.close_code() != 1001) ++wrong;
    const auto code = server.wait_exit(60s);
    ASSERT_TRUE(code.has_value()) << "xiaonaod still runs 60 s after SIGTERM";
    EXPECT_EQ(*code, 0);
  }
  EXPECT_EQ(wrong, 0) << "close codes seen: " << codes;
}

TEST_F(GracefulShutdown, IdleServerExitsPromptlyOnSigterm) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(http.get("/healthz").status, 200);  // an idle keep-alive connection stays open
  // The shutdown grace (10 s by default) bounds in-flight work; an idle connection must not
  // make the server wait for it.
  const auto t0 = Clock::now();
  EXPECT_EQ(server.terminate(60s), 0);
  EXPECT_LT(Clock::now() - t0, 9s) << "an idle keep-alive connection held up the exit";
}

}  // namespace
}  // namespace xiaonao::itest
