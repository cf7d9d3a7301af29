// Bad input gets a clear 4xx, changes nothing, and the server keeps serving.
#include <string>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class AlertErrors : public IntegrationTest {};

/// Checks the documented error shape and returns the error object.
json expect_error(const client::Response& r, int status, const std::string& code,
                  const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  json e = error_of(r);
  EXPECT_TRUE(e.is_object()) << what << ": no {\"error\": {...}} body: " << r.body;
  if (!e.is_object()) return json::object();
  EXPECT_EQ(e.value("code", ""), code) << what << ": " << r.body;
  EXPECT_TRUE(e.contains("message") && e["message"].is_string() &&
              !e["message"].get<std::string>().empty())
      << what << ": " << r.body;
  EXPECT_TRUE(e.contains("field") && e["field"].is_string()) << what << ": " << r.body;
  auto it = r.headers.find("x-request-id");
  EXPECT_TRUE(it != r.headers.end() && !it->second.empty()) << what << ": no X-Request-Id";
  return e;
}

TEST_F(AlertErrors, BadInputGetsA4xxNamingTheFieldAndWritesNothing) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  const Sql::Counts before = sql().counts();

  struct Case {
    std::string what;
    std::string body;
    int status;
    std::string code;
    std::string field;  ///< "-" when the field is not checked
  };
  std::vector<Case> cases;
  cases.push_back({"truncated JSON", R"({"source": "110", "source_ref": )", 400, "malformed_json", "-"});
  cases.push_back({"not JSON", "hello, world", 400, "malformed_json", "-"});
  cases.push_back({"empty body", "", 400, "malformed_json", "-"});
  {
    // Nesting deeper than http.max_json_depth (16), even in an unknown field.
    json a = make_alert();
    std::string deep(100, '[');
    deep += std::string(100, ']');
    std::string text = a.dump();
    text.insert(text.size() - 1, R"(,"deep":)" + deep);
    cases.push_back({"nesting 100 deep", text, 400, "malformed_json", "-"});
  }
  for (const char* f : {"source", "source_ref", "received_at", "category"}) {
    json a = make_alert();
    a.erase(f);
    cases.push_back({std::string("missing ") + f, a.dump(), 422, "missing_field", f});
  }
  auto invalid = [&](const std::string& what, const std::string& field, auto mutate) {
    json a = make_alert();
    mutate(a);
    cases.push_back({what, a.dump(), 422, "invalid_field", field});
  };
  invalid("lat out of range", "location.lat", [](json& a) { a["location"]["lat"] = 123.0; });
  invalid("lat as a string", "location.lat", [](json& a) { a["location"]["lat"] = "28.1"; });
  invalid("lon out of range", "location.lon", [](json& a) { a["location"]["lon"] = -180.5; });
  invalid("priority 0", "priority", [](json& a) { a["priority"] = 0; });
  invalid("priority 5", "priority", [](json& a) { a["priority"] = 5; });
  invalid("received_at not a time", "received_at", [](json& a) { a["received_at"] = "yesterday"; });
  invalid("received_at without offset", "received_at",
          [](json& a) { a["received_at"] = "2026-11-26T08:30:00"; });
  invalid("source with capitals", "source", [](json& a) { a["source"] = "Hotline 110!"; });
  invalid("empty source_ref", "source_ref", [](json& a) { a["source_ref"] = ""; });
  invalid("source_ref of 129 characters", "source_ref",
          [](json& a) { a["source_ref"] = std::string(129, 'r'); });
  invalid("source_ref with a control character", "source_ref",
          [](json& a) { a["source_ref"] = "ref\x01" + unique_ref(); });
  invalid("caller.phone letters", "caller.phone", [](json& a) { a["caller"]["phone"] = "call me"; });
  invalid("subject.id_number too short", "subject.id_number",
          [](json& a) { a["subject"] = {{"id_number", "12345"}}; });
  invalid("description over 4000 characters", "description",
          [](json& a) { a["description"] = std::string(4001, 'd'); });
  invalid("category not a string", "category", [](json& a) { a["category"] = 7; });
  {
    json a = make_alert("alien_invasion");
    cases.push_back({"unknown category", a.dump(), 422, "unknown_category", "category"});
  }

  for (const Case& c : cases) {
    auto r = http.request("POST", "/api/v1/alerts", c.body, "application/json");
    json e = expect_error(r, c.status, c.code, c.what);
    if (c.field != "-") {
      EXPECT_EQ(e.value("field", ""), c.field) << c.what << ": " << r.body;
    }
  }

  // Wrong or missing content type: 415.
  const std::string good = make_alert().dump();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    auto r = http.request("POST", "/api/v1/alerts", good, type);
    expect_error(r, 415, "unsupported_media_type", std::string("Content-Type '") + type + "'");
  }

  EXPECT_EQ(sql().counts(), before) << "rejected requests wrote rows";

  // The server keeps serving, on this connection and on a new one; a parameterised JSON
  // content type is still JSON.
  auto ok = http.request("POST", "/api/v1/alerts", make_alert().dump(),
                         "application/json; charset=utf-8");
  EXPECT_EQ(ok.status, 201) << ok.body;
  ApiClient fresh(server.port());
  EXPECT_EQ(fresh.get("/healthz").status, 200);
  EXPECT_EQ(post_alert(fresh, make_alert()).status, 201);
}

TEST_F(AlertErrors, BodyOverTheLimitIs413AndWritesNothing) {
  ServerOptions options;
  options.env = {{"XIAONAO_HTTP_MAX_BODY_BYTES", "2048"}};
  Server& server = start_server(options);
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  const Sql::Counts before = sql().counts();

  json big = make_alert();
  big["description"] = std::string(3000, 'x');  // valid by the field rules, too big by bytes
  auto r = post_alert(http, big);
  expect_error(r, 413, "payload_too_large", "3 KB body with a 2 KB limit");
  EXPECT_EQ(sql().counts(), before);

  ApiClient again(server.port());
  EXPECT_EQ(post_alert(again, make_alert()).status, 201) << "the server keeps serving";
}

TEST_F(AlertErrors, SqlLookingTextIsStoredVerbatim) {
  Server& server = start_server();
  ApiClient http(server.port());

  json a = make_alert("fraud");
  const std::string ref = "x'); DROP TABLE alerts; -- " + unique_ref();
  const std::string name = "Robert'); DROP TABLE incidents;--";
  const std::string address = "1' OR '1'='1";
  const std::string description =
      "'; DELETE FROM events; -- \\ \" $1 %s %n 中文 ' || pg_sleep(5) || ' \\x00 E'\\n' $$x$$";
  a["source_ref"] = ref;
  a["caller"]["name"] = name;
  a["address"] = address;
  a["description"] = description;
  auto r = post_alert(http, a);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string alert_id = r.json()["alert_id"];
  const std::string incident_id = r.json()["incident_id"];

  auto row = sql().exec(
      "SELECT source_ref, caller_name, address, description FROM alerts WHERE id = $1::uuid",
      alert_id);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(std::string(row[0][0].c_str()), ref);
  EXPECT_EQ(std::string(row[0][1].c_str()), name);
  EXPECT_EQ(std::string(row[0][2].c_str()), address);
  EXPECT_EQ(std::string(row[0][3].c_str()), description);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM events"), sql().max_seq());
  EXPECT_GE(sql().scalar("SELECT count(*) FROM incidents"), 1);

  auto d = http.get("/api/v1/incidents/" + incident_id);
  ASSERT_EQ(d.status, 200) << d.body;
  const json alerts = d.json()["alerts"];
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value("source_ref", ""), ref);
  EXPECT_EQ(alerts[0]["caller"].value("name", "").substr(0, 2), "R*") << "names are masked in the view";
  EXPECT_EQ(alerts[0].value("address", ""), address);
  EXPECT_EQ(alerts[0].value("description", ""), description);

  // The idempotency lookup with the same odd key finds the alert.
  auto retry = post_alert(http, a);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json().value("alert_id", ""), alert_id);
}

TEST_F(AlertErrors, UnknownRouteIs404AndWrongMethodIs405) {
  Server& server = start_server();
  ApiClient http(server.port());
  auto r = http.get("/api/v1/no-such-thing");
  expect_error(r, 404, "not_found", "unknown route");

  r = http.request("POST", "/api/v1/incidents", "{}", "application/json");
  expect_error(r, 405, "method_not_allowed", "POST /api/v1/incidents");
  EXPECT_NE(r.headers["allow"].find("GET"), std::string::npos) << "Allow: " << r.headers["allow"];

  r = http.request("DELETE", "/api/v1/alerts");
  expect_error(r, 405, "method_not_allowed", "DELETE /api/v1/alerts");
  EXPECT_NE(r.headers["allow"].find("POST"), std::string::npos) << "Allow: " << r.headers["allow"];
  EXPECT_EQ(http.get("/healthz").status, 200);
}

}  // namespace
}  // namespace xiaonao::itest
