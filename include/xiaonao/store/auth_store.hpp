#pragma once
/// Users, integrator keys, login sessions, incident shares and the audit log in PostgreSQL.
/// Every function runs on a connection or transaction the caller owns (a pool worker or the CLI).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/auth.hpp"

namespace xiaonao::store {

/// The NOTIFY channel that tells every instance to drop its cached credentials.
inline constexpr const char* kAuthChannel = "xiaonao_auth";

struct UserRow {
  std::string id;
  std::string police_number;
  std::string name;
  std::string station_id;
  std::vector<domain::Role> roles;
  std::string password_hash;
  bool enabled{true};
  std::string created_at;
};

struct KeyRow {
  std::string id;
  std::string name;
  std::string secret_hash;
  std::vector<domain::Permission> scopes;
  std::vector<std::string> sources;
  std::string created_by;
  std::string created_at;
  bool revoked{false};
};

// ---- users ----
std::optional<UserRow> find_user(pqxx::transaction_base& tx, const std::string& police_number);
std::vector<UserRow> list_users(pqxx::transaction_base& tx);
/// Inserts a user; returns its id, or nullopt when the police number is taken.
std::optional<std::string> insert_user(pqxx::transaction_base& tx, const UserRow& u);
/// Sets the password hash and revokes the user's sessions; false for an unknown user.
bool set_password(pqxx::transaction_base& tx, const std::string& police_number, const std::string& hash);
/// Enables or disables; disabling revokes the user's sessions. False for an unknown user.
bool set_enabled(pqxx::transaction_base& tx, const std::string& police_number, bool enabled);

// ---- login sessions ----
/// What an access token stands for, with its remaining life in seconds.
struct TokenInfo {
  domain::Principal principal;
  double expires_in_s{0};
};
/// Creates a session for `user_id`; returns its id.
std::string insert_session(pqxx::transaction_base& tx, const std::string& user_id, const std::string& access_hash,
                           int access_ttl_s, const std::string& refresh_hash, int refresh_ttl_s,
                           const std::string& address);
/// The principal behind a live access token (not expired, not revoked, user enabled).
std::optional<TokenInfo> find_access_token(pqxx::transaction_base& tx, const std::string& access_hash);
/// Rotates a live refresh token: new hashes and expiries on the same session. Returns the
/// session's user, or nullopt when the refresh token is unknown, expired or revoked.
std::optional<UserRow> rotate_session(pqxx::transaction_base& tx, const std::string& refresh_hash,
                                      const std::string& new_access_hash, int access_ttl_s,
                                      const std::string& new_refresh_hash, int refresh_ttl_s,
                                      std::string& session_id);
/// Revokes one session (logout); false when it was not live.
bool revoke_session(pqxx::transaction_base& tx, const std::string& session_id);
/// Tells every instance to drop cached credentials (sent at COMMIT).
void notify_auth_change(pqxx::transaction_base& tx);

// ---- integrator keys ----
void insert_key(pqxx::transaction_base& tx, const KeyRow& k);
std::optional<KeyRow> find_key(pqxx::transaction_base& tx, const std::string& id);
std::vector<KeyRow> list_keys(pqxx::transaction_base& tx);
/// Revokes a key; false when it is unknown or already revoked.
bool revoke_key(pqxx::transaction_base& tx, const std::string& id);

// ---- audit ----
/// Appends a row to the hash chain (serialized by a transaction-scoped advisory lock, so the
/// chain is linear across writers and instances); fills in seq, at_us, prev_hash and hash.
void append_audit(pqxx::transaction_base& tx, domain::AuditEntry& e);

struct AuditFilter {
  std::string actor;
  std::string action;
  std::string station_id;
  std::string incident_id;
  std::optional<std::int64_t> from_us, to_us;
  std::int64_t after_seq{0};  ///< cursor: rows with seq > this
  int limit{100};
};
std::vector<domain::AuditEntry> list_audit(pqxx::transaction_base& tx, const AuditFilter& f);

/// Recomputes the chain. Returns the number of rows checked; on the first broken row sets
/// `problem` ("seq 12: hash does not match its contents", ...).
std::int64_t verify_audit(pqxx::transaction_base& tx, std::string& problem);

}  // namespace xiaonao::store
