// Identity, roles and privacy against a real server and database: the route × role matrix of
// docs/security.md, tokens (refresh, logout, expiry, revocation across instances), masking and
// its audit rows, the audit chain, rate limits, CORS, and hostile strings.
#include <fstream>
#include <map>
#include <sstream>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Security : public IntegrationTest {
 protected:
  RunResult cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {server_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, {{"XIAONAO_DB", db_conninfo()}}, dir());
  }
  /// Posts an alert with the test key; returns its incident id.
  std::string new_incident(unsigned short port, json alert = make_alert("fraud")) {
    ApiClient http(port);
    auto r = post_alert(http, alert);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json()["incident_id"].get<std::string>() : "";
  }
};

// ---- the matrix -------------------------------------------------------------------------------

struct Row {
  std::string method, path, permission;
  std::map<std::string, std::string> by_role;
};

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line.substr(1));
  std::string c;
  while (std::getline(ss, c, '|')) {
    const auto b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
  }
  return out;
}

std::vector<Row> matrix() {
  std::ifstream in(XIAONAO_SECURITY_DOC);
  std::vector<Row> rows;
  std::vector<std::string> roles;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| route | permission |", 0) == 0) {
      auto c = cells(line);
      roles.assign(c.begin() + 2, c.end());
      continue;
    }
    if (roles.empty() || line.rfind("| `", 0) != 0) continue;
    auto c = cells(line);
    Row r;
    const auto route = c[0].substr(1, c[0].size() - 2);
    r.method = route.substr(0, route.find(' '));
    r.path = route.substr(route.find(' ') + 1);
    r.permission = c[1];
    for (std::size_t i = 0; i < roles.size(); ++i) r.by_role[roles[i]] = c[i + 2];
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string fill(std::string path, const std::map<std::string, std::string>& values) {
  for (const auto& [k, v] : values) {
    const auto p = path.find("{" + k + "}");
    if (p != std::string::npos) path.replace(p, k.size() + 2, v);
  }
  return path;
}

TEST_F(Security, MatrixEveryRouteWithEveryRole) {
  Server& server = start_server();
  const std::map<std::string, std::pair<std::string, std::string>> users = {
      {"duty_officer", {"100001", "S01"}},  {"station_chief", {"100002", "S01"}}, {"county_commander", {"100003", ""}},
      {"analyst", {"100004", ""}},          {"integrator", {"100005", ""}},       {"admin", {"100006", ""}}};
  for (const auto& [role, u] : users) add_user(u.first, role, u.second);
  add_user("199999", "duty_officer", "S09");  // the target of user routes
  const auto incident = new_incident(server.port());
  const std::map<std::string, std::string> params = {{"id", incident}, {"police_number", "199999"}, {"alert_id", incident}};
  const auto rows = matrix();
  ASSERT_GE(rows.size(), 20u);

  for (const auto& row : rows) {
    const auto target = fill(row.path, params);
    // Bodies that are well-formed enough to get past the permission check but change nothing
    // that the next rows need (a too-short password is refused after the check).
    std::string body;
    if (row.method == "POST") body = R"({"password":"x"})";
    const bool open = row.permission == "open";
    auto anon = as(server.port(), "", row.method, target, body);
    if (open) {
      EXPECT_NE(anon.status, 401) << row.method << " " << target;
    } else {
      EXPECT_EQ(anon.status, 401) << row.method << " " << target << " without credentials: " << anon.body;
      EXPECT_EQ(error_of(anon).value("code", ""), "unauthorized");
      EXPECT_FALSE(anon.headers["www-authenticate"].empty());
    }
    for (const auto& [role, u] : users) {
      // A fresh login per call: the logout row would otherwise end the session for the rest.
      const auto token = login(server.port(), u.first).value("access_token", "");
      ASSERT_FALSE(token.empty()) << role;
      auto r = as(server.port(), token, row.method, target, body);
      const auto expected = row.by_role.at(role);
      if (expected == "yes") {
        EXPECT_NE(r.status, 401) << row.method << " " << target << " as " << role << ": " << r.body;
        EXPECT_NE(r.status, 403) << row.method << " " << target << " as " << role << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << row.method << " " << target << " as " << role << ": " << r.body;
        EXPECT_EQ(error_of(r).value("code", ""), "forbidden") << r.body;
      }
    }
  }
}

// ---- tokens -----------------------------------------------------------------------------------

TEST_F(Security, LoginRefreshLogout) {
  Server& server = start_server();
  add_user("200001", "county_commander", "");
  auto bad = as(server.port(), "", "POST", "/api/v1/auth/login", R"({"police_number":"200001","password":"wrong-password"})");
  EXPECT_EQ(bad.status, 401) << bad.body;
  auto unknown = as(server.port(), "", "POST", "/api/v1/auth/login", R"({"police_number":"nobody","password":"wrong-password"})");
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(unknown.body, bad.body) << "an unknown account must look like a wrong password";

  const auto s = login(server.port(), "200001");
  ASSERT_EQ(s.value("token_type", ""), "Bearer");
  const std::string access = s["access_token"], refresh = s["refresh_token"];
  EXPECT_EQ(s["user"]["roles"], json::array({"county_commander"}));
  auto me = as(server.port(), access, "GET", "/api/v1/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["county_wide"], true);

  auto r = as(server.port(), "", "POST", "/api/v1/auth/refresh", json{{"refresh_token", refresh}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string access2 = r.json()["access_token"], refresh2 = r.json()["refresh_token"];
  EXPECT_NE(access2, access);
  EXPECT_EQ(as(server.port(), access2, "GET", "/api/v1/incidents").status, 200);
  EXPECT_EQ(as(server.port(), access, "GET", "/api/v1/incidents").status, 401) << "rotation ends the old access token";
  EXPECT_EQ(as(server.port(), "", "POST", "/api/v1/auth/refresh", json{{"refresh_token", refresh}}.dump()).status, 401)
      << "a refresh token works once";

  EXPECT_EQ(as(server.port(), access2, "POST", "/api/v1/auth/logout").status, 200);
  EXPECT_EQ(as(server.port(), access2, "GET", "/api/v1/incidents").status, 401) << "logout takes effect at once";
  EXPECT_EQ(as(server.port(), "", "POST", "/api/v1/auth/refresh", json{{"refresh_token", refresh2}}.dump()).status, 401);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.login'"), 1);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed'"), 2);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'auth.logout'"), 1);
  // Tokens are stored only as hashes.
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM auth_sessions WHERE access_hash = $1 OR refresh_hash = $1", access2), 0);
}

TEST_F(Security, AccessTokensExpire) {
  ServerOptions o;
  o.env = {{"XIAONAO_SECURITY_ACCESS_TTL_S", "3"}};
  Server& server = start_server(o);
  add_user("200002", "duty_officer", "S01");
  const auto issued = std::chrono::steady_clock::now();
  const std::string token = login(server.port(), "200002")["access_token"];
  const auto logged_in = std::chrono::steady_clock::now();  // the token was issued before this
  const auto status = as(server.port(), token, "GET", "/api/v1/auth/me").status;  // and now it is cached
  // Valid while young: checked only when the answer came well inside the lifetime (on a
  // machine slow enough to take 2 s for a login and a request, it may have expired already).
  if (std::chrono::steady_clock::now() - issued < 2s) {
    EXPECT_EQ(status, 200);
  }
  std::this_thread::sleep_until(logged_in + 3500ms);  // past the expiry: a deadline, not a race
  EXPECT_EQ(as(server.port(), token, "GET", "/api/v1/auth/me").status, 401);
}

TEST_F(Security, RevocationReachesEveryInstanceAtOnce) {
  Server& a = start_server();
  Server& b = start_server();
  add_user("200003", "county_commander", "");
  const std::string token = login(a.port(), "200003")["access_token"];
  const auto key = test_api_key();
  // Both instances have checked (and cached) both credentials.
  for (Server* s : {&a, &b}) {
    ASSERT_EQ(as(s->port(), token, "GET", "/api/v1/incidents").status, 200);
    ASSERT_EQ(as(s->port(), key, "GET", "/api/v1/incidents").status, 200);
  }
  ASSERT_EQ(cli({"user", "disable", "200003"}).exit_code, 0);
  const auto id = key.substr(4, 12);
  ASSERT_EQ(cli({"apikey", "revoke", id}).exit_code, 0);
  // NOTIFY is asynchronous; "at once" means well within a second, never the cache's 30 s.
  for (Server* s : {&a, &b}) {
    EXPECT_TRUE(wait_until([&] { return as(s->port(), token, "GET", "/api/v1/incidents").status == 401; }, 3s));
    EXPECT_TRUE(wait_until([&] { return as(s->port(), key, "GET", "/api/v1/incidents").status == 401; }, 3s));
  }
  EXPECT_EQ(as(a.port(), "", "POST", "/api/v1/auth/login", json{{"police_number", "200003"}, {"password", kTestPassword}}.dump()).status, 401);
  ASSERT_EQ(cli({"user", "enable", "200003"}).exit_code, 0);
  login(a.port(), "200003");
}

TEST_F(Security, KeysAreScopedBySourceAndPermission) {
  Server& server = start_server();
  const auto r = cli({"apikey", "create", "--name", "hotline", "--sources", "12345", "--scopes", "alerts:write"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto key = r.out.substr(0, r.out.find('\n'));
  json alert = make_alert("noise");
  alert["source"] = "12345";
  auto ok = as(server.port(), key, "POST", "/api/v1/alerts", alert.dump());
  EXPECT_EQ(ok.status, 201) << ok.body;
  // Who sent an alert is kept with it (the intake's audit record).
  EXPECT_EQ(sql().exec("SELECT submitted_by FROM alerts WHERE source = '12345'")[0][0].as<std::string>(),
            "key:" + key.substr(4, 12));
  alert["source"] = "110";
  alert["source_ref"] = unique_ref();
  auto wrong = as(server.port(), key, "POST", "/api/v1/alerts", alert.dump());
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(error_of(wrong).value("field", ""), "source");
  EXPECT_EQ(as(server.port(), key, "GET", "/api/v1/incidents").status, 403);
  // X-Api-Key works as well as Authorization.
  client::HttpClient http("127.0.0.1", server.port());
  alert["source"] = "12345";
  alert["source_ref"] = unique_ref();
  EXPECT_EQ(http.request("POST", "/api/v1/alerts", alert.dump(), "application/json", {{"X-Api-Key", key}}).status, 201);
  // One character of the secret changed (to one it surely is not) is a different, unknown key.
  const char last = key.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(as(server.port(), key.substr(0, key.size() - 1) + last, "GET", "/api/v1/categories").status, 401);
}

// ---- privacy ----------------------------------------------------------------------------------

TEST_F(Security, PersonalDataIsMaskedUnlessUnmaskedWithAReasonAndAudited) {
  Server& server = start_server();
  add_user("300001", "duty_officer", "S01");
  add_user("300002", "duty_officer", "S02");
  add_user("300003", "analyst", "");
  json alert = make_alert("fraud");
  alert["caller"] = {{"phone", "13857801234"}, {"name", "李芳"}};
  alert["subject"] = {{"id_number", "330102199001011234"}};
  const auto id = new_incident(server.port(), alert);
  sql().exec("UPDATE incidents SET station_id = 'S01' WHERE id = $1", id);
  const std::string s1 = login(server.port(), "300001")["access_token"];
  const std::string s2 = login(server.port(), "300002")["access_token"];
  const std::string analyst = login(server.port(), "300003")["access_token"];
  const auto path = "/api/v1/incidents/" + id;

  auto masked = as(server.port(), s1, "GET", path);
  ASSERT_EQ(masked.status, 200) << masked.body;
  auto v = masked.json();
  EXPECT_EQ(v["masked"], true);
  EXPECT_EQ(v["alerts"][0]["caller"]["phone"], "138****1234");
  EXPECT_EQ(v["alerts"][0]["caller"]["name"], "李*");
  EXPECT_EQ(v["alerts"][0]["subject"]["id_number"], "330***********1234");
  EXPECT_EQ(masked.body.find("13857801234"), std::string::npos);
  EXPECT_EQ(masked.body.find("330102199001011234"), std::string::npos);
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM audit_log WHERE action = 'person.unmask'"), 0);

  EXPECT_EQ(as(server.port(), s1, "GET", path + "?unmask=true").status, 400) << "a reason is required";
  auto clear = as(server.port(), s1, "GET", path + "?unmask=true&reason=%E5%9B%9E%E8%AE%BF");
  ASSERT_EQ(clear.status, 200) << clear.body;
  v = clear.json();
  EXPECT_EQ(v["masked"], false);
  EXPECT_EQ(v["alerts"][0]["caller"]["phone"], "13857801234");
  EXPECT_EQ(v["alerts"][0]["subject"]["id_number"], "330102199001011234");
  const auto rows = sql().exec(
      "SELECT actor, target, incident_id::text, reason, station_id FROM audit_log WHERE action = 'person.unmask' ORDER BY seq");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1].as<std::string>().rfind("alert:", 0), 0u);
  EXPECT_EQ(rows[0][2].as<std::string>(), id);
  EXPECT_EQ(rows[0][3].as<std::string>(), "回访");
  EXPECT_EQ(rows[0][4].as<std::string>(), "S01");
  EXPECT_NE(rows[0][1].as<std::string>(), rows[1][1].as<std::string>());

  // Another station: as if the incident did not exist, until it is shared.
  EXPECT_EQ(as(server.port(), s2, "GET", path).status, 404);
  auto list = as(server.port(), s2, "GET", "/api/v1/incidents");
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.json()["items"].empty()) << list.body;
  sql().exec("INSERT INTO incident_shares (incident_id, station_id, reason, created_by) VALUES ($1, 'S02', 'support', 'test')", id);
  EXPECT_EQ(as(server.port(), s2, "GET", path).status, 200);
  EXPECT_EQ(as(server.port(), s2, "GET", "/api/v1/incidents").json()["items"].size(), 1u);
  // No personal data at all for analysts; keys read masked and cannot unmask.
  EXPECT_EQ(as(server.port(), analyst, "GET", path).status, 403);
  EXPECT_EQ(as(server.port(), test_api_key(), "GET", path).json()["masked"], true);
  EXPECT_EQ(as(server.port(), test_api_key(), "GET", path + "?unmask=true&reason=x").status, 403);
}

// ---- the audit log ----------------------------------------------------------------------------

TEST_F(Security, AuditChainDetectsAnEditedRowAndTheAppRoleCannotEdit) {
  Server& server = start_server();
  add_user("400001", "admin", "");
  add_user("400002", "station_chief", "S01");
  const std::string admin = login(server.port(), "400001")["access_token"];
  ASSERT_EQ(as(server.port(), admin, "POST", "/api/v1/users",
               R"({"police_number":"400003","name":"王五","station_id":"S01","roles":["duty_officer"],"password":"another-Passw0rd"})")
                .status,
            201);
  auto audit = as(server.port(), admin, "GET", "/api/v1/audit?action=user.create");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(audit.json()["items"].size(), 3u) << audit.body;  // two by the CLI, one by the API
  // The new user logs in; a new password set through the API replaces the old one.
  login(server.port(), "400003", "another-Passw0rd");
  ASSERT_EQ(as(server.port(), admin, "POST", "/api/v1/users/400003/password", R"({"password":"third-Passw0rd-x"})").status,
            200);
  EXPECT_EQ(as(server.port(), "", "POST", "/api/v1/auth/login", R"({"police_number":"400003","password":"another-Passw0rd"})")
                .status,
            401);
  login(server.port(), "400003", "third-Passw0rd-x");
  const std::string chief = login(server.port(), "400002")["access_token"];
  auto own = as(server.port(), chief, "GET", "/api/v1/audit");
  ASSERT_EQ(own.status, 200);
  for (const auto& item : own.json()["items"]) EXPECT_EQ(item["station_id"], "S01") << item;

  auto ok = cli({"audit", "verify"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("audit chain OK"), std::string::npos) << ok.out;

  // The trigger stops even the owner; the application role has no UPDATE at all.
  EXPECT_THROW(sql().exec("UPDATE audit_log SET reason = 'x' WHERE seq = 2"), pqxx::sql_error);
  EXPECT_THROW(sql().exec("DELETE FROM audit_log WHERE seq = 2"), pqxx::sql_error);
  {
    pqxx::connection c(db_conninfo());
    pqxx::nontransaction n(c);
    n.exec("SET ROLE xiaonao_app");
    EXPECT_THROW(n.exec("UPDATE audit_log SET reason = 'x' WHERE seq = 2"), pqxx::insufficient_privilege);
    n.exec("SET ROLE xiaonao_app");
    EXPECT_THROW(n.exec("DELETE FROM events"), pqxx::insufficient_privilege);
  }
  // Someone who can switch the trigger off edits a row: the chain shows where.
  {
    pqxx::connection c(db_conninfo());
    pqxx::nontransaction n(c);
    n.exec("SET session_replication_role = replica");
    n.exec("UPDATE audit_log SET actor_name = 'nobody' WHERE seq = 2");
  }
  auto broken = cli({"audit", "verify"});
  EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
  EXPECT_NE(broken.out.find("seq 2"), std::string::npos) << broken.out;
}

// ---- abuse ------------------------------------------------------------------------------------

TEST_F(Security, RateLimitsAnswer429WithRetryAfter) {
  ServerOptions o;
  o.env = {{"XIAONAO_SECURITY_RATE_PER_PRINCIPAL", "1"}, {"XIAONAO_SECURITY_BURST_PER_PRINCIPAL", "3"},
           {"XIAONAO_SECURITY_RATE_PER_ADDRESS", "1"},   {"XIAONAO_SECURITY_BURST_PER_ADDRESS", "30"},
           {"XIAONAO_SECURITY_LOGIN_MAX_FAILURES", "2"}};
  Server& server = start_server(o);
  ApiClient http(server.port());
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = http.get("/api/v1/categories");
    if (r.status == 429) {
      ++limited;
      EXPECT_GE(std::stoi(r.headers["retry-after"]), 1) << r.body;
      EXPECT_EQ(error_of(r).value("code", ""), "too_many_requests");
    }
  }
  EXPECT_GE(limited, 2) << "a burst of 3 at 1/s cannot serve 6 requests at once";

  add_user("500001", "duty_officer", "S01");
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(as(server.port(), "", "POST", "/api/v1/auth/login", R"({"police_number":"500001","password":"wrong-password"})").status, 401);
  auto paused = as(server.port(), "", "POST", "/api/v1/auth/login",
                   json{{"police_number", "500001"}, {"password", kTestPassword}}.dump());
  EXPECT_EQ(paused.status, 429) << "after 2 failures even the right password waits: " << paused.body;
  EXPECT_FALSE(paused.headers["retry-after"].empty());

  // Anonymous requests share a bucket per address.
  int anon_limited = 0;
  for (int i = 0; i < 40; ++i) anon_limited += http.request("GET", "/healthz", {}, {}, {{"Authorization", ""}}).status == 429;
  EXPECT_GE(anon_limited, 5);
}

TEST_F(Security, HostileStringsAreStoredVerbatimAndChangeNothing) {
  Server& server = start_server();
  ApiClient http(server.port());
  const std::vector<std::string> hostile = {"'; DROP TABLE alerts; --", "\" OR 1=1 --", "$1", "%s%n", "\\'",
                                            "1); DELETE FROM incidents; --", "' UNION SELECT password_hash FROM users --"};
  for (const auto& s : hostile) {
    json a = make_alert("theft");
    a["source_ref"] = unique_ref() + s;
    a["description"] = s;
    a["address"] = s;
    a["marker"] = s.substr(0, 30);
    a["caller"] = {{"name", s}, {"phone", "13800000000"}};
    auto r = post_alert(http, a);
    ASSERT_EQ(r.status, 201) << s << ": " << r.body;
    EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts WHERE description = $1 AND address = $1 AND caller_name = $1", s), 1) << s;
    // Filters and path parameters: refused or empty, never executed.
    EXPECT_EQ(http.get("/api/v1/incidents?category=" + url_encode(s)).status, 400) << s;
    EXPECT_NE(http.get("/api/v1/incidents/" + url_encode(s)).status, 200) << s;
  }
  EXPECT_EQ(sql().counts().alerts, static_cast<std::int64_t>(hostile.size()));
  EXPECT_EQ(sql().counts().incidents, static_cast<std::int64_t>(hostile.size()));
  add_user("600001", "admin", "");
  const std::string admin = login(server.port(), "600001")["access_token"];
  auto audit = as(server.port(), admin, "GET", "/api/v1/audit?actor=x%27%20OR%201%3D1%20--");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_TRUE(audit.json()["items"].empty());
  auto bad_user = as(server.port(), admin, "POST", "/api/v1/users",
                     R"({"police_number":"1' OR '1'='1","name":"x","roles":["analyst"],"password":"long-enough-pw"})");
  EXPECT_EQ(bad_user.status, 422) << bad_user.body;
  EXPECT_EQ(error_of(bad_user).value("field", ""), "police_number");
}

// ---- the feed and the browser -----------------------------------------------------------------

TEST_F(Security, FeedNeedsATokenAndTakesItAsASubprotocol) {
  Server& server = start_server();
  add_user("700001", "county_commander", "");
  const std::string token = login(server.port(), "700001")["access_token"];
  EXPECT_THROW(FeedReader(server.port(), "since=0", {}), std::runtime_error);
  const auto r = cli({"apikey", "create", "--name", "nofeed", "--sources", "*", "--scopes", "alerts:write"});
  const auto nofeed = r.out.substr(0, r.out.find('\n'));
  try {
    FeedReader f(server.port(), "since=0", {{"Authorization", "Bearer " + nofeed}});
    ADD_FAILURE() << "a key without feed:read was let in";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("403"), std::string::npos) << e.what();
  }
  new_incident(server.port());
  FeedReader browser(server.port(), "since=0", {{"Sec-WebSocket-Protocol", "xiaonao.v1, xiaonao.bearer." + token}});
  EXPECT_TRUE(browser.read_count(2, 30s));
  // The token never reaches the log.
  EXPECT_EQ(server.log().find(token), std::string::npos);
}

TEST_F(Security, OpenFeedsCloseWhenTheirCredentialIsRevokedOrExpires) {
  ServerOptions o;
  // A feed that is not being read (the client answers pings only while it reads) is closed
  // after two silent ping periods: 1 s periods leave room for the Argon2 login below on a
  // busy host (200 ms periods closed the key's feed during a 400 ms login).
  o.env = {{"XIAONAO_SECURITY_ACCESS_TTL_S", "2"}, {"XIAONAO_FEED_PING_INTERVAL_MS", "1000"}};
  Server& server = start_server(o);
  add_user("800001", "county_commander", "");
  const auto r = cli({"apikey", "create", "--name", "county", "--sources", "*", "--scopes", "feed:read"});
  const auto key = r.out.substr(0, r.out.find('\n'));
  FeedReader by_key(server.port(), "", {{"Authorization", "Bearer " + key}});
  const std::string token = login(server.port(), "800001")["access_token"];
  FeedReader by_token(server.port(), "", {{"Authorization", "Bearer " + token}});
  new_incident(server.port());
  ASSERT_TRUE(by_key.read_count(2, 30s));
  ASSERT_TRUE(by_token.read_count(2, 30s));

  ASSERT_EQ(cli({"apikey", "revoke", key.substr(4, 12)}).exit_code, 0);
  EXPECT_TRUE(by_key.read_until_closed(10s));
  EXPECT_EQ(by_key.close_code(), 4003);
  // The token lives 2 s; the feed notices within a ping interval after that.
  EXPECT_TRUE(by_token.read_until_closed(20s));
  EXPECT_EQ(by_token.close_code(), 4003);
}

// The notify listener, told of a seq it has not published, waits for this instance's batches in
// flight (feed.local_wait_ms). A revocation that arrives meanwhile must not wait with it: here a
// batch is stuck on the merge lock that the test holds, the wait is made a minute long, and
// the revoked key's feed must still close at once.
TEST_F(Security, ARevocationIsNotHeldUpByAStuckBatch) {
  ServerOptions o;
  o.env = {{"XIAONAO_FEED_LOCAL_WAIT_MS", "60000"}, {"XIAONAO_FUSION_MERGE_RADIUS_M", "200"}};
  Server& server = start_server(o);
  const auto r = cli({"apikey", "create", "--name", "watcher", "--sources", "*", "--scopes", "feed:read"});
  const auto key = r.out.substr(0, r.out.find('\n'));
  FeedReader by_key(server.port(), "", {{"Authorization", "Bearer " + key}});
  new_incident(server.port());
  ASSERT_TRUE(by_key.read_count(2, 30s));

  // Every located alert takes the global merge key in shared mode: held exclusively here, the
  // next batch waits on it, holding its ticket.
  pqxx::connection locker(db_conninfo());
  pqxx::nontransaction(locker).exec("SELECT pg_advisory_lock(7384001)");
  std::thread stuck([&] { new_incident(server.port()); });
  EXPECT_TRUE(wait_until([&] {
    return sql().scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") > 0;
  }, 30s));
  // A seq nobody has published yet: the listener starts its (minute-long) wait for the batch.
  sql().exec("SELECT pg_notify('xiaonao_feed', '999999999')");
  EXPECT_EQ(cli({"apikey", "revoke", key.substr(4, 12)}).exit_code, 0);  // no ASSERT: the thread must be joined
  EXPECT_TRUE(by_key.read_until_closed(20s));
  EXPECT_EQ(by_key.close_code(), 4003);

  pqxx::nontransaction(locker).exec("SELECT pg_advisory_unlock(7384001)");
  stuck.join();
}

TEST_F(Security, CorsIsClosedByDefaultAndSecurityHeadersAreSet) {
  ServerOptions o;
  o.env = {{"XIAONAO_SECURITY_CORS_ORIGINS", "https://console.example"}};
  Server& server = start_server(o);
  client::HttpClient http("127.0.0.1", server.port());
  auto plain = http.request("GET", "/healthz", {}, {}, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(plain.headers.count("access-control-allow-origin"), 0u);
  EXPECT_EQ(plain.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(plain.headers["x-frame-options"], "DENY");
  EXPECT_FALSE(plain.headers["content-security-policy"].empty());
  auto pre = http.request("OPTIONS", "/api/v1/incidents", {}, {}, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(pre.status, 403);
  auto good = http.request("OPTIONS", "/api/v1/incidents", {}, {},
                           {{"Origin", "https://console.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(good.status, 204) << good.body;
  EXPECT_EQ(good.headers["access-control-allow-origin"], "https://console.example");
}

}  // namespace
}  // namespace xiaonao::itest
