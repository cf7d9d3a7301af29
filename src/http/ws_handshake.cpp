#include "xiaonao/http/ws_handshake.hpp"

#include "xiaonao/domain/query.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace xiaonao::http {

namespace {
bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
}  // namespace

bool valid_ws_key(std::string_view key) {
  // 16 bytes are 24 base64 characters, the last two of them padding.
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

std::string ws_accept(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string text(key);
  text += guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

unsigned ws_handshake_problem(const Request& req, std::string& why) {
  if (req[bhttp::field::sec_websocket_version] != "13") {
    why = "unsupported WebSocket version; this server speaks 13";
    return 426;
  }
  if (req.count(bhttp::field::sec_websocket_key) != 1 || !valid_ws_key(req[bhttp::field::sec_websocket_key])) {
    why = "missing or malformed Sec-WebSocket-Key";
    return 400;
  }
  return 0;
}

std::string ws_switching_protocols(const Request& req) {
  std::string res =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  res += ws_accept(req[bhttp::field::sec_websocket_key]);
  // A browser that offered subprotocols (it sends its token as one) must get one of them back.
  const std::string_view offered = req[bhttp::field::sec_websocket_protocol];
  for (auto item : domain::split_list(offered)) {
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == kWsFeedProtocol) {
      res += "\r\nSec-WebSocket-Protocol: ";
      res += kWsFeedProtocol;
      break;
    }
  }
  res += "\r\nServer: xiaonao\r\n\r\n";
  return res;
}

}  // namespace xiaonao::http
