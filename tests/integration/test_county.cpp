// The demo county end to end, at the small scale: xiaonao-county writes it, `xiaonaod import`
// loads every kind (the importer's validation checks that the generator writes exactly the fixed
// property lists), the counts match county.json, and alerts located the ways the county allows
// (an address text, a marker code, a resident's phone) fuse into an owned incident with units,
// cameras and residents.
#include <fstream>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class County : public IntegrationTest {
 protected:
  /// Generates the small county into dir()/county and imports it; returns county.json.
  json load_small_county() {
    const auto out = (dir() / "county").string();
    auto r = run_command({XIAONAO_COUNTY_PATH, "--scale", "small", "--seed", "7", "--out", out}, {}, dir(), 120s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(out + "/county.json");
    const json meta = json::parse(in);
    for (const auto& kind : meta.at("load_order")) {
      const auto file = out + "/" + kind.get<std::string>() + ".geojson";
      r = run_command({server_path(), "import", "--kind", kind.get<std::string>(), file, "--replace"},
                      {{"XIAONAO_DB", db_conninfo()}}, dir(), 120s);
      EXPECT_EQ(r.exit_code, 0) << kind << ": " << r.err << r.out;
    }
    return meta;
  }

};

TEST_F(County, SmallCountyLoadsAndItsAlertsFuse) {
  const auto meta = load_small_county();
  ASSERT_FALSE(HasFailure());
  for (const auto& [kind, count] : meta.at("counts").items()) {
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM " + kind), count.get<std::int64_t>()) << kind;
  }
  // Every polygon the generator wrote is valid, and zones do not overlap.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM zones WHERE NOT ST_IsValid(geom)"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM zones a JOIN zones b ON a.id < b.id AND ST_Overlaps(a.geom, b.geom)"),
            0);

  ServerOptions o;
  o.env = {{"XIAONAO_FUSION_MERGE_RADIUS_M", "0"}, {"XIAONAO_FUSION_AFTER_COMMIT", "true"}};
  auto& server = start_server(o);
  ApiClient http(server.port());

  // An address text, as a caller would say it (the standard text of an address with residents).
  const auto addr = sql().exec(
      "SELECT a.id, a.text FROM addresses a WHERE EXISTS (SELECT 1 FROM persons p WHERE p.address_id = a.id)"
      " ORDER BY a.id LIMIT 1");
  ASSERT_EQ(addr.size(), 1u);
  json alert = make_alert("dispute");
  alert.erase("location");
  alert["address"] = addr[0][1].as<std::string>();
  auto r = post_alert(http, alert);
  ASSERT_EQ(r.status, 201) << r.body;
  auto view = wait_fused_view(http, r.json()["incident_id"].get<std::string>());
  EXPECT_EQ(view["location"]["located_by"], "address");
  EXPECT_EQ(view["location"]["address_id"], addr[0][0].as<std::string>());
  EXPECT_TRUE(view["station"].is_object()) << view.dump();
  EXPECT_TRUE(view["zone"].is_object());
  EXPECT_TRUE(view["grid"].is_object());
  EXPECT_FALSE(view["units"].empty()) << "a fresh import gives every unit a current position";
  EXPECT_FALSE(view["household"].empty());
  for (const auto& p : view["household"]) EXPECT_NE(p["name"].get<std::string>().find('*'), std::string::npos) << p;

  // A marker code alone (an alarm pillar).
  const auto marker = sql().exec("SELECT id FROM markers ORDER BY id LIMIT 1");
  ASSERT_EQ(marker.size(), 1u);
  alert = make_alert("help");
  alert.erase("location");
  alert.erase("address");
  alert["source"] = "alarm_pillar";
  alert["marker"] = marker[0][0].as<std::string>();
  r = post_alert(http, alert);
  ASSERT_EQ(r.status, 201) << r.body;
  view = wait_fused_view(http, r.json()["incident_id"].get<std::string>());
  EXPECT_EQ(view["location"]["located_by"], "marker");
  EXPECT_TRUE(view["zone"].is_object());

  // Nothing but a resident's phone.
  const auto phone = sql().exec("SELECT phones[1] FROM persons WHERE cardinality(phones) > 0 ORDER BY id LIMIT 1");
  ASSERT_EQ(phone.size(), 1u);
  alert = make_alert("help");
  alert.erase("location");
  alert.erase("address");
  alert["caller"] = {{"phone", phone[0][0].as<std::string>()}};
  r = post_alert(http, alert);
  ASSERT_EQ(r.status, 201) << r.body;
  view = wait_fused_view(http, r.json()["incident_id"].get<std::string>());
  EXPECT_EQ(view["location"]["located_by"], "caller_phone");
}

// The demo's replay also plays the county's units: each reports its position through the batch
// route (patrol cars and officers wander, kiosks stay), so fusion keeps finding fresh units
// however long the demo runs; a key without units:write ends the reports, not the alerts.
TEST_F(County, TheReplayKeepsTheCountysUnitsReporting) {
  load_small_county();
  ASSERT_FALSE(HasFailure());
  auto& server = start_server();
  sql().exec("UPDATE units SET position_at = now() - interval '2 hours'");  // stale, as after a long demo
  const auto county = (dir() / "county").string();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  // test_api_key() holds every scope; two report rounds a second apart, then five alerts.
  auto r = run_command({XIAONAO_REPLAY_PATH, "--url", url, "--county", county, "--unit-reports", "1", "--rate", "2",
                        "--count", "5", "--seed", "3"},
                       {{"XIAONAO_API_KEY", test_api_key()}}, dir(), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE position_at < now() - interval '1 minute'"), 0);
  EXPECT_GT(sql().scalar("SELECT count(DISTINCT unit_id) FROM unit_positions"), 0);
  // Patrol cars moved between their reports; kiosks did not.
  EXPECT_GT(sql().scalar("SELECT count(*) FROM (SELECT unit_id FROM unit_positions p JOIN units u ON u.id = p.unit_id"
                         " WHERE u.kind = 'patrol_car' GROUP BY unit_id HAVING count(DISTINCT p.geog::text) > 1) m"),
            0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM (SELECT unit_id FROM unit_positions p JOIN units u ON u.id = p.unit_id"
                         " WHERE u.kind = 'kiosk' GROUP BY unit_id HAVING count(DISTINCT p.geog::text) > 1) m"),
            0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), 5);

  // A key for alerts only: the reports stop with a message, the alerts still go.
  r = run_command({server_path(), "apikey", "create", "--name", "alerts-only", "--sources", "*", "--scopes",
                   "alerts:write"},
                  {{"XIAONAO_DB", db_conninfo()}}, dir(), 30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string key = r.out;
  key.erase(key.find_last_not_of(" \n") + 1);
  r = run_command({XIAONAO_REPLAY_PATH, "--url", url, "--county", county, "--rate", "5", "--count", "3", "--seed", "4"},
                  {{"XIAONAO_API_KEY", key}}, dir(), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE((r.out + r.err).find("units:write"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), 8);
}

}  // namespace
}  // namespace xiaonao::itest
