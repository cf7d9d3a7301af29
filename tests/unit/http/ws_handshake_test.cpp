#include "xiaonao/http/ws_handshake.hpp"

#include <gtest/gtest.h>

namespace xiaonao::http {
namespace {

Request upgrade(std::string key, std::string version = "13") {
  Request req{bhttp::verb::get, "/ws/feed", 11};
  req.set(bhttp::field::host, "localhost");
  req.set(bhttp::field::upgrade, "websocket");
  req.set(bhttp::field::connection, "Upgrade");
  if (!key.empty()) req.set(bhttp::field::sec_websocket_key, key);
  if (!version.empty()) req.set(bhttp::field::sec_websocket_version, version);
  return req;
}

TEST(WsHandshake, AcceptValueOfTheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(ws_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, KeyMustBeSixteenBytesOfBase64) {
  EXPECT_TRUE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(valid_ws_key(""));
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ="));
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25jZQ=x"));
  EXPECT_FALSE(valid_ws_key("dGhlIHNhbXBsZSBub25j!Q=="));
}

TEST(WsHandshake, ProblemsAreNamed) {
  std::string why;
  EXPECT_EQ(ws_handshake_problem(upgrade("dGhlIHNhbXBsZSBub25jZQ=="), why), 0u);
  EXPECT_EQ(ws_handshake_problem(upgrade("dGhlIHNhbXBsZSBub25jZQ==", "8"), why), 426u);
  EXPECT_EQ(ws_handshake_problem(upgrade("dGhlIHNhbXBsZSBub25jZQ==", ""), why), 426u);
  EXPECT_EQ(ws_handshake_problem(upgrade(""), why), 400u);
  EXPECT_EQ(ws_handshake_problem(upgrade("short"), why), 400u);
}

TEST(WsHandshake, SwitchingProtocolsResponse) {
  const auto res = ws_switching_protocols(upgrade("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_EQ(res.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(res.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_NE(res.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_EQ(res.substr(res.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace xiaonao::http
