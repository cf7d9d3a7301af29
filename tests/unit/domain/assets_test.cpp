// The console's static file paths are outside bytes: only names inside the web root pass.
#include "xiaonao/domain/assets.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "xiaonao/domain/query.hpp"

namespace xiaonao::domain {
namespace {

TEST(AssetPath, AcceptsBuiltFileNames) {
  EXPECT_EQ(asset_path("app-5KXQ2B7D.js"), "app-5KXQ2B7D.js");
  EXPECT_EQ(asset_path("images/marker-icon-2x.png"), "images/marker-icon-2x.png");
  EXPECT_EQ(asset_path("a_b.c-d"), "a_b.c-d");
}

TEST(AssetPath, RefusesTraversalAndOddNames) {
  for (const char* bad : {"", "..", ".", "../x", "a/../b", "a/./b", "a/..", ".env", "a/.git/config", "/etc/passwd",
                          "a//b", "a/", "a\\..\\b", "..\\x", "a%2e%2e", "a b", "a\tb", "名.js", "a:b", "a?b", "a#b",
                          "~root", "a*"}) {
    EXPECT_FALSE(asset_path(bad)) << bad;
  }
  EXPECT_FALSE(asset_path(std::string("a\0b", 3)));
  EXPECT_FALSE(asset_path(std::string(257, 'a')));
  EXPECT_FALSE(asset_path(std::string(65, 'a')));
  EXPECT_FALSE(asset_path("a/b/c/d/e/f/g/h/i"));
  EXPECT_TRUE(asset_path("a/b/c/d/e/f/g/h"));
}

TEST(AssetPath, EncodedTraversalIsRefusedAfterDecoding) {
  // The server decodes the target before routing: %2e%2e becomes ".." and is refused then.
  for (const char* target : {"/assets/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2fsecret", "/assets/%2E%2E",
                             "/assets/a%00.js", "/assets/a%5c..%5cb"}) {
    const auto t = parse_target(target);
    ASSERT_TRUE(t) << target;
    EXPECT_FALSE(asset_path(t->path.substr(std::string_view("/assets/").size()))) << target;
  }
}

// Property: whatever the bytes, an accepted path has no empty, dot-led or foreign segment, so
// appending it to a root directory can never leave the root.
TEST(AssetPath, RandomBytesNeverYieldAnEscapingPath) {
  std::mt19937 rng(20261126);
  const std::string alphabet = "./\\%2eE.a-_Z09\0/..~:";
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) {
      s += (rng() % 4 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    const auto p = asset_path(s);
    if (!p) continue;
    ASSERT_EQ(*p, s);
    ASSERT_NE(p->front(), '/');
    ASSERT_NE(p->front(), '.');
    ASSERT_NE(p->back(), '/');
    ASSERT_EQ(p->find("/."), std::string::npos) << s;
    ASSERT_EQ(p->find("//"), std::string::npos) << s;
    ASSERT_EQ(p->find('\\'), std::string::npos) << s;
    ASSERT_EQ(p->find('\0'), std::string::npos) << s;
  }
}

TEST(AssetContentType, ByExtension) {
  EXPECT_EQ(asset_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(asset_content_type("app-ABCDEFGH.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(asset_content_type("app.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(asset_content_type("images/layers.png"), "image/png");
  EXPECT_EQ(asset_content_type("x.svg"), "image/svg+xml");
  EXPECT_EQ(asset_content_type("x.js.map"), "application/json; charset=utf-8");
  EXPECT_EQ(asset_content_type("noext"), "application/octet-stream");
  EXPECT_EQ(asset_content_type("a.exe"), "application/octet-stream");
  EXPECT_EQ(asset_content_type("dir.js/x"), "application/octet-stream");
}

TEST(AssetImmutable, HashedNamesOnly) {
  EXPECT_TRUE(asset_is_immutable("app-5KXQ2B7D.js"));
  EXPECT_TRUE(asset_is_immutable("images/marker-icon-2X7QWERT.png"));
  EXPECT_FALSE(asset_is_immutable("index.html"));
  EXPECT_FALSE(asset_is_immutable("marker-icon-2x.png"));
  EXPECT_FALSE(asset_is_immutable("app-5kxq2b7d.js"));
}

}  // namespace
}  // namespace xiaonao::domain
