#pragma once
/// The shapes of Xiaonao's secrets: access and refresh tokens and integrator keys.
/// Prefixes make a leaked secret recognisable (secret scanners, logs) and tell them apart.
#include <string>
#include <string_view>

namespace xiaonao::security {

inline constexpr std::string_view kAccessPrefix = "xna_";   ///< access token: xna_<43 chars>
inline constexpr std::string_view kRefreshPrefix = "xnr_";  ///< refresh token: xnr_<43 chars>
inline constexpr std::string_view kKeyPrefix = "xnk_";      ///< key: xnk_<12 hex id>_<43 chars>

/// A new integrator key: its public id, its secret, and the text handed out once.
struct NewKey {
  std::string id;
  std::string secret;
  std::string text;
};
NewKey new_api_key();
std::string new_access_token();
std::string new_refresh_token();

bool looks_like_access_token(std::string_view s);
bool looks_like_refresh_token(std::string_view s);
/// Splits a key into id and secret; false when it does not have the key's shape.
bool split_api_key(std::string_view s, std::string& id, std::string& secret);

}  // namespace xiaonao::security
