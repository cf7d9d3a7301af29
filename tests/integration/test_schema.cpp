// What migrations 002 and 003 promise: a replayed frame is the live frame byte for byte
// (events.data is stored as written), and the references the intake path no longer checks on
// insert stay protected on the other side (no category deleted or renamed, no incident
// removed from under its alerts, no alert moved to an incident that does not exist).
#include <string>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Schema : public IntegrationTest {};

// Runs `statement` in its own transaction; returns the SQLSTATE it failed with, or "" when
// it succeeded (then the change is rolled back).
std::string sqlstate_of(const std::string& conninfo, const std::string& statement) {
  pqxx::connection c(conninfo);
  pqxx::work w(c);
  try {
    w.exec(statement);
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate();
  }
  w.abort();
  return "";
}

TEST_F(Schema, ReplayedFramesAreByteIdenticalToLiveFrames) {
  Server& server = start_server();
  ApiClient http(server.port());
  FeedReader live(server.port(), "");
  json alert = make_alert("fraud");
  alert["description"] = "引号 \"quoted\", backslash \\ and\ttab\nnew line";
  ASSERT_EQ(post_alert(http, alert).status, 201);
  ASSERT_EQ(post_alert(http, make_alert("theft")).status, 201);
  const std::int64_t last = sql().max_seq();
  ASSERT_TRUE(live.read_through(last));

  FeedReader replay(server.port(), "since=0");
  ASSERT_TRUE(replay.read_through(last));
  ASSERT_EQ(live.events().size(), replay.events().size());
  for (std::size_t i = 0; i < live.events().size(); ++i) {
    EXPECT_EQ(replay.events()[i].text, live.events()[i].text) << "seq " << live.events()[i].seq;
  }
  EXPECT_EQ(live.events().front().data.value("description", ""), alert.value("description", "x"));
}

TEST_F(Schema, ReferencesStayProtectedWithoutInsertTimeForeignKeys) {
  Server& server = start_server();
  ApiClient http(server.port());
  auto r = post_alert(http, make_alert("noise"));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string incident_id = r.json().value("incident_id", "");
  const std::string conninfo = db_conninfo();
  constexpr const char* fk_violation = "23503";

  // Category codes are permanent, used or not; other columns may change.
  EXPECT_EQ(sqlstate_of(conninfo, "DELETE FROM categories WHERE code = 'noise'"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "DELETE FROM categories WHERE code = 'other'"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE categories SET code = 'noise2' WHERE code = 'noise'"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "TRUNCATE categories CASCADE"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE categories SET name_en = 'Noise nuisance' WHERE code = 'noise'"), "");

  // An incident with alerts can neither go nor change its id.
  EXPECT_EQ(sqlstate_of(conninfo, "DELETE FROM incidents WHERE id = '" + incident_id + "'"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE incidents SET id = gen_random_uuid() WHERE id = '" + incident_id + "'"),
            fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE incidents SET status = 'closed' WHERE id = '" + incident_id + "'"), "");

  // An alert can move only to an incident that exists.
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE alerts SET incident_id = gen_random_uuid()"), fk_violation);
  EXPECT_EQ(sqlstate_of(conninfo, "UPDATE alerts SET incident_id = '" + incident_id + "'"), "");

  // Deleting the alerts first frees the incident, as the foreign key allowed.
  EXPECT_EQ(sqlstate_of(conninfo, "DELETE FROM alerts; DELETE FROM incidents"), "");
}

}  // namespace
}  // namespace xiaonao::itest
