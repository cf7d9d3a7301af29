// Operations: migrations, configuration errors, health/readiness/metrics, the port file,
// keep-alive, pipelining and header limits.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

namespace fs = std::filesystem;

/// The number of migration files this build embeds (sql/NNN_*.sql).
std::int64_t migration_files() {
  std::int64_t n = 0;
  const std::regex re(R"(^\d{3}_.*\.sql$)");
  for (const auto& e : fs::directory_iterator(sql_dir())) {
    if (std::regex_match(e.path().filename().string(), re)) ++n;
  }
  return n;
}

std::vector<std::string> migration_rows(Sql& sql) {
  std::vector<std::string> rows;
  for (const auto& r : sql.exec("SELECT to_jsonb(m)::text FROM schema_migrations m ORDER BY version")) {
    rows.emplace_back(r[0].c_str());
  }
  return rows;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class Migrations : public IntegrationTest {};

TEST_F(Migrations, MigrateTwiceExits0AndChangesNothingTheSecondTime) {
  const Env env = {{"XIAONAO_DB", db_conninfo()}};
  auto first = run_command({server_path(), "migrate"}, env, dir());
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto rows = migration_rows(sql());
  EXPECT_EQ(static_cast<std::int64_t>(rows.size()), migration_files());
  EXPECT_GE(sql().scalar("SELECT count(*) FROM categories"), 16);
  for (const char* table : {"alerts", "incidents", "events", "categories"}) {
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND "
                           "tablename = $1",
                           std::string(table)),
              1)
        << table;
  }

  auto second = run_command({server_path(), "migrate"}, env, dir());
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(migration_rows(sql()), rows) << "the second migrate changed schema_migrations";
}

TEST_F(Migrations, TwoMigrateProcessesAtTheSameMomentApplyEachMigrationOnce) {
  // A few rounds, each on a fresh database, to give the race a chance.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TestDatabase& db = extra_database();
    const Env env = {{"XIAONAO_DB", db.conninfo()}};
    const fs::path out1 = dir() / ("race-" + std::to_string(round) + "-1.log");
    const fs::path out2 = dir() / ("race-" + std::to_string(round) + "-2.log");
    Process p1({server_path(), "migrate"}, env, out1, out1);
    Process p2({server_path(), "migrate"}, env, out2, out2);
    const auto c1 = p1.wait_for(120s);
    const auto c2 = p2.wait_for(120s);
    auto slurp = [](const fs::path& p) {
      std::ifstream in(p);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    ASSERT_TRUE(c1 && c2) << "migrate did not finish";
    EXPECT_EQ(*c1, 0) << slurp(out1);
    EXPECT_EQ(*c2, 0) << slurp(out2);
    Sql s(db.conninfo());
    EXPECT_EQ(s.scalar("SELECT count(*) FROM schema_migrations"), migration_files());
    EXPECT_EQ(s.scalar("SELECT count(DISTINCT version) FROM schema_migrations"), migration_files());
    EXPECT_EQ(s.scalar("SELECT count(*) FROM categories"),
              s.scalar("SELECT count(DISTINCT code) FROM categories"));
    EXPECT_GE(s.scalar("SELECT count(*) FROM categories"), 16);
  }
}

class Readiness : public IntegrationTest {};

TEST_F(Readiness, WithoutMigrationsTheServerRefusesToStartOrIsNotReady) {
  // With migrate_on_start off on an empty database the server may refuse to start (saying
  // why) or serve /readyz 503 until the migrations are applied; it must not claim to be ready.
  // A database of its own: the test's main one already has its key, and with it the schema.
  ServerOptions options;
  options.env = {{"XIAONAO_DB", extra_database().conninfo()}, {"XIAONAO_DB_MIGRATE_ON_START", "false"}};
  options.wait_ready = false;
  Server& server = add_server(options);
  server.spawn();
  bool serving = false;
  try {
    server.wait_started(30s);
    serving = true;
  } catch (const std::exception&) {
  }
  if (!serving) {
    const auto code = server.wait_exit(30s);
    ASSERT_TRUE(code.has_value()) << "neither serving nor exited";
    EXPECT_NE(*code, 0);
    const std::string log = lower(server.log());
    EXPECT_TRUE(log.find("migrat") != std::string::npos || log.find("schema") != std::string::npos)
        << "the log does not say that the schema is missing:\n" << server.log();
    return;
  }
  ApiClient http(server.port());
  auto r = http.get("/readyz");
  EXPECT_EQ(r.status, 503) << r.body;
  try {
    const json j = r.json();
    EXPECT_EQ(j.value("status", ""), "not_ready") << r.body;
    EXPECT_TRUE(j.contains("reason") && j["reason"].is_string()) << r.body;
  } catch (const std::exception&) {
    ADD_FAILURE() << "/readyz body is not JSON: " << r.body;
  }
  auto migrate = run_command({server_path(), "migrate"}, {{"XIAONAO_DB", db_conninfo()}}, dir());
  ASSERT_EQ(migrate.exit_code, 0) << migrate.out << migrate.err;
  EXPECT_TRUE(wait_until([&] { return http.get("/readyz").status == 200; }, 30s))
      << "/readyz stayed " << http.get("/readyz").status << " after the migrations were applied";
}

// Until the reference data has been loaded into memory once, intake would fuse from the
// tables (much slower at a county's size): the instance serves, but does not call itself ready.
// A lock held on the zones table keeps the first load waiting for as long as the test wants.
TEST_F(Readiness, NotReadyUntilTheReferenceDataHasLoaded) {
  pqxx::connection locker(db_conninfo());
  auto hold = std::make_unique<pqxx::work>(locker);
  hold->exec0("LOCK TABLE zones IN ACCESS EXCLUSIVE MODE");
  ServerOptions options;
  options.wait_ready = false;
  Server& server = add_server(options);
  server.start();
  ApiClient http(server.port());
  for (int k = 0; k < 3; ++k) {
    const auto r = http.get("/readyz");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("reference data loading"), std::string::npos) << r.body;
    std::this_thread::sleep_for(100ms);
  }
  hold->abort();
  hold.reset();
  EXPECT_TRUE(wait_until([&] { return http.get("/readyz").status == 200; }, 30s))
      << "/readyz stayed " << http.get("/readyz").body << " after the lock was released";
  // Without the copy in memory there is nothing to wait for.
  server.terminate();
  hold = std::make_unique<pqxx::work>(locker);
  hold->exec0("LOCK TABLE zones IN ACCESS EXCLUSIVE MODE");
  ServerOptions tables_only;
  tables_only.env = {{"XIAONAO_FUSION_REFERENCE_IN_MEMORY", "false"}};
  Server& second = start_server(tables_only);
  EXPECT_EQ(ApiClient(second.port()).get("/readyz").status, 200);
}

TEST_F(Readiness, DatabaseOutageGives503AndTheServerRecoversWithoutGaps) {
  Server& a = start_server();
  Server& b = start_server();  // a second instance: its feed needs NOTIFY (or its poll) back
  ApiClient http(a.port());
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  FeedReader feed_b(b.port(), "since=0");
  ASSERT_TRUE(feed_b.read_through(sql().max_seq(), 30s));

  // Cut the database off: no new connections, existing ones terminated.
  const std::string name = database_name();
  reset_sql();
  {
    Sql maint(*test_db_conninfo());
    maint.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
    maint.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name);
  }
  EXPECT_TRUE(wait_until([&] { return http.get("/readyz").status == 503; }, 30s))
      << "/readyz still " << http.get("/readyz").status << " with the database unreachable";
  const json during = make_alert("fire");
  auto r = post_alert(http, during);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_of(r).value("code", ""), "unavailable") << r.body;
  EXPECT_EQ(http.get("/healthz").status, 200) << "the process still serves";

  {
    Sql maint(*test_db_conninfo());
    maint.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
  }
  EXPECT_TRUE(wait_until([&] { return http.get("/readyz").status == 200; }, 60s))
      << "/readyz did not come back after the database did";
  // The alert refused during the outage goes in on a retry (connections are recreated).
  int status = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        status = post_alert(http, during).status;
        return status == 201 || status == 200;
      },
      60s, 200ms))
      << "intake did not recover: last status " << status;
  EXPECT_EQ(status, 201) << "the alert refused with 503 had been stored";
  ApiClient http_b(b.port());
  EXPECT_TRUE(wait_until([&] { return post_alert(http_b, make_alert()).status == 201; }, 60s, 200ms))
      << "intake on B did not recover";

  // Both instances' feeds carry everything, in order.
  const std::int64_t m = sql().max_seq();
  EXPECT_EQ(sql().seq_table_problem(), "");
  ASSERT_TRUE(feed_b.read_through(m, 60s)) << "B's live feed stopped at " << feed_b.last_seq();
  EXPECT_EQ(seq_problem(feed_b.events(), 1), "");
  FeedReader feed_a(a.port(), "since=0");
  ASSERT_TRUE(feed_a.read_through(m, 60s));
  EXPECT_EQ(seq_problem(feed_a.events(), 1), "");
}

class Config : public IntegrationTest {};

TEST_F(Config, BadConfigStopsStartUpAndNamesTheKey) {
  struct Case {
    std::string what;
    Env env;
    std::string config;  ///< file content, empty for none
    std::string key;     ///< must appear in stderr (case-insensitive)
  };
  const std::vector<Case> cases = {
      {"XIAONAO_LISTEN=nonsense", {{"XIAONAO_LISTEN", "nonsense"}}, "", "listen"},
      {"XIAONAO_LISTEN port out of range", {{"XIAONAO_LISTEN", "127.0.0.1:70000"}}, "", "listen"},
      {"queue max not a number", {{"XIAONAO_FEED_SEND_QUEUE_MAX", "lots"}}, "", "send_queue_max"},
      {"queue max zero", {{"XIAONAO_FEED_SEND_QUEUE_MAX", "0"}}, "", "send_queue_max"},
      {"unknown top-level key in the file", {}, R"({"frobnicate_level": 3})", "frobnicate_level"},
      {"unknown key in a section", {}, R"({"feed": {"send_queue_maxx": 10}})", "send_queue_maxx"},
      {"wrong type in the file", {}, R"({"http": {"max_body_bytes": "big"}})", "max_body_bytes"},
      {"file is not JSON", {}, "{ this is not json", "config"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ++n;
    std::vector<std::string> argv = {server_path(), "--port-file",
                                     (dir() / ("bad-" + std::to_string(n) + ".port")).string()};
    if (!c.config.empty()) {
      const fs::path file = dir() / ("bad-" + std::to_string(n) + ".json");
      std::ofstream(file) << c.config;
      argv.push_back("--config");
      argv.push_back(file.string());
    }
    Env env = {{"XIAONAO_DB", db_conninfo()}, {"XIAONAO_LISTEN", "127.0.0.1:0"}};
    env.insert(env.end(), c.env.begin(), c.env.end());
    auto r = run_command(argv, env, dir(), 30s);
    EXPECT_NE(r.exit_code, -1000) << "xiaonaod started despite the bad config";
    EXPECT_NE(r.exit_code, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_NE(lower(r.err).find(c.key), std::string::npos)
        << "stderr does not name '" << c.key << "': " << r.err;
  }
  // A missing config file is an error too, naming the path.
  const std::string missing = (dir() / "no-such-file.json").string();
  auto r = run_command({server_path(), "--config", missing},
                       {{"XIAONAO_DB", db_conninfo()}, {"XIAONAO_LISTEN", "127.0.0.1:0"}}, dir(), 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1000);
  EXPECT_NE(r.err.find("no-such-file.json"), std::string::npos) << r.err;
}

class Ops : public IntegrationTest {};

TEST_F(Ops, HealthReadinessMetricsAndPortFile) {
  Server& server = start_server();
  ApiClient http(server.port());

  auto h = http.get("/healthz");
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.json().value("status", ""), "ok") << h.body;
  auto rd = http.get("/readyz");
  ASSERT_EQ(rd.status, 200);
  EXPECT_EQ(rd.json().value("status", ""), "ready") << rd.body;

  // The port file holds the bound port, and the log says which port it bound.
  std::ifstream pf(server.port_file());
  unsigned port_in_file = 0;
  pf >> port_in_file;
  EXPECT_EQ(port_in_file, server.port());
  EXPECT_NE(server.log().find(std::to_string(server.port())), std::string::npos)
      << "the log does not mention the bound port";

  FeedReader sub(server.port(), "");
  ASSERT_EQ(post_alert(http, make_alert()).status, 201);
  ASSERT_TRUE(sub.read_count(2, 30s));

  std::string text;
  auto refresh = [&] {
    auto m = http.get("/metrics");
    text = m.status == 200 ? m.body : "";
    return m.status == 200;
  };
  ASSERT_TRUE(refresh());
  auto m = http.get("/metrics");
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos)
      << m.headers["content-type"];
  for (const char* name :
       {"xiaonao_http_requests_total", "xiaonao_http_request_duration_seconds_bucket",
        "xiaonao_db_queue_depth", "xiaonao_feed_subscribers",
        "xiaonao_feed_events_published_total"}) {
    EXPECT_TRUE(metric_value(text, name).has_value()) << name << " missing from /metrics:\n" << text;
  }
  EXPECT_TRUE(wait_until(
      [&] {
        refresh();
        return metric_value(text, "xiaonao_feed_subscribers").value_or(-1) == 1.0;
      },
      10s))
      << "one subscriber is connected:\n" << text;
  EXPECT_TRUE(wait_until(
      [&] {
        refresh();
        return metric_value(text, "xiaonao_feed_events_published_total").value_or(0) >= 2.0;
      },
      10s))
      << "two events were published:\n" << text;
  // The subscriber took them live: the write that carried them is in the delivery histogram.
  EXPECT_TRUE(wait_until(
      [&] {
        refresh();
        return metric_value(text, "xiaonao_feed_delivery_seconds_count").value_or(0) >= 1.0;
      },
      10s))
      << "a live write was timed:\n" << text;
  EXPECT_GE(metric_value(text, "xiaonao_http_requests_total").value_or(0), 3.0);
  EXPECT_NE(text.find("route="), std::string::npos) << "requests by route";
  EXPECT_NE(text.find("status="), std::string::npos) << "requests by status";
  sub.ws().close();
  EXPECT_TRUE(wait_until(
      [&] {
        refresh();
        return metric_value(text, "xiaonao_feed_subscribers").value_or(-1) == 0.0;
      },
      10s))
      << "the subscriber left:\n" << text;
}

class Http : public IntegrationTest {};

TEST_F(Http, HundredRequestsOnOneKeepAliveConnection) {
  Server& server = start_server();
  {
    ApiClient http(server.port());
    for (int i = 0; i < 100; ++i) {
      auto r = i % 2 ? http.get("/healthz") : post_alert(http, make_alert());
      ASSERT_EQ(r.status, i % 2 ? 200 : 201) << "request " << i << ": " << r.body;
    }
  }
  // The same on a raw socket, which shows that the connection really stayed open.
  RawConnection raw(server.port());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(raw.send(i % 2 ? raw_request("GET", "/healthz")
                               : raw_request("POST", "/api/v1/alerts", make_alert().dump(),
                                             "application/json", auth_headers())))
        << "request " << i << ": the server closed the connection";
    auto r = raw.read_response();
    ASSERT_TRUE(r.has_value()) << "request " << i << ": the server closed the connection";
    EXPECT_EQ(r->status, i % 2 ? 200 : 201) << "request " << i << ": " << r->body;
    EXPECT_NE(lower(r->headers["connection"]), "close") << "request " << i;
  }
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), 100);
}

TEST_F(Http, PipelinedRequestsAreAnsweredInOrder) {
  Server& server = start_server();
  RawConnection raw(server.port());
  std::string batch;
  for (int i = 0; i < 8; ++i) {
    const std::vector<std::pair<std::string, std::string>> hdr = {
        {"X-Request-Id", "pipe-" + std::to_string(i)}, auth_headers().front()};
    batch += i % 2 ? raw_request("GET", "/healthz", {}, {}, hdr)
                   : raw_request("GET", "/api/v1/categories", {}, {}, hdr);
  }
  ASSERT_TRUE(raw.send(batch));
  for (int i = 0; i < 8; ++i) {
    auto r = raw.read_response();
    ASSERT_TRUE(r.has_value()) << "response " << i << " missing";
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->headers["x-request-id"], "pipe-" + std::to_string(i)) << "responses out of order";
  }
}

TEST_F(Http, TwentyKilobytesOfHeadersGet431) {
  Server& server = start_server();
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "one 20 KB header" : "forty 500-byte headers");
    std::vector<std::pair<std::string, std::string>> hdr;
    if (variant == 0) {
      hdr.emplace_back("X-Big", std::string(20 * 1024, 'a'));
    } else {
      for (int i = 0; i < 40; ++i) hdr.emplace_back("X-Many-" + std::to_string(i), std::string(500, 'b'));
    }
    RawConnection raw(server.port());
    raw.send(raw_request("GET", "/healthz", {}, {}, hdr));
    std::optional<RawResponse> r;
    try {
      r = raw.read_response(30s);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    ASSERT_TRUE(r.has_value()) << "connection closed without a response";
    EXPECT_EQ(r->status, 431) << r->body;
  }
  ApiClient http(server.port());
  EXPECT_EQ(http.get("/healthz").status, 200) << "the server keeps serving";
}

}  // namespace
}  // namespace xiaonao::itest
