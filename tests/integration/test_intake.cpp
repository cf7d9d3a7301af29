// Alert intake and incident reading: POST /api/v1/alerts, GET /api/v1/incidents[/{id}],
// GET /api/v1/categories.
#include <algorithm>
#include <chrono>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::itest {
namespace {

class Intake : public IntegrationTest {};

/// The ids of the `items` of a listing, in order.
std::vector<std::string> item_ids(const json& page) {
  std::vector<std::string> ids;
  for (const auto& it : page.at("items")) ids.push_back(it.at("id").get<std::string>());
  return ids;
}

/// GETs a listing and returns its JSON (fails the test on a non-200).
json get_json(client::HttpClient& http, const std::string& target) {
  auto r = http.get(target);
  EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  if (r.status != 200) return json::object({{"items", json::array()}, {"next_cursor", nullptr}});
  return r.json();
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

TEST_F(Intake, ValidAlertIsCommittedAndShownAsAnIncident) {
  Server& server = start_server();
  ApiClient http(server.port());

  json alert = make_alert("fraud");
  alert["received_at"] = "2026-11-26T08:30:00+08:00";
  alert["caller"] = {{"phone", "13857801234"}, {"name", "李芳"}};
  alert["location"] = {{"lon", 119.5701}, {"lat", 28.1174}};
  alert["address"] = "丽水市莲都区中山街1号";
  alert["description"] = "收到刷单信息，正准备转账";
  alert["unknown_extra_field"] = {{"ignored", true}};  // unknown fields are ignored
  const std::string ref = alert["source_ref"];

  auto res = post_alert(http, alert);
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_FALSE(res.headers["x-request-id"].empty()) << "every response carries X-Request-Id";
  const json body = res.json();
  ASSERT_TRUE(body.contains("alert_id") && body["alert_id"].is_string()) << res.body;
  ASSERT_TRUE(body.contains("incident_id") && body["incident_id"].is_string()) << res.body;
  ASSERT_TRUE(body.contains("incident_number") && body["incident_number"].is_string()) << res.body;
  const std::string alert_id = body["alert_id"];
  const std::string incident_id = body["incident_id"];
  const std::string number = body["incident_number"];
  EXPECT_TRUE(is_uuid(alert_id)) << alert_id;
  EXPECT_TRUE(is_uuid(incident_id)) << incident_id;
  EXPECT_TRUE(std::regex_match(number, std::regex(R"(^XN\d{8}-\d{6,}$)"))) << number;
  EXPECT_EQ(body.value("created", false), true) << res.body;
  EXPECT_EQ(body.value("merged", true), false) << res.body;

  // The rows are committed (201 is sent only after the commit).
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE id = $1::uuid AND incident_id = $2::uuid "
                         "AND source = '110' AND source_ref = $3 AND category = 'fraud' "
                         "AND caller_phone = '13857801234' AND caller_name = '李芳' "
                         "AND address = '丽水市莲都区中山街1号' "
                         "AND description = '收到刷单信息，正准备转账' "
                         "AND received_at = '2026-11-26T00:30:00Z'::timestamptz "
                         "AND abs(ST_X(location) - 119.5701) < 1e-9 "
                         "AND abs(ST_Y(location) - 28.1174) < 1e-9",
                         alert_id, incident_id, ref),
            1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM incidents WHERE id = $1::uuid AND number = $2 "
                         "AND category = 'fraud' AND priority = 2",
                         incident_id, number),
            1)
      << "the incident row, with the category's default priority (fraud: 2)";
  const auto types = sql().exec("SELECT type FROM events WHERE incident_id = $1::uuid ORDER BY seq",
                                incident_id);
  std::vector<std::string> type_list;
  for (const auto& row : types) type_list.push_back(row[0].c_str());
  EXPECT_EQ(std::count(type_list.begin(), type_list.end(), "incident.opened"), 1);
  EXPECT_EQ(std::count(type_list.begin(), type_list.end(), "alert.received"), 1);

  // The one-screen view.
  auto detail = http.get("/api/v1/incidents/" + incident_id);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const json d = detail.json();
  ASSERT_TRUE(d.contains("incident") && d["incident"].is_object()) << detail.body;
  const json& inc = d["incident"];
  EXPECT_EQ(inc.value("id", ""), incident_id);
  EXPECT_EQ(inc.value("number", ""), number);
  EXPECT_EQ(inc.value("category", ""), "fraud");
  EXPECT_EQ(inc.value("priority", 0), 2);
  EXPECT_EQ(inc.value("alert_count", 0), 1);
  EXPECT_TRUE(inc.contains("status") && inc["status"].is_string()) << detail.body;
  EXPECT_EQ(inc.value("received_at", ""), "2026-11-26T00:30:00.000000Z");
  ASSERT_TRUE(inc.contains("location") && inc["location"].is_object()) << detail.body;
  EXPECT_NEAR(inc["location"].value("lon", 0.0), 119.5701, 1e-9);
  EXPECT_NEAR(inc["location"].value("lat", 0.0), 28.1174, 1e-9);

  ASSERT_TRUE(d.contains("alerts") && d["alerts"].is_array()) << detail.body;
  ASSERT_EQ(d["alerts"].size(), 1u) << detail.body;
  const json& a = d["alerts"][0];
  EXPECT_EQ(a.value("id", ""), alert_id);
  EXPECT_EQ(a.value("source", ""), "110");
  EXPECT_EQ(a.value("source_ref", ""), ref);
  EXPECT_EQ(a.value("category", ""), "fraud");
  EXPECT_EQ(a.value("priority", 0), 2);
  EXPECT_EQ(a.value("received_at", ""), "2026-11-26T00:30:00.000000Z");
  EXPECT_EQ(a.value("description", ""), "收到刷单信息，正准备转账");
  EXPECT_EQ(a.value("address", ""), "丽水市莲都区中山街1号");
  ASSERT_TRUE(a.contains("caller") && a["caller"].is_object()) << detail.body;
  // Masked for every reader unless unmasked with a reason (test_security.cpp).
  EXPECT_EQ(a["caller"].value("phone", ""), "138****1234");
  EXPECT_EQ(a["caller"].value("name", ""), "李*");
  EXPECT_EQ(a.value("merged", true), false);

  ASSERT_TRUE(d.contains("timeline") && d["timeline"].is_array()) << detail.body;
  std::vector<std::string> timeline_types;
  std::int64_t prev = 0;
  for (const auto& e : d["timeline"]) {
    std::string error;
    auto ev = parse_feed_frame(e.dump(), error);
    ASSERT_TRUE(ev) << "timeline entry: " << error;
    EXPECT_GT(ev->seq, prev) << "timeline in seq order";
    prev = ev->seq;
    timeline_types.push_back(ev->type);
  }
  EXPECT_EQ(timeline_types, type_list) << "the timeline is this incident's events";

  // The listing.
  const json page = get_json(http, "/api/v1/incidents");
  const auto ids = item_ids(page);
  ASSERT_EQ(ids.size(), 1u) << page.dump();
  EXPECT_EQ(ids[0], incident_id);
  EXPECT_EQ(page["items"][0].value("number", ""), number);
  EXPECT_TRUE(page.contains("next_cursor") && page["next_cursor"].is_null()) << page.dump();
}

// The first intake writer takes every batch; the second takes one only while the first has
// been on its own for db.writer_overflow_ms. Here the first writer's batch (a located alert)
// waits on the merge lock, which the test holds; an alert without a place takes no merge lock,
// so the overflow writer commits it while the first batch still waits. With one writer it
// would wait too, and the test would fail on its answer's timeout.
TEST_F(Intake, ABatchWaitingOnALockDoesNotHoldUpTheNextAlert) {
  ServerOptions o;
  o.env = {{"XIAONAO_FUSION_MERGE_RADIUS_M", "200"}, {"XIAONAO_DB_WRITER_OVERFLOW_MS", "5"}};
  Server& server = start_server(o);
  pqxx::connection holder(db_conninfo());
  pqxx::work lock(holder);
  lock.exec("SELECT pg_advisory_xact_lock(7384001)");  // every merge decision takes it shared

  auto first = std::async(std::launch::async, [&] {
    ApiClient c(server.port());
    return post_alert(c, make_alert("theft"));
  });
  const auto answered = [&first] { return first.wait_for(std::chrono::seconds(0)) == std::future_status::ready; };
  ASSERT_TRUE(wait_until([&] { return sql().scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                   "current_database() AND wait_event = 'advisory'") > 0; },
                         std::chrono::seconds(30)));
  ASSERT_FALSE(answered()) << "the first alert did not wait on the merge lock";

  json placeless = make_alert("noise");
  placeless.erase("location");
  placeless.erase("address");
  ApiClient http(server.port());
  const auto second = post_alert(http, placeless);
  EXPECT_EQ(second.status, 201) << second.body;
  EXPECT_FALSE(answered()) << "the first alert was answered before the lock was released";
  lock.commit();
  const auto r = first.get();
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(Intake, CategoriesListsTheSixteenCodes) {
  Server& server = start_server();
  ApiClient http(server.port());
  auto r = http.get("/api/v1/categories");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json();
  ASSERT_TRUE(j.contains("items") && j["items"].is_array()) << r.body;
  std::set<std::string> codes;
  for (const auto& c : j["items"]) {
    ASSERT_TRUE(c.contains("code") && c["code"].is_string()) << c.dump();
    EXPECT_TRUE(c.contains("name_zh") && c["name_zh"].is_string() &&
                !c["name_zh"].get<std::string>().empty())
        << c.dump();
    EXPECT_TRUE(c.contains("name_en") && c["name_en"].is_string() &&
                !c["name_en"].get<std::string>().empty())
        << c.dump();
    ASSERT_TRUE(c.contains("default_priority") && c["default_priority"].is_number_integer())
        << c.dump();
    EXPECT_GE(c["default_priority"].get<int>(), 1);
    EXPECT_LE(c["default_priority"].get<int>(), 4);
    EXPECT_TRUE(c.contains("non_police") && c["non_police"].is_boolean()) << c.dump();
    EXPECT_TRUE(codes.insert(c["code"].get<std::string>()).second) << "duplicate " << c.dump();
  }
  for (const char* code :
       {"fraud", "theft", "burglary", "robbery", "assault", "gambling", "dispute", "noise",
        "traffic_accident", "fire", "medical", "missing_person", "lost_property", "suicide_risk",
        "help", "other"}) {
    EXPECT_TRUE(codes.count(code)) << "missing category " << code;
  }
}

// A category added or changed in the database is known to every running instance at once
// (trigger of 016 → NOTIFY → each reloads), without a restart.
TEST_F(Intake, CategoriesChangedInTheDatabaseAreKnownWithoutARestart) {
  Server& a = start_server();
  Server& b = start_server();
  json alert = make_alert("drone_sighting");
  {
    ApiClient http(a.port());
    auto r = post_alert(http, alert);
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "unknown_category") << r.body;
  }
  sql().exec("INSERT INTO categories (code, name_zh, name_en, default_priority, non_police)"
             " VALUES ('drone_sighting', '无人机目击', 'Drone sighting', 2, false)");
  for (Server* s : {&a, &b}) {
    ApiClient http(s->port());
    EXPECT_TRUE(wait_until(
        [&] {
          alert["source_ref"] = unique_ref("cat");
          return post_alert(http, alert).status == 201;
        },
        5s))
        << "port " << s->port();
  }
  // A changed default priority reaches the incidents of alerts that name none.
  sql().exec("UPDATE categories SET default_priority = 1 WHERE code = 'drone_sighting'");
  ApiClient http(b.port());
  json no_priority = make_alert("drone_sighting");
  no_priority.erase("priority");
  EXPECT_TRUE(wait_until(
      [&] {
        no_priority["source_ref"] = unique_ref("cat");
        auto r = post_alert(http, no_priority);
        if (r.status != 201) return false;
        const std::string id = r.json()["incident_id"];
        return sql().scalar("SELECT priority FROM incidents WHERE id = $1::uuid", id) == 1;
      },
      5s));
}

TEST_F(Intake, ListFiltersByStatusCategoryAndTimeRange) {
  Server& server = start_server();
  ApiClient http(server.port());

  // Six incidents an hour apart from 2026-03-01T10:00Z, categories fraud, theft, noise, ...
  const std::vector<std::string> cats = {"fraud", "theft", "noise", "fraud", "theft", "noise"};
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < cats.size(); ++i) {
    json a = make_alert(cats[i]);
    a["received_at"] = "2026-03-01T1" + std::to_string(i) + ":00:00Z";
    auto r = post_alert(http, a);
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.json()["incident_id"]);
  }
  auto pick = [&](std::initializer_list<std::size_t> idx) {
    std::set<std::string> s;
    for (auto i : idx) s.insert(ids[i]);
    return s;
  };

  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?limit=500"))),
            pick({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?category=fraud"))), pick({0, 3}));
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?category=fraud,noise"))),
            pick({0, 2, 3, 5}));
  // from inclusive, to exclusive.
  EXPECT_EQ(as_set(item_ids(get_json(
                http, "/api/v1/incidents?from=2026-03-01T12:00:00Z&to=2026-03-01T14:00:00Z"))),
            pick({2, 3}));
  // The same instant written with an offset ('+' percent-encoded).
  EXPECT_EQ(as_set(item_ids(get_json(
                http, "/api/v1/incidents?from=2026-03-01T20:00:00%2B08:00&to=2026-03-01T22:00:00%2B08:00"))),
            pick({2, 3}));
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?from=2026-03-01T14:00:00Z"))),
            pick({4, 5}));
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?to=2026-03-01T11:00:00Z"))),
            pick({0}));
  EXPECT_EQ(as_set(item_ids(get_json(
                http, "/api/v1/incidents?category=theft&from=2026-03-01T11:00:00Z&to=2026-03-01T14:00:00Z"))),
            pick({1}));

  // Status: every new incident has the same initial status; another status matches none.
  auto detail = http.get("/api/v1/incidents/" + ids[0]);
  ASSERT_EQ(detail.status, 200) << detail.body;
  const std::string status = detail.json()["incident"].value("status", "");
  ASSERT_FALSE(status.empty()) << detail.body;
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?status=" + status))),
            pick({0, 1, 2, 3, 4, 5}));
  const std::string other = status == "closed" ? "received" : "closed";
  EXPECT_TRUE(item_ids(get_json(http, "/api/v1/incidents?status=" + other)).empty());
  EXPECT_EQ(as_set(item_ids(get_json(http, "/api/v1/incidents?status=" + other + "," + status +
                                               "&category=noise"))),
            pick({2, 5}));
}

TEST_F(Intake, CursorPagingReturnsEveryIncidentOnceInOrder) {
  Server& server = start_server();
  ApiClient http(server.port());

  // 25 incidents on only 5 distinct instants, so that the id tie-break is exercised.
  std::set<std::string> all;
  for (int i = 0; i < 25; ++i) {
    json a = make_alert(i % 2 ? "theft" : "fraud");
    a["received_at"] = "2026-04-0" + std::to_string(1 + i % 5) + "T08:00:00.123456Z";
    auto r = post_alert(http, a);
    ASSERT_EQ(r.status, 201) << r.body;
    all.insert(r.json()["incident_id"].get<std::string>());
  }

  std::vector<json> items;
  std::vector<std::size_t> sizes;
  std::string target = "/api/v1/incidents?limit=10";
  for (int page_no = 0; page_no < 10; ++page_no) {
    auto r = http.get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    const json page = r.json();
    ASSERT_TRUE(page.contains("items") && page["items"].is_array()) << r.body;
    sizes.push_back(page["items"].size());
    for (const auto& it : page["items"]) items.push_back(it);
    ASSERT_TRUE(page.contains("next_cursor")) << r.body;
    if (page["next_cursor"].is_null()) break;
    ASSERT_TRUE(page["next_cursor"].is_string()) << r.body;
    std::string cursor = page["next_cursor"];
    // The cursor is documented as URL-safe, so it goes into the query as it is.
    target = "/api/v1/incidents?limit=10&cursor=" + cursor;
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));

  std::vector<std::string> ids;
  for (const auto& it : items) ids.push_back(it.at("id").get<std::string>());
  EXPECT_EQ(as_set(ids), all) << "every incident, none missing";
  EXPECT_EQ(as_set(ids).size(), ids.size()) << "no incident twice";

  // Newest first: received_at desc, then id desc.
  for (std::size_t i = 1; i < items.size(); ++i) {
    const auto t0 = domain::parse_rfc3339(items[i - 1].at("received_at").get<std::string>());
    const auto t1 = domain::parse_rfc3339(items[i].at("received_at").get<std::string>());
    ASSERT_TRUE(t0 && t1);
    const std::string id0 = items[i - 1]["id"], id1 = items[i]["id"];
    EXPECT_TRUE(*t0 > *t1 || (*t0 == *t1 && id0 > id1))
        << "item " << i << " out of order: " << items[i - 1]["received_at"] << " " << id0
        << " then " << items[i]["received_at"] << " " << id1;
  }
}

TEST_F(Intake, UnknownIncidentIs404AndMalformedParametersAre400) {
  Server& server = start_server();
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);

  auto r = http.get("/api/v1/incidents/0b3e8a52-7c1d-4e6f-9a2b-3c4d5e6f7a8b");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(error_of(r).value("code", ""), "not_found") << r.body;

  r = http.get("/api/v1/incidents/not-a-uuid");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_of(r).value("code", ""), "bad_request") << r.body;
  EXPECT_EQ(error_of(r).value("field", ""), "id") << r.body;

  struct Case {
    std::string query;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{"cursor=not-a-cursor", "cursor"},
                                         {"cursor=bm90IGEgY3Vyc29y", "cursor"},
                                         {"limit=0", "limit"},
                                         {"limit=501", "limit"},
                                         {"limit=ten", "limit"},
                                         {"from=yesterday", "from"},
                                         {"to=2026-13-01T00:00:00Z", "to"}}) {
    r = http.get("/api/v1/incidents?" + c.query);
    EXPECT_EQ(r.status, 400) << c.query << ": " << r.body;
    EXPECT_EQ(error_of(r).value("code", ""), "bad_request") << c.query << ": " << r.body;
    EXPECT_EQ(error_of(r).value("field", ""), c.field) << c.query << ": " << r.body;
  }
}

}  // namespace
}  // namespace xiaonao::itest
