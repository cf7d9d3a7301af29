#include "xiaonao/http/router.hpp"

#include <gtest/gtest.h>

#include <random>

#include "xiaonao/domain/query.hpp"

namespace xiaonao::http {
namespace {

using bhttp::verb;

Router make_router(std::vector<std::string>& hits) {
  Router r;
  r.add(verb::get, "/api/v1/incidents", domain::Permission::incidents_read, [&hits](Call&, Reply) { hits.push_back("list"); });
  r.add(verb::get, "/api/v1/incidents/{id}", domain::Permission::incidents_read, [&hits](Call&, Reply) { hits.push_back("get"); });
  r.add(verb::post, "/api/v1/alerts", domain::Permission::alerts_write, [&hits](Call&, Reply) { hits.push_back("alerts"); });
  return r;
}

TEST(Router, MatchesStaticAndParameterRoutes) {
  std::vector<std::string> hits;
  auto r = make_router(hits);
  auto m = r.match(verb::get, "/api/v1/incidents/abc-123");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/api/v1/incidents/{id}");
  EXPECT_EQ(m.params, std::vector<std::string>{"abc-123"});
  m = r.match(verb::get, "/api/v1/incidents");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(m.route, "/api/v1/incidents");
}

TEST(Router, WrongMethodNamesTheAllowedOnes) {
  std::vector<std::string> hits;
  auto r = make_router(hits);
  auto m = r.match(verb::get, "/api/v1/alerts");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "POST");
  EXPECT_EQ(m.route, "/api/v1/alerts");
}

TEST(Router, UnknownPathsAreUnmatched) {
  std::vector<std::string> hits;
  auto r = make_router(hits);
  for (const char* p : {"/", "", "/api", "/api/v1/incidents/a/b", "/api/v1/alertsx", "/API/v1/alerts"}) {
    auto m = r.match(verb::post, p);
    EXPECT_EQ(m.handler, nullptr) << p;
    EXPECT_TRUE(m.allow.empty()) << p;
  }
}

TEST(Router, ToleratesDoubleAndTrailingSlashes) {
  std::vector<std::string> hits;
  auto r = make_router(hits);
  EXPECT_NE(r.match(verb::get, "/api/v1/incidents/").handler, nullptr);
  EXPECT_NE(r.match(verb::get, "//api/v1//incidents").handler, nullptr);
}

TEST(Router, TailCapturesTheRestOfThePath) {
  Router r;
  r.add(verb::get, "/", domain::Permission::open, [](Call&, Reply) {});
  r.add(verb::get, "/assets/{*path}", domain::Permission::open, [](Call&, Reply) {});
  auto m = r.match(verb::get, "/assets/app.js");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/assets/{*path}");
  EXPECT_EQ(m.params, std::vector<std::string>{"app.js"});
  m = r.match(verb::get, "/assets/images//marker-icon.png");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params, std::vector<std::string>{"images/marker-icon.png"});
  // The tail needs at least one segment: /assets alone is not an asset.
  EXPECT_EQ(r.match(verb::get, "/assets").handler, nullptr);
  EXPECT_EQ(r.match(verb::get, "/assets/").handler, nullptr);
  // The root route is the empty path only.
  EXPECT_NE(r.match(verb::get, "/").handler, nullptr);
  EXPECT_EQ(r.match(verb::get, "/x").handler, nullptr);
  // The router hands dot segments through untouched; the static handler refuses them.
  m = r.match(verb::get, "/assets/../etc/passwd");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params, std::vector<std::string>{"../etc/passwd"});
  m = r.match(verb::post, "/assets/app.js");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET");
}

TEST(Target, SplitsPathAndDecodesQuery) {
  auto t = domain::parse_target("/api/v1/incidents?status=received,assessed&from=2026-11-26T00%3A00%3A00Z&x=a+b&flag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/v1/incidents");
  EXPECT_EQ(t->query.at("status"), "received,assessed");
  EXPECT_EQ(t->query.at("from"), "2026-11-26T00:00:00Z");
  EXPECT_EQ(t->query.at("x"), "a b");
  EXPECT_EQ(t->query.at("flag"), "");
}

TEST(Target, RejectsBadEscapes) {
  for (const char* s : {"/a%", "/a%4", "/a%zz", "/a?b=%", "/a?b=%g1", "/a?%=1"}) {
    EXPECT_FALSE(domain::parse_target(s).has_value()) << s;
  }
  EXPECT_EQ(domain::percent_decode("%E5%B0%8F%E8%84%91", false).value(), "小脑");
}

// Property: any byte string either parses or is refused; a parsed one never loses the path
// prefix before '?', and the router never matches a path with a NUL or a wrong segment count.
TEST(Target, RandomTargetsNeverCrashTheParserOrTheRouter) {
  std::vector<std::string> hits;
  auto r = make_router(hits);
  std::mt19937 rng(20261126);
  const std::string alphabet = "/?&=%+#abcXYZ019-_.\x01\xff\xe5 ";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    if (i % 3 == 0) s = "/api/v1/incidents/" + s;
    auto t = domain::parse_target(s);
    if (!t) continue;
    auto m = r.match(verb::get, t->path);
    if (m.handler && m.route == "/api/v1/incidents/{id}") {
      ASSERT_EQ(m.params.size(), 1u);
      EXPECT_EQ(m.params[0].find('/'), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace xiaonao::http
