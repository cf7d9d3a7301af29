// Idempotency on (source, source_ref): retries, also racing ones, get the same ids and write
// nothing new.
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Idempotency : public IntegrationTest {};

TEST_F(Idempotency, RetryGets200WithTheSameIdsAndWritesNothing) {
  Server& server = start_server();
  ApiClient http(server.port());
  const json alert = make_alert("burglary");
  auto first = post_alert(http, alert);
  ASSERT_EQ(first.status, 201) << first.body;
  const json f = first.json();
  const Sql::Counts after_first = sql().counts();

  ApiClient other(server.port());
  for (int i = 0; i < 3; ++i) {
    auto retry = post_alert(i % 2 ? other : http, alert);
    ASSERT_EQ(retry.status, 200) << retry.body;
    const json r = retry.json();
    EXPECT_EQ(r.value("alert_id", ""), f.value("alert_id", "x"));
    EXPECT_EQ(r.value("incident_id", ""), f.value("incident_id", "x"));
    EXPECT_EQ(r.value("incident_number", ""), f.value("incident_number", "x"));
    EXPECT_EQ(r.value("merged", true), f.value("merged", false));
    EXPECT_EQ(r.value("created", true), false);
  }
  EXPECT_EQ(sql().counts(), after_first) << "a retry wrote rows";

  // The same source_ref from another source is another alert.
  json other_source = alert;
  other_source["source"] = "12345";
  auto r = post_alert(http, other_source);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.json().value("alert_id", ""), f.value("alert_id", ""));
}

// A retry whose key another writer has inserted but not yet committed: the batch's insert
// waits on the key's unique index, skips the row once that writer commits, and answers with
// the ids that writer stored, writing nothing of its own and needing no second attempt. Here
// "another writer" is a transaction of the test that holds the key uncommitted until the
// server's insert is seen waiting on it.
TEST_F(Idempotency, RetryWaitsForAnotherWritersUncommittedKeyAndAnswersWithItsIds) {
  Server& server = start_server();
  ApiClient http(server.port());
  auto seed = post_alert(http, make_alert("theft"));
  ASSERT_EQ(seed.status, 201) << seed.body;
  const std::string seed_alert = seed.json().value("alert_id", "");
  const std::string seed_incident = seed.json().value("incident_id", "");
  const json alert = make_alert("theft");
  const Sql::Counts before = sql().counts();

  // The other writer: a copy of the seed's incident and alert under the retried key.
  pqxx::connection other(db_conninfo());
  pqxx::work tx(other);
  const auto ids = tx.exec_params(
      R"sql(
WITH inc AS (
  INSERT INTO incidents
  SELECT (jsonb_populate_record(NULL::incidents, to_jsonb(i) || jsonb_build_object(
            'id', gen_random_uuid(), 'number', i.number || '-other'))).*
  FROM incidents i WHERE i.id = $1::uuid
  RETURNING id
)
INSERT INTO alerts
SELECT (jsonb_populate_record(NULL::alerts, to_jsonb(a) || jsonb_build_object(
          'id', gen_random_uuid(), 'incident_id', (SELECT id FROM inc), 'source_ref', $3::text))).*
FROM alerts a WHERE a.id = $2::uuid
RETURNING id::text, incident_id::text
)sql",
      seed_incident, seed_alert, alert["source_ref"].get<std::string>());
  ASSERT_EQ(ids.size(), 1u);

  client::Response answer;
  std::thread poster([&] {
    ApiClient c(server.port());
    answer = post_alert(c, alert);
  });
  // The server's insert waits for the other writer's key (a lock wait, seen by the database).
  EXPECT_TRUE(wait_until([&] { return sql().scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                   "current_database() AND wait_event_type = 'Lock' AND query LIKE "
                                                   "'%xn_insert_alerts%'") > 0; },
                         std::chrono::seconds(30)));
  tx.commit();
  poster.join();

  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.json().value("alert_id", ""), ids[0][0].as<std::string>());
  EXPECT_EQ(answer.json().value("incident_id", ""), ids[0][1].as<std::string>());
  EXPECT_EQ(answer.json().value("created", true), false);
  const Sql::Counts after = sql().counts();
  EXPECT_EQ(after.alerts, before.alerts + 1);  // the other writer's
  EXPECT_EQ(after.incidents, before.incidents + 1);
  EXPECT_EQ(after.events, before.events) << "the retry wrote events";
  EXPECT_EQ(metric_value(http.get("/metrics").body, "xiaonao_intake_batch_retries_total"), 0.0);
}

TEST_F(Idempotency, SixteenRacingRetriesCreateExactlyOneAlert) {
  Server& server = start_server();
  constexpr int kThreads = 16;
  constexpr int kRounds = 5;

  // One connection per thread, opened before the race so that the requests leave together.
  std::vector<std::unique_ptr<ApiClient>> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.push_back(std::make_unique<ApiClient>(server.port()));
    ASSERT_EQ(clients.back()->get("/healthz").status, 200);
  }

  for (int round = 0; round < kRounds; ++round) {
    const json alert = make_alert(round % 2 ? "theft" : "fraud");
    std::vector<int> status(kThreads, 0);
    std::vector<std::string> bodies(kThreads);
    std::vector<std::string> failures(kThreads);
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          auto r = post_alert(*clients[i], alert);
          status[i] = r.status;
          bodies[i] = r.body;
        } catch (const std::exception& e) {
          failures[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();

    int created = 0, existing = 0;
    std::string alert_id, incident_id, number;
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(failures[i].empty()) << "round " << round << " thread " << i << ": " << failures[i];
      ASSERT_TRUE(status[i] == 201 || status[i] == 200)
          << "round " << round << " thread " << i << ": " << status[i] << " " << bodies[i];
      const json j = json::parse(bodies[i]);
      if (status[i] == 201) {
        ++created;
        EXPECT_EQ(j.value("created", false), true);
      } else {
        ++existing;
        EXPECT_EQ(j.value("created", true), false);
      }
      if (alert_id.empty()) {
        alert_id = j.value("alert_id", "");
        incident_id = j.value("incident_id", "");
        number = j.value("incident_number", "");
      }
      EXPECT_EQ(j.value("alert_id", ""), alert_id) << "round " << round;
      EXPECT_EQ(j.value("incident_id", ""), incident_id) << "round " << round;
      EXPECT_EQ(j.value("incident_number", ""), number) << "round " << round;
    }
    EXPECT_EQ(created, 1) << "round " << round;
    EXPECT_EQ(existing, kThreads - 1) << "round " << round;

    EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE source = $1 AND source_ref = $2",
                           alert["source"].get<std::string>(),
                           alert["source_ref"].get<std::string>()),
              1);
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid", incident_id), 1);
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND "
                           "type = 'alert.received'",
                           incident_id),
              1);
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND "
                           "type = 'incident.opened'",
                           incident_id),
              1);
  }
  const Sql::Counts c = sql().counts();
  EXPECT_EQ(c.alerts, kRounds);
  EXPECT_EQ(c.incidents, kRounds);
  EXPECT_EQ(sql().seq_table_problem(), "");
}

}  // namespace
}  // namespace xiaonao::itest
