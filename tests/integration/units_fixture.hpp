#pragma once
// Shared by test_units.cpp and test_map.cpp: users made with the CLI, login, requests as a
// token, and reference rows written with direct SQL (the import is another part's code).
#include "harness.hpp"

namespace xiaonao::itest {

class UnitsTest : public IntegrationTest {
 protected:
  static constexpr const char* kPassword = "demo-Passw0rd";

  void add_user(const std::string& number, const std::string& roles, const std::string& station) {
    std::vector<std::string> argv = {server_path(), "user",    "add",   "--police-number", number, "--name",
                                     "测试" + number, "--roles", roles, "--password",      kPassword};
    if (!station.empty()) {
      argv.push_back("--station");
      argv.push_back(station);
    }
    const auto r = run_command(argv, {{"XIAONAO_DB", db_conninfo()}}, dir());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  std::string login(unsigned short port, const std::string& number) {
    client::HttpClient http("127.0.0.1", port);
    auto r = http.post_json("/api/v1/auth/login", {{"police_number", number}, {"password", kPassword}});
    EXPECT_EQ(r.status, 200) << number << ": " << r.body;
    return r.status == 200 ? r.json().value("access_token", "") : "";
  }
  /// A request as `token` (empty: the test's integrator key).
  static client::Response as(unsigned short port, const std::string& token, const std::string& method,
                             const std::string& target, const std::string& body = {}) {
    client::HttpClient http("127.0.0.1", port);
    auto headers = auth_headers();
    if (!token.empty()) headers = {{"Authorization", "Bearer " + token}};
    return http.request(method, target, body, "application/json", headers);
  }
  void add_unit(const std::string& id, const std::string& station, const std::string& status = "available",
                std::optional<std::pair<double, double>> at = std::nullopt, const std::string& kind = "patrol_car") {
    if (at) {
      sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES "
                 "($1, $2, $3, $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326)::geography, now() - interval '1 minute')",
                 id, "呼号" + id, kind, station, status, at->first, at->second);
    } else {
      sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status) VALUES ($1, $2, $3, $4, $5)", id,
                 "呼号" + id, kind, station, status);
    }
  }
};

}  // namespace xiaonao::itest
