// Reference data import: PUT /api/v1/reference/{kind} for every kind, upsert and replace,
// all-or-nothing on an invalid feature, the route's own body limit, permissions, and the
// `xiaonaod import` CLI on a small file and an invalid one.
#include <fstream>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

json point(double lon, double lat) { return {{"type", "Point"}, {"coordinates", {lon, lat}}}; }

json square(double x, double y, double d) {
  return {{"type", "Polygon"}, {"coordinates", {{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}}}};
}

json feature(json props, json geom = nullptr) {
  return {{"type", "Feature"}, {"properties", std::move(props)}, {"geometry", std::move(geom)}};
}

json collection(std::vector<json> features) {
  return {{"type", "FeatureCollection"}, {"features", std::move(features)}};
}

json station(const std::string& id, const std::string& name) {
  return feature({{"id", id}, {"name", name}, {"phone", "0578-2100000"}}, point(119.9, 28.4));
}

class Reference : public IntegrationTest {
 protected:
  client::Response put(unsigned short port, const std::string& kind, const json& body, const std::string& query = "",
                       const std::string& content_type = "application/geo+json") {
    ApiClient http(port);
    return http.request("PUT", "/api/v1/reference/" + kind + query, body.dump(), content_type, auth_headers());
  }
  RunResult cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {server_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {{"XIAONAO_DB", db_conninfo()}}, dir());
  }
  std::string write_file(const std::string& name, const std::string& text) {
    const auto path = (dir() / name).string();
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(Reference, PutEveryKind) {
  Server& server = start_server();
  const auto port = server.port();
  auto ok = [&](const std::string& kind, std::vector<json> features) {
    const auto n = features.size();
    auto r = put(port, kind, collection(std::move(features)));
    ASSERT_EQ(r.status, 200) << kind << ": " << r.body;
    const auto j = r.json();
    EXPECT_EQ(j["kind"], kind);
    EXPECT_EQ(j["received"], n);
    EXPECT_EQ(j["inserted"], n);
    EXPECT_EQ(j["updated"], 0);
    EXPECT_EQ(j["deleted"], 0);
  };
  ok("stations", {station("S1", "城东派出所")});
  ok("zones", {feature({{"id", "Z1"}, {"name", "一警务区"}, {"station_id", "S1"}, {"area_type", "urban"},
                        {"officer_name", "王警官"}, {"officer_phone", "13800000009"}},
                       square(119.9, 28.4, 0.01))});
  ok("grids", {feature({{"id", "G1"}, {"name", "网格一"}, {"zone_id", "Z1"}, {"worker_name", "李"}},
                       json{{"type", "MultiPolygon"}, {"coordinates", {square(119.9, 28.4, 0.005)["coordinates"]}}})});
  ok("addresses", {feature({{"id", "A1"}, {"text", "城东街１２号（B幢）"}, {"aliases", {"老邮局"}}}, point(119.905, 28.405)),
                   feature({{"id", "A2"}, {"text", "城东街14号"}}, point(119.906, 28.405))});
  ok("persons", {feature({{"id", "P1"}, {"name", "张三"}, {"id_number", "331102194001010011"}, {"phone", "+86 138 0000 0001"},
                          {"address_id", "A1"}, {"flags", {"elderly_alone"}}}),
                 feature({{"id", "P2"}, {"name", "李四"}, {"phone", {"13800000002", "0578-2123456"}}, {"address_id", "A1"}})});
  ok("cameras", {feature({{"id", "C1"}, {"name", "城东街口"}, {"bearing_deg", 90}, {"fov_deg", 60}, {"range_m", 80},
                          {"stream_url", "rtsp://10.1.1.1/1"}, {"online", true}},
                         point(119.904, 28.405)),
                 feature({{"id", "C2"}, {"name", "球机"}, {"range_m", 120}}, point(119.907, 28.405))});
  ok("units", {feature({{"id", "U1"}, {"call_sign", "城东1号"}, {"kind", "patrol_car"}, {"station_id", "S1"},
                        {"status", "available"}},
                       point(119.91, 28.41))});
  ok("markers", {feature({{"id", "LS-001"}, {"description", "城东街12号门口"}, {"camera_id", "C1"}}, point(119.905, 28.405))});

  ApiClient http(port);
  auto counts = http.request("GET", "/api/v1/reference", "", "application/json", auth_headers());
  ASSERT_EQ(counts.status, 200) << counts.body;
  EXPECT_EQ(counts.json()["counts"],
            (json{{"stations", 1}, {"zones", 1}, {"grids", 1}, {"addresses", 2}, {"persons", 2}, {"cameras", 2}, {"units", 1},
                  {"markers", 1}}));

  // What the rows hold: the forms fusion compares, and the geometry types.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM zones WHERE GeometryType(geom) = 'MULTIPOLYGON' AND area_type = 'urban'"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM grids WHERE ST_Covers(geom, 'SRID=4326;POINT(119.901 28.401)'::geometry)"), 1);
  EXPECT_EQ(sql().exec("SELECT norm, alias_norms[1] FROM addresses WHERE id = 'A1'")[0][0].as<std::string>(), "城东街12号b幢");
  EXPECT_EQ(sql().exec("SELECT alias_norms[1] FROM addresses WHERE id = 'A1'")[0][0].as<std::string>(), "老邮局");
  EXPECT_EQ(sql().exec("SELECT array_to_string(phones, ',') FROM persons WHERE id = 'P2'")[0][0].as<std::string>(),
            "13800000002,05782123456");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons WHERE '13800000001' = ANY(phones) AND flags = '{elderly_alone}'"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM cameras WHERE id = 'C2' AND bearing_deg IS NULL AND fov_deg = 360 AND online"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM units WHERE position_at IS NOT NULL AND "
                         "ST_DWithin(geog, 'SRID=4326;POINT(119.91 28.41)'::geography, 0.01)"),
            1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM markers WHERE camera_id = 'C1'"), 1);
  // Every import is an audited administrative write.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'reference.import'"), 8);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'reference.import' AND target = 'reference:persons' "
                         "AND detail::jsonb @> '{\"inserted\": 2}'"),
            1);
}

TEST_F(Reference, UpsertChangesARowAndReplaceDeletesTheMissing) {
  Server& server = start_server();
  auto r = put(server.port(), "stations", collection({station("S1", "旧名"), station("S2", "二所")}));
  ASSERT_EQ(r.status, 200) << r.body;
  r = put(server.port(), "stations", collection({station("S1", "新名")}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["inserted"], 0);
  EXPECT_EQ(r.json()["updated"], 1);
  EXPECT_EQ(r.json()["deleted"], 0);
  EXPECT_EQ(sql().exec("SELECT name FROM stations WHERE id = 'S1'")[0][0].as<std::string>(), "新名");
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM stations"), 2);

  r = put(server.port(), "stations", collection({station("S2", "二所"), station("S3", "三所")}), "?replace=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["received"], 2);
  EXPECT_EQ(r.json()["inserted"], 1);
  EXPECT_EQ(r.json()["updated"], 1);
  EXPECT_EQ(r.json()["deleted"], 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM stations WHERE id IN ('S2', 'S3')"), 2);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM stations"), 2);

  // Replacing with nothing empties the kind.
  r = put(server.port(), "stations", collection({}), "?replace=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["deleted"], 2);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM stations"), 0);
}

TEST_F(Reference, InvalidBatchesWriteNothing) {
  Server& server = start_server();
  const auto port = server.port();
  auto zone = [](const std::string& id, const std::string& area) {
    return feature({{"id", id}, {"name", "z"}, {"station_id", "S1"}, {"area_type", area}}, square(119.9, 28.4, 0.01));
  };
  auto r = put(port, "zones", collection({zone("Z1", "urban"), zone("Z2", "downtown"), zone("Z3", "rural")}));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r)["field"], "features[1].properties.area_type");
  EXPECT_EQ(error_of(r)["code"], "invalid_field");

  json open_ring = zone("Z4", "urban");
  open_ring["geometry"]["coordinates"][0].erase(4);
  r = put(port, "zones", collection({zone("Z1", "urban"), open_ring}), "?replace=true");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r)["field"], "features[1].geometry.coordinates[0]");

  r = put(port, "zones", collection({zone("Z1", "urban"), zone("Z1", "rural")}));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r)["field"], "features[1].properties.id");

  r = put(port, "persons", collection({feature({{"id", "P1"}, {"name", "x"}}, point(1, 2))}));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r)["field"], "features[0].geometry");

  r = put(port, "zones", json{{"type", "Feature"}, {"features", json::array()}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_of(r)["field"], "type");

  ApiClient http(port);
  auto bad_json = http.request("PUT", "/api/v1/reference/zones", "{\"type\":", "application/json", auth_headers());
  EXPECT_EQ(bad_json.status, 400) << bad_json.body;
  EXPECT_EQ(put(port, "zones", collection({}), "", "text/plain").status, 415);
  EXPECT_EQ(put(port, "zones", collection({}), "?replace=yes").status, 400);
  auto unknown = put(port, "people", collection({}));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(error_of(unknown)["field"], "kind");

  EXPECT_EQ(sql().scalar("SELECT count(*) FROM zones"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons"), 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'reference.import'"), 0);
}

TEST_F(Reference, TheRouteHasItsOwnBodyLimit) {
  ServerOptions o;
  o.env = {{"XIAONAO_HTTP_MAX_BODY_BYTES", "65536"}, {"XIAONAO_REFERENCE_MAX_BODY_BYTES", "2097152"}};
  Server& server = start_server(o);
  // ~1.2 MiB of addresses: far over http.max_body_bytes, under reference.max_body_bytes.
  std::vector<json> features;
  for (int i = 0; i < 9000; ++i)
    features.push_back(feature({{"id", "A" + std::to_string(i)}, {"text", "城东街" + std::to_string(i) + "号院内某某单元"}},
                               point(119.9 + i * 1e-6, 28.4)));
  const auto big = collection(features);
  ASSERT_GT(big.dump().size(), 1024u * 1024u);
  auto r = put(server.port(), "addresses", big);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["inserted"], 9000);

  // Other routes keep http.max_body_bytes.
  ApiClient http(server.port());
  auto alert = http.request("POST", "/api/v1/alerts", std::string(70000, ' ') + make_alert().dump(), "application/json",
                            auth_headers());
  EXPECT_EQ(alert.status, 413) << alert.body;

  // And the import route refuses a body over its own limit. The server answers after the
  // header and closes, so the client may fail writing the rest: then the server's log says.
  ApiClient http2(server.port());
  try {
    auto huge = http2.request("PUT", "/api/v1/reference/addresses", std::string(2500 * 1024, ' '), "application/json",
                              auth_headers());
    EXPECT_EQ(huge.status, 413) << huge.body;
  } catch (const std::exception& e) {
    EXPECT_TRUE(wait_until(
        [&] {
          const auto log = server.log();
          std::size_t n = 0;
          for (auto p = log.find("status=413"); p != std::string::npos; p = log.find("status=413", p + 1)) ++n;
          return n == 2;
        },
        10s))
        << e.what();
  }
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM addresses"), 9000);
}

TEST_F(Reference, NeedsReferenceWrite) {
  Server& server = start_server();
  add_user("300001", "duty_officer", "S01");
  const auto token = access_token(server.port(), "300001");
  ASSERT_FALSE(token.empty());
  client::HttpClient http("127.0.0.1", server.port());
  const std::vector<std::pair<std::string, std::string>> bearer = {{"Authorization", "Bearer " + token}};
  auto r = http.request("PUT", "/api/v1/reference/stations", collection({station("S1", "x")}).dump(), "application/json", bearer);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(http.request("GET", "/api/v1/reference", "", "application/json", bearer).status, 403);
  EXPECT_EQ(http.request("PUT", "/api/v1/reference/stations", "{}", "application/json").status, 401);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM stations"), 0);
}

TEST_F(Reference, CliImportsAFileAndRefusesAnInvalidOne) {
  std::vector<json> persons;
  for (int i = 0; i < 50; ++i)
    persons.push_back(feature({{"id", "P" + std::to_string(i)}, {"name", "居民" + std::to_string(i)},
                               {"phone", "1380000" + std::to_string(1000 + i)}, {"address_id", "A1"}, {"flags", {"floating"}}}));
  const auto good = write_file("persons.geojson", collection(persons).dump(2));
  auto r = cli({"import", "--kind", "persons", good});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("received 50, inserted 50, updated 0, deleted 0"), std::string::npos) << r.out;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons WHERE flags = '{floating}'"), 50);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'reference.import' AND actor LIKE 'cli:%'"), 1);

  // --replace with the first ten: 10 updated, 40 deleted.
  persons.resize(10);
  r = cli({"import", "--kind", "persons", write_file("ten.geojson", collection(persons).dump()), "--replace"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("received 10, inserted 0, updated 10, deleted 40"), std::string::npos) << r.out;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons"), 10);

  // An invalid feature: exit 2 naming it, nothing written (not even the valid ones before it).
  persons.push_back(feature({{"id", "NEW1"}, {"name", "新"}}));
  persons.push_back(feature({{"id", "BAD"}, {"name", "坏"}, {"flags", {"vip"}}}));
  r = cli({"import", "--kind", "persons", write_file("bad.geojson", collection(persons).dump()), "--replace"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("features[11].properties.flags[0]"), std::string::npos) << r.err;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons"), 10);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons WHERE id = 'NEW1'"), 0);

  // Not JSON, not a FeatureCollection, an unknown kind, a missing file.
  r = cli({"import", "--kind", "persons", write_file("broken.geojson", "{\"type\": \"FeatureCollection\", \"features\": [")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = cli({"import", "--kind", "persons", write_file("array.geojson", "[]")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("FeatureCollection"), std::string::npos) << r.err;
  r = cli({"import", "--kind", "people", good});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = cli({"import", "--kind", "persons", (dir() / "nope.geojson").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM persons"), 10);
}

}  // namespace
}  // namespace xiaonao::itest
