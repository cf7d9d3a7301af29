#pragma once
/// The few cryptographic primitives Xiaonao needs, all from libsodium: Argon2id password
/// hashes, SHA-256, random tokens and constant-time comparison.
#include <string>
#include <string_view>

namespace xiaonao::security {

/// Initialises libsodium; safe to call more than once and from several threads. Throws if the
/// library cannot be initialised.
void init();

/// An Argon2id hash in libsodium's self-describing string form ("$argon2id$v=19$m=...").
/// `memory_kib` and `ops` set the cost (defaults: libsodium's "interactive" level).
std::string hash_password(std::string_view password, unsigned long long ops = 2, std::size_t memory_kib = 65536);
/// True when `password` matches `hash` (constant time in the password).
bool verify_password(std::string_view password, const std::string& hash);

/// SHA-256 of `data` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

/// `bytes` random bytes as unpadded base64url (URL-, header- and log-safe characters only).
std::string random_token(std::size_t bytes = 32);
/// `bytes` random bytes as lowercase hex.
std::string random_hex(std::size_t bytes);

/// Equality that takes the same time wherever the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace xiaonao::security
