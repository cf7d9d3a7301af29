// GET /api/v1/map against a real server: layers, bbox filtering, open incidents only, the
// station scope, per-layer caps, and bad parameters.
#include <set>

#include "units_fixture.hpp"

namespace xiaonao::itest {
namespace {

using Map = UnitsTest;

// The box the test asks for: lon 119.50..119.60, lat 28.05..28.15. Every layer gets one row
// inside it and one well outside (lon 120.5).
constexpr const char* kBox = "119.50,28.05,119.60,28.15";

class MapCounty : public Map {
 protected:
  void build() {
    for (const auto& [id, lon] : std::vector<std::pair<std::string, double>>{{"S01", 119.55}, {"S99", 120.5}}) {
      sql().exec("INSERT INTO stations (id, name, phone, geog) VALUES ($1, $2, '0578-1234567', "
                 "ST_SetSRID(ST_MakePoint($3, 28.10), 4326)::geography)",
                 id, "派出所" + id, lon);
      sql().exec("INSERT INTO zones (id, name, station_id, area_type, geom) VALUES ($1, $2, $3, 'urban', "
                 "ST_Multi(ST_MakeEnvelope($4 - 0.01, 28.09, $4 + 0.01, 28.11, 4326)))",
                 "Z-" + id, "警务区" + id, id, lon);
      sql().exec("INSERT INTO grids (id, name, zone_id, worker_name, geom) VALUES ($1, $2, $3, '网格员', "
                 "ST_Multi(ST_MakeEnvelope($4 - 0.005, 28.095, $4 + 0.005, 28.105, 4326)))",
                 "G-" + id, "网格" + id, "Z-" + id, lon);
      sql().exec("INSERT INTO cameras (id, name, bearing_deg, fov_deg, range_m, stream_url, geog) VALUES "
                 "($1, $2, 90, 60, 120, 'rtsp://cam/1', ST_SetSRID(ST_MakePoint($3, 28.101), 4326)::geography)",
                 "C-" + id, "摄像机" + id, lon);
      sql().exec("INSERT INTO markers (id, description, camera_id, geog) VALUES ($1, '报警柱', $2, "
                 "ST_SetSRID(ST_MakePoint($3, 28.102), 4326)::geography)",
                 "M-" + id, "C-" + id, lon);
      add_unit("U-" + id, id, "available", std::make_pair(lon, 28.103));
    }
    add_unit("U-S02", "S02", "busy", std::make_pair(119.56, 28.104));
    add_unit("U-nowhere", "S01");  // no position: not on the map
  }
  std::string incident_at(unsigned short port, double lon, const std::string& station) {
    auto alert = make_alert("theft");
    alert["location"] = {{"lon", lon}, {"lat", 28.1}};
    ApiClient http(port);
    auto r = post_alert(http, alert);
    EXPECT_EQ(r.status, 201) << r.body;
    const auto id = r.json()["incident_id"].get<std::string>();
    sql().exec("UPDATE incidents SET station_id = $2 WHERE id = $1::uuid", id, station);
    return id;
  }
  static std::map<std::string, std::set<std::string>> ids_by_layer(const json& fc) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& f : fc["features"]) out[f["properties"]["layer"]].insert(f["properties"]["id"].get<std::string>());
    return out;
  }
};

TEST_F(MapCounty, ReturnsEveryLayerInsideTheBoxOnly) {
  Server& server = start_server();
  build();
  const auto open = incident_at(server.port(), 119.57, "S01");
  const auto closed = incident_at(server.port(), 119.58, "S01");
  incident_at(server.port(), 120.5, "S99");
  sql().exec("UPDATE incidents SET status = 'closed' WHERE id = $1::uuid", closed);

  auto r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/map?bbox=") + kBox);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto fc = r.json();
  EXPECT_EQ(fc["type"], "FeatureCollection");
  const auto ids = ids_by_layer(fc);
  EXPECT_EQ(ids.at("stations"), std::set<std::string>{"S01"});
  EXPECT_EQ(ids.at("zones"), std::set<std::string>{"Z-S01"});
  EXPECT_EQ(ids.at("grids"), std::set<std::string>{"G-S01"});
  EXPECT_EQ(ids.at("cameras"), std::set<std::string>{"C-S01"});
  EXPECT_EQ(ids.at("markers"), std::set<std::string>{"M-S01"});
  EXPECT_EQ(ids.at("units"), (std::set<std::string>{"U-S01", "U-S02"}));
  EXPECT_EQ(ids.at("incidents"), std::set<std::string>{open});
  for (const auto& layer : {"stations", "zones", "grids", "cameras", "units", "incidents", "markers"}) {
    EXPECT_EQ(fc["layers"][layer]["truncated"], false) << layer;
  }
  EXPECT_EQ(fc["layers"]["units"]["count"], 2);
  for (const auto& f : fc["features"]) {
    const auto& p = f["properties"];
    if (p["layer"] == "cameras") {
      EXPECT_EQ(p["bearing_deg"], 90);
      EXPECT_EQ(p["fov_deg"], 60);
      EXPECT_EQ(p["range_m"], 120);
      EXPECT_EQ(p["online"], true);
      EXPECT_EQ(f["geometry"]["type"], "Point");
    }
    if (p["layer"] == "units" && p["id"] == "U-S01") {
      EXPECT_EQ(p["status"], "available");
      EXPECT_EQ(p["kind"], "patrol_car");
      EXPECT_EQ(p["call_sign"], "呼号U-S01");
      EXPECT_GE(p["position_age_s"].get<double>(), 59.0);
    }
    if (p["layer"] == "incidents") {
      EXPECT_TRUE(p["number"].is_string());
      EXPECT_EQ(p["category"], "theft");
      EXPECT_EQ(p["status"], "received");
      EXPECT_TRUE(p["priority"].is_number());
    }
    if (p["layer"] == "zones") {
      EXPECT_EQ(f["geometry"]["type"], "MultiPolygon");
      EXPECT_EQ(p["area_type"], "urban");
    }
  }

  // status= chooses incidents by status instead of "open".
  r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/map?layers=incidents&status=closed&bbox=") + kBox);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ids_by_layer(r.json())["incidents"], std::set<std::string>{closed});
  EXPECT_FALSE(r.json()["layers"].contains("units"));

  // Simplified polygons are still polygons.
  r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/map?layers=zones,grids&simplify=50&bbox=") + kBox);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["features"].size(), 2u);
}

TEST_F(MapCounty, StationRolesSeeTheirOwnIncidentsAndUnits) {
  Server& server = start_server();
  build();
  add_user("130001", "duty_officer", "S02");
  const auto own = incident_at(server.port(), 119.57, "S02");
  incident_at(server.port(), 119.58, "S01");
  const auto token = access_token(server.port(), "130001");
  auto r = as(server.port(), token, "GET", std::string("/api/v1/map?bbox=") + kBox);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto ids = ids_by_layer(r.json());
  EXPECT_EQ(ids.at("incidents"), std::set<std::string>{own});
  EXPECT_EQ(ids.at("units"), std::set<std::string>{"U-S02"});
  EXPECT_EQ(ids.at("cameras"), std::set<std::string>{"C-S01"});  // reference layers are shared
}

TEST_F(MapCounty, CapsEachLayerAndSaysSo) {
  ServerOptions options;
  options.env = {{"XIAONAO_UNITS_MAP_LAYER_CAP", "1"}};
  Server& server = start_server(options);
  build();
  auto r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/map?layers=units,stations&bbox=") + kBox);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto fc = r.json();
  EXPECT_EQ(fc["layers"]["units"]["count"], 1);
  EXPECT_EQ(fc["layers"]["units"]["truncated"], true);
  EXPECT_EQ(fc["layers"]["stations"]["truncated"], false);
  EXPECT_EQ(fc["features"].size(), 2u);
}

TEST_F(Map, BadParametersAre400NamingThem) {
  Server& server = start_server();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/api/v1/map", "bbox"},
      {"/api/v1/map?bbox=1,2,3", "bbox"},
      {"/api/v1/map?bbox=119.6,28.05,119.5,28.15", "bbox"},
      {"/api/v1/map?bbox=100,20,130,40", "bbox"},
      {"/api/v1/map?bbox=abc,28.05,119.6,28.15", "bbox"},
      {std::string("/api/v1/map?layers=units,roads&bbox=") + kBox, "layers"},
      {std::string("/api/v1/map?simplify=-5&bbox=") + kBox, "simplify"},
      {std::string("/api/v1/map?status=Open!&bbox=") + kBox, "status"},
  };
  for (const auto& [target, field] : bad) {
    auto r = as(server.port(), test_api_key(), "GET", target);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_EQ(error_of(r).value("field", ""), field) << target << ": " << r.body;
  }
  auto r = as(server.port(), test_api_key(), "GET", std::string("/api/v1/map?layers=units,roads&bbox=") + kBox);
  EXPECT_NE(error_of(r).value("message", "").find("roads"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace xiaonao::itest
