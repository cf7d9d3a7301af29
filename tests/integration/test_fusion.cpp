// Fusion at intake on a small hand-built county whose right answers are known by construction:
// locate (location, marker, exact, alias, fuzzy, ambiguous, subject, caller phone, none), owner
// (shared edge, nearest zone, no zone), cameras (facing, facing away, offline, dome, marker's
// own), units (stale, busy), household (masked, unmask audited), history, duplicate merge and
// split, relocation by PATCH, and a station role's view and feed.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <ctime>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "xiaonao/config/config.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/normalize.hpp"
#include "xiaonao/store/fusion.hpp"

namespace xiaonao::itest {
namespace {

// The county. Zone Z1 (station S01) and zone Z2 (station S02) are two squares that share the
// edge lon = 119.91; grids G1 and G2 are the same squares. P is Z1's centre.
constexpr double kLat1m = 1.0 / 111195.0;
constexpr double kLon1m = kLat1m / 0.87926;  // cos(28.455°)
constexpr double kPLon = 119.905, kPLat = 28.455;

// P moved `east` and `north` metres.
std::string near_p(double east, double north) { return point(kPLon + east * kLon1m, kPLat + north * kLat1m); }

json located_at(double east, double north) {
  return {{"lon", kPLon + east * kLon1m}, {"lat", kPLat + north * kLat1m}};
}

class Fusion : public IntegrationTest {
 protected:
  /// The hand-built county, written with direct SQL (the import is another part's work).
  void build_county() {
    auto& s = sql();
    s.exec("INSERT INTO stations (id, name, phone, geog) VALUES ('S01', '城东派出所', '0578-1110001', $1),"
           " ('S02', '城西派出所', '0578-1110002', $2)",
           point(119.905, 28.452), point(119.915, 28.452));
    s.exec("INSERT INTO zones (id, name, station_id, area_type, officer_name, officer_phone, geom) VALUES"
           " ('Z1', '中山警务区', 'S01', 'urban', '周警官', '13700000001', ST_GeomFromText($1, 4326)),"
           " ('Z2', '解放警务区', 'S02', 'suburban', '吴警官', '13700000002', ST_GeomFromText($2, 4326))",
           square(119.90, 28.45, 119.91, 28.46), square(119.91, 28.45, 119.92, 28.46));
    s.exec("INSERT INTO grids (id, name, zone_id, worker_name, worker_phone, geom) VALUES"
           " ('G1', '中山一网格', 'Z1', '郑网格', '13600000001', ST_GeomFromText($1, 4326)),"
           " ('G2', '解放一网格', 'Z2', '冯网格', '13600000002', ST_GeomFromText($2, 4326))",
           square(119.90, 28.45, 119.91, 28.46), square(119.91, 28.45, 119.92, 28.46));
    const auto addr = [&](const std::string& id, const std::string& text, const std::string& aliases,
                          const std::string& geog) {
      s.exec("INSERT INTO addresses (id, text, norm, aliases, alias_norms, geog) VALUES ($1, $2, $3, $4::text[], $5::text[], $6)",
             id, text, normalize(text), aliases, aliases, geog);
    };
    addr("A1", "丽水市莲都区中山街12号", "{中山街十二号}", near_p(0, 0));
    addr("A2", "丽水市莲都区解放街8号", "{}", point(119.915, 28.455));
    addr("A3", "人民路100号", "{}", point(119.9125, 28.4575));
    addr("A4", "人民路110号", "{}", point(119.9175, 28.4575));
    s.exec("INSERT INTO persons (id, name, id_number, phones, address_id, flags) VALUES"
           " ('R1', '王大明', '330102198001011111', '{13800000001}', 'A1', '{}'),"
           " ('R2', '李秀英', '330102193501012222', '{13800000002}', 'A1', '{elderly_alone}'),"
           " ('R3', '王小明', '330102201501013333', '{}', 'A1', '{minor}'),"
           " ('F1', '陈阿婆', '330102194001014444', '{13911112222,13933334444}', 'A2', '{elderly_alone}')");
    s.exec("INSERT INTO cameras (id, name, bearing_deg, fov_deg, range_m, stream_url, online, geog) VALUES"
           " ('C1', '朝东枪机', 90, 60, 200, 'rtsp://cam/c1', true, $1),"
           " ('C2', '朝西枪机', 270, 60, 200, 'rtsp://cam/c2', true, $2),"
           " ('C3', '离线球机', NULL, 360, 200, 'rtsp://cam/c3', false, $3),"
           " ('C4', '北侧球机', NULL, 360, 200, 'rtsp://cam/c4', true, $4),"
           " ('C5', '远处球机', NULL, 360, 500, 'rtsp://cam/c5', true, $5),"
           " ('CM', '报警柱枪机', 0, 90, 300, 'rtsp://cam/cm', true, $6)",
           near_p(-100, 0), near_p(-50, 0), near_p(10, 0), near_p(0, 150), near_p(400, 0), near_p(0, -250));
    s.exec("INSERT INTO markers (id, description, camera_id, geog) VALUES ('M1', '中山街报警柱', 'CM', $1)", near_p(0, 0));
    s.exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES"
           " ('U1', '城东巡1', 'patrol_car', 'S01', 'available', $1, now() - interval '1 minute'),"
           " ('U2', '城东巡2', 'patrol_car', 'S01', 'available', $2, now() - interval '2 hours'),"
           " ('U3', '城东巡3', 'patrol_car', 'S01', 'busy', $3, now()),"
           " ('U4', '城东岗亭', 'kiosk', 'S01', 'available', $4, now() - interval '5 minutes')",
           near_p(0, 200), near_p(0, 100), near_p(0, 50), near_p(500, 0));
  }

  /// domain::normalize_address's form for these texts (ASCII-free, no punctuation): the same.
  static std::string normalize(const std::string& text) { return text; }

  /// A server that fuses, with `extra` settings on top (a later entry wins).
  Server& start_fusing(const Env& extra = {}) {
    ServerOptions o;
    o.env = {{"XIAONAO_FUSION_MERGE_RADIUS_M", "200"}, {"XIAONAO_FUSION_AFTER_COMMIT", "true"}};
    o.env.insert(o.env.end(), extra.begin(), extra.end());
    return start_server(o);
  }

  /// Posts and returns the answer (fails the test unless 201).
  json post(unsigned short port, const json& alert) {
    ApiClient http(port);
    auto r = post_alert(http, alert);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json() : json::object();
  }

  /// Posts two alerts at once (from two threads; with a gathering writer, one batch).
  std::pair<json, json> post_together(unsigned short port, const json& a, const json& b) {
    std::pair<json, json> answers;
    std::thread first([&] { answers.first = post(port, a); });
    std::thread second([&] { answers.second = post(port, b); });
    first.join();
    second.join();
    return answers;
  }

  /// An alert without location or address, from a caller nobody in the register has.
  static json bare(const std::string& category) {
    json a = make_alert(category);
    a.erase("location");
    a.erase("address");
    a["caller"]["phone"] = "13000000000";
    return a;
  }

  /// The one-screen view once the after-commit stage has run.
  json fused_view(unsigned short port, const std::string& id, const std::string& query = "") {
    ApiClient http(port);
    return wait_fused_view(http, id, query);
  }

  /// One unlabelled metric of the server (-1 when absent).
  static double metric(ApiClient& http, const char* name) {
    return metric_value(http.get("/metrics").body, name).value_or(-1);
  }

  /// Waits, at most 60 s, until the reference copy in memory has loaded more than `after` times.
  static bool reloaded_after(ApiClient& http, double after) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (metric(http, "xiaonao_reference_reloads_total") <= after && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return metric(http, "xiaonao_reference_reloads_total") > after;
  }

  static std::vector<std::string> ids_of(const json& list, const char* key = "id") {
    std::vector<std::string> out;
    for (const auto& e : list) out.push_back(e[key].get<std::string>());
    return out;
  }
};

TEST_F(Fusion, LocatesOwnsAndFusesOnAHandBuiltCounty) {
  build_county();
  Server& server = start_fusing();
  const auto port = server.port();

  // A point on the shared edge of Z1 and Z2: the smaller zone id wins, its station owns it.
  json edge = make_alert("theft");
  edge["location"] = {{"lon", 119.91}, {"lat", 28.4555}};
  auto v = fused_view(port, post(port, edge)["incident_id"]);
  EXPECT_EQ(v["zone"]["id"], "Z1");
  EXPECT_EQ(v["grid"]["id"], "G1");
  EXPECT_EQ(v["station"]["id"], "S01");
  EXPECT_EQ(v["station"]["phone"], "0578-1110001");
  EXPECT_EQ(v["incident"]["station_id"], "S01");
  EXPECT_EQ(v["location"]["located_by"], "location");
  EXPECT_EQ(v["location"]["owner_flag"], nullptr);

  // At P with the standard address: cameras, units, household.
  json at_p = make_alert("fire");
  at_p["location"] = located_at(0, 0);
  at_p["address"] = "丽水市莲都区 中山街12号";
  const std::string p_id = post(port, at_p)["incident_id"];
  v = fused_view(port, p_id);
  EXPECT_EQ(v["zone"]["area_type"], "urban");
  EXPECT_EQ(v["zone"]["officer_name"], "周警官");
  EXPECT_EQ(v["grid"]["worker_name"], "郑网格");
  EXPECT_EQ(v["location"]["address_id"], "A1");
  // In view first (C1 faces P, C4 is a dome, CM faces north onto P), then C2 (nearer, facing
  // away); C3 is offline, C5 is beyond 300 m.
  EXPECT_EQ(ids_of(v["cameras"]), (std::vector<std::string>{"C1", "C4", "CM", "C2"}));
  ASSERT_EQ(v["cameras"].size(), 4u);
  EXPECT_TRUE(v["cameras"][0]["in_view"].get<bool>());
  EXPECT_FALSE(v["cameras"][3]["in_view"].get<bool>());
  EXPECT_NEAR(v["cameras"][3]["distance_m"].get<double>(), 50.0, 1.0);
  EXPECT_EQ(v["cameras"][0]["stream_url"], "rtsp://cam/c1");
  // U2 is nearer but its position is two hours old; U3 is busy.
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1", "U4"}));
  EXPECT_EQ(v["units_stale_skipped"], 1);
  EXPECT_NEAR(v["units"][0]["distance_m"].get<double>(), 200.0, 2.0);
  // Residents of A1, vulnerable first, masked.
  EXPECT_EQ(ids_of(v["household"], "person_id"), (std::vector<std::string>{"R2", "R3", "R1"}));
  EXPECT_EQ(v["household"][0]["name"], "李**");
  EXPECT_EQ(v["household"][0]["phones"][0], "138****0002");
  EXPECT_EQ(v["household"][0]["flags"], json::array({"elderly_alone"}));
  EXPECT_EQ(v["household"][0]["via"], "address");

  // The marker: its point, and its own camera first.
  json marker = bare("assault");
  marker["marker"] = "M1";
  v = fused_view(port, post(port, marker)["incident_id"]);
  EXPECT_EQ(v["location"]["located_by"], "marker");
  EXPECT_EQ(v["location"]["confidence"], 1.0);
  ASSERT_FALSE(v["cameras"].empty());
  EXPECT_EQ(v["cameras"][0]["id"], "CM");
  EXPECT_TRUE(v["cameras"][0]["marker_camera"].get<bool>());

  // An alias of A1; history finds the fire at P by place and by address.
  json alias = bare("noise");
  alias["address"] = "中山街十二号";
  v = fused_view(port, post(port, alias)["incident_id"]);
  EXPECT_EQ(v["location"]["located_by"], "alias");
  EXPECT_EQ(v["location"]["address_id"], "A1");
  EXPECT_EQ(v["zone"]["id"], "Z1");
  bool found = false;
  for (const auto& h : v["history"]) {
    if (h["id"] == p_id) {
      found = true;
      EXPECT_EQ(h["reasons"], json::array({"address", "place"}));
    }
  }
  EXPECT_TRUE(found) << v["history"].dump();

  // A fuzzy match that is clearly the best.
  json fuzzy = bare("lost_property");
  fuzzy["address"] = "丽水市莲都区解放街8号楼";
  v = fused_view(port, post(port, fuzzy)["incident_id"]);
  EXPECT_EQ(v["location"]["located_by"], "fuzzy");
  EXPECT_EQ(v["location"]["address_id"], "A2");
  EXPECT_EQ(v["location"]["candidates"], nullptr);
  EXPECT_EQ(v["zone"]["id"], "Z2");
  EXPECT_EQ(v["station"]["id"], "S02");

  // An ambiguous one: two equally good candidates are kept, the first is used, unsure.
  json ambiguous = bare("dispute");
  ambiguous["address"] = "人民路10号";
  v = fused_view(port, post(port, ambiguous)["incident_id"]);
  EXPECT_EQ(v["location"]["located_by"], "fuzzy");
  ASSERT_EQ(v["location"]["candidates"].size(), 2u) << v["location"].dump();
  EXPECT_EQ(ids_of(v["location"]["candidates"], "address_id"), (std::vector<std::string>{"A3", "A4"}));
  EXPECT_EQ(v["location"]["candidates"][0]["alias"], nullptr);  // matched by their standard texts
  EXPECT_LT(v["location"]["confidence"].get<double>(), 0.5);

  // A fraud subject with two phones: found by either, household at the subject's address.
  for (const auto& [phone, category] : {std::pair{"13933334444", "fraud"}, std::pair{"+86 139-1111-2222", "help"}}) {
    json subject = bare(category);
    subject["subject"] = {{"phone", phone}};
    v = fused_view(port, post(port, subject)["incident_id"]);
    EXPECT_EQ(v["location"]["located_by"], "subject") << phone;
    EXPECT_EQ(v["location"]["address_id"], "A2") << phone;
    EXPECT_EQ(ids_of(v["household"], "person_id"), (std::vector<std::string>{"F1"})) << phone;
  }

  // The caller's phone → a resident's address.
  json caller = bare("other");
  caller["caller"]["phone"] = "13800000001";
  v = fused_view(port, post(port, caller)["incident_id"]);
  EXPECT_EQ(v["location"]["located_by"], "caller_phone");
  EXPECT_EQ(v["location"]["address_id"], "A1");

  // Off every polygon: the nearest zone within 500 m, flagged; far away: no zone.
  json off = make_alert("missing_person");
  off["location"] = {{"lon", 119.923}, {"lat", 28.455}};
  v = fused_view(port, post(port, off)["incident_id"]);
  EXPECT_EQ(v["zone"]["id"], "Z2");
  EXPECT_EQ(v["grid"], nullptr);
  EXPECT_EQ(v["location"]["owner_flag"], "nearest_zone");
  EXPECT_EQ(v["incident"]["station_id"], "S02");
  json far = make_alert("suicide_risk");
  far["location"] = {{"lon", 119.99}, {"lat", 28.455}};
  v = fused_view(port, post(port, far)["incident_id"]);
  EXPECT_EQ(v["zone"], nullptr);
  EXPECT_EQ(v["location"]["owner_flag"], "no_zone");

  // Nothing to locate it by: an incident flagged for a manual location; PATCH fixes it.
  json lost = bare("gambling");
  lost["address"] = "某个不存在的地方";
  const std::string lost_id = post(port, lost)["incident_id"];
  v = fused_view(port, lost_id);
  EXPECT_TRUE(v["location"]["needs_location"].get<bool>());
  EXPECT_EQ(v["location"]["point"], nullptr);
  EXPECT_TRUE(v["cameras"].empty());
  ApiClient http(port);
  auto bad = http.request("PATCH", "/api/v1/incidents/" + lost_id, R"({"location":{"lon":200,"lat":28}})",
                          "application/json", auth_headers());
  EXPECT_EQ(bad.status, 403) << "a key has no incidents:write: " << bad.body;
}

// Stale units are the older positions passed over on the way to the list: nearer than its last
// unit, or all of them while the list is short. (U2, two hours old, is 100 m from P; U1 200 m.)
// A misspelt alias finds its address (021): by the prefix candidates when only a character
// is dropped, by the trigram walk when the text is garbled at both ends; the same from the
// reference copy in memory and from the tables. Neither text shares a trigram with A5's
// standard text, so before aliases were read it stayed unlocated.
TEST_F(Fusion, AMisspeltAliasFindsItsAddress) {
  build_county();
  sql().exec("INSERT INTO addresses (id, text, norm, aliases, alias_norms, geog) VALUES"
             " ('A5', '丽水市莲都区人民路200号', '丽水市莲都区人民路200号', '{阳光花园小区七幢二单元}',"
             " '{阳光花园小区七幢二单元}', $1)",
             point(119.9125, 28.4525));
  for (const char* in_memory : {"true", "false"}) {
    SCOPED_TRACE(std::string("reference in memory: ") + in_memory);
    // No merging: each alert must be located by itself, also the second server's.
    Server& server =
        start_fusing({{"XIAONAO_FUSION_REFERENCE_IN_MEMORY", in_memory}, {"XIAONAO_FUSION_MERGE_RADIUS_M", "0"}});
    const auto port = server.port();
    json dropped = bare("burglary");
    dropped["address"] = "阳光花园小区七幢单元";  // one character dropped: 9 of 14 trigrams shared
    auto v = fused_view(port, post(port, dropped)["incident_id"]);
    EXPECT_EQ(v["location"]["located_by"], "fuzzy");
    EXPECT_EQ(v["location"]["address_id"], "A5");
    EXPECT_NEAR(v["location"]["confidence"].get<double>(), 0.643, 0.001);
    EXPECT_EQ(v["zone"]["id"], "Z2");
    json garbled = bare("theft");
    garbled["address"] = "阳光花圆小区七幢二单无";  // both ends changed: 7 of 17, unsure
    v = fused_view(port, post(port, garbled)["incident_id"]);
    EXPECT_EQ(v["location"]["located_by"], "fuzzy");
    EXPECT_EQ(v["location"]["address_id"], "A5");
    EXPECT_EQ(v["location"]["candidates"].size(), 1u) << v["location"].dump();
    if (v["location"]["candidates"].size() == 1) {
      EXPECT_EQ(v["location"]["candidates"][0]["text"], "丽水市莲都区人民路200号");
      EXPECT_NEAR(v["location"]["candidates"][0]["score"].get<double>(), 0.412, 0.001);
      // The officer sees why: the alias that scored, not the standard text.
      EXPECT_EQ(v["location"]["candidates"][0]["alias"], "阳光花园小区七幢二单元");
    }
    server.terminate();
  }
}

// The alias rows follow their address through every way it is written: insert, an upsert
// that changes the aliases, an update, a delete.
TEST_F(Fusion, AliasRowsFollowTheirAddress) {
  auto& s = sql();
  const auto aliases = [&] {
    std::vector<std::string> out;
    for (const auto& r : s.exec("SELECT address_id || ':' || norm FROM address_aliases ORDER BY 1")) out.push_back(r[0].c_str());
    return out;
  };
  const auto point_sql = point(119.91, 28.45);
  s.exec("INSERT INTO addresses (id, text, norm, alias_norms, geog) VALUES"
         " ('B1', 't1', 't1', '{x,y,x}', $1), ('B2', 't2', 't2', '{}', $1)", point_sql);
  EXPECT_EQ(aliases(), (std::vector<std::string>{"B1:x", "B1:y"}));
  s.exec("INSERT INTO addresses (id, text, norm, alias_norms, geog) VALUES"
         " ('B1', 't1', 't1', '{y,z}', $1), ('B3', 't3', 't3', '{w}', $1)"
         " ON CONFLICT (id) DO UPDATE SET alias_norms = EXCLUDED.alias_norms", point_sql);
  EXPECT_EQ(aliases(), (std::vector<std::string>{"B1:y", "B1:z", "B3:w"}));
  s.exec("UPDATE addresses SET alias_norms = '{v}' WHERE id = 'B2'");
  s.exec("UPDATE addresses SET alias_norms = '{}' WHERE id = 'B3'");
  EXPECT_EQ(aliases(), (std::vector<std::string>{"B1:y", "B1:z", "B2:v"}));
  s.exec("DELETE FROM addresses WHERE id = 'B1'");
  EXPECT_EQ(aliases(), (std::vector<std::string>{"B2:v"}));
}

TEST_F(Fusion, StaleUnitsAreCountedOnlyBeforeTheListFills) {
  build_county();
  sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES"
             " ('U5', '城东巡5', 'patrol_car', 'S01', 'available', $1, now() - interval '3 hours'),"
             " ('U6', '城东巡6', 'patrol_car', 'S01', 'available', $2, NULL)",
             near_p(0, 300), near_p(0, 350));
  Server& one = start_fusing({{"XIAONAO_FUSION_UNITS_MAX", "1"}});
  json a = make_alert("fire");
  a["location"] = located_at(0, 0);
  auto v = fused_view(one.port(), post(one.port(), a)["incident_id"]);
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1"}));
  EXPECT_EQ(v["units_stale_skipped"], 1) << "U5 and U6 lie beyond U1";
  EXPECT_NEAR(v["units"][0]["position_age_s"].get<double>(), 60.0, 30.0);

  // Five wanted, two fresh (U1, U4 at 500 m): every stale one was passed over, the one without
  // a position time too.
  Server& five = start_fusing();
  json b = make_alert("noise");  // not related to the fire: opens its own incident
  b["location"] = located_at(0, 0);
  v = fused_view(five.port(), post(five.port(), b)["incident_id"]);
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1", "U4"}));
  EXPECT_EQ(v["units_stale_skipped"], 3);

  // No available unit with a fresh position (a GPS feed down): none offered, all counted.
  sql().exec("UPDATE units SET position_at = now() - interval '2 hours' WHERE position_at IS NOT NULL");
  json c = make_alert("gambling");
  c["location"] = located_at(0, 0);
  v = fused_view(five.port(), post(five.port(), c)["incident_id"]);
  EXPECT_TRUE(v["units"].empty()) << v["units"].dump();
  EXPECT_EQ(v["units_stale_skipped"], sql().scalar("SELECT count(*) FROM units WHERE status = 'available'"));
}

// The writers plan their statements once, generically, while the tables are small; the
// history look-up must still read its few candidates by key once the table has grown, never walk
// the time index (with fewer matches than it keeps, that walk read every incident on every call).
TEST_F(Fusion, HistoryReadsItsCandidatesByKeyOnAGrownTable) {
  build_county();
  // A young table, as statistics describe it when the writers plan (a hundred incidents far
  // away); no ANALYZE after that, which would make them plan again with the grown table's.
  // (`sign` -1: in the past; +1: the time index, newest first, reaches them before any other.)
  const auto far_incidents = [&](int n, const char* tag, int sign) {
    sql().exec("INSERT INTO incidents (id, number, category, priority, received_at, location, created_at, updated_at)"
               " SELECT gen_random_uuid(), $2 || g, 'theft', 3, now() + $3 * g * interval '1 millisecond',"
               " ST_SetSRID(ST_MakePoint(100 + g * 0.0001, 20), 4326), now(), now() FROM generate_series(1, $1) g",
               n, tag, sign);
  };
  far_incidents(100, "YOUNG-", -1);
  sql().exec("ANALYZE incidents");
  sql().exec("ALTER TABLE incidents SET (autovacuum_enabled = false)");
  // Generic plans from the first call, as PostgreSQL may choose after five (it did in the
  // benchmarks), so that what they are does not depend on its heuristics.
  Server& server = start_fusing({{"XIAONAO_FUSION_MERGE_RADIUS_M", "0"},
                                 {"XIAONAO_DB", db_conninfo() + " options='-c plan_cache_mode=force_generic_plan'"}});
  const auto port = server.port();
  // Alerts on the young table: the writer connections plan their statements now.
  // No callers: a shared caller phone would give P more history than the list keeps.
  for (int i = 0; i < 24; ++i) {
    json a = make_alert("noise");
    a.erase("caller");
    a["location"] = located_at(0, i * 10.0);
    post(port, a);
  }
  // Twenty thousand incidents far away, never part of P's history, dated so that the time index
  // reaches them before it.
  far_incidents(20000, "FAR-", 1);
  const auto read_by = [&](const char* index) {
    return sql().scalar("SELECT idx_tup_read + idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1", index);
  };
  const auto rows_read = [&] {
    return sql().scalar("SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables"
                        " WHERE relname = 'incidents'");
  };
  const auto rows_before = rows_read();
  const auto place_before = read_by("incidents_geog_idx");
  for (int i = 0; i < 6; ++i) {
    json a = make_alert("noise");
    a.erase("caller");
    a["location"] = located_at(0, 0);
    post(port, a);
  }
  // The statistics reach the view when the writers' backends go idle (within about a second);
  // the place branch reads the spatial index whatever the plan, so its reads show they came.
  ASSERT_TRUE(wait_until([&] { return read_by("incidents_geog_idx") > place_before; }, 10s));
  EXPECT_LT(rows_read() - rows_before, 2000) << "incident rows read for six alerts' fusion";
}

// The same county, with officers who log in.
class FusionAsUser : public Fusion {};

TEST_F(FusionAsUser, PatchRelocatesAndRefusesBadInput) {
  build_county();
  Server& server = start_fusing();
  const auto port = server.port();
  add_user("500001", "county_commander", "");
  add_user("500002", "duty_officer", "S02");
  const auto chief = access_token(port, "500001");
  json lost = bare("gambling");
  const std::string id = post(port, lost)["incident_id"];
  fused_view(port, id);
  const auto path = "/api/v1/incidents/" + id;

  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"location":{"lon":200,"lat":28}})", "location.lon"},
           {R"({"location":{"lon":119.9}})", "location.lat"},
           {R"({"location":{"lon":"x","lat":28}})", "location.lon"},
           {R"({"address_id":"NOPE"})", "address_id"},
           {R"({"address_id":""})", "address_id"},
           {R"({})", "location"},
           {R"({"location":{"lon":119.9,"lat":28.4},"address_id":"A1"})", "location"},
           {R"({"status":"closed"})", "status"}}) {
    auto r = as(port, chief, "PATCH", path, body);
    EXPECT_EQ(r.status, 422) << body << ": " << r.body;
    EXPECT_EQ(error_of(r).value("field", ""), field) << body;
  }
  EXPECT_EQ(as(port, chief, "PATCH", path, "[1]").status, 422);
  EXPECT_EQ(as(port, chief, "PATCH", path, "{").status, 400);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1 AND needs_location", id), 1) << "nothing changed";
  EXPECT_EQ(as(port, chief, "PATCH", "/api/v1/incidents/00000000-0000-4000-8000-000000000000",
               R"({"address_id":"A1"})").status, 404);
  // Another station does not see an incident that is not yet its own.
  const auto s02 = access_token(port, "500002");
  EXPECT_EQ(as(port, s02, "PATCH", path, R"({"address_id":"A1"})").status, 404);

  auto r = as(port, chief, "PATCH", path, R"({"address_id":"A1"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(v["location"]["located_by"], "manual");
  EXPECT_FALSE(v["location"]["needs_location"].get<bool>());
  EXPECT_EQ(v["zone"]["id"], "Z1");
  EXPECT_EQ(v["incident"]["station_id"], "S01");
  EXPECT_EQ(ids_of(v["household"], "person_id"), (std::vector<std::string>{"R2", "R3", "R1"}));
  EXPECT_EQ(ids_of(v["cameras"]).front(), "C1");
  EXPECT_TRUE(v["fused_at"].is_string());
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'incident.located' AND incident_id = $1 AND station_id = 'S01'", id), 1);

  r = as(port, chief, "PATCH", path, R"({"location":{"lon":119.915,"lat":28.455}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["zone"]["id"], "Z2");
  EXPECT_EQ(r.json()["location"]["address_id"], nullptr);
  // Now S02's: its officer sees and corrects it.
  EXPECT_EQ(as(port, s02, "GET", path).status, 200);
}

TEST_F(FusionAsUser, DuplicateMergeSplitAndIdempotentRetry) {
  build_county();
  Server& server = start_fusing();
  const auto port = server.port();
  add_user("600001", "duty_officer", "S01");
  const auto officer = access_token(port, "600001");
  FeedReader feed(port, "since=0");

  const auto t0 = std::chrono::system_clock::now() - std::chrono::minutes(15);
  const auto at = [&](int seconds) {
    const auto secs = std::chrono::system_clock::to_time_t(t0 + std::chrono::seconds(seconds));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  json first = make_alert("theft");
  first["location"] = located_at(0, 0);
  first["received_at"] = at(0);
  first["priority"] = 3;
  const auto a1 = post(port, first);
  EXPECT_FALSE(a1["merged"].get<bool>());

  // 100 m north, a minute later, a related category: joins it.
  json second = make_alert("burglary");
  second["location"] = located_at(0, 100);
  second["received_at"] = at(60);
  second["priority"] = 1;
  second["caller"] = {{"phone", "13700009999"}};
  const auto a2 = post(port, second);
  EXPECT_TRUE(a2["merged"].get<bool>());
  EXPECT_EQ(a2["incident_id"], a1["incident_id"]);
  EXPECT_EQ(a2["incident_number"], a1["incident_number"]);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND '13700009999' = ANY (alert_callers)",
                         a1["incident_id"].get<std::string>()),
            1);

  // The retry of the merged alert answers the same ids.
  ApiClient http(port);
  auto retry = post_alert(http, second);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json()["alert_id"], a2["alert_id"]);
  EXPECT_EQ(retry.json()["incident_id"], a1["incident_id"]);
  EXPECT_TRUE(retry.json()["merged"].get<bool>());

  // Too far, too late, unrelated: new incidents.
  json far = make_alert("theft");
  far["location"] = located_at(0, 300);
  far["received_at"] = at(90);
  EXPECT_FALSE(post(port, far)["merged"].get<bool>());
  json late = make_alert("theft");
  late["location"] = located_at(0, 0);
  late["received_at"] = at(601 + 60);
  EXPECT_FALSE(post(port, late)["merged"].get<bool>());
  json unrelated = make_alert("assault");
  unrelated["location"] = located_at(0, 0);
  unrelated["received_at"] = at(120);
  const auto a5 = post(port, unrelated);
  EXPECT_FALSE(a5["merged"].get<bool>());

  const std::string inc1 = a1["incident_id"];
  auto v = fused_view(port, inc1);
  EXPECT_EQ(v["incident"]["alert_count"], 2);
  EXPECT_EQ(v["incident"]["priority"], 1) << "the merged incident takes the highest priority";
  ASSERT_EQ(v["alerts"].size(), 2u);
  EXPECT_TRUE(v["alerts"][1]["merged"].get<bool>());
  EXPECT_EQ(v["incident"]["station_id"], "S01");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents"), 4);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'alert.merged' AND incident_id = $1", inc1), 1);
  // The merged alert took no number: the four incidents' serials follow each other.
  EXPECT_EQ(sql().scalar("SELECT max(right(number, 6)::int) - min(right(number, 6)::int) FROM incidents"), 3);

  // History of the unrelated assault at P: the theft incident, by place and by caller.
  v = fused_view(port, a5["incident_id"]);
  bool found = false;
  for (const auto& h : v["history"]) {
    if (h["id"] == inc1) {
      found = true;
      EXPECT_EQ(h["reasons"], json::array({"caller", "place"}));
    }
  }
  EXPECT_TRUE(found) << v["history"].dump();

  // Split: the first alert cannot leave; the merged one opens its own incident.
  const std::string base = "/api/v1/incidents/" + inc1 + "/alerts/";
  auto r = as(port, officer, "POST", base + a1["alert_id"].get<std::string>() + "/split");
  EXPECT_EQ(r.status, 409) << r.body;
  r = as(port, officer, "POST", base + "00000000-0000-4000-8000-000000000000/split");
  EXPECT_EQ(r.status, 404) << r.body;
  r = as(port, officer, "POST", base + a2["alert_id"].get<std::string>() + "/split");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string inc_new = r.json()["incident_id"];
  EXPECT_NE(inc_new, inc1);
  EXPECT_NE(r.json()["incident_number"], a1["incident_number"]);
  v = fused_view(port, inc_new);
  EXPECT_EQ(v["incident"]["category"], "burglary");
  EXPECT_EQ(v["incident"]["alert_count"], 1);
  EXPECT_FALSE(v["alerts"][0]["merged"].get<bool>());
  EXPECT_EQ(v["zone"]["id"], "Z1");
  v = fused_view(port, inc1);
  EXPECT_EQ(v["incident"]["alert_count"], 1);
  EXPECT_EQ(v["alerts"].size(), 1u);
  // The caller lists (018) follow the alerts: the split one's phone left with it.
  const auto has_caller = [&](const std::string& id, const char* phone) {
    return sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND $2 = ANY (alert_callers)", id, phone);
  };
  EXPECT_EQ(has_caller(inc1, "13700009999"), 0);
  EXPECT_EQ(has_caller(inc_new, "13700009999"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE type = 'alert.split' AND incident_id = $1", inc1), 1);

  // The feed told it all.
  const auto last = sql().max_seq();
  ASSERT_TRUE(feed.read_through(last));
  std::set<std::string> types;
  for (const auto& e : feed.events()) types.insert(e.type);
  for (const char* t : {"incident.opened", "alert.received", "alert.merged", "incident.fused", "alert.split"})
    EXPECT_TRUE(types.count(t)) << t;
}

TEST_F(FusionAsUser, StationRoleSeesItsFusedIncidentFeedAndUnmasksWithAudit) {
  build_county();
  Server& server = start_fusing();
  const auto port = server.port();
  add_user("700001", "duty_officer", "S01");
  add_user("700002", "duty_officer", "S02");
  const auto s01 = access_token(port, "700001");
  const auto s02 = access_token(port, "700002");
  FeedReader feed01(port, "since=0", {{"Authorization", "Bearer " + s01}});
  FeedReader feed02(port, "since=0", {{"Authorization", "Bearer " + s02}});

  json at_p = make_alert("fire");
  at_p["location"] = located_at(0, 0);
  at_p["address"] = "丽水市莲都区中山街12号";
  const std::string id = post(port, at_p)["incident_id"];
  fused_view(port, id);
  const auto path = "/api/v1/incidents/" + id;

  auto r = as(port, s01, "GET", path);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["household"].size(), 3u);
  EXPECT_EQ(r.json()["household"][0]["id_number"], "330***********2222");
  EXPECT_EQ(as(port, s02, "GET", path).status, 404);

  r = as(port, s01, "GET", path + "?unmask=true&reason=%E5%9B%9E%E8%AE%BF");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["household"][0]["name"], "李秀英");
  EXPECT_EQ(r.json()["household"][0]["phones"][0], "13800000002");
  for (const char* person : {"person:R1", "person:R2", "person:R3"}) {
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'person.unmask' AND target = $1"
                           " AND incident_id = $2::uuid",
                           std::string(person), id),
              1)
        << person;
  }

  // S01's feed carries the incident's events; S02's does not.
  const auto fused_seq = sql().scalar("SELECT max(seq) FROM events WHERE type = 'incident.fused' AND incident_id = $1", id);
  ASSERT_GT(fused_seq, 0);
  ASSERT_TRUE(feed01.read_through(fused_seq));
  std::set<std::string> types;
  for (const auto& e : feed01.events()) {
    if (e.data.value("incident_id", e.data.value("id", "")) == id) types.insert(e.type);
  }
  EXPECT_TRUE(types.count("incident.opened"));
  EXPECT_TRUE(types.count("incident.fused"));
  feed02.read_until([] { return false; }, 300ms);
  for (const auto& e : feed02.events()) {
    EXPECT_NE(e.data.value("incident_id", e.data.value("id", "")), id) << e.text;
  }
  // The fused event carries no personal data.
  for (const auto& e : feed01.events()) {
    EXPECT_EQ(e.text.find("13800000002"), std::string::npos);
    EXPECT_EQ(e.text.find("李秀英"), std::string::npos);
  }
}

// The worker's queue is in memory: an incident whose fusion was lost (here: undone by SQL, as a
// crash right after the commit would leave it) is found by the sweep and fused again.
TEST_F(Fusion, SweepFusesAnIncidentWhoseFusionWasLost) {
  build_county();
  Server& server = start_fusing({{"XIAONAO_FUSION_SWEEP_INTERVAL_S", "1"}});
  json a = make_alert("theft");
  a["location"] = located_at(0, 0);
  const std::string id = post(server.port(), a)["incident_id"];
  fused_view(server.port(), id);
  sql().exec("UPDATE incidents SET fused_at = NULL, fusion = NULL, unfused = true,"
             " created_at = now() - interval '1 minute' WHERE id = $1::uuid", id);
  const auto fused_events = [&] {
    return sql().scalar("SELECT count(*) FROM events WHERE type = 'incident.fused' AND incident_id = $1::uuid", id);
  };
  ASSERT_EQ(fused_events(), 1);
  EXPECT_TRUE(wait_until([&] { return sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid"
                                                   " AND fused_at IS NOT NULL", id) == 1; },
                         std::chrono::seconds(30)));
  EXPECT_EQ(fused_events(), 2);
  const auto v = fused_view(server.port(), id);
  // (Checked before it is indexed: a const json's operator[] past the end is undefined.)
  ASSERT_TRUE(v.contains("units") && v["units"].is_array() && !v["units"].empty()) << v.dump();
  EXPECT_EQ(v["units"][0].value("id", ""), "U1");
  // A closed incident is left alone.
  sql().exec("UPDATE incidents SET fused_at = NULL, unfused = true, status = 'closed' WHERE id = $1::uuid", id);
  const std::string other = post(server.port(), bare("noise"))["incident_id"];
  fused_view(server.port(), other);
  sql().exec("UPDATE incidents SET fused_at = NULL, unfused = true, created_at = now() - interval '1 minute'"
             " WHERE id = $1::uuid", other);
  ASSERT_TRUE(wait_until([&] { return sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid"
                                                   " AND fused_at IS NOT NULL", other) == 1; },
                         std::chrono::seconds(30)));
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND fused_at IS NULL", id), 1);
}


// The merge lock is taken by area (domain::fusion::merge_locks, one key per 0.01° cell):
// callers on both sides of a cell edge, posting at the same moment through both intake
// writers, still end in one incident, since each batch locks the cells its merge radius
// touches. Alerts a few kilometres away decide in parallel and open their own incident.
TEST_F(Fusion, ConcurrentAlertsAcrossACellEdgeStillMergeIntoOneIncident) {
  build_county();
  ServerOptions o;
  o.env = {{"XIAONAO_FUSION_MERGE_RADIUS_M", "200"}, {"XIAONAO_DB_WRITER_THREADS", "2"}, {"XIAONAO_DB_WRITER_OVERFLOW_MS", "0"}};
  Server& server = start_server(o);
  const auto port = server.port();
  constexpr double kEdgeLon = 119.91;  // a cell edge (a multiple of 0.01°), Z1 | Z2
  constexpr int kThreads = 8, kEach = 4;
  std::vector<std::thread> senders;
  std::vector<std::vector<std::string>> near(kThreads), far(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      ApiClient http(port);
      for (int k = 0; k < kEach; ++k) {
        // West and east of the edge in turn, 10-40 m from it, within 100 m of each other.
        const double east = (t % 2 == 0 ? -1 : 1) * (10.0 + 10.0 * k);
        json a = make_alert("theft");
        a["location"] = {{"lon", kEdgeLon + east * kLon1m}, {"lat", kPLat + (t - 4) * 5 * kLat1m}};
        auto r = post_alert(http, a);
        if (r.status == 201) near[t].push_back(r.json()["incident_id"].get<std::string>());
        json b = make_alert("fire");
        b["location"] = {{"lon", kEdgeLon + 0.05 + t * 0.01}, {"lat", kPLat + 0.05}};
        r = post_alert(http, b);
        if (r.status == 201) far[t].push_back(r.json()["incident_id"].get<std::string>());
      }
    });
  }
  for (auto& s : senders) s.join();
  std::set<std::string> near_incidents, far_incidents;
  std::size_t answered = 0;
  for (int t = 0; t < kThreads; ++t) {
    near_incidents.insert(near[t].begin(), near[t].end());
    far_incidents.insert(far[t].begin(), far[t].end());
    answered += near[t].size();
  }
  ASSERT_EQ(answered, static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(near_incidents.size(), 1u) << "every theft by the edge joined one incident";
  ASSERT_FALSE(near_incidents.empty());
  EXPECT_EQ(sql().scalar("SELECT alert_count FROM incidents WHERE id = $1::uuid", *near_incidents.begin()),
            kThreads * kEach);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE category = 'theft'"), 1);
  // The fires: one per sender (each 0.01° from the next: about 1 km apart), repeats merged.
  EXPECT_EQ(far_incidents.size(), static_cast<std::size_t>(kThreads));
}

// By default (fusion.in_transaction) the rest of fusion runs inside the alert's own
// transaction: the 201 comes with the incident already fused, and its `incident.fused` event
// shares the commit of `incident.opened`. Off, the fusion worker does it after the commit.
TEST_F(Fusion, AnIncidentIsFusedInTheCommitThatOpensIt) {
  build_county();
  Server& server = start_fusing();
  ApiClient http(server.port());
  json a = make_alert("fire");
  a["location"] = located_at(0, 0);
  a["address"] = "丽水市莲都区中山街12号";
  const std::string id = post(server.port(), a)["incident_id"];
  const auto r = http.get("/api/v1/incidents/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = r.json();
  ASSERT_TRUE(v["fused_at"].is_string()) << v.dump();
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1", "U4"}));
  EXPECT_EQ(ids_of(v["household"], "person_id"), (std::vector<std::string>{"R2", "R3", "R1"}));
  EXPECT_EQ(sql().scalar("SELECT count(DISTINCT at) FROM events WHERE incident_id = $1::uuid"
                         " AND type IN ('incident.opened', 'alert.received', 'incident.fused')", id),
            1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.fused'"
                         " AND seq > (SELECT seq FROM events WHERE incident_id = $1::uuid AND type = 'incident.opened')",
                         id),
            1);

  // A repeat call joins it in a later transaction: the incident is fused again there.
  json again = make_alert("fire");
  again["location"] = located_at(20, 0);
  again["subject"] = {{"phone", "139-1111-2222"}};
  const auto joined = post(server.port(), again);
  EXPECT_TRUE(joined["merged"].get<bool>());
  EXPECT_EQ(joined["incident_id"], id);
  const auto v2 = http.get("/api/v1/incidents/" + id).json();
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.fused'", id),
            2);
  // The new subject's household (F1 at A2) came with it.
  bool subject_home = false;
  for (const auto& h : v2["household"]) subject_home = subject_home || (h["person_id"] == "F1" && h["via"] == "subject");
  EXPECT_TRUE(subject_home) << v2["household"].dump();
}

TEST_F(Fusion, AfterTheCommitWhenInTransactionIsOff) {
  build_county();
  Server& server = start_fusing({{"XIAONAO_FUSION_IN_TRANSACTION", "false"}});
  json a = make_alert("fire");
  a["location"] = located_at(0, 0);
  const std::string id = post(server.port(), a)["incident_id"];
  const auto v = fused_view(server.port(), id);
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1", "U4"}));
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.fused'", id), 1);
}

// An alert that joins a stored incident and one that opens a new incident, in one batch: both
// are fused by the batch's one parts statement. The stored incident is fused again on all its
// alerts (the marker of its first alert keeps its camera first; the joining alert's subject
// brings that person's household), the new one is numbered and fused as usual.
TEST_F(Fusion, AJoinedAndANewIncidentAreFusedByTheSameBatch) {
  build_county();
  Server& server = start_fusing(
      {{"XIAONAO_DB_WRITER_THREADS", "1"}, {"XIAONAO_DB_BATCH_MAX", "2"}, {"XIAONAO_DB_BATCH_GATHER_MS", "1000"}});
  json pillar = make_alert("fire");
  pillar.erase("location");
  pillar.erase("address");
  pillar["marker"] = "M1";
  const std::string stored = post(server.port(), pillar)["incident_id"];
  ASSERT_FALSE(stored.empty());

  json joins = make_alert("medical");  // related to fire, 20 m away: joins the stored incident
  joins["location"] = located_at(20, 0);
  joins["subject"] = {{"phone", "13933334444"}};
  json opens = make_alert("gambling");  // in Z2, unrelated: a new incident
  opens["location"] = {{"lon", 119.915}, {"lat", 28.455}};
  auto [joins_answer, opens_answer] = post_together(server.port(), joins, opens);
  ASSERT_EQ(joins_answer.value("incident_id", ""), stored);
  EXPECT_TRUE(joins_answer["merged"].get<bool>());
  const std::string fresh = opens_answer.value("incident_id", "");
  ASSERT_FALSE(fresh.empty());
  ASSERT_NE(fresh, stored);
  ASSERT_EQ(sql().scalar("SELECT count(DISTINCT at) FROM events WHERE type IN ('alert.merged', 'incident.opened')"
                         " AND incident_id IN ($1::uuid, $2::uuid) AND at > (SELECT min(at) FROM events"
                         " WHERE incident_id = $1::uuid)", stored, fresh),
            1)
      << "one batch";

  ApiClient http(server.port());
  const auto v = http.get("/api/v1/incidents/" + stored).json();
  ASSERT_FALSE(v["cameras"].empty());
  EXPECT_EQ(v["cameras"][0]["id"], "CM");
  EXPECT_TRUE(v["cameras"][0]["marker_camera"].get<bool>());
  bool subject_home = false;
  for (const auto& h : v["household"]) subject_home = subject_home || (h["person_id"] == "F1" && h["via"] == "subject");
  EXPECT_TRUE(subject_home) << v["household"].dump();
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.fused'", stored),
            2);
  // The incident's lists (018) hold what both alerts named, for the next alert that joins it.
  const auto lists = sql().exec("SELECT array_to_json(alert_markers)::text, array_to_json(alert_subject_phones)::text,"
                                " array_to_json(alert_callers)::text FROM incidents WHERE id = $1::uuid", stored);
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0][0].as<std::string>(), R"(["M1"])");
  EXPECT_EQ(lists[0][1].as<std::string>(), R"(["13933334444"])");
  EXPECT_EQ(json::parse(lists[0][2].as<std::string>()).size(),
            sql().scalar("SELECT count(DISTINCT caller_phone) FROM alerts WHERE incident_id = $1::uuid", stored));
  const auto w = http.get("/api/v1/incidents/" + fresh).json();
  EXPECT_EQ(w["incident"]["number"], opens_answer["incident_number"]);
  EXPECT_EQ(w["zone"]["id"], "Z2");
  EXPECT_TRUE(w["fused_at"].is_string());
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.fused'", fresh),
            1);
}

// The intake guesses the parts of the incident an alert will belong to in the merge look-up's
// round trip (store::near_parts): the incident it opens, or the open incident near it that it
// would join. Every way through that (a guess that holds for a new and for a joined incident, a
// joined incident with subject phones given as written, which the guess reads in their normal
// form, an alert between two open incidents, an alert without a location, two alerts of one
// batch) stores the fusion that fusing the incident afresh from the tables gives, and draws
// consecutive serials.
TEST_F(Fusion, GuessedPartsAreThoseOfTheTables) {
  build_county();
  Server& server = start_fusing();
  std::vector<json> answers;
  json pillar = make_alert("fire");  // by its marker: a new incident, CM first
  pillar.erase("location");
  pillar.erase("address");
  pillar["marker"] = "M1";
  answers.push_back(post(server.port(), pillar));
  json subject = make_alert("medical");  // 20 m away: joins it (guessed), bringing F1's home
  subject["location"] = located_at(20, 0);
  subject["subject"] = {{"phone", "139-1111-2222"}};
  answers.push_back(post(server.port(), subject));
  json again = make_alert("fire");  // joins it again: it has a subject phone now (F1's home still)
  again["location"] = located_at(30, 0);
  again["caller"]["phone"] = "13800000002";
  answers.push_back(post(server.port(), again));
  json east = make_alert("fire");  // 250 m east: a new incident
  east["location"] = located_at(250, 0);
  answers.push_back(post(server.port(), east));
  json between = make_alert("fire");  // 140 m from the first, 110 m from it: joins the nearer
  between["location"] = located_at(140, 0);
  answers.push_back(post(server.port(), between));
  json fraud = make_alert("fraud");  // at A2, a new incident with R1's identity number
  fraud["location"] = {{"lon", 119.915}, {"lat", 28.455}};
  fraud["subject"] = {{"id_number", "330102198001011111"}};
  answers.push_back(post(server.port(), fraud));
  answers.push_back(post(server.port(), bare("dispute")));  // nowhere: a new incident
  EXPECT_FALSE(answers[0]["merged"].get<bool>());
  EXPECT_TRUE(answers[1]["merged"].get<bool>());
  EXPECT_TRUE(answers[2]["merged"].get<bool>());
  EXPECT_FALSE(answers[3]["merged"].get<bool>());
  EXPECT_TRUE(answers[4]["merged"].get<bool>());
  EXPECT_EQ(answers[4]["incident_id"], answers[3]["incident_id"]);
  EXPECT_FALSE(answers[5]["merged"].get<bool>());
  EXPECT_FALSE(answers[6]["merged"].get<bool>());
  {
    ApiClient http(server.port());
    const auto metrics = http.get("/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_EQ(metric_value(metrics.body, "xiaonao_fusion_parts_guessed_total"), 7.0);
    EXPECT_EQ(metric_value(metrics.body, "xiaonao_fusion_parts_rerun_total"), 0.0);
  }
  // Two alerts that decide in one batch, far apart: both guesses hold.
  {
    Server& batching = start_fusing(
        {{"XIAONAO_DB_WRITER_THREADS", "1"}, {"XIAONAO_DB_BATCH_MAX", "2"}, {"XIAONAO_DB_BATCH_GATHER_MS", "1000"}});
    json one = make_alert("theft");
    one["location"] = located_at(-300, 0);
    json two = make_alert("noise");
    two["location"] = {{"lon", 119.9175}, {"lat", 28.4575}};
    auto [a1, a2] = post_together(batching.port(), one, two);
    answers.push_back(a1);
    answers.push_back(a2);
    ApiClient http(batching.port());
    EXPECT_EQ(metric_value(http.get("/metrics").body, "xiaonao_fusion_parts_guessed_total"), 2.0);
  }
  std::set<std::string> ids;
  for (const auto& a : answers) ids.insert(a.value("incident_id", ""));
  ASSERT_EQ(ids.size(), 6u);
  ASSERT_EQ(ids.count(""), 0u);

  // The stored fusion without the units' position ages (they grow while the test runs).
  const auto fusion_of = [&](const std::string& id) {
    auto f = json::parse(sql().exec("SELECT fusion::text FROM incidents WHERE id = $1::uuid", id).at(0)[0].as<std::string>());
    for (auto& u : f["units"]) u.erase("position_age_s");
    return f;
  };
  std::map<std::string, json> at_intake;
  for (const auto& id : ids) at_intake[id] = fusion_of(id);
  EXPECT_EQ(at_intake[answers[0]["incident_id"]]["cameras"][0]["id"], "CM");
  bool subject_home = false;
  for (const auto& h : at_intake[answers[0]["incident_id"]]["household"])
    subject_home = subject_home || (h["person_id"] == "F1" && h["via"] == "subject");
  EXPECT_TRUE(subject_home);
  pqxx::connection c(db_conninfo());
  store::fuse_incidents(c, std::vector<std::string>(ids.begin(), ids.end()), store::fusion_options(config::Fusion{}));
  for (const auto& id : ids) EXPECT_EQ(fusion_of(id).dump(), at_intake[id].dump()) << id;

  // Serials: one for each incident opened, in order, none skipped.
  const auto serials = sql().exec("SELECT number FROM incidents ORDER BY created_at, number");
  ASSERT_EQ(serials.size(), 6u);
  std::vector<long> tail;
  for (const auto& r : serials) {
    const auto n = r[0].as<std::string>();
    tail.push_back(std::stol(n.substr(n.rfind('-') + 1)));
  }
  std::sort(tail.begin(), tail.end());
  for (std::size_t k = 1; k < tail.size(); ++k) EXPECT_EQ(tail[k], tail[k - 1] + 1);
}

// xn_normalize_phone (023), which the guess of a joined incident's parts uses on its stored
// subject phones, gives what domain::normalize_phone gives, on random texts as callers write
// numbers: ASCII and full-width digits, country prefixes, separators, letters, ideographs, emoji.
TEST_F(Fusion, PhonesNormaliseInSqlAsInCpp) {
  std::mt19937_64 rng(20261127);
  static const std::vector<std::string> pieces{"1", "3", "9", "0", "86", "0086", "+86", "+", "-", " ", "(", ")",
                                               "１", "３", "８", "０", "ext", "电话", "转", "😀", "\t", "138", "1390000"};
  std::vector<std::string> texts{"", "86", "8613900001111", "008613900001111", "+86 139-0000-1111",
                                 "８６１３９００００１１１１", "86139000011112", "0086239000011111", "013900001111"};
  for (int k = 0; k < 3000; ++k) {
    std::string t;
    for (auto n = rng() % 9; n > 0; --n) t += pieces[rng() % pieces.size()];
    texts.push_back(t);
  }
  std::string list = "[";
  for (std::size_t k = 0; k < texts.size(); ++k) {
    list += (k ? "," : "");
    domain::append_json_string(list, texts[k]);
  }
  list += "]";
  const auto rows = sql().exec("SELECT xn_normalize_phone(value) FROM json_array_elements_text($1::json) WITH ORDINALITY"
                               " ORDER BY ordinality", list);
  ASSERT_EQ(rows.size(), texts.size());
  int mobiles = 0;
  for (std::size_t k = 0; k < texts.size(); ++k) {
    const auto cpp = domain::normalize_phone(texts[k]);
    EXPECT_EQ(rows[k][0].as<std::string>(), cpp) << texts[k];
    if (cpp.size() == 11 && cpp[0] == '1') ++mobiles;
  }
  EXPECT_GT(mobiles, 3);
}

// Incidents that one intake batch opens are not in the table when the batch fuses them: they
// are each other's history all the same (domain::fusion::history_reasons), the later one
// listing the earlier, as if they had come in separate transactions.
TEST_F(Fusion, IncidentsOfOneBatchAreEachOthersHistory) {
  build_county();
  Server& server = start_fusing(
      {{"XIAONAO_DB_WRITER_THREADS", "1"}, {"XIAONAO_DB_BATCH_MAX", "2"}, {"XIAONAO_DB_BATCH_GATHER_MS", "1000"}});
  // A fire and a fraud (unrelated: no merge) 10 m apart, from the same caller, the fraud later.
  json fire = make_alert("fire");
  fire["location"] = located_at(0, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  json fraud = make_alert("fraud");
  fraud["location"] = located_at(10, 0);
  auto [fire_answer, fraud_answer] = post_together(server.port(), fire, fraud);
  const std::string fire_id = fire_answer.value("incident_id", ""), fraud_id = fraud_answer.value("incident_id", "");
  ASSERT_FALSE(fire_id.empty());
  ASSERT_FALSE(fraud_id.empty());
  ASSERT_NE(fire_id, fraud_id);
  // One batch: both opened in one transaction.
  ASSERT_EQ(sql().scalar("SELECT count(DISTINCT at) FROM events WHERE type = 'incident.opened'"
                         " AND incident_id IN ($1::uuid, $2::uuid)", fire_id, fraud_id),
            1);
  ApiClient http(server.port());
  const auto fraud_view = http.get("/api/v1/incidents/" + fraud_id).json();
  ASSERT_EQ(fraud_view["history"].size(), 1u) << fraud_view["history"].dump();
  EXPECT_EQ(fraud_view["history"][0]["id"], fire_id);
  EXPECT_EQ(fraud_view["history"][0]["category"], "fire");
  EXPECT_EQ(fraud_view["history"][0]["status"], "received");
  EXPECT_EQ(fraud_view["history"][0]["reasons"], json::array({"caller", "place"}));
  EXPECT_EQ(fraud_view["history"][0]["number"], fire_answer["incident_number"]);
  const auto fire_view = http.get("/api/v1/incidents/" + fire_id).json();
  EXPECT_TRUE(fire_view["history"].empty()) << fire_view["history"].dump();
}

// A caller who rings again and again from one place: history lists the newest history_max
// incidents, newest first, however many there are (each branch reads a bounded number of rows).
TEST_F(Fusion, HistoryOfAFrequentCallerIsTheNewestFew) {
  build_county();
  Server& server = start_fusing({{"XIAONAO_FUSION_MERGE_RADIUS_M", "0"}, {"XIAONAO_FUSION_HISTORY_MAX", "5"}});
  std::vector<std::string> ids;
  for (int k = 0; k < 14; ++k) {
    json a = make_alert("noise");
    a["location"] = located_at(0, 0);
    ids.push_back(post(server.port(), a)["incident_id"]);
  }
  ApiClient http(server.port());
  const auto v = http.get("/api/v1/incidents/" + ids.back()).json();
  // The five before the last, newest first, each by caller and place.
  ASSERT_EQ(ids_of(v["history"]), (std::vector<std::string>{ids[12], ids[11], ids[10], ids[9], ids[8]}))
      << v["history"].dump();
  EXPECT_EQ(v["history"][0]["reasons"], json::array({"caller", "place"}));
}

// A fusion that fails inside the alert's transaction never costs the alert: the batch runs
// again without it (logged intake.fusion_failed), the 201 comes all the same, and the incident
// is fused later (here by the sweep, once the cause is gone).
// The reference data in memory follows the tables: a camera added, or taken offline, while the
// server runs is in the very next alert's fusion (that batch reads the tables when its copy is
// behind), and the copy then reloads (docs/architecture.md, "Reference data in memory").
TEST_F(Fusion, ReferenceChangesReachTheNextAlertAtOnce) {
  build_county();
  Server& server = start_fusing();
  ApiClient http(server.port());
  ASSERT_TRUE(reloaded_after(http, 0)) << "the copy never loaded";

  json a = make_alert("noise");
  a["location"] = located_at(0, 0);
  a["address"] = "丽水市莲都区中山街12号";
  auto v = fused_view(server.port(), post(server.port(), a)["incident_id"]);
  EXPECT_EQ(v["location"]["address_id"], "A1");
  EXPECT_EQ(v["zone"]["id"], "Z1");
  EXPECT_EQ(ids_of(v["cameras"]), (std::vector<std::string>{"C1", "C4", "CM", "C2"}));
  const double stale_before = metric(http, "xiaonao_reference_stale_batches_total");

  // Changed behind the server's back: a new camera at P, C1 offline, Z1 moved to another station.
  sql().exec("INSERT INTO cameras (id, name, bearing_deg, fov_deg, range_m, stream_url, online, geog) VALUES"
             " ('C9', '新装球机', NULL, 360, 100, 'rtsp://cam/c9', true, $1)", near_p(5, 0));
  sql().exec("UPDATE cameras SET online = false WHERE id = 'C1'");
  sql().exec("UPDATE zones SET station_id = 'S02' WHERE id = 'Z1'");
  json b = make_alert("fraud");
  b["location"] = located_at(1, 1);
  v = fused_view(server.port(), post(server.port(), b)["incident_id"]);
  EXPECT_EQ(ids_of(v["cameras"]), (std::vector<std::string>{"C9", "C4", "CM", "C2"}));
  EXPECT_EQ(v["incident"]["station_id"], "S02");

  // The copy catches up, and alerts are fused from it again with the same answers.
  EXPECT_TRUE(reloaded_after(http, 1));
  const double stale_after_reload = metric(http, "xiaonao_reference_stale_batches_total");
  EXPECT_LE(stale_before, stale_after_reload);
  json c = make_alert("gambling");
  c["location"] = located_at(-1, 1);
  v = fused_view(server.port(), post(server.port(), c)["incident_id"]);
  EXPECT_EQ(ids_of(v["cameras"]), (std::vector<std::string>{"C9", "C4", "CM", "C2"}));
  EXPECT_EQ(v["incident"]["station_id"], "S02");
  EXPECT_EQ(metric(http, "xiaonao_reference_stale_batches_total"), stale_after_reload) << "fused from the copy";
}

// A picture behind the tables is caught by the intake batch's own version read, without a
// reload racing the test: the change here sends no NOTIFY (its trigger off, the version raised
// by hand), so the copy stays stale until a batch finds it so. That batch locates from the
// tables and is right, and asks for the reload; the batches after it use the copy again.
TEST_F(Fusion, AStalePictureIsCaughtByTheBatchThatReadsIt) {
  build_county();
  Server& server = start_fusing({{"XIAONAO_DB_WRITER_THREADS", "1"}});
  ApiClient http(server.port());
  ASSERT_TRUE(reloaded_after(http, 0)) << "the copy never loaded";

  json a = make_alert("noise");
  a["location"] = located_at(0, 0);
  auto v = fused_view(server.port(), post(server.port(), a)["incident_id"]);
  EXPECT_EQ(v["incident"]["station_id"], "S01");
  const double stale_before = metric(http, "xiaonao_reference_stale_batches_total");
  const double reloads_before = metric(http, "xiaonao_reference_reloads_total");

  // Z1 moves to S02 behind the copy's back.
  sql().exec("ALTER TABLE zones DISABLE TRIGGER zones_changed");
  sql().exec("UPDATE zones SET station_id = 'S02' WHERE id = 'Z1'");
  sql().exec("ALTER TABLE zones ENABLE TRIGGER zones_changed");
  sql().exec("UPDATE reference_versions SET version = version + 1 WHERE kind = 'zones'");
  json b = make_alert("fraud");
  b["location"] = located_at(1, 1);
  v = fused_view(server.port(), post(server.port(), b)["incident_id"]);
  EXPECT_EQ(v["incident"]["station_id"], "S02");
  EXPECT_EQ(v["zone"]["id"], "Z1");
  EXPECT_EQ(metric(http, "xiaonao_reference_stale_batches_total"), stale_before + 1);

  // The batch asked for the reload; once it is done, the copy answers S02 too.
  ASSERT_TRUE(reloaded_after(http, reloads_before)) << "the stale batch asked for no reload";
  json c = make_alert("gambling");
  c["location"] = located_at(-1, 1);
  v = fused_view(server.port(), post(server.port(), c)["incident_id"]);
  EXPECT_EQ(v["incident"]["station_id"], "S02");
  EXPECT_EQ(metric(http, "xiaonao_reference_stale_batches_total"), stale_before + 1) << "fused from the copy";
}

TEST_F(Fusion, AFailingFusionNeverCostsTheAlert) {
  build_county();
  Server& server = start_fusing({{"XIAONAO_FUSION_SWEEP_INTERVAL_S", "1"}});
  json warm = make_alert("noise");
  warm["location"] = located_at(0, 0);
  fused_view(server.port(), post(server.port(), warm)["incident_id"]);
  sql().exec("ALTER TABLE units RENAME TO units_away");  // every parts statement now fails
  json a = make_alert("theft");
  a["location"] = located_at(0, 0);
  const auto answer = post(server.port(), a);
  const std::string id = answer.value("incident_id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND fused_at IS NULL", id), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events WHERE incident_id = $1::uuid AND type = 'incident.opened'", id),
            1);
  std::ifstream log(server.log_path());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("intake.fusion_failed"), std::string::npos);
  sql().exec("ALTER TABLE units_away RENAME TO units");
  sql().exec("UPDATE incidents SET created_at = now() - interval '1 minute' WHERE id = $1::uuid", id);
  const auto v = fused_view(server.port(), id);
  EXPECT_EQ(ids_of(v["units"]), (std::vector<std::string>{"U1", "U4"}));
}

}  // namespace
}  // namespace xiaonao::itest
