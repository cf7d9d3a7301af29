// The console's static files: GET /, GET /assets/{*path}, GET /console.json, served from
// console.web_root (here a small fake site in the test's directory).
#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class Console : public IntegrationTest {
 protected:
  /// A built console: index.html, a hashed bundle, an image, plus files that must never be served.
  fs::path make_site() {
    const auto root = dir() / "site" / "web";
    write(root / "index.html", "<!doctype html><div id=\"app\"></div>");
    write(root / "assets" / "main-ABCDEFGH.js", "console.log('xiaonao')");
    write(root / "assets" / "images" / "layers.png", std::string("\x89PNG\r\n\x1a\n", 8));
    write(root / "assets" / "plain.css", "body{}");
    write(root / "assets" / ".secret", "hidden");
    write(root / "secret.txt", "outside the assets directory");
    write(dir() / "site" / "passwd", "outside the root");
    return root;
  }
  Server& start_with(const fs::path& root, const std::string& tile_url = "") {
    ServerOptions o;
    o.env = {{"XIAONAO_WEB_ROOT", root.string()}};
    if (!tile_url.empty()) o.env.push_back({"XIAONAO_CONSOLE_TILE_URL", tile_url});
    return start_server(o);
  }
};

TEST_F(Console, ServesThePageAndItsAssetsWithTypesAndCaching) {
  Server& server = start_with(make_site());
  client::HttpClient http("127.0.0.1", server.port());
  auto r = http.get("/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "<!doctype html><div id=\"app\"></div>");
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "no-cache");
  const auto csp = r.headers["content-security-policy"];
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(r.headers["x-frame-options"], "DENY");

  r = http.get("/assets/main-ABCDEFGH.js");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log('xiaonao')");
  EXPECT_EQ(r.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  const auto etag = r.headers["etag"];
  ASSERT_FALSE(etag.empty());

  r = http.get("/assets/images/layers.png");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "image/png");
  EXPECT_EQ(r.body.size(), 8u);
  r = http.get("/assets/plain.css");
  EXPECT_EQ(r.headers["content-type"], "text/css; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "no-cache") << "an unhashed name is revalidated";

  // A revalidation with the current ETag is answered 304 without a body.
  RawConnection c(server.port());
  ASSERT_TRUE(c.send(raw_request("GET", "/assets/main-ABCDEFGH.js", {}, {}, {{"If-None-Match", etag}})));
  auto rr = c.read_response();
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->status, 304);
  EXPECT_TRUE(rr->body.empty());
}

TEST_F(Console, RefusesTraversalHiddenFilesAndUnknownNames) {
  Server& server = start_with(make_site());
  for (const char* target : {"/assets/../secret.txt", "/assets/../../passwd", "/assets/%2e%2e/secret.txt",
                             "/assets/%2E%2E/%2E%2E/passwd", "/assets/..%2fsecret.txt", "/assets/images/../../secret.txt",
                             "/assets/.secret", "/assets/%2esecret", "/assets/a%00.js", "/assets/..%5csecret.txt",
                             "/assets/nope.js", "/assets/images", "/assets/", "/secret.txt", "/index.html",
                             "/assets/main-ABCDEFGH.js/x", "/assets//etc/passwd"}) {
    RawConnection c(server.port());
    ASSERT_TRUE(c.send(raw_request("GET", target)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << target;
    EXPECT_TRUE(r->status == 404 || r->status == 400) << target << " → " << r->status;
    EXPECT_EQ(r->headers["content-type"], "application/json; charset=utf-8") << target;
    EXPECT_EQ(r->body.find("outside"), std::string::npos) << target;
    EXPECT_EQ(r->body.find("hidden"), std::string::npos) << target;
    if (r->status == 404) {
      EXPECT_NE(r->body.find("\"code\":\"not_found\""), std::string::npos) << target << r->body;
    }
  }
  // Only GET: a POST is 405 naming GET.
  client::HttpClient http("127.0.0.1", server.port());
  auto r = http.request("POST", "/assets/main-ABCDEFGH.js", "{}", "application/json");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST_F(Console, SettingsCarryTheTileUrlAndItsOriginJoinsTheImagePolicy) {
  Server& server = start_with(make_site(), "https://tiles.county.local:8443/{z}/{x}/{y}.png");
  client::HttpClient http("127.0.0.1", server.port());
  auto r = http.get("/console.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["tile_url"], "https://tiles.county.local:8443/{z}/{x}/{y}.png");
  r = http.get("/");
  EXPECT_NE(r.headers["content-security-policy"].find("img-src 'self' data: blob: https://tiles.county.local:8443;"),
            std::string::npos)
      << r.headers["content-security-policy"];
}

TEST_F(Console, WithoutABuiltConsoleTheRootIs404AndTheApiStillWorks) {
  Server& server = start_with(dir() / "no-such-dir");
  client::HttpClient http("127.0.0.1", server.port());
  auto r = http.get("/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["code"], "not_found");
  EXPECT_EQ(http.get("/assets/main-ABCDEFGH.js").status, 404);
  EXPECT_EQ(http.get("/healthz").status, 200);
  EXPECT_EQ(http.get("/console.json").status, 200);
}

TEST_F(Console, ABadTileUrlStopsStartUp) {
  // A quote or a space would break out of the page's Content-Security-Policy.
  const auto r = run_command({XIAONAOD_PATH, "migrate"},
                             {{"XIAONAO_DB", db_conninfo()}, {"XIAONAO_CONSOLE_TILE_URL", "https://x/{z}/{x}/{y}.png' 'unsafe-eval"}},
                             dir());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("console.tile_url"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace xiaonao::itest
