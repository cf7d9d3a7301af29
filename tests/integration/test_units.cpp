// Live unit data against a real server: positions (single and batch, late reports), status
// changes and their feed event, station scope, the unit list and tracks.
#include "units_fixture.hpp"

namespace xiaonao::itest {
namespace {

using Units = UnitsTest;

json position(double lon, double lat, const std::string& at) { return json{{"lon", lon}, {"lat", lat}, {"at", at}}; }

TEST_F(Units, PositionMovesTheUnitAndALateReportOnlyJoinsTheTrack) {
  Server& server = start_server();
  add_unit("car-1", "S01");
  auto newer = position(119.5701, 28.1174, "2026-11-26T08:10:00+08:00");
  newer["speed"] = 11.5;
  newer["heading"] = 90;
  auto r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-1/position", newer.dump());
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE id = 'car-1' AND position_at = '2026-11-26T00:10:00Z' "
                         "AND abs(ST_X(geog::geometry) - 119.5701) < 1e-9 AND speed = 11.5 AND heading = 90"),
            1);

  // Earlier than the stored position: kept in the history, the unit stays where it is.
  r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-1/position",
         position(119.5600, 28.1000, "2026-11-26T08:05:00+08:00").dump());
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE id = 'car-1' AND position_at = '2026-11-26T00:10:00Z' "
                         "AND abs(ST_X(geog::geometry) - 119.5701) < 1e-9"),
            1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions WHERE unit_id = 'car-1'"), 2);
  // The same report again (a retry) is stored once.
  r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-1/position",
         position(119.5600, 28.1000, "2026-11-26T08:05:00+08:00").dump());
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions WHERE unit_id = 'car-1'"), 2);
  // Telemetry writes no feed events.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events"), 0);

  r = as(server.port(), test_api_key(), "GET",
         "/api/v1/units/car-1/track?from=2026-11-26T00:00:00Z&to=2026-11-26T01:00:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto track = r.json();
  EXPECT_EQ(track["type"], "FeatureCollection");
  EXPECT_EQ(track["count"], 2);
  EXPECT_EQ(track["truncated"], false);
  ASSERT_EQ(track["features"].size(), 3u) << track.dump();
  EXPECT_EQ(track["features"][0]["properties"]["at"], "2026-11-26T00:05:00.000000Z");
  EXPECT_EQ(track["features"][1]["properties"]["at"], "2026-11-26T00:10:00.000000Z");
  EXPECT_EQ(track["features"][1]["properties"]["speed"], 11.5);
  EXPECT_NEAR(track["features"][0]["geometry"]["coordinates"][0].get<double>(), 119.56, 1e-9);
  EXPECT_EQ(track["features"][2]["geometry"]["type"], "LineString");
  EXPECT_EQ(track["features"][2]["geometry"]["coordinates"].size(), 2u);

  r = as(server.port(), test_api_key(), "GET", "/api/v1/units/car-1/track?from=2026-11-26T00:00:00Z&to=2026-11-26T01:00:00Z&limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["truncated"], true);
  EXPECT_EQ(r.json()["features"].size(), 1u);

  for (const char* bad : {"from=yesterday", "to=2026-11-26", "from=2026-11-20T00:00:00Z&to=2026-11-26T00:00:00Z",
                          "from=2026-11-26T02:00:00Z&to=2026-11-26T01:00:00Z", "limit=0"}) {
    r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/units/car-1/track?") + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_EQ(as(server.port(), test_api_key(), "GET", "/api/v1/units/nobody/track").status, 404);
}

TEST_F(Units, BadReportsAre422NamingTheFieldAndUnknownUnits404) {
  Server& server = start_server();
  add_unit("car-1", "S01");
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"lon", 119.5}, {"lat", 95}, {"at", "2026-11-26T08:10:00Z"}}, "lat"},
      {json{{"lon", 119.5}, {"lat", 28}}, "at"},
      {json{{"lon", 119.5}, {"lat", 28}, {"at", "2026-11-26 08:10"}}, "at"},
      {json{{"lon", 119.5}, {"lat", 28}, {"at", "2026-11-26T08:10:00Z"}, {"speed", -3}}, "speed"},
      {json{{"lon", 119.5}, {"lat", 28}, {"at", "2026-11-26T08:10:00Z"}, {"heading", 400}}, "heading"},
  };
  for (const auto& [body, field] : bad) {
    auto r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-1/position", body.dump());
    EXPECT_EQ(r.status, 422) << body.dump() << ": " << r.body;
    EXPECT_EQ(error_of(r).value("field", ""), field) << r.body;
  }
  auto r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-1/position", "{not json");
  EXPECT_EQ(r.status, 400);
  r = as(server.port(), test_api_key(), "POST", "/api/v1/units/car-9/position", position(119.5, 28, "2026-11-26T08:10:00Z").dump());
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_of(r).value("code", ""), "not_found");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE geog IS NOT NULL"), 0);
}

TEST_F(Units, BatchWithOneBadItemWritesNothingAndOtherwiseAnswersPerItem) {
  Server& server = start_server();
  add_unit("car-1", "S01");
  add_unit("car-2", "S02");
  json batch = {{"positions", json::array()}};
  for (const auto* id : {"car-1", "car-2", "car-1"}) {
    auto p = position(119.5, 28.1, "2026-11-26T08:10:00Z");
    p["unit_id"] = id;
    batch["positions"].push_back(p);
  }
  batch["positions"][2]["at"] = "2026-11-26T08:11:00Z";
  auto broken = batch;
  broken["positions"][1]["lon"] = "east";
  auto r = as(server.port(), test_api_key(), "POST", "/api/v1/units/positions", broken.dump());
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r).value("field", ""), "positions[1].lon");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions"), 0);

  auto p = position(119.6, 28.2, "2026-11-26T08:12:00Z");
  p["unit_id"] = "ghost";
  batch["positions"].push_back(p);
  r = as(server.port(), test_api_key(), "POST", "/api/v1/units/positions", batch.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto answer = r.json();
  ASSERT_EQ(answer["results"].size(), 4u);
  EXPECT_EQ(answer["results"][0]["outcome"], "recorded");  // car-1's 08:11 report is newer
  EXPECT_EQ(answer["results"][1]["outcome"], "moved");
  EXPECT_EQ(answer["results"][2]["outcome"], "moved");
  EXPECT_EQ(answer["results"][3]["unit_id"], "ghost");
  EXPECT_EQ(answer["results"][3]["outcome"], "unknown_unit");
  EXPECT_EQ(answer["moved"], 2);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions"), 3);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE id = 'car-1' AND position_at = '2026-11-26T08:11:00Z'"), 1);
}

TEST_F(Units, StatusChangeIsOneFeedEventThatOnlyItsStationSees) {
  Server& server = start_server();
  add_user("110001", "duty_officer", "S01");
  add_user("110002", "duty_officer", "S02");
  add_unit("car-1", "S01");
  add_unit("car-2", "S02");
  const auto s1 = access_token(server.port(), "110001");
  const auto s2 = access_token(server.port(), "110002");
  FeedReader feed1(server.port(), "since=0", {{"Authorization", "Bearer " + s1}});
  FeedReader feed2(server.port(), "since=0", {{"Authorization", "Bearer " + s2}});

  auto r = as(server.port(), s1, "PATCH", "/api/v1/units/car-1", R"({"status":"busy"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["changed"], true);
  EXPECT_EQ(r.json()["unit"]["status"], "busy");
  r = as(server.port(), s1, "PATCH", "/api/v1/units/car-1", R"({"status":"busy"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["changed"], false);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'unit.status'"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'unit.status' AND station_id = 'S01'"), 1);

  r = as(server.port(), s1, "PATCH", "/api/v1/units/car-1", R"({"status":"asleep"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(error_of(r).value("field", ""), "status");

  // Then a change in S02, so S02's reader has something to read up to.
  r = as(server.port(), test_api_key(), "PATCH", "/api/v1/units/car-2", R"({"status":"off_duty"})");
  ASSERT_EQ(r.status, 200) << r.body;

  ASSERT_TRUE(feed1.read_count(1, 20s));
  const auto& e = feed1.events().at(0);
  EXPECT_EQ(e.type, "unit.status");
  EXPECT_EQ(e.data["unit_id"], "car-1");
  EXPECT_EQ(e.data["call_sign"], "呼号car-1");
  EXPECT_EQ(e.data["kind"], "patrol_car");
  EXPECT_EQ(e.data["station_id"], "S01");
  EXPECT_EQ(e.data["old_status"], "available");
  EXPECT_EQ(e.data["new_status"], "busy");
  EXPECT_EQ(e.data["actor"].get<std::string>().rfind("user:", 0), 0u);
  ASSERT_TRUE(feed2.read_count(1, 20s));
  for (const auto& ev : feed2.events()) EXPECT_EQ(ev.data["unit_id"], "car-2") << ev.text;
  // S01's feed does not get S02's event either.
  feed1.read_until([] { return false; }, 300ms);
  EXPECT_EQ(feed1.events().size(), 1u);
}

TEST_F(Units, StationRolesSeeAndChangeOnlyTheirOwnUnits) {
  Server& server = start_server();
  add_user("120001", "duty_officer", "S01");
  add_unit("car-1", "S01", "available", std::make_pair(119.57, 28.11));
  add_unit("car-2", "S02", "busy", std::make_pair(119.58, 28.12), "drone");
  const auto s1 = access_token(server.port(), "120001");

  auto r = as(server.port(), s1, "PATCH", "/api/v1/units/car-2", R"({"status":"available"})");
  EXPECT_EQ(r.status, 404) << r.body;
  r = as(server.port(), s1, "POST", "/api/v1/units/car-2/position", position(119.5, 28, "2026-11-26T08:10:00Z").dump());
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(as(server.port(), s1, "GET", "/api/v1/units/car-2/track").status, 404);
  json batch = {{"positions", json::array({position(119.5, 28, "2026-11-26T08:10:00Z")})}};
  batch["positions"][0]["unit_id"] = "car-2";
  r = as(server.port(), s1, "POST", "/api/v1/units/positions", batch.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["results"][0]["outcome"], "unknown_unit");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE status = 'busy' AND id = 'car-2'"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions"), 0);

  r = as(server.port(), s1, "GET", "/api/v1/units");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["items"].size(), 1u) << r.body;
  const auto unit = r.json()["items"][0];
  EXPECT_EQ(unit["id"], "car-1");
  EXPECT_NEAR(unit["position"]["lon"].get<double>(), 119.57, 1e-9);
  EXPECT_GE(unit["position_age_s"].get<double>(), 59.0);

  // The key is county-wide; filters combine.
  r = as(server.port(), test_api_key(), "GET", "/api/v1/units?status=busy&kind=drone");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["items"].size(), 1u);
  EXPECT_EQ(r.json()["items"][0]["id"], "car-2");
  EXPECT_EQ(as(server.port(), test_api_key(), "GET", "/api/v1/units?station=S01,S02").json()["items"].size(), 2u);
  r = as(server.port(), test_api_key(), "GET", "/api/v1/units?status=sleeping");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_of(r).value("field", ""), "status");
  EXPECT_EQ(as(server.port(), test_api_key(), "GET", "/api/v1/units?kind=tank").status, 400);
}

TEST_F(Units, RetentionDeletesOnlyOldTrackPoints) {
  ServerOptions options;
  options.env = {{"XIAONAO_UNITS_TRACK_RETENTION_DAYS", "7"}, {"XIAONAO_UNITS_PRUNE_INTERVAL_S", "1"}};
  Server& server = start_server(options);
  add_unit("car-1", "S01");
  sql().exec("INSERT INTO unit_positions (unit_id, at, geog) SELECT 'car-1', now() - make_interval(days => d), "
             "ST_SetSRID(ST_MakePoint(119.5, 28.1), 4326)::geography FROM generate_series(1, 20) d");
  ASSERT_TRUE(wait_until([&] { return sql().scalar("SELECT count(*) FROM unit_positions") == 6; }, 20s))
      << sql().scalar("SELECT count(*) FROM unit_positions") << "\n" << server.log_tail();
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM unit_positions WHERE at < now() - interval '7 days'"), 0);
}

}  // namespace
}  // namespace xiaonao::itest
