#include <gtest/gtest.h>

#include "xiaonao/client/client.hpp"

namespace xiaonao::client {
namespace {

TEST(ParseHttpUrl, AcceptsTheFormsTheToolsTake) {
  std::string why;
  auto e = parse_http_url("http://127.0.0.1:8080", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8080);
  e = parse_http_url("http://localhost/api/v1", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->port, 80);
  e = parse_http_url("[::1]:9000", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 9000);
  e = parse_http_url("http://[::1]", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_FALSE(e->tls);
  e = parse_http_url("https://dispatch.example:8443/api", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "dispatch.example");
  EXPECT_EQ(e->port, 8443);
  EXPECT_TRUE(e->tls);
  e = parse_http_url("https://127.0.0.1", why);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 443);
  EXPECT_TRUE(e->tls);
}

TEST(ParseHttpUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"ftp://h:1", "ws://h:1", "https://h:0", "http://h:0", "http://h:65536", "http://h:12x", "http://:80",
                          "http://h:", ""}) {
    std::string why;
    EXPECT_FALSE(parse_http_url(bad, why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
}  // namespace xiaonao::client
