// Notes on an incident (docs/api.md, "Notes") against a real server and database: a note is an
// `incident.note` event, seen in the one-screen view's timeline and on the station's feed;
// refusals name the field and change nothing; another station's duty officer gets 404; a
// closed or cancelled incident takes no note (409 with the state).
#include <cstdio>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Notes : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (IsSkipped()) return;
    auto& s = sql();
    s.exec("INSERT INTO stations (id, name, phone, geog) VALUES"
           " ('S01', '城东派出所', '0578-1110001', 'SRID=4326;POINT(119.905 28.452)'),"
           " ('S02', '城西派出所', '0578-1110002', 'SRID=4326;POINT(119.915 28.452)')");
    s.exec("INSERT INTO zones (id, name, station_id, area_type, officer_name, officer_phone, geom) VALUES"
           " ('Z1', '中山警务区', 'S01', 'urban', '周警官', '13700000001', ST_GeomFromText($1, 4326)),"
           " ('Z2', '解放警务区', 'S02', 'suburban', '吴警官', '13700000002', ST_GeomFromText($2, 4326))",
           square(119.90, 28.45, 119.91, 28.46), square(119.91, 28.45, 119.92, 28.46));
    add_user("100001", "duty_officer", "S01");
    add_user("100002", "duty_officer", "S02");
    add_user("100003", "county_commander", "");
    port_ = start_server().port();
    officer_ = access_token(port_, "100001");
    other_ = access_token(port_, "100002");
    county_ = access_token(port_, "100003");
  }

  /// Posts an alert in S01's zone; returns the incident id.
  std::string incident() {
    json a = make_alert("theft");
    a["location"] = {{"lon", 119.905}, {"lat", 28.455}};
    a.erase("address");
    ApiClient http(port_);
    auto r = post_alert(http, a);
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = r.json().value("incident_id", "");
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND station_id = 'S01'", id), 1);
    return id;
  }

  client::Response note(const std::string& token, const std::string& id, const std::string& body) {
    return as(port_, token, "POST", "/api/v1/incidents/" + id + "/notes", body);
  }

  std::int64_t notes_in_db() { return sql().scalar("SELECT count(*) FROM events WHERE type = 'incident.note'"); }

  unsigned short port_ = 0;
  std::string officer_, other_, county_;
};

TEST_F(Notes, ANoteIsOnTheTimelineAndOnTheStationFeed) {
  const auto id = incident();
  FeedReader feed(port_, "since=0", {{"Authorization", "Bearer " + officer_}});
  const std::string text = "报警人回电：钱包里有身份证\n颜色为棕色";
  auto r = note(officer_, id, json{{"text", text}, {"kind", "caller_update"}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const auto n = r.json().at("note");
  EXPECT_EQ(n["id"], id);
  EXPECT_EQ(n["text"], text);
  EXPECT_EQ(n["kind"], "caller_update");
  EXPECT_EQ(n["actor"].get<std::string>().rfind("user:", 0), 0u);
  EXPECT_FALSE(n["number"].get<std::string>().empty());
  EXPECT_TRUE(n["at"].is_string());
  const auto seq = n["seq"].get<std::int64_t>();
  EXPECT_GT(seq, 0);

  // The event carries the incident's station and category, so station feeds and category
  // filters see it.
  const auto row = sql().exec("SELECT station_id, category, incident_id::text FROM events WHERE seq = $1", seq);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "S01");
  EXPECT_EQ(row[0][1].as<std::string>(), "theft");
  EXPECT_EQ(row[0][2].as<std::string>(), id);

  // On the station's feed, the same data as the answer.
  ASSERT_TRUE(feed.read_through(seq, 10s));
  const FeedEvent* seen = nullptr;
  for (const auto& e : feed.events())
    if (e.seq == seq) seen = &e;
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->type, "incident.note");
  EXPECT_EQ(seen->data["text"], text);
  EXPECT_EQ(seen->data["kind"], "caller_update");
  EXPECT_EQ(seen->data["actor"], n["actor"]);

  // The default kind is info; the view's timeline shows both notes in order.
  r = note(county_, id, R"({"text":"县局指挥中心：注意周边视频"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["note"]["kind"], "info");
  const auto view = as(port_, officer_, "GET", "/api/v1/incidents/" + id);
  ASSERT_EQ(view.status, 200) << view.body;
  const auto shown = view.json();
  std::vector<json> notes;
  for (const auto& e : shown.at("timeline"))
    if (e["type"] == "incident.note") notes.push_back(e);
  ASSERT_EQ(notes.size(), 2u) << shown["timeline"].dump();
  EXPECT_EQ(notes[0]["seq"], seq);
  EXPECT_EQ(notes[0]["data"]["text"], text);
  EXPECT_EQ(notes[1]["data"]["text"], "县局指挥中心：注意周边视频");
  EXPECT_EQ(notes[1]["data"]["kind"], "info");
  // A note moves nothing: the incident keeps its state.
  EXPECT_EQ(shown["incident"]["status"], "received");
}

TEST_F(Notes, RefusalsNameTheFieldAndChangeNothing) {
  const auto id = incident();
  const auto seq0 = sql().max_seq();
  struct Case {
    std::string body;
    unsigned status;
    const char* field;
  };
  const std::vector<Case> cases{
      {"{}", 422, "text"},
      {R"({"text":null})", 422, "text"},
      {R"({"text":""})", 422, "text"},
      {R"({"text":"   \n "})", 422, "text"},
      {R"({"text":42})", 422, "text"},
      {json{{"text", std::string(2001, 'x')}}.dump(), 422, "text"},
      {R"({"text":"ok","kind":"gossip"})", 422, "kind"},
      {R"({"text":"ok","kind":3})", 422, "kind"},
      {"{\"text\": \"unterminated", 400, ""},
      {"not json", 400, ""},
  };
  for (const auto& c : cases) {
    auto r = note(officer_, id, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_EQ(error_of(r)["field"], c.field) << c.body;
  }
  // A bad id, and an id that names nothing.
  EXPECT_EQ(note(officer_, "not-a-uuid", R"({"text":"x"})").status, 400);
  auto r = note(officer_, "00000000-0000-4000-8000-000000000000", R"({"text":"x"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_of(r)["field"], "id");
  // Not JSON by its Content-Type.
  client::HttpClient http("127.0.0.1", port_);
  r = http.request("POST", "/api/v1/incidents/" + id + "/notes", R"({"text":"x"})", "text/plain",
                   {{"Authorization", "Bearer " + officer_}});
  EXPECT_EQ(r.status, 415) << r.body;

  EXPECT_EQ(notes_in_db(), 0);
  EXPECT_EQ(sql().max_seq(), seq0);
}

TEST_F(Notes, AnotherStationsDutyOfficerGets404) {
  const auto id = incident();
  auto r = note(other_, id, R"({"text":"不是我所的警情"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_of(r)["code"], "not_found");
  EXPECT_EQ(notes_in_db(), 0);
  // Without credentials: 401.
  EXPECT_EQ(note("", id, R"({"text":"x"})").status, 401);
  EXPECT_EQ(notes_in_db(), 0);
}

TEST_F(Notes, ClosedAndCancelledIncidentsTakeNoNote) {
  const auto id = incident();
  for (const std::string state : {"closed", "cancelled"}) {
    sql().exec("UPDATE incidents SET status = $2 WHERE id = $1::uuid", id, state);
    auto r = note(officer_, id, R"({"text":"补充"})");
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(error_of(r)["code"], "conflict");
    EXPECT_EQ(error_of(r)["state"], state);
  }
  EXPECT_EQ(notes_in_db(), 0);
  // Every other state takes one (a diverted matter may still get a caller's update).
  sql().exec("UPDATE incidents SET status = 'diverted' WHERE id = $1::uuid", id);
  EXPECT_EQ(note(officer_, id, R"({"text":"12345已受理"})").status, 201);
  EXPECT_EQ(notes_in_db(), 1);
}

}  // namespace
}  // namespace xiaonao::itest
