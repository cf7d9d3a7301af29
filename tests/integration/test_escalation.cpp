// Deadlines and escalation against the real database: a missed deadline is announced exactly
// once (on its station's feed and the county feed, never on another station's), a met one never
// is; two instances on one database announce each of N deadlines once in total; a restarted
// instance announces what came due while it was down, late. Deadline rows are written by SQL
// the way store::add_deadlines writes them (and NOTIFY xiaonao_deadlines), with due times a
// fraction of a second ahead, so the tests are quick and never sleep to assert.
#include <map>
#include <set>
#include <string>
#include <thread>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

// An incident through the public intake; returns its id.
std::string new_incident(unsigned short port) {
  ApiClient http(port);
  const auto r = post_alert(http, make_alert("theft"));
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json()["incident_id"].get<std::string>();
}

// A unit and an issued order for it on `incident_id`; returns the order id.
std::string add_order(Sql& sql, const std::string& incident_id, const std::string& station, const std::string& unit) {
  sql.exec("INSERT INTO units (id, call_sign, kind, station_id, status) VALUES ($1, $1, 'patrol_car', $2, 'busy')"
           " ON CONFLICT (id) DO NOTHING",
           unit, station);
  return sql
      .exec("INSERT INTO orders (id, number, incident_id, station_id, unit_id, kind, instruction, state, issued_by,"
            "                    issued_at, updated_at)"
            " VALUES (gen_random_uuid(), 'O' || nextval('order_serial'), $1::uuid, $2, $3, 'respond', '到场处置',"
            "         'issued', 'test', now(), now()) RETURNING id::text",
            incident_id, station, unit)[0][0]
      .as<std::string>();
}

// A deadline due `in_s` seconds from the database's now (negative: already past), as
// add_deadlines writes one, and the NOTIFY that wakes the schedulers. `met`: already met when
// written (as meet_deadlines would mark it before it is due). Returns its id.
std::int64_t add_deadline(Sql& sql, const std::string& incident_id, const std::string& station,
                          const std::string& subject_kind, const std::string& subject_id, const std::string& kind,
                          double in_s, bool met = false) {
  const auto id = sql.exec("INSERT INTO deadlines (incident_id, station_id, subject_kind, subject_id, kind, due_at,"
                           "                       created_at, met_at)"
                           " VALUES ($1::uuid, nullif($2, ''), $3, $4, $5,"
                           "         clock_timestamp() + make_interval(secs => $6::float8), now(),"
                           "         CASE WHEN $7::bool THEN now() END) RETURNING id",
                           incident_id, station, subject_kind, subject_id, kind, in_s, met)[0][0]
                      .as<std::int64_t>();
  sql.exec("SELECT pg_notify('xiaonao_deadlines', '')");
  return id;
}

std::vector<const FeedEvent*> missed_on(const FeedReader& feed) {
  std::vector<const FeedEvent*> out;
  for (const auto& e : feed.events())
    if (e.type == "deadline.missed") out.push_back(&e);
  return out;
}

bool has_missed(const FeedReader& feed, std::int64_t deadline_id) {
  for (const auto* e : missed_on(feed))
    if (e->data.value("deadline_id", std::int64_t{0}) == deadline_id) return true;
  return false;
}

// How many deadline.missed events the events table holds for each deadline id.
std::map<std::int64_t, std::int64_t> missed_in_table(Sql& sql) {
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& r : sql.exec("SELECT (data->>'deadline_id')::bigint, count(*) FROM events"
                                " WHERE type = 'deadline.missed' GROUP BY 1"))
    out[r[0].as<std::int64_t>()] = r[1].as<std::int64_t>();
  return out;
}

class Escalation : public IntegrationTest {};

TEST_F(Escalation, MissedDeadlineAnnouncedOnceOnItsStationAndTheCountyMetOneNever) {
  Server& server = start_server();
  const auto port = server.port();
  add_user("510001", "duty_officer", "S01");
  add_user("510002", "duty_officer", "S02");
  const auto s01 = access_token(port, "510001");
  const auto s02 = access_token(port, "510002");

  const auto incident = new_incident(port);
  sql().exec("UPDATE incidents SET station_id = 'S01' WHERE id = $1::uuid", incident);
  const auto number = sql().exec("SELECT number FROM incidents WHERE id = $1::uuid", incident)[0][0].as<std::string>();
  const auto order = add_order(sql(), incident, "S01", "U-S01-1");
  const auto other = new_incident(port);
  sql().exec("UPDATE incidents SET station_id = 'S02' WHERE id = $1::uuid", other);

  FeedReader county(port, "since=0");
  FeedReader feed01(port, "since=0", {{"Authorization", "Bearer " + s01}});
  FeedReader feed02(port, "since=0", {{"Authorization", "Bearer " + s02}});

  // Missed: the order's acknowledgement. Met in time: its arrival. Then a later deadline of S02
  // as a marker: the scheduler announces in due order, so once the marker is out, anything
  // before it that was going to be announced has been.
  const auto missed = add_deadline(sql(), incident, "S01", "order", order, "acknowledge", 0.2);
  const auto met = add_deadline(sql(), incident, "S01", "order", order, "arrive", 0.3, true);
  const auto marker = add_deadline(sql(), other, "S02", "incident", other, "feedback", 0.5);

  ASSERT_TRUE(county.read_until([&] { return has_missed(county, marker); }, 20s)) << "the county hears of both";
  ASSERT_TRUE(feed02.read_until([&] { return has_missed(feed02, marker); }, 20s));
  ASSERT_TRUE(feed01.read_until([&] { return has_missed(feed01, missed); }, 20s));

  // Exactly once in the table and on the county feed; the met one never.
  const auto table = missed_in_table(sql());
  EXPECT_EQ(table, (std::map<std::int64_t, std::int64_t>{{missed, 1}, {marker, 1}}));
  ASSERT_EQ(missed_on(county).size(), 2u);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE id = $1 AND fired_at IS NULL", met), 1);

  // The event says which order, which deadline, how late, which unit.
  const auto& ev = *missed_on(county)[0];
  EXPECT_EQ(ev.data["deadline_id"], missed);
  EXPECT_EQ(ev.data["subject_kind"], "order");
  EXPECT_EQ(ev.data["order_id"], order);
  EXPECT_EQ(ev.data["subject_id"], order);
  EXPECT_EQ(ev.data["unit_id"], "U-S01-1");
  EXPECT_EQ(ev.data["incident_id"], incident);
  EXPECT_EQ(ev.data["incident_number"], number);
  EXPECT_EQ(ev.data["station_id"], "S01");
  EXPECT_EQ(ev.data["kind"], "acknowledge");
  EXPECT_TRUE(ev.data["due_at"].is_string());
  EXPECT_GE(ev.data["late_s"].get<double>(), 0.0);
  // The 1 s target is measured by bench/escalation.sh; here only a failure guard against a
  // scheduler that waits for its scan instead of the due time on a busy test machine.
  EXPECT_LT(ev.data["late_s"].get<double>(), 5.0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'deadline.missed' AND station_id = 'S01'"
                         " AND incident_id = $1::uuid",
                         incident),
            1);

  // Station feeds: each hears only of its own station's deadlines.
  ASSERT_EQ(missed_on(feed01).size(), 1u);
  EXPECT_EQ(missed_on(feed01)[0]->seq, ev.seq);
  ASSERT_EQ(missed_on(feed02).size(), 1u);
  EXPECT_EQ(missed_on(feed02)[0]->data["deadline_id"], marker);
  EXPECT_EQ(seq_problem(county.events(), 1), "");

  // GET /api/v1/escalations: station-scoped, newest first, open until met.
  auto list = as(port, s01, "GET", "/api/v1/escalations?open=true");
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = list.json()["items"];
  ASSERT_EQ(items.size(), 1u) << items;
  EXPECT_EQ(items[0]["id"], missed);
  EXPECT_EQ(items[0]["incident_number"], number);
  EXPECT_EQ(items[0]["order_id"], order);
  EXPECT_EQ(items[0]["unit_id"], "U-S01-1");
  EXPECT_EQ(items[0]["kind"], "acknowledge");
  EXPECT_TRUE(items[0]["open"].get<bool>());
  EXPECT_TRUE(items[0]["met_at"].is_null());
  EXPECT_FALSE(items[0]["fired_by"].get<std::string>().empty());
  EXPECT_TRUE(items[0]["fired_at"].is_string());

  ApiClient county_http(port);
  auto all = county_http.get("/api/v1/escalations");
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.json()["items"].size(), 2u);
  EXPECT_EQ(all.json()["items"][0]["id"], marker) << "newest first";
  EXPECT_EQ(county_http.get("/api/v1/escalations?station_id=S02").json()["items"].size(), 1u);
  EXPECT_EQ(as(port, s02, "GET", "/api/v1/escalations?station_id=S01").json()["items"].size(), 0u)
      << "another station's deadlines stay hidden";
  EXPECT_EQ(county_http.get("/api/v1/escalations?limit=1").json()["items"].size(), 1u);
  EXPECT_EQ(county_http.get("/api/v1/escalations?since=2999-01-01T00:00:00Z").json()["items"].size(), 0u);

  // Met late: no longer open, and never announced again.
  sql().exec("UPDATE deadlines SET met_at = now() WHERE id = $1", missed);
  EXPECT_EQ(as(port, s01, "GET", "/api/v1/escalations?open=true").json()["items"].size(), 0u);
  const auto closed = as(port, s01, "GET", "/api/v1/escalations?open=false").json()["items"];
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0]["met_at"].is_string());
  EXPECT_FALSE(closed[0]["open"].get<bool>());

  // Bad queries: 400 naming the parameter, nothing else happens.
  for (const auto& [target, field] : std::vector<std::pair<std::string, std::string>>{
           {"/api/v1/escalations?open=maybe", "open"},
           {"/api/v1/escalations?limit=0", "limit"},
           {"/api/v1/escalations?since=yesterday", "since"},
           {"/api/v1/escalations?station_id=a%20b", "station_id"}}) {
    const auto r = county_http.get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(error_of(r)["field"], field) << target;
  }
  EXPECT_EQ(as(port, "", "GET", "/api/v1/escalations").status, 401);

  // The metrics count what this instance announced.
  const auto metrics = county_http.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metric_value(metrics.body, "xiaonao_deadlines_missed_total"), 2.0);
  EXPECT_EQ(metric_value(metrics.body, "xiaonao_escalation_lag_seconds_count"), 2.0);
}

TEST_F(Escalation, TwoInstancesAnnounceEachOfManyDeadlinesExactlyOnce) {
  // Small batches so both instances take turns at the same due rows.
  ServerOptions opt;
  opt.env = {{"XIAONAO_LOOP_ESCALATION_BATCH", "3"}};
  Server& a = add_server(opt);
  Server& b = add_server(opt);
  a.spawn();
  b.spawn();
  a.wait_started();
  b.wait_started();
  const auto incident = new_incident(a.port());
  sql().exec("UPDATE incidents SET station_id = 'S01' WHERE id = $1::uuid", incident);
  FeedReader fa(a.port(), "since=0");
  FeedReader fb(b.port(), "since=0");

  // 60 deadlines: most due at the same instant, a few spread out, some already past.
  constexpr int kN = 60;
  std::set<std::int64_t> ids;
  for (int i = 0; i < kN; ++i) {
    const double in_s = i < 40 ? 0.4 : i < 50 ? 0.1 * (i - 40) : -1.0;
    ids.insert(add_deadline(sql(), incident, "S01", "incident", incident + "#" + std::to_string(i), "feedback", in_s));
  }
  const auto announced = [&](const FeedReader& f) {
    std::set<std::int64_t> seen;
    for (const auto* e : missed_on(f)) seen.insert(e->data["deadline_id"].get<std::int64_t>());
    return seen;
  };
  ASSERT_TRUE(fa.read_until([&] { return announced(fa) == ids; }, 30s)) << announced(fa).size() << " of " << kN;
  ASSERT_TRUE(fb.read_until([&] { return announced(fb) == ids; }, 30s)) << announced(fb).size() << " of " << kN;

  // A marker after them all: once both feeds carry it, nothing earlier can still come.
  const auto marker = add_deadline(sql(), incident, "S01", "incident", incident, "done", 0.1);
  ASSERT_TRUE(fa.read_until([&] { return has_missed(fa, marker); }, 20s));
  ASSERT_TRUE(fb.read_until([&] { return has_missed(fb, marker); }, 20s));
  ids.insert(marker);

  const auto table = missed_in_table(sql());
  EXPECT_EQ(table.size(), ids.size());
  for (const auto& [id, n] : table) EXPECT_EQ(n, 1) << "deadline " << id;
  for (const FeedReader* f : {&fa, &fb}) {
    EXPECT_EQ(missed_on(*f).size(), ids.size()) << "no duplicates on the feed";
    EXPECT_EQ(seq_problem(f->events(), 1), "");
  }
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE fired_at IS NULL"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE late_s < 0"), 0);
  // Which instance announced which row is recorded (how they shared the work is up to them).
  EXPECT_GE(sql().scalar("SELECT count(DISTINCT fired_by) FROM deadlines"), 1);
  EXPECT_EQ(sql().seq_table_problem(), "");
}

TEST_F(Escalation, ARestartedInstanceAnnouncesWhatCameDueWhileItWasDownOnceAndLate) {
  Server& server = start_server();
  const auto incident = new_incident(server.port());
  sql().exec("UPDATE incidents SET station_id = 'S01' WHERE id = $1::uuid", incident);

  // One announced while running.
  const auto before = add_deadline(sql(), incident, "S01", "incident", incident, "feedback", 0.05);
  {
    FeedReader feed(server.port(), "since=0");
    ASSERT_TRUE(feed.read_until([&] { return has_missed(feed, before); }, 20s));
  }
  ASSERT_EQ(server.terminate(), 0);

  // While it is down: five deadlines come due (one met in time, which must stay silent).
  std::set<std::int64_t> down;
  for (int i = 0; i < 5; ++i)
    down.insert(add_deadline(sql(), incident, "S01", "order", "00000000-0000-0000-0000-00000000000" + std::to_string(i),
                             "acknowledge", 0.05 * i));
  const auto met = add_deadline(sql(), incident, "S01", "support", "SR1", "accept", 0.05, true);
  ASSERT_TRUE(wait_until(
      [&] { return sql().scalar("SELECT count(*) FROM deadlines WHERE due_at >= clock_timestamp()") == 0; }, 10s));

  server.start();
  FeedReader feed(server.port(), "since=0");
  ASSERT_TRUE(feed.read_until(
      [&] {
        std::size_t n = 0;
        for (const auto id : down) n += has_missed(feed, id) ? 1 : 0;
        return n == down.size();
      },
      30s));
  const auto marker = add_deadline(sql(), incident, "S01", "incident", incident, "done", 0.1);
  ASSERT_TRUE(feed.read_until([&] { return has_missed(feed, marker); }, 20s));

  const auto table = missed_in_table(sql());
  EXPECT_EQ(table.size(), down.size() + 2) << "the five, the one before the restart and the marker";
  for (const auto& [id, n] : table) EXPECT_EQ(n, 1) << "deadline " << id;
  EXPECT_EQ(table.count(met), 0u);
  EXPECT_EQ(missed_on(feed).size(), table.size()) << "the replay and the live tail carry each once";
  for (const auto* e : missed_on(feed)) {
    const auto id = e->data["deadline_id"].get<std::int64_t>();
    if (down.count(id) == 0) continue;
    EXPECT_GT(e->data["late_s"].get<double>(), 0.0) << "late_s says how late: " << e->text;
    EXPECT_FALSE(e->data.contains("order_id")) << "no such order row: the subject stays, no order fields";
  }
}

// The seeds' rule end to end through the API: an order nobody acknowledges escalates exactly
// once, with two instances running and the one that issued it restarted before it was due; a
// late acknowledgement then meets it without a second announcement.
TEST_F(Escalation, AnUnacknowledgedOrderEscalatesOnceAcrossTwoInstancesAndARestart) {
  ServerOptions opt;
  opt.env = {{"XIAONAO_DEADLINES_ACKNOWLEDGE_P1_S", "5"}};
  Server& a = add_server(opt);
  Server& b = add_server(opt);
  a.spawn();
  b.spawn();
  a.wait_started();
  b.wait_started();
  sql().exec("INSERT INTO stations (id, name, phone, geog) VALUES ('S01', '浮云派出所', '0578-1110001',"
             " ST_SetSRID(ST_MakePoint(119.57, 28.11), 4326)::geography) ON CONFLICT (id) DO NOTHING");
  sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at)"
             " VALUES ('U9', '云和巡9', 'patrol_car', 'S01', 'available',"
             "         ST_SetSRID(ST_MakePoint(119.57, 28.11), 4326)::geography, now())");
  json alert = make_alert("robbery");
  alert["priority"] = 1;
  ApiClient http(a.port());
  const auto posted = post_alert(http, alert);
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string incident = posted.json()["incident_id"];
  sql().exec("UPDATE incidents SET station_id = 'S01' WHERE id = $1::uuid", incident);
  add_user("800009", "county_commander", "");
  const auto token = access_token(a.port(), "800009");
  const json order = {{"station_id", "S01"}, {"unit_ids", {"U9"}}, {"instruction", "立即前往现场"}, {"kind", "respond"}};
  const auto issued = as(a.port(), token, "POST", "/api/v1/incidents/" + incident + "/orders", order.dump());
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string order_id = issued.json()["orders"][0]["id"];
  ASSERT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND kind = 'acknowledge'"
                         " AND due_at > now() + interval '3 seconds'", order_id), 1) << "due in 5 s, not yet";

  // The issuing instance restarts before the deadline; B runs on.
  ASSERT_EQ(a.terminate(), 0);
  a.start();
  const auto acknowledge_missed = [&](const FeedReader& f) {
    std::size_t n = 0;
    for (const auto* e : missed_on(f))
      n += e->data.value("order_id", "") == order_id && e->data.value("kind", "") == "acknowledge" ? 1 : 0;
    return n;
  };
  FeedReader fa(a.port(), "since=0");
  FeedReader fb(b.port(), "since=0");
  ASSERT_TRUE(fb.read_until([&] { return acknowledge_missed(fb) == 1; }, 30s));
  ASSERT_TRUE(fa.read_until([&] { return acknowledge_missed(fa) == 1; }, 30s));

  // The unit acknowledges late: met, and no second announcement.
  const auto ack = as(b.port(), token, "POST", "/api/v1/orders/" + order_id + "/events", json{{"type", "ack"}}.dump());
  ASSERT_EQ(ack.status, 200) << ack.body;
  const auto marker = add_deadline(sql(), incident, "S01", "incident", incident + "#marker", "done", 0.1);
  ASSERT_TRUE(fa.read_until([&] { return has_missed(fa, marker); }, 20s));
  ASSERT_TRUE(fb.read_until([&] { return has_missed(fb, marker); }, 20s));
  EXPECT_EQ(acknowledge_missed(fa), 1u);
  EXPECT_EQ(acknowledge_missed(fb), 1u);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'deadline.missed' AND data->>'order_id' = $1"
                         " AND data->>'kind' = 'acknowledge'", order_id), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND kind = 'acknowledge'"
                         " AND fired_at IS NOT NULL AND met_at IS NOT NULL", order_id), 1)
      << "announced, then met late";
  EXPECT_EQ(sql().seq_table_problem(), "");
}

}  // namespace
}  // namespace xiaonao::itest
