// docs/security.md's route × role matrix is what operators and auditors read: it must list
// exactly the server's routes, with the permission each declares, and role columns that say
// what the code grants. (The integration test SecurityMatrix walks it against a live server.)
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/http/server.hpp"

namespace xiaonao::http {
namespace {

struct MatrixRow {
  std::string permission;
  std::vector<std::string> cells;  // one per role, in the header's order
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line.substr(1));
  std::string cell;
  while (std::getline(ss, cell, '|')) out.push_back(trim(cell));
  return out;
}

// The matrix: the table whose header starts with "| route | permission |".
void read_matrix(std::vector<std::string>& roles, std::map<std::string, MatrixRow>& rows) {
  std::ifstream in(XIAONAO_SECURITY_DOC);
  ASSERT_TRUE(in.good()) << XIAONAO_SECURITY_DOC;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| route | permission |", 0) == 0) {
      auto c = cells_of(line);
      roles.assign(c.begin() + 2, c.end());
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.rfind("| ---", 0) == 0) continue;
    if (line.rfind("| `", 0) != 0) break;
    auto c = cells_of(line);
    ASSERT_EQ(c.size(), roles.size() + 2) << line;
    const auto route = c[0].substr(1, c[0].size() - 2);
    rows[route] = MatrixRow{c[1], std::vector<std::string>(c.begin() + 2, c.end())};
  }
}

TEST(SecurityMatrix, DocumentListsEveryRouteWithItsPermissionAndTheRolesThatHoldIt) {
  std::vector<std::string> roles;
  std::map<std::string, MatrixRow> rows;
  read_matrix(roles, rows);
  ASSERT_EQ(roles.size(), domain::all_roles().size());
  ASSERT_FALSE(rows.empty());

  // A real router, registered by the real code; none of these parts touches a database
  // unless a request arrives (0 pool and writer threads).
  boost::asio::io_context ioc;
  config::Config cfg;
  store::DbPool pool("", 0, 1, 1000);
  store::AlertWriterOptions wopt;
  wopt.threads = 0;
  store::AlertWriter writer(wopt, [](std::vector<domain::Frame>) {});
  service::FeedHub hub(16, 0);
  service::Metrics metrics;
  service::CategoryCache categories;
  service::CredentialCache credentials(std::chrono::milliseconds(0));
  service::AbuseGuard guard(cfg.security);
  Server server(ioc, Context{cfg, pool, writer, hub, metrics, categories, credentials, guard});

  std::set<std::string> seen;
  for (const auto& r : server.router().routes()) {
    const std::string key = std::string(bhttp::to_string(r.method)) + " " + r.pattern;
    seen.insert(key);
    const auto it = rows.find(key);
    ASSERT_NE(it, rows.end()) << key << " is not in the matrix of docs/security.md";
    EXPECT_EQ(it->second.permission, domain::permission_name(r.permission)) << key;
    for (std::size_t i = 0; i < roles.size(); ++i) {
      const auto role = domain::parse_role(roles[i]);
      ASSERT_TRUE(role) << roles[i];
      const auto p = domain::user_principal("1", "x", "S01", {*role}, "s");
      EXPECT_EQ(it->second.cells[i], p.may(r.permission) ? "yes" : "no") << key << " × " << roles[i];
    }
  }
  for (const auto& [route, row] : rows) EXPECT_TRUE(seen.count(route)) << route << " is documented but not served";
}

}  // namespace
}  // namespace xiaonao::http
