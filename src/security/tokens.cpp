#include "xiaonao/security/tokens.hpp"

#include <algorithm>

#include "xiaonao/security/crypto.hpp"

namespace xiaonao::security {
namespace {
constexpr std::size_t kSecretChars = 43;  // 32 random bytes, base64url without padding

bool is_b64url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}
bool has_shape(std::string_view s, std::string_view prefix) {
  return s.size() == prefix.size() + kSecretChars && s.substr(0, prefix.size()) == prefix &&
         is_b64url(s.substr(prefix.size()));
}
}  // namespace

NewKey new_api_key() {
  NewKey k;
  k.id = random_hex(6);
  k.secret = random_token(32);
  k.text = std::string(kKeyPrefix) + k.id + "_" + k.secret;
  return k;
}

std::string new_access_token() { return std::string(kAccessPrefix) + random_token(32); }
std::string new_refresh_token() { return std::string(kRefreshPrefix) + random_token(32); }

bool looks_like_access_token(std::string_view s) { return has_shape(s, kAccessPrefix); }
bool looks_like_refresh_token(std::string_view s) { return has_shape(s, kRefreshPrefix); }

bool split_api_key(std::string_view s, std::string& id, std::string& secret) {
  if (s.size() != kKeyPrefix.size() + 12 + 1 + kSecretChars || s.substr(0, kKeyPrefix.size()) != kKeyPrefix) return false;
  const auto hex = s.substr(kKeyPrefix.size(), 12);
  if (!std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return false;
  if (s[kKeyPrefix.size() + 12] != '_' || !is_b64url(s.substr(kKeyPrefix.size() + 13))) return false;
  id = std::string(hex);
  secret = std::string(s.substr(kKeyPrefix.size() + 13));
  return true;
}

}  // namespace xiaonao::security
