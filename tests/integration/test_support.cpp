// Support requests, external help requests, diversions, feedback and evaluation, response times
// against a real server and database, on a small hand-built county (two stations): the seeds'
// stories (a suicidal driver on a bridge and the county's video answer; Longquan's missing man;
// a noise complaint over a lift handed to 12345; a diversion the agency rejects), every route's
// 4xx and 409, station scope on reads and on the feed, and statistics on known times.
#include <cstdio>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Support : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (IsSkipped()) return;
    auto& s = sql();
    // Z1 (station S01, urban) and Z2 (station S02, suburban), side by side at lon 119.91.
    s.exec("INSERT INTO stations (id, name, phone, geog) VALUES ('S01', '城东派出所', '0578-1110001', $1),"
           " ('S02', '城西派出所', '0578-1110002', $2)",
           point(119.905, 28.452), point(119.915, 28.452));
    s.exec("INSERT INTO zones (id, name, station_id, area_type, officer_name, officer_phone, geom) VALUES"
           " ('Z1', '中山警务区', 'S01', 'urban', '周警官', '13700000001', ST_GeomFromText($1, 4326)),"
           " ('Z2', '解放警务区', 'S02', 'suburban', '吴警官', '13700000002', ST_GeomFromText($2, 4326))",
           square(119.90, 28.45, 119.91, 28.46), square(119.91, 28.45, 119.92, 28.46));
    s.exec("INSERT INTO addresses (id, text, norm, aliases, alias_norms, geog) VALUES"
           " ('A1', '丽水市莲都区中山街12号', '丽水市莲都区中山街12号', '{}', '{}', $1)",
           point(119.905, 28.455));
    s.exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES"
           " ('U1', '城东巡1', 'patrol_car', 'S01', 'available', $1, now()),"
           " ('U2', '城西巡1', 'patrol_car', 'S02', 'available', $2, now())",
           point(119.905, 28.456), point(119.915, 28.456));
    add_user("100001", "duty_officer", "S01");
    add_user("100002", "duty_officer", "S02");
    add_user("100003", "county_commander", "");
    add_user("100004", "station_chief", "S01");
    add_user("100005", "analyst", "");
  }

  unsigned short start() {
    port_ = start_server().port();
    officer_ = access_token(port_, "100001");
    other_ = access_token(port_, "100002");
    county_ = access_token(port_, "100003");
    chief_ = access_token(port_, "100004");
    analyst_ = access_token(port_, "100005");
    return port_;
  }

  /// Posts an alert in station `station`'s zone (S01 or S02); returns the incident id.
  std::string incident(const std::string& category, const std::string& station = "S01") {
    json a = make_alert(category);
    a["location"] = {{"lon", station == "S01" ? 119.905 : 119.915}, {"lat", 28.455}};
    a.erase("address");
    ApiClient http(port_);
    auto r = post_alert(http, a);
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = r.json().value("incident_id", "");
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND station_id = $2", id, station), 1);
    return id;
  }

  client::Response call(const std::string& token, const std::string& method, const std::string& target,
                        const json& body = nullptr) {
    return as(port_, token, method, target, body.is_null() ? std::string() : body.dump());
  }

  std::string status_of(const std::string& id) {
    const auto r = sql().exec("SELECT status FROM incidents WHERE id = $1::uuid", id);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  std::int64_t events_of(const std::string& type, const std::string& station) {
    return sql().scalar("SELECT count(*) FROM events WHERE type = $1 AND station_id = $2", type, station);
  }

  unsigned short port_ = 0;
  std::string officer_, other_, county_, chief_, analyst_;
};

// ---- the suicidal driver: a station asks the county for video, the county answers ----------------

TEST_F(Support, SuicidalDriverOnABridgeTheCountyTracksTheCar) {
  start();
  const auto id = incident("suicide_risk");
  // The station's terminal and the other station's, both on their own feeds.
  FeedReader s01(port_, "since=0", {{"Authorization", "Bearer " + officer_}});
  FeedReader s02(port_, "since=0", {{"Authorization", "Bearer " + other_}});

  auto r = call(officer_, "POST", "/api/v1/incidents/" + id + "/support-requests",
                {{"kind", "video"}, {"detail", "轻生男子驾车离开大桥，请视频跟踪浙K·12345去向"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const auto req = r.json();
  const std::string sid = req["id"];
  EXPECT_EQ(req["state"], "requested");
  EXPECT_EQ(req["station_id"], "S01");
  EXPECT_EQ(req["incident_id"], id);
  EXPECT_EQ(req["origin"], nullptr);
  EXPECT_EQ(req["requested_by"].get<std::string>().rfind("user:", 0), 0u);
  EXPECT_EQ(req["number"].get<std::string>().substr(0, 1), "S");
  ASSERT_EQ(req["deadlines"].size(), 2u);
  // Priority 1: accept in 120 s, answer in 1800 s (the defaults), from the request.
  EXPECT_EQ(sql().scalar("SELECT round(extract(epoch FROM due_at - created_at)) FROM deadlines"
                         " WHERE subject_kind = 'support' AND subject_id = $1 AND kind = 'accept'",
                         sid),
            120);
  EXPECT_EQ(sql().scalar("SELECT round(extract(epoch FROM due_at - created_at)) FROM deadlines"
                         " WHERE subject_kind = 'support' AND subject_id = $1 AND kind = 'answer' AND station_id = 'S01'",
                         sid),
            1800);

  // The other station does not see it; the station cannot answer its own request.
  EXPECT_EQ(call(other_, "POST", "/api/v1/incidents/" + id + "/support-requests", {{"kind", "video"}, {"detail", "x"}})
                .status,
            404);
  EXPECT_EQ(call(other_, "GET", "/api/v1/support-requests/" + sid).status, 404);
  EXPECT_EQ(call(other_, "GET", "/api/v1/support-requests").json()["items"].size(), 0u);
  EXPECT_EQ(call(officer_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "accept"}}).status, 403);

  // The county's queue.
  r = call(county_, "GET", "/api/v1/support-requests?state=requested");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["items"].size(), 1u);
  EXPECT_EQ(r.json()["items"][0]["id"], sid);

  // Answering before accepting is a state conflict.
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "answer"}, {"answer", "x"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(error_of(r)["state"], "requested");

  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "accept"}, {"note", "视频组接手"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "accepted");
  EXPECT_FALSE(r.json()["accepted_at"].is_null());
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "accept"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "accepted");
  EXPECT_EQ(error_of(r)["field"], "type");

  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events",
           {{"type", "answer"}, {"answer", "14:02 车辆出现在云和高速出口，向东行驶"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "answered");
  EXPECT_EQ(r.json()["answer"], "14:02 车辆出现在云和高速出口，向东行驶");
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "close"}, {"note", "人已找到"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "closed");
  EXPECT_EQ(r.json()["notes"].size(), 3u);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND met_at IS NOT NULL", sid), 2);

  // The station sees the answer in its view and on its feed; the other station hears nothing.
  r = call(officer_, "GET", "/api/v1/incidents/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto view = r.json();
  ASSERT_EQ(view["support_requests"].size(), 1u);
  EXPECT_EQ(view["support_requests"][0]["state"], "closed");
  EXPECT_EQ(view["support_requests"][0]["answer"], "14:02 车辆出现在云和高速出口，向东行驶");
  EXPECT_TRUE(view["diversions"].empty());
  EXPECT_EQ(view["feedback"], nullptr);
  EXPECT_EQ(view["response"]["received_to_dispatched_s"], nullptr);
  std::vector<std::string> seen;
  ASSERT_TRUE(s01.read_until(
      [&] {
        seen.clear();
        for (const auto& e : s01.events())
          if (e.type.rfind("support.", 0) == 0) seen.push_back(e.type);
        return seen.size() >= 4;
      },
      10s));
  EXPECT_EQ(seen, (std::vector<std::string>{"support.requested", "support.accepted", "support.answered", "support.closed"}));
  for (const auto& e : s01.events()) {
    if (e.type == "support.answered") {
      EXPECT_EQ(e.data["answer"], "14:02 车辆出现在云和高速出口，向东行驶");
    }
  }
  s02.read_until([] { return false; }, 300ms);
  for (const auto& e : s02.events()) EXPECT_NE(e.type.rfind("support.", 0), 0u) << e.text;
  EXPECT_EQ(events_of("support.closed", "S01"), 1);

  // A closed request takes nothing more.
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "reject"}, {"note", "x"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "closed");
}

TEST_F(Support, TheCountyRejectsARequestItCannotServe) {
  start();
  const auto id = incident("theft");
  auto r = call(officer_, "POST", "/api/v1/incidents/" + id + "/support-requests",
                {{"kind", "manpower"}, {"detail", "需要增援两人"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string sid = r.json()["id"];
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "reject"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "note");
  r = call(county_, "POST", "/api/v1/support-requests/" + sid + "/events", {{"type", "reject"}, {"note", "警力不足"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "rejected");
  // Both deadlines are met: a rejected request escalates nothing.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND met_at IS NULL", sid), 0);
  r = call(officer_, "GET", "/api/v1/support-requests?incident_id=" + id + "&state=rejected,closed");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["items"].size(), 1u);
}

// ---- Longquan asks for help: the help request opens an incident of its own ---------------------------

TEST_F(Support, AHelpRequestFromLongquanOpensAnIncident) {
  start();
  const json body = {{"origin", "county:龙泉市"},
                     {"kind", "cross_jurisdiction"},
                     {"detail", "龙泉走失男子，72岁，可能前往莲都中山街亲属家"},
                     {"ref", "LQ-2026-0042"},
                     {"incident",
                      {{"category", "missing_person"},
                       {"address", "丽水市莲都区中山街12号"},
                       {"description", "72岁男子，灰色外套"}}}};
  const auto before = sql().counts();
  auto r = call(county_, "POST", "/api/v1/support-requests", body);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto req = r.json();
  const std::string id = req["incident_id"];
  EXPECT_EQ(req["origin"], "county:龙泉市");
  EXPECT_EQ(req["state"], "requested");
  EXPECT_EQ(req["alert"]["incident_id"], id);
  // Located by the address: our station S01 owns it and hears of it.
  EXPECT_EQ(req["station_id"], "S01");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE incident_id = $1::uuid AND source = 'assist'"
                         " AND source_ref = 'county:龙泉市/LQ-2026-0042'",
                         id),
            1);
  EXPECT_EQ(sql().counts().incidents, before.incidents + 1);
  EXPECT_EQ(events_of("support.requested", "S01"), 1);
  auto v = call(officer_, "GET", "/api/v1/incidents/" + id);
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json()["incident"]["category"], "missing_person");
  EXPECT_EQ(v.json()["incident"]["priority"], 2);  // the category's default
  EXPECT_EQ(v.json()["support_requests"][0]["origin"], "county:龙泉市");

  // A retry with the same ref opens nothing new.
  r = call(county_, "POST", "/api/v1/support-requests", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["id"], req["id"]);
  EXPECT_EQ(sql().counts().incidents, before.incidents + 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM support_requests"), 1);

  // Only the county takes help requests; bad bodies are refused and change nothing.
  EXPECT_EQ(call(officer_, "POST", "/api/v1/support-requests", body).status, 403);
  json bad = body;
  bad["incident"]["category"] = "alien_landing";
  r = call(county_, "POST", "/api/v1/support-requests", bad);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "incident.category");
  bad = body;
  bad["incident"]["location"] = {{"lon", 200}, {"lat", 28}};
  r = call(county_, "POST", "/api/v1/support-requests", bad);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "incident.location.lon");
  bad = body;
  bad.erase("origin");
  r = call(county_, "POST", "/api/v1/support-requests", bad);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "origin");
  EXPECT_EQ(sql().counts().incidents, before.incidents + 1);
}

// ---- diversions ---------------------------------------------------------------------------------

TEST_F(Support, ANoiseComplaintOverALiftGoesTo12345) {
  start();
  const auto id = incident("noise");
  auto r = call(officer_, "POST", "/api/v1/incidents/" + id + "/diversions",
                {{"agency", "12345"}, {"note", "楼上电梯噪音纠纷，非警务"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string did = r.json()["id"];
  EXPECT_EQ(r.json()["state"], "sent");
  EXPECT_EQ(r.json()["agency"], "12345");
  EXPECT_EQ(r.json()["deadlines"].size(), 2u);
  EXPECT_EQ(status_of(id), "diverted");
  EXPECT_EQ(sql().scalar("SELECT round(extract(epoch FROM due_at - created_at)) FROM deadlines"
                         " WHERE subject_kind = 'diversion' AND subject_id = $1 AND kind = 'done'",
                         did),
            259200);

  // Diverted once is enough; the other station cannot touch it.
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/diversions", {{"agency", "town_platform"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "diverted");
  EXPECT_EQ(call(other_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "accept"}}).status, 404);
  EXPECT_EQ(call(other_, "GET", "/api/v1/diversions/" + did).status, 404);
  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "done"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "sent");

  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "accept"}, {"note", "12345已受理"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "accepted");
  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "done"}, {"note", "物业已调整电梯运行时间"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "done");
  EXPECT_FALSE(r.json()["done_at"].is_null());
  EXPECT_EQ(r.json()["notes"].size(), 2u);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND met_at IS NOT NULL", did), 2);
  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "reject"}, {"reason", "x"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "done");
  EXPECT_EQ(status_of(id), "diverted");

  auto v = call(officer_, "GET", "/api/v1/incidents/" + id).json();
  ASSERT_EQ(v["diversions"].size(), 1u);
  EXPECT_EQ(v["diversions"][0]["state"], "done");
  for (const char* type : {"incident.diverted", "diversion.sent", "diversion.accepted", "diversion.done"})
    EXPECT_EQ(events_of(type, "S01"), 1) << type;
}

TEST_F(Support, ARejectedDiversionComesBackToThePolice) {
  start();
  const auto id = incident("dispute");
  auto r = call(officer_, "POST", "/api/v1/incidents/" + id + "/diversions", {{"agency", "town_platform"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string did = r.json()["id"];
  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "reject"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "reason");
  r = call(officer_, "POST", "/api/v1/diversions/" + did + "/events", {{"type", "reject"}, {"reason", "涉及打架，属警务"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "rejected");
  EXPECT_EQ(r.json()["reason"], "涉及打架，属警务");
  EXPECT_EQ(status_of(id), "assessed");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND met_at IS NULL", did), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'incident.assessed' AND incident_id = $1::uuid"
                         " AND data->>'event' = 'reclaim'",
                         id),
            1);
  // Back with the police, it may be handed on again elsewhere.
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/diversions", {{"agency", "utilities"}});
  EXPECT_EQ(r.status, 201) << r.body;
  // A cancelled incident is diverted nowhere.
  const auto gone = incident("noise");
  sql().exec("UPDATE incidents SET status = 'cancelled' WHERE id = $1::uuid", gone);
  r = call(officer_, "POST", "/api/v1/incidents/" + gone + "/diversions", {{"agency", "12345"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "cancelled");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM diversions WHERE incident_id = $1::uuid", gone), 0);
}

// ---- feedback, call-back, review -------------------------------------------------------------------

TEST_F(Support, FeedbackCallbackAndReview) {
  start();
  const auto id = incident("lost_property");
  const json fb = {{"outcome", "resolved_on_scene"},
                   {"summary", "钱包在公交站找到，已归还"},
                   {"people_involved", 1},
                   {"property_recovered", "钱包一个，现金300元"}};
  auto r = call(officer_, "PUT", "/api/v1/incidents/" + id + "/feedback", fb);
  EXPECT_EQ(r.status, 409) << "nothing was dispatched yet";
  EXPECT_EQ(error_of(r)["state"], "received");

  // The orders part dispatches; here the database says so.
  sql().exec("UPDATE incidents SET status = 'on_scene', dispatched_at = received_at + interval '1 minute',"
             " arrived_at = received_at + interval '5 minutes' WHERE id = $1::uuid",
             id);
  sql().exec("INSERT INTO deadlines (incident_id, station_id, subject_kind, subject_id, kind, due_at, created_at)"
             " VALUES ($1::uuid, 'S01', 'incident', $2, 'feedback', now() + interval '1 day', now())",
             id, id);
  EXPECT_EQ(call(other_, "PUT", "/api/v1/incidents/" + id + "/feedback", fb).status, 404);
  json bad = fb;
  bad["outcome"] = "solved";
  r = call(officer_, "PUT", "/api/v1/incidents/" + id + "/feedback", bad);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "outcome");
  r = call(officer_, "PUT", "/api/v1/incidents/" + id + "/feedback", fb);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["outcome"], "resolved_on_scene");
  EXPECT_EQ(r.json()["property_recovered"], "钱包一个，现金300元");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM deadlines WHERE subject_id = $1 AND kind = 'feedback'"
                         " AND met_at IS NOT NULL",
                         id),
            1);

  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/callback", {{"reached", true}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "satisfaction");
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/callback", {{"reached", true}, {"satisfaction", 5}, {"note", "很满意"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["callback"]["satisfaction"], 5);
  EXPECT_EQ(r.json()["outcome"], "resolved_on_scene") << "the call-back keeps the result";

  // The review: a supervisor's, once resolved.
  EXPECT_EQ(call(officer_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "good"}}).status, 403);
  r = call(chief_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "good"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "on_scene");
  sql().exec("UPDATE incidents SET status = 'resolved', resolved_at = received_at + interval '20 minutes'"
             " WHERE id = $1::uuid",
             id);
  r = call(chief_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "great"}});
  EXPECT_EQ(r.status, 422);
  r = call(chief_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "good"}, {"note", "处置及时"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["review"]["verdict"], "good");
  EXPECT_EQ(r.json()["review"]["by"].get<std::string>().rfind("user:", 0), 0u);

  // What close checks is now there (the transitions route closes it).
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incident_feedback WHERE incident_id = $1::uuid"
                         " AND outcome IS NOT NULL AND review_verdict IS NOT NULL",
                         id),
            1);
  auto v = call(officer_, "GET", "/api/v1/incidents/" + id).json();
  EXPECT_EQ(v["feedback"]["summary"], "钱包在公交站找到，已归还");
  EXPECT_EQ(v["feedback"]["callback"]["reached"], true);
  EXPECT_EQ(v["feedback"]["review"]["note"], "处置及时");
  EXPECT_DOUBLE_EQ(v["response"]["received_to_dispatched_s"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(v["response"]["dispatched_to_arrived_s"].get<double>(), 240.0);
  EXPECT_DOUBLE_EQ(v["response"]["arrived_to_resolved_s"].get<double>(), 900.0);
  EXPECT_EQ(v["response"]["dispatched_to_acknowledged_s"], nullptr);
  for (const char* type : {"incident.feedback", "incident.callback", "incident.reviewed"})
    EXPECT_EQ(events_of(type, "S01"), 1) << type;

  // A closed incident takes no more feedback; an unreached caller has no satisfaction.
  sql().exec("UPDATE incidents SET status = 'closed' WHERE id = $1::uuid", id);
  r = call(officer_, "PUT", "/api/v1/incidents/" + id + "/feedback", fb);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "closed");
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/callback", {{"reached", false}, {"satisfaction", 2}});
  EXPECT_EQ(r.status, 422);
}

TEST_F(Support, AReviewNeedsTheFeedbackResult) {
  start();
  const auto id = incident("theft");
  sql().exec("UPDATE incidents SET status = 'resolved' WHERE id = $1::uuid", id);
  auto r = call(chief_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "poor"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["field"], "feedback");
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/callback", {{"reached", false}, {"note", "无人接听"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["outcome"], nullptr);
  EXPECT_EQ(r.json()["callback"]["satisfaction"], nullptr);
  r = call(chief_, "POST", "/api/v1/incidents/" + id + "/review", {{"verdict", "poor"}});
  EXPECT_EQ(r.status, 409) << "a call-back is not a result";
}

// ---- response times ----------------------------------------------------------------------------

TEST_F(Support, ResponseTimesOnKnownTimes) {
  start();
  // Three S01 incidents and one S02, with steps at known seconds after receipt.
  struct Times { std::string station, category; int dispatched, acked, arrived, resolved; int satisfaction; const char* verdict; };
  const std::vector<Times> all = {{"S01", "theft", 60, 90, 360, 1800, 5, "good"},
                                  {"S01", "theft", 120, 150, 600, 2400, 3, "acceptable"},
                                  {"S01", "fraud", 300, 420, 900, 3600, 4, "good"},
                                  {"S02", "theft", 30, 45, 330, 930, 1, "poor"}};
  std::vector<std::string> ids;
  for (const auto& t : all) {
    const auto id = incident(t.category, t.station);
    ids.push_back(id);
    sql().exec("UPDATE incidents SET status = 'resolved', received_at = '2026-11-10T02:00:00Z',"
               " dispatched_at = '2026-11-10T02:00:00Z'::timestamptz + make_interval(secs => $2),"
               " arrived_at = '2026-11-10T02:00:00Z'::timestamptz + make_interval(secs => $3),"
               " resolved_at = '2026-11-10T02:00:00Z'::timestamptz + make_interval(secs => $4) WHERE id = $1::uuid",
               id, t.dispatched, t.arrived, t.resolved);
    sql().exec("INSERT INTO orders (id, number, incident_id, station_id, unit_id, kind, instruction, state, issued_by,"
               " issued_at, acknowledged_at, updated_at) VALUES (gen_random_uuid(), $6, $1::uuid, $2, $3,"
               " 'respond', '出警', 'acknowledged', 'user:1', '2026-11-10T02:00:00Z'::timestamptz + make_interval(secs => $4),"
               " '2026-11-10T02:00:00Z'::timestamptz + make_interval(secs => $5), now())",
               id, t.station, t.station == "S01" ? "U1" : "U2", t.dispatched, t.acked, "O-" + id);
    sql().exec("INSERT INTO incident_feedback (incident_id, outcome, satisfaction, callback_reached, review_verdict,"
               " updated_at) VALUES ($1::uuid, 'other', $2, true, $3, now())",
               id, t.satisfaction, t.verdict);
  }
  // One unhandled S01 theft outside the period.
  incident("theft");

  auto r = call(analyst_, "GET",
                "/api/v1/stats/response-times?from=2026-11-01T00:00:00%2B08:00&to=2026-11-20T00:00:00%2B08:00&group_by=station");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = r.json();
  EXPECT_EQ(s["total"]["incidents"], 4);
  ASSERT_EQ(s["groups"].size(), 2u);
  const auto& s01 = s["groups"][0];
  EXPECT_EQ(s01["key"], "S01");
  EXPECT_EQ(s01["incidents"], 3);
  EXPECT_EQ(s01["received_to_dispatched_s"]["count"], 3);
  EXPECT_DOUBLE_EQ(s01["received_to_dispatched_s"]["median"].get<double>(), 120.0);
  EXPECT_DOUBLE_EQ(s01["received_to_dispatched_s"]["p90"].get<double>(), 264.0);  // 120 + 0.8 × 180
  EXPECT_DOUBLE_EQ(s01["dispatched_to_acknowledged_s"]["median"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(s01["dispatched_to_arrived_s"]["median"].get<double>(), 480.0);
  EXPECT_DOUBLE_EQ(s01["arrived_to_resolved_s"]["median"].get<double>(), 1800.0);
  EXPECT_DOUBLE_EQ(s01["satisfaction"]["average"].get<double>(), 4.0);
  EXPECT_EQ(s01["review"], (json{{"good", 2}, {"acceptable", 1}, {"poor", 0}}));
  EXPECT_EQ(s["groups"][1]["key"], "S02");
  EXPECT_DOUBLE_EQ(s["groups"][1]["received_to_dispatched_s"]["median"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(s["total"]["received_to_dispatched_s"]["median"].get<double>(), 90.0);

  // By category, without a period: the unhandled theft counts as an incident with no intervals.
  r = call(county_, "GET", "/api/v1/stats/response-times?group_by=category");
  ASSERT_EQ(r.status, 200) << r.body;
  s = r.json();
  ASSERT_EQ(s["groups"].size(), 2u);
  EXPECT_EQ(s["groups"][0]["key"], "fraud");
  EXPECT_EQ(s["groups"][1]["key"], "theft");
  EXPECT_EQ(s["groups"][1]["incidents"], 4);
  EXPECT_EQ(s["groups"][1]["received_to_dispatched_s"]["count"], 3);
  EXPECT_EQ(s["total"]["incidents"], 5);

  // A station chief sees its own station, and only that.
  r = call(chief_, "GET", "/api/v1/stats/response-times?category=theft");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["filter"]["station_id"], "S01");
  EXPECT_EQ(r.json()["total"]["incidents"], 3);
  EXPECT_EQ(r.json()["total"]["received_to_dispatched_s"]["count"], 2);
  EXPECT_EQ(r.json()["groups"], json::array());
  r = call(chief_, "GET", "/api/v1/stats/response-times?station_id=S02");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_of(r)["field"], "station_id");
  EXPECT_EQ(call(officer_, "GET", "/api/v1/stats/response-times").status, 403) << "duty officers have no stats:read";
  r = call(analyst_, "GET", "/api/v1/stats/response-times?group_by=zone");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r)["field"], "group_by");
  r = call(analyst_, "GET", "/api/v1/stats/response-times?from=last-week");
  EXPECT_EQ(r.status, 400);
  // An empty selection: a total of zero, no groups.
  r = call(analyst_, "GET", "/api/v1/stats/response-times?category=gambling&group_by=station");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["total"]["incidents"], 0);
  EXPECT_EQ(r.json()["total"]["received_to_dispatched_s"]["median"], nullptr);
  EXPECT_TRUE(r.json()["groups"].empty());

  // The view of the first: the response block with the first acknowledgement.
  auto v = call(officer_, "GET", "/api/v1/incidents/" + ids[0]).json();
  EXPECT_DOUBLE_EQ(v["response"]["received_to_dispatched_s"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(v["response"]["dispatched_to_acknowledged_s"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(v["response"]["dispatched_to_arrived_s"].get<double>(), 300.0);
  EXPECT_DOUBLE_EQ(v["response"]["arrived_to_resolved_s"].get<double>(), 1440.0);
}

// ---- errors --------------------------------------------------------------------------------------

TEST_F(Support, BadRequestsChangeNothing) {
  start();
  const auto id = incident("theft");
  const auto before = sql().counts();
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(call(officer_, "POST", "/api/v1/incidents/not-a-uuid/support-requests", {{"kind", "video"}, {"detail", "x"}})
                .status,
            400);
  EXPECT_EQ(call(officer_, "POST", "/api/v1/incidents/" + unknown + "/support-requests",
                 {{"kind", "video"}, {"detail", "x"}})
                .status,
            404);
  auto r = call(officer_, "POST", "/api/v1/incidents/" + id + "/support-requests", {{"kind", "pizza"}, {"detail", "x"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r)["field"], "kind");
  r = as(port_, officer_, "POST", "/api/v1/incidents/" + id + "/support-requests", "{\"kind\":");
  EXPECT_EQ(r.status, 400);
  {
    client::HttpClient http("127.0.0.1", port_);
    r = http.request("POST", "/api/v1/incidents/" + id + "/support-requests", R"({"kind":"video","detail":"x"})",
                     "text/plain", {{"Authorization", "Bearer " + officer_}});
    EXPECT_EQ(r.status, 415);
  }
  EXPECT_EQ(call(county_, "POST", "/api/v1/support-requests/" + unknown + "/events", {{"type", "accept"}}).status, 404);
  EXPECT_EQ(call(county_, "GET", "/api/v1/support-requests/" + unknown).status, 404);
  EXPECT_EQ(call(county_, "GET", "/api/v1/support-requests?state=lost").status, 400);
  EXPECT_EQ(call(county_, "GET", "/api/v1/support-requests?incident_id=x").status, 400);
  EXPECT_EQ(call(county_, "GET", "/api/v1/support-requests?limit=0").status, 400);
  EXPECT_EQ(call(officer_, "POST", "/api/v1/diversions/" + unknown + "/events", {{"type", "accept"}}).status, 404);
  EXPECT_EQ(call(officer_, "POST", "/api/v1/incidents/" + id + "/diversions", {{"agency", "110"}}).status, 422);
  EXPECT_EQ(call(officer_, "PUT", "/api/v1/incidents/" + unknown + "/feedback",
                 {{"outcome", "other"}, {"summary", "x"}})
                .status,
            404);
  EXPECT_EQ(call(officer_, "POST", "/api/v1/incidents/" + id + "/callback", {{"reached", "yes"}}).status, 422);
  EXPECT_EQ(sql().counts(), before);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM support_requests") + sql().scalar("SELECT count(*) FROM diversions") +
                sql().scalar("SELECT count(*) FROM incident_feedback"),
            0);

  // A closed incident takes no support request.
  sql().exec("UPDATE incidents SET status = 'closed' WHERE id = $1::uuid", id);
  r = call(officer_, "POST", "/api/v1/incidents/" + id + "/support-requests", {{"kind", "video"}, {"detail", "x"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r)["state"], "closed");
}

}  // namespace
}  // namespace xiaonao::itest
