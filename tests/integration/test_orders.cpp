// Orders and the incident lifecycle against the real database: the officer's transitions and
// their 409s, every order step, units following their orders (two orders on one unit), the
// station feeds, and the seeds' stories (a fraud warning → a visit by the zone's community
// officer; a lost wallet → a video check that finds it).
#include <set>
#include <thread>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

constexpr double kLat1m = 1.0 / 111195.0;
constexpr double kLon1m = kLat1m / 0.87926;
// Zone Z1 (station S01, urban) is the square 119.90..119.91 × 28.45..28.46; Z2 (S02,
// suburban) lies east of it. P1 and P2 are their centres.
constexpr double kP1Lon = 119.905, kP1Lat = 28.455;
constexpr double kP2Lon = 119.915, kP2Lat = 28.455;

std::string near_p1(double east, double north) { return point(kP1Lon + east * kLon1m, kP1Lat + north * kLat1m); }

class Orders : public IntegrationTest {
 protected:
  /// Two stations with a zone each, a resident, cameras and units, by direct SQL.
  void build_county() {
    auto& s = sql();
    s.exec("INSERT INTO stations (id, name, phone, geog) VALUES ('S01', '城东派出所', '0578-1110001', $1),"
           " ('S02', '城西派出所', '0578-1110002', $2)",
           point(119.905, 28.452), point(119.915, 28.452));
    s.exec("INSERT INTO zones (id, name, station_id, area_type, officer_name, officer_phone, geom) VALUES"
           " ('Z1', '中山警务区', 'S01', 'urban', '周警官', '13700000001', ST_GeomFromText($1, 4326)),"
           " ('Z2', '解放警务区', 'S02', 'suburban', '吴警官', '13700000002', ST_GeomFromText($2, 4326))",
           square(119.90, 28.45, 119.91, 28.46), square(119.91, 28.45, 119.92, 28.46));
    s.exec("INSERT INTO addresses (id, text, norm, aliases, alias_norms, geog) VALUES"
           " ('A1', '丽水市莲都区中山街12号', '丽水市莲都区中山街12号', '{}', '{}', $1)",
           near_p1(0, 0));
    s.exec("INSERT INTO persons (id, name, id_number, phones, address_id, flags) VALUES"
           " ('R1', '李秀英', '330102193501012222', '{13800000002}', 'A1', '{elderly_alone}')");
    s.exec("INSERT INTO cameras (id, name, bearing_deg, fov_deg, range_m, stream_url, online, geog) VALUES"
           " ('C1', '中山街球机', NULL, 360, 200, 'rtsp://cam/c1', true, $1)",
           near_p1(30, 0));
    s.exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES"
           " ('U1', '城东巡1', 'patrol_car', 'S01', 'available', $1, now()),"
           " ('U2', '城东巡2', 'patrol_car', 'S01', 'available', $2, now()),"
           " ('O1', '周警官', 'officer', 'S01', 'available', $3, now()),"
           " ('K1', '中山街岗亭', 'kiosk', 'S01', 'available', $4, now()),"
           " ('OFF', '城东巡9', 'patrol_car', 'S01', 'off_duty', $1, now()),"
           " ('B1', '城西巡1', 'patrol_car', 'S02', 'available', $5, now())",
           near_p1(0, 200), near_p1(0, 300), near_p1(50, 50), near_p1(30, 10), point(kP2Lon, kP2Lat + 0.001));
  }

  static json at_point(double lon, double lat, const std::string& category = "theft") {
    json a = make_alert(category);
    a["location"] = {{"lon", lon}, {"lat", lat}};
    a.erase("address");
    return a;
  }

  /// Posts an alert; returns its incident id.
  std::string open_incident(unsigned short port, const json& alert) {
    ApiClient http(port);
    const auto r = post_alert(http, alert);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json()["incident_id"].get<std::string>() : std::string();
  }

  static client::Response post(unsigned short port, const std::string& token, const std::string& path,
                               const json& body) {
    return as(port, token, "POST", path, body.dump());
  }

  /// Orders `units` on the incident; returns the orders (fails the test unless 201).
  static json order(unsigned short port, const std::string& token, const std::string& incident,
                    const std::vector<std::string>& units, const std::string& kind = "respond") {
    const auto r = post(port, token, "/api/v1/incidents/" + incident + "/orders",
                        {{"unit_ids", units}, {"instruction", "立即出警"}, {"kind", kind}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json()["orders"] : json::array();
  }

  /// Records an order step; returns the answer.
  static client::Response step(unsigned short port, const std::string& token, const std::string& order_id,
                               json body) {
    return post(port, token, "/api/v1/orders/" + order_id + "/events", body);
  }

  std::string unit_status(const std::string& id) {
    return sql().exec("SELECT status FROM units WHERE id = $1", id)[0][0].as<std::string>();
  }
  std::string incident_status(const std::string& id) {
    return sql().exec("SELECT status FROM incidents WHERE id = $1::uuid", id)[0][0].as<std::string>();
  }
  std::int64_t events_of(const std::string& type, const std::string& incident) {
    return sql().scalar("SELECT count(*) FROM events WHERE type = $1 AND incident_id = $2::uuid", type, incident);
  }
};

TEST_F(Orders, LifecycleOverHttpWithItsConflicts) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  add_user("800002", "duty_officer", "S02");
  const auto s01 = access_token(port, "800001");
  const auto s02 = access_token(port, "800002");
  add_user("800009", "county_commander", "");
  const auto county = access_token(port, "800009");

  const auto id = open_incident(port, at_point(kP1Lon, kP1Lat));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(incident_status(id), "received");
  const auto path = "/api/v1/incidents/" + id + "/transitions";

  // Another station cannot see it; bad bodies change nothing.
  EXPECT_EQ(post(port, s02, path, {{"event", "assess"}}).status, 404);
  auto r = post(port, s01, path, {{"event", "reclaim"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "event");
  r = post(port, s01, path, {{"event", "assess"}, {"category", "no_such_category"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "category");
  EXPECT_EQ(post(port, s01, path, {{"event", "cancel"}}).status, 422);
  EXPECT_EQ(incident_status(id), "received");

  // received cannot be resolved or closed: 409 naming the state.
  for (const char* e : {"resolve", "close"}) {
    r = post(port, s01, path, {{"event", e}});
    EXPECT_EQ(r.status, 409) << e;
    EXPECT_EQ(error_of(r)["state"], "received") << r.body;
    EXPECT_EQ(error_of(r)["field"], "event");
  }

  // Assess corrects category and priority and answers with the masked view.
  r = post(port, s01, path, {{"event", "assess"}, {"reason", "电话核实"}, {"category", "burglary"}, {"priority", 1}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto view = r.json();
  EXPECT_EQ(view["incident"]["status"], "assessed");
  EXPECT_EQ(view["incident"]["category"], "burglary");
  EXPECT_EQ(view["incident"]["priority"], 1);
  EXPECT_EQ(view["masked"], true);
  EXPECT_EQ(view["orders"], json::array());
  // Re-assessment is allowed before dispatch, and recorded.
  ASSERT_EQ(post(port, s01, path, {{"event", "assess"}, {"priority", 2}}).status, 200);
  EXPECT_EQ(events_of("incident.assessed", id), 2);
  const auto assessed = sql().exec(
      "SELECT data->>'actor', data->>'reason', data->>'from', data->>'to', (data->>'priority')::int FROM events"
      " WHERE type = 'incident.assessed' AND incident_id = $1::uuid ORDER BY seq",
      id);
  EXPECT_EQ(assessed[0][0].as<std::string>().rfind("user:", 0), 0u);
  EXPECT_EQ(assessed[0][1].as<std::string>(), "电话核实");
  EXPECT_EQ(assessed[0][2].as<std::string>(), "received");
  EXPECT_EQ(assessed[0][3].as<std::string>(), "assessed");
  EXPECT_EQ(assessed[1][4].as<int>(), 2);
  EXPECT_FALSE(sql().exec("SELECT assessed_at FROM incidents WHERE id = $1::uuid", id)[0][0].is_null());

  // Dispatch (through an order) → resolve; close needs feedback and a review.
  const auto orders = order(port, s01, id, {"U1"});
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(incident_status(id), "dispatched");
  r = post(port, s01, path, {{"event", "assess"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "dispatched");
  r = post(port, s01, path, {{"event", "resolve"}, {"reason", "电话劝解"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["incident"]["status"], "resolved");
  r = post(port, s01, path, {{"event", "close"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "resolved");
  // An order on a resolved incident is a conflict, and changes nothing.
  r = post(port, s01, "/api/v1/incidents/" + id + "/orders",
           {{"unit_ids", {"U2"}}, {"instruction", "x"}, {"kind", "respond"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "resolved");
  EXPECT_EQ(unit_status("U2"), "available");

  // Cancel: a false alarm; then nothing moves it.
  const auto id2 = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto path2 = "/api/v1/incidents/" + id2 + "/transitions";
  r = post(port, county, path2, {{"event", "cancel"}, {"reason", "误报"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(incident_status(id2), "cancelled");
  r = post(port, s01, path2, {{"event", "assess"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "cancelled");
  EXPECT_EQ(sql().exec("SELECT status_reason FROM incidents WHERE id = $1::uuid", id2)[0][0].as<std::string>(), "误报");

  // Every transition is on the timeline with actor, reason and time.
  view = as(port, s01, "GET", "/api/v1/incidents/" + id).json();
  std::vector<std::string> types;
  for (const auto& e : view["timeline"]) {
    types.push_back(e["type"]);
    if (e["type"].get<std::string>().rfind("incident.", 0) == 0 && e["type"] != "incident.opened") {
      EXPECT_TRUE(e["data"].contains("actor")) << e.dump();
      EXPECT_TRUE(e["data"].contains("reason")) << e.dump();
      EXPECT_TRUE(e["data"].contains("at")) << e.dump();
    }
  }
  const std::vector<std::string> want{"incident.opened", "alert.received", "incident.assessed", "incident.assessed",
                                      "incident.dispatched", "order.issued", "unit.status", "incident.resolved"};
  EXPECT_EQ(types, want);
  EXPECT_EQ(view["timeline_omitted"], 0);
}

TEST_F(Orders, EveryOrderStepWithDeadlinesAndUnits) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  const auto s01 = access_token(port, "800001");

  const auto id = open_incident(port, at_point(kP1Lon, kP1Lat));
  // Refusals first: each names its field and changes nothing.
  const auto opath = "/api/v1/incidents/" + id + "/orders";
  struct Bad {
    json units;
    std::string station;
    int status;
    std::string field;
  };
  for (const auto& b : std::vector<Bad>{{{"U1", "OFF"}, "", 422, "unit_ids[1]"},
                                         {{"NOPE"}, "", 422, "unit_ids[0]"},
                                         {{"B1"}, "", 422, "unit_ids[0]"},
                                         {{"U1"}, "S02", 403, "station_id"}}) {
    json body = {{"unit_ids", b.units}, {"instruction", "x"}, {"kind", "respond"}};
    if (!b.station.empty()) body["station_id"] = b.station;
    const auto r = post(port, s01, opath, body);
    EXPECT_EQ(r.status, b.status) << r.body;
    EXPECT_EQ(error_of(r)["field"], b.field) << r.body;
  }
  EXPECT_EQ(incident_status(id), "received");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM orders"), 0);
  EXPECT_EQ(unit_status("U1"), "available");

  const auto orders = order(port, s01, id, {"U1", "U2"});
  ASSERT_EQ(orders.size(), 2u);
  for (const auto& o : orders) {
    EXPECT_EQ(o["state"], "issued");
    EXPECT_EQ(o["station_id"], "S01");
    EXPECT_EQ(o["incident_id"], id);
    EXPECT_EQ(o["kind"], "respond");
    EXPECT_TRUE(o["number"].get<std::string>().rfind("O", 0) == 0) << o.dump();
    ASSERT_EQ(o["deadlines"].size(), 2u) << o.dump();
    EXPECT_EQ(o["deadlines"][0]["kind"], "acknowledge");
    EXPECT_EQ(o["deadlines"][1]["kind"], "arrive");
  }
  EXPECT_EQ(orders[0]["unit_id"], "U1");
  EXPECT_EQ(orders[0]["unit_call_sign"], "城东巡1");
  EXPECT_EQ(incident_status(id), "dispatched");
  EXPECT_EQ(unit_status("U1"), "busy");
  EXPECT_EQ(unit_status("U2"), "busy");
  // Urban zone, default priority of theft: 300 s × its percentage; acknowledge per priority.
  const auto secs = sql().exec(
      "SELECT kind, extract(epoch FROM due_at - created_at)::int FROM deadlines WHERE subject_id = $1 ORDER BY kind",
      orders[0]["id"].get<std::string>());
  ASSERT_EQ(secs.size(), 2u);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_kind = 'incident' AND kind = 'feedback'"
                         " AND subject_id = $1",
                         id),
            1);
  const std::string o1 = orders[0]["id"], o2 = orders[1]["id"];

  // U1: ack → en_route → on_scene (the incident follows) → complete (the unit is free).
  auto r = step(port, s01, o1, {{"type", "ack"}, {"note", "收到"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "acknowledged");
  EXPECT_FALSE(r.json()["acknowledged_at"].is_null());
  EXPECT_FALSE(r.json()["deadlines"][0]["met_at"].is_null()) << r.body;
  EXPECT_TRUE(r.json()["deadlines"][1]["met_at"].is_null()) << r.body;
  r = step(port, s01, o1, {{"type", "ack"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "acknowledged");
  ASSERT_EQ(step(port, s01, o1, {{"type", "en_route"}}).status, 200);
  r = step(port, s01, o1, {{"type", "on_scene"}, {"at", now_rfc3339()}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "on_scene");
  EXPECT_FALSE(r.json()["deadlines"][1]["met_at"].is_null()) << r.body;
  EXPECT_EQ(incident_status(id), "on_scene");
  r = step(port, s01, o1, {{"type", "complete"}, {"note", "现场处置完毕"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "completed");
  EXPECT_EQ(r.json()["note"], "现场处置完毕");
  EXPECT_FALSE(r.json()["ended_at"].is_null());
  EXPECT_EQ(unit_status("U1"), "available");
  r = step(port, s01, o1, {{"type", "decline"}, {"reason", "late"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "completed");

  // U2: bad steps change nothing; a decline needs a reason and frees the unit.
  r = step(port, s01, o2, {{"type", "decline"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "reason");
  r = step(port, s01, o2, {{"type", "ack"}, {"at", "2020-01-01T00:00:00Z"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "at");
  EXPECT_EQ(step(port, s01, "00000000-0000-4000-8000-000000000000", {{"type", "ack"}}).status, 404);
  r = step(port, s01, o2, {{"type", "decline"}, {"reason", "车辆故障"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "declined");
  EXPECT_EQ(r.json()["reason"], "车辆故障");
  EXPECT_EQ(unit_status("U2"), "available");
  // Ended orders leave no deadline to escalate.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_kind = 'order' AND met_at IS NULL"), 0);

  // Reassign: the old order ends as reassigned, a new one goes to the new unit.
  const auto id3 = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto o3 = order(port, s01, id3, {"U1"})[0]["id"].get<std::string>();
  r = step(port, s01, o3, {{"type", "reassign"}, {"unit_id", "U2"}, {"reason", "U2 更近"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto re = r.json();
  EXPECT_EQ(re["order"]["state"], "reassigned");
  EXPECT_EQ(re["order"]["replaced_by"], re["replacement"]["id"]);
  EXPECT_EQ(re["replacement"]["unit_id"], "U2");
  EXPECT_EQ(re["replacement"]["state"], "issued");
  EXPECT_EQ(re["replacement"]["deadlines"].size(), 2u);
  EXPECT_TRUE(re["replacement"]["deadlines"][0]["met_at"].is_null());
  EXPECT_FALSE(re["order"]["deadlines"][0]["met_at"].is_null());
  EXPECT_EQ(unit_status("U1"), "available");
  EXPECT_EQ(unit_status("U2"), "busy");
  r = step(port, s01, re["replacement"]["id"], {{"type", "reassign"}, {"unit_id", "OFF"}, {"reason", "x"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "unit_id");

  // Reads: one order, the list with paging and filters, the view.
  r = as(port, s01, "GET", "/api/v1/orders/" + o1);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "completed");
  r = as(port, s01, "GET", "/api/v1/orders?incident_id=" + id + "&limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  auto page = r.json();
  ASSERT_EQ(page["items"].size(), 1u);
  ASSERT_TRUE(page["next_cursor"].is_string());
  r = as(port, s01, "GET", "/api/v1/orders?incident_id=" + id + "&limit=1&cursor=" + page["next_cursor"].get<std::string>());
  ASSERT_EQ(r.status, 200) << r.body;
  auto page2 = r.json();
  ASSERT_EQ(page2["items"].size(), 1u);
  EXPECT_TRUE(page2["next_cursor"].is_null());
  EXPECT_NE(page["items"][0]["id"], page2["items"][0]["id"]);
  r = as(port, s01, "GET", "/api/v1/orders?unit_id=U2&state=issued");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.json()["items"].size(), 1u);
  EXPECT_EQ(r.json()["items"][0]["id"], re["replacement"]["id"]);
  EXPECT_EQ(as(port, s01, "GET", "/api/v1/orders?state=lost").status, 400);
  auto view = as(port, s01, "GET", "/api/v1/incidents/" + id).json();
  ASSERT_EQ(view["orders"].size(), 2u);
  EXPECT_EQ(view["orders"][0]["id"], o1);
  EXPECT_EQ(view["orders"][0]["deadlines"].size(), 2u);
  std::set<std::string> types;
  for (const auto& e : view["timeline"]) types.insert(e["type"]);
  for (const char* t : {"order.issued", "order.acknowledged", "order.en_route", "order.on_scene", "order.completed",
                        "order.declined", "incident.on_scene", "unit.status"})
    EXPECT_TRUE(types.count(t)) << t;
}

// The step's answer comes from the one-statement step (RETURNING rows, deadlines as the same
// statement met them): it must equal what GET /api/v1/orders/{id} reads afterwards, and the
// feed event must carry the same order without its deadlines.
TEST_F(Orders, StepAnswerEqualsTheOrderAsReadBack) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  const auto s01 = access_token(port, "800001");
  const auto id = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto oid = order(port, s01, id, {"U1"})[0]["id"].get<std::string>();
  const std::vector<std::pair<std::string, std::string>> steps{
      {"ack", "order.acknowledged"}, {"en_route", "order.en_route"}, {"on_scene", "order.on_scene"},
      {"complete", "order.completed"}};
  for (const auto& [type, event] : steps) {
    const auto r = step(port, s01, oid, {{"type", type}, {"note", "n-" + type}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto answer = r.json();
    const auto got = as(port, s01, "GET", "/api/v1/orders/" + oid, "");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(answer, got.json()) << type;
    EXPECT_EQ(answer["note"], "n-" + type);
    auto data = json::parse(sql().exec("SELECT data::text FROM events WHERE type = $1 AND data->>'id' = $2", event,
                                       oid)[0][0]
                                .as<std::string>());
    auto without = answer;
    without.erase("deadlines");
    EXPECT_EQ(data, without) << type;
  }
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND met_at IS NULL", oid), 0);
  EXPECT_EQ(unit_status("U1"), "available");
  EXPECT_EQ(incident_status(id), "on_scene");
}

TEST_F(Orders, OneUnitHoldsTwoOrdersWithoutStatusLeaking) {
  build_county();
  const auto port = start_server().port();
  // The county orders and records steps; the test's integrator key sets a unit's status.
  add_user("800009", "county_commander", "");
  const auto county = access_token(port, "800009");
  const auto key = test_api_key();
  const auto a = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto b = open_incident(port, at_point(kP1Lon, kP1Lat, "dispute"));
  const auto oa = order(port, county, a, {"U1"})[0]["id"].get<std::string>();
  const auto ob = order(port, county, b, {"U1"})[0]["id"].get<std::string>();
  EXPECT_EQ(unit_status("U1"), "busy");
  // A second open order of the same incident on the same unit is refused.
  auto r = post(port, county, "/api/v1/incidents/" + a + "/orders",
                {{"unit_ids", {"U1"}}, {"instruction", "x"}, {"kind", "respond"}});
  EXPECT_EQ(r.status, 422);
  // Ending one order leaves the unit busy for the other.
  ASSERT_EQ(step(port, county, oa, {{"type", "complete"}}).status, 200);
  EXPECT_EQ(unit_status("U1"), "busy");
  ASSERT_EQ(step(port, county, ob, {{"type", "ack"}}).status, 200);
  EXPECT_EQ(unit_status("U1"), "busy");
  ASSERT_EQ(step(port, county, ob, {{"type", "complete"}}).status, 200);
  EXPECT_EQ(unit_status("U1"), "available");
  // unit.status events: busy once, available once.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'unit.status' AND data->>'unit_id' = 'U1'"), 2);

  // A unit set off duty by hand while it holds an order stays off duty when the order ends.
  const auto c = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto oc = order(port, county, c, {"U2"})[0]["id"].get<std::string>();
  ASSERT_EQ(as(port, key, "PATCH", "/api/v1/units/U2", json{{"status", "off_duty"}}.dump()).status, 200);
  ASSERT_EQ(step(port, county, oc, {{"type", "complete"}}).status, 200);
  EXPECT_EQ(unit_status("U2"), "off_duty");

  // Concurrent steps on two orders of one unit: the unit ends available exactly once.
  const auto d = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto e = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto od = order(port, county, d, {"K1"})[0]["id"].get<std::string>();
  const auto oe = order(port, county, e, {"K1"})[0]["id"].get<std::string>();
  std::thread t1([&] { EXPECT_EQ(step(port, county, od, {{"type", "complete"}}).status, 200); });
  std::thread t2([&] { EXPECT_EQ(step(port, county, oe, {{"type", "complete"}}).status, 200); });
  t1.join();
  t2.join();
  EXPECT_EQ(unit_status("K1"), "available");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'unit.status' AND data->>'unit_id' = 'K1'"
                         " AND data->>'new_status' = 'available'"),
            1);
}

TEST_F(Orders, StationFeedsCarryTheirOwnStationOnly) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  add_user("800002", "duty_officer", "S02");
  add_user("800009", "county_commander", "");
  const auto s01 = access_token(port, "800001");
  const auto s02 = access_token(port, "800002");
  const auto county = access_token(port, "800009");
  // A station terminal may not ask for another station's feed.
  EXPECT_THROW(FeedReader(port, "since=0&station=S02", {{"Authorization", "Bearer " + s01}}), std::exception);
  EXPECT_THROW(FeedReader(port, "since=0&station=a%2Fb", {{"Authorization", "Bearer " + s01}}), std::exception);
  FeedReader feed01(port, "since=0&station=S01", {{"Authorization", "Bearer " + s01}});
  FeedReader feed02(port, "since=0", {{"Authorization", "Bearer " + s02}});
  FeedReader county02(port, "since=0&station=S02", {{"Authorization", "Bearer " + county}});

  const auto a = open_incident(port, at_point(kP1Lon, kP1Lat));
  const auto b = open_incident(port, at_point(kP2Lon, kP2Lat));
  const auto oa = order(port, s01, a, {"U1"})[0]["id"].get<std::string>();
  const auto ob = order(port, s02, b, {"B1"})[0]["id"].get<std::string>();
  ASSERT_EQ(step(port, s01, oa, {{"type", "ack"}}).status, 200);
  ASSERT_EQ(step(port, s02, ob, {{"type", "ack"}}).status, 200);
  // Station S01 cannot touch S02's order.
  EXPECT_EQ(step(port, s01, ob, {{"type", "complete"}}).status, 404);
  EXPECT_EQ(as(port, s01, "GET", "/api/v1/orders/" + ob).status, 404);
  auto r = as(port, s01, "GET", "/api/v1/orders");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.json()["items"].size(), 1u);
  EXPECT_EQ(r.json()["items"][0]["id"], oa);

  const auto last = sql().max_seq();
  const auto seq_of = [&](const std::string& type, const std::string& incident) {
    return sql().scalar("SELECT max(seq) FROM events WHERE type = $1 AND incident_id = $2::uuid", type, incident);
  };
  ASSERT_TRUE(feed01.read_through(seq_of("order.acknowledged", a)));
  ASSERT_TRUE(feed02.read_through(seq_of("order.acknowledged", b)));
  ASSERT_TRUE(county02.read_through(seq_of("order.acknowledged", b)));
  feed01.read_until([] { return false; }, 300ms);
  const auto check = [&](const FeedReader& f, const std::string& mine, const std::string& theirs,
                         const std::string& station) {
    std::set<std::string> types;
    for (const auto& e : f.events()) {
      const auto inc = e.data.value("incident_id", e.data.value("id", ""));
      EXPECT_NE(inc, theirs) << e.text;
      if (inc == mine) types.insert(e.type);
      if (e.data.contains("station_id") && e.data["station_id"].is_string()) {
        EXPECT_EQ(e.data["station_id"], station) << e.text;
      }
    }
    for (const char* t : {"incident.opened", "incident.dispatched", "order.issued", "order.acknowledged"})
      EXPECT_TRUE(types.count(t)) << station << " " << t;
  };
  check(feed01, a, b, "S01");
  check(feed02, b, a, "S02");
  check(county02, b, a, "S02");
  EXPECT_LE(feed01.last_seq(), last);
}

TEST_F(Orders, SeedStoryFraudWarningVisitByTheCommunityOfficer) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  const auto s01 = access_token(port, "800001");
  // The anti-fraud centre warns about a resident: no location, only the subject's phone.
  json alert = make_alert("fraud");
  alert["source"] = "fraud_warning";
  alert.erase("location");
  alert.erase("address");
  alert.erase("caller");
  alert["subject"] = {{"phone", "13800000002"}};
  alert["description"] = "居民收到刷单诈骗信息，尚未转账";
  const auto id = open_incident(port, alert);
  ASSERT_FALSE(id.empty());
  // Auto-assessed at intake (loop.auto_assess_sources), owned by the resident's station.
  auto view = as(port, s01, "GET", "/api/v1/incidents/" + id).json();
  EXPECT_EQ(view["incident"]["status"], "assessed");
  EXPECT_EQ(view["incident"]["station_id"], "S01");
  EXPECT_EQ(view["zone"]["id"], "Z1");
  EXPECT_EQ(events_of("incident.assessed", id), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'incident.opened' AND incident_id = $1::uuid"
                         " AND data->>'status' = 'assessed'",
                         id),
            1);
  // The zone's community officer: the officer unit of the owner station.
  const auto officer = sql().exec("SELECT id FROM units WHERE kind = 'officer' AND station_id = $1",
                                  view["incident"]["station_id"].get<std::string>())[0][0].as<std::string>();
  EXPECT_EQ(officer, "O1");
  const auto orders = order(port, s01, id, {officer}, "visit");
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0]["kind"], "visit");
  const std::string o = orders[0]["id"];
  ASSERT_EQ(step(port, s01, o, {{"type", "ack"}}).status, 200);
  ASSERT_EQ(step(port, s01, o, {{"type", "on_scene"}, {"note", "已上门"}}).status, 200);
  EXPECT_EQ(incident_status(id), "on_scene");
  ASSERT_EQ(step(port, s01, o, {{"type", "complete"}, {"note", "已劝阻，未转账"}}).status, 200);
  EXPECT_EQ(unit_status("O1"), "available");
  auto r = post(port, s01, "/api/v1/incidents/" + id + "/transitions", {{"event", "resolve"}, {"reason", "劝阻成功"}});
  ASSERT_EQ(r.status, 200) << r.body;
  view = r.json();
  EXPECT_EQ(view["incident"]["status"], "resolved");
  EXPECT_EQ(view["orders"][0]["state"], "completed");
  // The resident stays masked in the answer.
  EXPECT_EQ(r.body.find("13800000002"), std::string::npos);
  EXPECT_FALSE(sql().exec("SELECT arrived_at FROM incidents WHERE id = $1::uuid", id)[0][0].is_null());
}

TEST_F(Orders, SeedStoryLostWalletFoundOnVideo) {
  build_county();
  const auto port = start_server().port();
  add_user("800001", "duty_officer", "S01");
  const auto s01 = access_token(port, "800001");
  json alert = at_point(kP1Lon + 20 * kLon1m, kP1Lat, "lost_property");
  alert["description"] = "钱包遗失在中山街";
  const auto id = open_incident(port, alert);
  EXPECT_EQ(incident_status(id), "received");
  ASSERT_EQ(post(port, s01, "/api/v1/incidents/" + id + "/transitions", {{"event", "assess"}}).status, 200);
  // The kiosk that operates the nearby cameras checks the video.
  const auto orders = order(port, s01, id, {"K1"}, "video_check");
  ASSERT_EQ(orders.size(), 1u);
  const std::string o = orders[0]["id"];
  auto r = step(port, s01, o, {{"type", "complete"}, {"note", "found"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "completed");
  EXPECT_EQ(r.json()["note"], "found");
  // A video check needs no trip: its arrival deadline is met by the completion.
  for (const auto& d : r.json()["deadlines"]) EXPECT_FALSE(d["met_at"].is_null()) << r.body;
  r = post(port, s01, "/api/v1/incidents/" + id + "/transitions", {{"event", "resolve"}, {"reason", "钱包已找回"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["incident"]["status"], "resolved");
  EXPECT_EQ(unit_status("K1"), "available");
}

}  // namespace
}  // namespace xiaonao::itest
