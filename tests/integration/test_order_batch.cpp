// The order writer (store/order_writer, docs/architecture.md "### Orders"): order steps and
// issued orders of concurrent requests share one transaction and one commit. Each request
// still gets its own answer, a refused step fails only itself and writes nothing, two steps on
// one order (or an issue and a step on one incident) in one batch behave as if run one after
// the other, and every event reaches the feed once with gap-free seqs.
//
// Batches are made on purpose with loop.order_batch_gather_ms (the writer waits for more steps
// after the first) and loop.order_batch_max (it stops waiting when that many are queued);
// the metrics say how many transactions the steps took.
#include <atomic>
#include <set>
#include <thread>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

constexpr double kLon = 119.905, kLat = 28.455;  // inside zone Z1

class OrderBatch : public IntegrationTest {
 protected:
  /// Station S01 with an urban zone and `units` available units U00, U01, ...
  void build_county(int units) {
    auto& s = sql();
    s.exec("INSERT INTO stations (id, name, phone, geog) VALUES ('S01', '城东派出所', '0578-1110001',"
           " 'SRID=4326;POINT(119.905 28.452)')");
    s.exec("INSERT INTO zones (id, name, station_id, area_type, officer_name, officer_phone, geom) VALUES"
           " ('Z1', '中山警务区', 'S01', 'urban', '周警官', '13700000001', ST_GeomFromText("
           "'MULTIPOLYGON(((119.90 28.45,119.91 28.45,119.91 28.46,119.90 28.46,119.90 28.45)))', 4326))");
    for (int i = 0; i < units; ++i)
      s.exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES"
             " ($1, $2, 'patrol_car', 'S01', 'available', 'SRID=4326;POINT(119.906 28.456)', now())",
             unit(i), "巡" + std::to_string(i));
  }
  static std::string unit(int i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "U%02d", i);
    return buf;
  }

  /// A server whose order writer waits up to 1 s for `batch` steps before it commits.
  Server& start_batching(int batch) {
    ServerOptions opt;
    // Merging off: every alert opens its own incident.
    opt.env = {{"XIAONAO_LOOP_ORDER_BATCH_GATHER_MS", "1000"},
               {"XIAONAO_LOOP_ORDER_BATCH_MAX", std::to_string(batch)},
               {"XIAONAO_FUSION_MERGE_RADIUS_M", "0"}};
    auto& server = start_server(opt);
    // A county commander (orders:write) issues and steps orders; the test's key posts alerts.
    add_user("800009", "county_commander", "");
    token_ = access_token(server.port(), "800009");
    return server;
  }
  std::string token_;

  std::string open_incident(unsigned short port) {
    ApiClient http(port);
    json a = make_alert("theft");
    a["location"] = {{"lon", kLon}, {"lat", kLat}};
    a.erase("address");
    const auto r = post_alert(http, a);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json()["incident_id"].get<std::string>() : std::string();
  }

  client::Response issue(unsigned short port, const std::string& incident, const std::string& unit_id) const {
    const json body = {{"unit_ids", {unit_id}}, {"instruction", "立即出警"}, {"kind", "respond"}};
    return as(port, token_, "POST", "/api/v1/incidents/" + incident + "/orders", body.dump());
  }
  client::Response step(unsigned short port, const std::string& order, const json& body) const {
    return as(port, token_, "POST", "/api/v1/orders/" + order + "/events", body.dump());
  }

  /// (order-writer transactions, steps they carried) from /metrics.
  static std::pair<double, double> batches(unsigned short port) {
    ApiClient http(port);
    const auto m = http.get("/metrics");
    EXPECT_EQ(m.status, 200);
    return {metric_value(m.body, "xiaonao_order_batches_total").value_or(-1),
            metric_value(m.body, "xiaonao_order_batch_steps_total").value_or(-1)};
  }

  /// Sends `requests` from one thread each, `spacing` apart (so they queue in this order), and
  /// returns the answers in the same order.
  static std::vector<client::Response> concurrently(const std::vector<std::function<client::Response()>>& requests,
                                                    std::chrono::milliseconds spacing = 0ms) {
    std::vector<client::Response> out(requests.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      threads.emplace_back([&, i] { out[i] = requests[i](); });
      if (spacing.count() > 0) std::this_thread::sleep_for(spacing);
    }
    for (auto& t : threads) t.join();
    return out;
  }

  std::int64_t count(const std::string& sql_text, const std::string& id) { return sql().scalar(sql_text, id); }
  std::string order_state(const std::string& id) {
    return sql().exec("SELECT state FROM orders WHERE id = $1::uuid", id)[0][0].as<std::string>();
  }
  std::string unit_status(const std::string& id) {
    return sql().exec("SELECT status FROM units WHERE id = $1", id)[0][0].as<std::string>();
  }

  /// Every event in the table once, seqs 1..N with no gap, and the feed from 0 shows the same.
  void expect_feed_complete(unsigned short port) {
    EXPECT_EQ(sql().seq_table_problem(), "");
    const auto last = sql().scalar("SELECT coalesce(max(seq), 0) FROM events");
    FeedReader feed(port, "since=0");
    ASSERT_TRUE(feed.read_through(last, 30s)) << "feed stopped at " << feed.last_seq() << " of " << last;
    EXPECT_EQ(seq_problem(feed.events(), 1), "");
    EXPECT_EQ(static_cast<std::int64_t>(feed.events().size()), last);
  }
};

TEST_F(OrderBatch, ConcurrentStepsOnManyOrdersEachAnsweredOnceOnTheFeed) {
  constexpr int kOrders = 8;
  build_county(kOrders);
  const auto port = start_batching(kOrders).port();
  FeedReader live(port, "since=0");
  std::vector<std::string> incidents;
  for (int i = 0; i < kOrders; ++i) incidents.push_back(open_incident(port));

  // Eight issues at once, then each order through its whole life, all eight at every step.
  std::vector<std::function<client::Response()>> reqs;
  for (int i = 0; i < kOrders; ++i) reqs.push_back([&, i] { return issue(port, incidents[i], unit(i)); });
  std::vector<std::string> orders;
  for (const auto& r : concurrently(reqs)) {
    ASSERT_EQ(r.status, 201) << r.body;
    orders.push_back(r.json()["orders"][0]["id"].get<std::string>());
  }
  for (int i = 0; i < kOrders; ++i) {
    EXPECT_EQ(unit_status(unit(i)), "busy");
    EXPECT_EQ(sql().exec("SELECT unit_id FROM orders WHERE id = $1::uuid", orders[i])[0][0].as<std::string>(), unit(i));
  }
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"ack", "acknowledged"}, {"en_route", "en_route"}, {"on_scene", "on_scene"}, {"complete", "completed"}};
  for (const auto& [type, state] : steps) {
    reqs.clear();
    for (int i = 0; i < kOrders; ++i) reqs.push_back([&, i, type = type] { return step(port, orders[i], {{"type", type}}); });
    const auto answers = concurrently(reqs);
    for (int i = 0; i < kOrders; ++i) {
      ASSERT_EQ(answers[i].status, 200) << type << ": " << answers[i].body;
      // Each request hears about its own order.
      EXPECT_EQ(answers[i].json()["id"], orders[i]);
      EXPECT_EQ(answers[i].json()["state"], state);
    }
  }
  for (int i = 0; i < kOrders; ++i) {
    EXPECT_EQ(order_state(orders[i]), "completed");
    EXPECT_EQ(unit_status(unit(i)), "available");
    EXPECT_EQ(count("SELECT count(*) FROM events WHERE data->>'id' = $1 AND type LIKE 'order.%'", orders[i]), 5);
    EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'incident.on_scene' AND incident_id = $1::uuid",
                    incidents[i]),
              1);
  }
  // Five rounds of eight steps; batched, they took far fewer transactions than steps.
  const auto [tx, carried] = batches(port);
  EXPECT_EQ(carried, 5 * kOrders);
  EXPECT_LT(tx, carried) << "no two steps shared a transaction";
  expect_feed_complete(port);
  // The live subscriber saw the same, in order.
  const auto last = sql().scalar("SELECT max(seq) FROM events");
  ASSERT_TRUE(live.read_through(last, 30s));
  EXPECT_EQ(seq_problem(live.events(), 1), "");
}

TEST_F(OrderBatch, ARefusedStepFailsAloneAndWritesNothing) {
  build_county(3);
  const auto port = start_batching(5).port();
  const auto inc = open_incident(port);
  std::vector<std::string> orders;
  for (int i = 0; i < 3; ++i) {
    const auto r = issue(port, inc, unit(i));
    ASSERT_EQ(r.status, 201) << r.body;
    orders.push_back(r.json()["orders"][0]["id"].get<std::string>());
  }
  // Order 2 is completed (its unit comes free).
  for (const char* t : {"ack", "complete"}) ASSERT_EQ(step(port, orders[2], {{"type", t}}).status, 200);
  const auto before = sql().scalar("SELECT count(*) FROM events");
  const auto order2 = sql().exec("SELECT updated_at::text, state FROM orders WHERE id = $1::uuid", orders[2]);
  const auto [tx0, steps0] = batches(port);

  // One batch of five: two good steps, a 409 (completed takes no ack), a 404 (no such order) and
  // a 422 found in the database (a time before the order was issued).
  const auto answers = concurrently({
      [&] { return step(port, orders[0], {{"type", "ack"}}); },
      [&] { return step(port, orders[2], {{"type", "ack"}}); },
      [&] { return step(port, "00000000-0000-4000-8000-000000000000", {{"type", "ack"}}); },
      [&] { return step(port, orders[1], {{"type", "ack"}, {"at", "2020-01-01T00:00:00Z"}}); },
      [&] { return step(port, orders[1], {{"type", "en_route"}}); },
  }, 50ms);
  const auto [tx1, steps1] = batches(port);
  EXPECT_EQ(steps1 - steps0, 5);
  EXPECT_EQ(tx1 - tx0, 1) << "the five steps did not share one transaction";

  EXPECT_EQ(answers[0].status, 200) << answers[0].body;
  EXPECT_EQ(answers[0].json()["state"], "acknowledged");
  EXPECT_EQ(answers[1].status, 409) << answers[1].body;
  EXPECT_EQ(error_of(answers[1])["state"], "completed");
  EXPECT_EQ(answers[2].status, 404) << answers[2].body;
  EXPECT_EQ(answers[3].status, 422) << answers[3].body;
  EXPECT_EQ(error_of(answers[3])["field"], "at");
  EXPECT_EQ(answers[4].status, 200) << answers[4].body;
  EXPECT_EQ(answers[4].json()["state"], "en_route");

  // The refused steps wrote nothing: order 2 as it was, order 1 moved only by its good step,
  // and the events are exactly the good steps'.
  const auto after2 = sql().exec("SELECT updated_at::text, state FROM orders WHERE id = $1::uuid", orders[2]);
  EXPECT_EQ(after2[0][0].as<std::string>(), order2[0][0].as<std::string>());
  EXPECT_EQ(after2[0][1].as<std::string>(), "completed");
  EXPECT_EQ(unit_status(unit(2)), "available");
  EXPECT_EQ(order_state(orders[1]), "en_route");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events") - before, 2);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE data->>'id' = $1 AND type = 'order.acknowledged'", orders[2]), 1);
  expect_feed_complete(port);
}

TEST_F(OrderBatch, TwoStepsOnOneOrderInOneBatchRunOneAfterTheOther) {
  build_county(1);
  const auto port = start_batching(3).port();
  const auto inc = open_incident(port);
  const auto r = issue(port, inc, unit(0));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto order = r.json()["orders"][0]["id"].get<std::string>();
  const auto [tx0, steps0] = batches(port);

  // ack, ack again, complete: queued in this order, one transaction.
  const auto answers = concurrently({
      [&] { return step(port, order, {{"type", "ack"}}); },
      [&] { return step(port, order, {{"type", "ack"}}); },
      [&] { return step(port, order, {{"type", "complete"}}); },
  }, 100ms);
  const auto [tx1, steps1] = batches(port);
  EXPECT_EQ(steps1 - steps0, 3);
  EXPECT_EQ(tx1 - tx0, 1) << "the three steps did not share one transaction";

  // As if one after the other: the second ack sees the first (409 acknowledged), complete
  // sees the acknowledgement and frees the unit.
  ASSERT_EQ(answers[0].status, 200) << answers[0].body;
  EXPECT_EQ(answers[0].json()["state"], "acknowledged");
  EXPECT_EQ(answers[1].status, 409) << answers[1].body;
  EXPECT_EQ(error_of(answers[1])["state"], "acknowledged");
  ASSERT_EQ(answers[2].status, 200) << answers[2].body;
  const auto done = answers[2].json();
  EXPECT_EQ(done["state"], "completed");
  EXPECT_EQ(done["acknowledged_at"], answers[0].json()["acknowledged_at"]);
  // Both deadlines met by the time the order completed.
  for (const auto& d : done["deadlines"]) EXPECT_FALSE(d["met_at"].is_null()) << d.dump();
  EXPECT_EQ(unit_status(unit(0)), "available");
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE data->>'id' = $1 AND type = 'order.acknowledged'", order), 1);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE data->>'id' = $1 AND type = 'order.completed'", order), 1);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'unit.status' AND data->>'order_id' = $1"
                  " AND data->>'new_status' = 'available'",
                  order),
            1);
  // Feed order is step order: acknowledged before completed.
  const auto seqs = sql().exec("SELECT type FROM events WHERE data->>'id' = $1 ORDER BY seq", order);
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs[1][0].as<std::string>(), "order.acknowledged");
  EXPECT_EQ(seqs[2][0].as<std::string>(), "order.completed");
  expect_feed_complete(port);
}

TEST_F(OrderBatch, IssueAndStepsInterleavedInOneBatch) {
  build_county(2);
  const auto port = start_batching(4).port();
  const auto inc = open_incident(port);
  const auto other = open_incident(port);
  const auto r = issue(port, inc, unit(0));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto first = r.json()["orders"][0]["id"].get<std::string>();
  const auto [tx0, steps0] = batches(port);

  // Issue U01 on the incident, ack the first order, issue U01 on it again (it now holds an open
  // order of this incident: 422, seen inside the batch), and issue U01 on another incident
  // (a busy unit may take another incident's order).
  const auto answers = concurrently({
      [&] { return issue(port, inc, unit(1)); },
      [&] { return step(port, first, {{"type", "ack"}}); },
      [&] { return issue(port, inc, unit(1)); },
      [&] { return issue(port, other, unit(1)); },
  }, 100ms);
  const auto [tx1, steps1] = batches(port);
  EXPECT_EQ(steps1 - steps0, 4);
  EXPECT_EQ(tx1 - tx0, 1) << "the four requests did not share one transaction";

  ASSERT_EQ(answers[0].status, 201) << answers[0].body;
  const auto second = answers[0].json()["orders"][0]["id"].get<std::string>();
  EXPECT_EQ(answers[1].status, 200) << answers[1].body;
  EXPECT_EQ(answers[1].json()["state"], "acknowledged");
  EXPECT_EQ(answers[2].status, 422) << answers[2].body;
  EXPECT_EQ(error_of(answers[2])["field"], "unit_ids[0]");
  ASSERT_EQ(answers[3].status, 201) << answers[3].body;
  // Distinct order numbers, the unit busy once (one unit.status event: available → busy).
  EXPECT_NE(answers[3].json()["orders"][0]["number"], answers[0].json()["orders"][0]["number"]);
  EXPECT_EQ(unit_status(unit(1)), "busy");
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'unit.status' AND data->>'unit_id' = $1", unit(1)), 1);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE incident_id = $1::uuid", inc), 2);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM orders WHERE unit_id = 'U01'"), 2);
  // The other incident was dispatched by its first order, once.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE type = 'incident.dispatched' AND incident_id = $1::uuid", other),
            1);
  EXPECT_EQ(sql().exec("SELECT status FROM incidents WHERE id = $1::uuid", other)[0][0].as<std::string>(),
            "dispatched");
  EXPECT_EQ(order_state(second), "issued");
  expect_feed_complete(port);
}

}  // namespace
}  // namespace xiaonao::itest
