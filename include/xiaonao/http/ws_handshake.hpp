#pragma once
/// The server half of the WebSocket opening handshake (RFC 6455 section 4.2). The feed session
/// writes the 101 response itself because it owns the framing after it (see ws_session.cpp).
#include <string>
#include <string_view>

#include "xiaonao/http/types.hpp"

namespace xiaonao::http {

/// True when `key` is a well-formed Sec-WebSocket-Key: the base64 text of 16 bytes.
bool valid_ws_key(std::string_view key);

/// The Sec-WebSocket-Accept value for `key`: base64(SHA-1(key + the RFC's GUID)).
std::string ws_accept(std::string_view key);

/// Why an upgrade request (already known to be one, see websocket::is_upgrade) cannot be
/// accepted: 426 for a Sec-WebSocket-Version other than 13, 400 for a missing or malformed
/// key; 0 when it can.
unsigned ws_handshake_problem(const Request& req, std::string& why);

/// The feed's subprotocol: answered when the client offers it.
inline constexpr std::string_view kWsFeedProtocol = "xiaonao.v1";

/// The whole 101 Switching Protocols response for an accepted upgrade request (with
/// `Sec-WebSocket-Protocol: xiaonao.v1` when the client offered it).
std::string ws_switching_protocols(const Request& req);

}  // namespace xiaonao::http
