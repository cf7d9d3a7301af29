#include "xiaonao/store/auth_store.hpp"

#include <chrono>

#include <pqxx/pqxx>

#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/security/crypto.hpp"

namespace xiaonao::store {
namespace {

// Serializes audit appends (any transaction, any instance) so the chain stays linear.
constexpr long long kAuditLockKey = 0x78616175646974;  // "xaudit"

// array_to_string(...) of a stored list back into its items ('' is the empty list).
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  for (auto item : domain::split_list(s)) {
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

std::vector<domain::Role> roles_of(const std::string& stored) {
  std::vector<domain::Role> roles;
  for (const auto& s : split(stored)) {
    if (auto role = domain::parse_role(s)) roles.push_back(*role);
  }
  return roles;
}

template <class T, class F>
std::string join(const std::vector<T>& v, F name) {
  std::string out;
  for (const auto& x : v) {
    if (!out.empty()) out += ',';
    out += name(x);
  }
  return out;
}

const char* null_if_empty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }
std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

constexpr const char* kUserColumns =
    "id::text, police_number, name, station_id, array_to_string(roles, ','), password_hash, enabled, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

UserRow user_row(const pqxx::row& r) {
  UserRow u;
  u.id = r[0].as<std::string>();
  u.police_number = r[1].as<std::string>();
  u.name = r[2].as<std::string>();
  u.station_id = text(r[3]);
  u.roles = roles_of(r[4].as<std::string>());
  u.password_hash = r[5].as<std::string>();
  u.enabled = r[6].as<bool>();
  u.created_at = r[7].as<std::string>();
  return u;
}

constexpr const char* kKeyColumns =
    "id, name, secret_hash, array_to_string(scopes, ','), array_to_string(sources, ','), created_by, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), revoked_at IS NOT NULL";

KeyRow key_row(const pqxx::row& r) {
  KeyRow k;
  k.id = r[0].as<std::string>();
  k.name = r[1].as<std::string>();
  k.secret_hash = r[2].as<std::string>();
  for (const auto& s : split(r[3].as<std::string>())) {
    if (auto p = domain::parse_permission(s)) k.scopes.push_back(*p);
  }
  k.sources = split(r[4].as<std::string>());
  k.created_by = r[5].as<std::string>();
  k.created_at = r[6].as<std::string>();
  k.revoked = r[7].as<bool>();
  return k;
}

void revoke_user_sessions(pqxx::transaction_base& tx, const std::string& user_id) {
  tx.exec_params("UPDATE auth_sessions SET revoked_at = now() WHERE user_id = $1::bigint AND revoked_at IS NULL",
                 user_id);
  notify_auth_change(tx);
}

}  // namespace

std::optional<UserRow> find_user(pqxx::transaction_base& tx, const std::string& police_number) {
  const auto r = tx.exec_params(std::string("SELECT ") + kUserColumns + " FROM users WHERE police_number = $1",
                                police_number);
  if (r.empty()) return std::nullopt;
  return user_row(r[0]);
}

std::vector<UserRow> list_users(pqxx::transaction_base& tx) {
  std::vector<UserRow> out;
  for (const auto& r : tx.exec(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY police_number")) {
    out.push_back(user_row(r));
  }
  return out;
}

std::optional<std::string> insert_user(pqxx::transaction_base& tx, const UserRow& u) {
  const auto roles = join(u.roles, [](domain::Role r) { return domain::role_name(r); });
  const auto r = tx.exec_params(
      "INSERT INTO users (police_number, name, station_id, roles, password_hash, enabled) "
      "VALUES ($1, $2, $3, string_to_array($4, ','), $5, $6) ON CONFLICT (police_number) DO NOTHING "
      "RETURNING id::text",
      u.police_number, u.name, null_if_empty(u.station_id), roles, u.password_hash, u.enabled);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

bool set_password(pqxx::transaction_base& tx, const std::string& police_number, const std::string& hash) {
  const auto r = tx.exec_params(
      "UPDATE users SET password_hash = $2, updated_at = now() WHERE police_number = $1 RETURNING id::text",
      police_number, hash);
  if (r.empty()) return false;
  revoke_user_sessions(tx, r[0][0].as<std::string>());
  return true;
}

bool set_enabled(pqxx::transaction_base& tx, const std::string& police_number, bool enabled) {
  const auto r = tx.exec_params(
      "UPDATE users SET enabled = $2, updated_at = now() WHERE police_number = $1 RETURNING id::text", police_number,
      enabled);
  if (r.empty()) return false;
  if (!enabled) revoke_user_sessions(tx, r[0][0].as<std::string>());
  return true;
}

std::string insert_session(pqxx::transaction_base& tx, const std::string& user_id, const std::string& access_hash,
                           int access_ttl_s, const std::string& refresh_hash, int refresh_ttl_s,
                           const std::string& address) {
  const auto id = domain::new_uuid();
  tx.exec_params(
      "INSERT INTO auth_sessions (id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, "
      "address) VALUES ($1, $2::bigint, $3, now() + $4 * interval '1 second', $5, now() + $6 * interval '1 second', "
      "$7)",
      id, user_id, access_hash, access_ttl_s, refresh_hash, refresh_ttl_s, null_if_empty(address));
  return id;
}

std::optional<TokenInfo> find_access_token(pqxx::transaction_base& tx, const std::string& access_hash) {
  // clock_timestamp, not now(): the caller may reuse one transaction for several checks.
  const auto r = tx.exec_params(
      "SELECT u.id::text, u.name, u.police_number, u.station_id, array_to_string(u.roles, ','), s.id::text, "
      "extract(epoch FROM s.access_expires_at - clock_timestamp())::float8 "
      "FROM auth_sessions s JOIN users u ON u.id = s.user_id "
      "WHERE s.access_hash = $1 AND s.revoked_at IS NULL AND s.access_expires_at > clock_timestamp() AND u.enabled",
      access_hash);
  if (r.empty()) return std::nullopt;
  const auto roles = roles_of(r[0][4].as<std::string>());
  TokenInfo t;
  t.principal = domain::user_principal(r[0][0].as<std::string>(),
                                       r[0][1].as<std::string>() + " (" + r[0][2].as<std::string>() + ")",
                                       text(r[0][3]), roles, r[0][5].as<std::string>());
  t.expires_in_s = r[0][6].as<double>();
  return t;
}

std::optional<UserRow> rotate_session(pqxx::transaction_base& tx, const std::string& refresh_hash,
                                      const std::string& new_access_hash, int access_ttl_s,
                                      const std::string& new_refresh_hash, int refresh_ttl_s,
                                      std::string& session_id) {
  const auto r = tx.exec_params(
      "UPDATE auth_sessions s SET access_hash = $2, access_expires_at = now() + $3 * interval '1 second', "
      "refresh_hash = $4, refresh_expires_at = now() + $5 * interval '1 second' "
      "FROM users u WHERE u.id = s.user_id AND u.enabled AND s.refresh_hash = $1 AND s.revoked_at IS NULL "
      "AND s.refresh_expires_at > now() RETURNING s.id::text, u.police_number",
      refresh_hash, new_access_hash, access_ttl_s, new_refresh_hash, refresh_ttl_s);
  if (r.empty()) return std::nullopt;
  session_id = r[0][0].as<std::string>();
  // The old access token dies with the rotation: caches must forget it.
  notify_auth_change(tx);
  return find_user(tx, r[0][1].as<std::string>());
}

bool revoke_session(pqxx::transaction_base& tx, const std::string& session_id) {
  const auto r = tx.exec_params(
      "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL RETURNING id",
      session_id);
  notify_auth_change(tx);
  return !r.empty();
}

void notify_auth_change(pqxx::transaction_base& tx) {
  tx.exec(std::string("SELECT pg_notify('") + kAuthChannel + "', '')");
}

void insert_key(pqxx::transaction_base& tx, const KeyRow& k) {
  tx.exec_params(
      "INSERT INTO api_keys (id, name, secret_hash, scopes, sources, created_by) "
      "VALUES ($1, $2, $3, string_to_array($4, ','), string_to_array($5, ','), $6)",
      k.id, k.name, k.secret_hash, join(k.scopes, [](domain::Permission p) { return domain::permission_name(p); }),
      join(k.sources, [](const std::string& s) { return s; }), k.created_by);
}

std::optional<KeyRow> find_key(pqxx::transaction_base& tx, const std::string& id) {
  const auto r = tx.exec_params(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE id = $1", id);
  if (r.empty()) return std::nullopt;
  return key_row(r[0]);
}

std::vector<KeyRow> list_keys(pqxx::transaction_base& tx) {
  std::vector<KeyRow> out;
  for (const auto& r : tx.exec(std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY created_at, id")) {
    out.push_back(key_row(r));
  }
  return out;
}

bool revoke_key(pqxx::transaction_base& tx, const std::string& id) {
  const auto r =
      tx.exec_params("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id", id);
  notify_auth_change(tx);
  return !r.empty();
}

void append_audit(pqxx::transaction_base& tx, domain::AuditEntry& e) {
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kAuditLockKey) + ")");
  const auto last = tx.exec("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  e.seq = last.empty() ? 1 : last[0][0].as<std::int64_t>() + 1;
  e.prev_hash = last.empty() ? domain::kAuditGenesis : last[0][1].as<std::string>();
  e.at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  if (e.detail.empty()) e.detail = "{}";
  e.hash = security::sha256_hex(domain::audit_canonical(e));
  tx.exec_params(
      "INSERT INTO audit_log (seq, at, actor, actor_name, station_id, action, target, incident_id, reason, detail, "
      "prev_hash, hash) VALUES ($1, 'epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3, $4, $5, $6, "
      "$7, $8::uuid, $9, $10, $11, $12)",
      e.seq, e.at_us, e.actor, e.actor_name, null_if_empty(e.station_id), e.action, null_if_empty(e.target),
      null_if_empty(e.incident_id), null_if_empty(e.reason), e.detail, e.prev_hash, e.hash);
}

namespace {
constexpr const char* kAuditColumns =
    "seq, (extract(epoch FROM at) * 1000000)::bigint, actor, actor_name, station_id, action, target, "
    "incident_id::text, reason, detail, prev_hash, hash";

domain::AuditEntry audit_row(const pqxx::row& r) {
  domain::AuditEntry e;
  e.seq = r[0].as<std::int64_t>();
  e.at_us = r[1].as<std::int64_t>();
  e.actor = r[2].as<std::string>();
  e.actor_name = r[3].as<std::string>();
  e.station_id = text(r[4]);
  e.action = r[5].as<std::string>();
  e.target = text(r[6]);
  e.incident_id = text(r[7]);
  e.reason = text(r[8]);
  e.detail = r[9].as<std::string>();
  e.prev_hash = r[10].as<std::string>();
  e.hash = r[11].as<std::string>();
  return e;
}
}  // namespace

std::vector<domain::AuditEntry> list_audit(pqxx::transaction_base& tx, const AuditFilter& f) {
  std::vector<domain::AuditEntry> out;
  const auto r = tx.exec_params(
      std::string("SELECT ") + kAuditColumns +
          " FROM audit_log WHERE seq > $1 AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3) "
          "AND ($4::text IS NULL OR station_id = $4) AND ($5::uuid IS NULL OR incident_id = $5::uuid) "
          "AND ($6::bigint IS NULL OR at >= 'epoch'::timestamptz + $6::bigint * interval '1 microsecond') "
          "AND ($7::bigint IS NULL OR at < 'epoch'::timestamptz + $7::bigint * interval '1 microsecond') "
          "ORDER BY seq LIMIT $8",
      f.after_seq, null_if_empty(f.actor), null_if_empty(f.action), null_if_empty(f.station_id),
      null_if_empty(f.incident_id), f.from_us ? std::to_string(*f.from_us).c_str() : nullptr,
      f.to_us ? std::to_string(*f.to_us).c_str() : nullptr, f.limit);
  for (const auto& row : r) out.push_back(audit_row(row));
  return out;
}

std::int64_t verify_audit(pqxx::transaction_base& tx, std::string& problem) {
  std::int64_t checked = 0;
  std::string prev = domain::kAuditGenesis;
  std::int64_t expected_seq = 1;
  std::int64_t after = 0;
  // In pages, so that a long log does not have to fit in memory.
  while (true) {
    const auto r = tx.exec_params(std::string("SELECT ") + kAuditColumns +
                                      " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000",
                                  after);
    if (r.empty()) return checked;
    for (const auto& row : r) {
      const auto e = audit_row(row);
      const auto at = "seq " + std::to_string(e.seq) + ": ";
      if (e.seq != expected_seq) {
        problem = at + "expected seq " + std::to_string(expected_seq) + " (a row is missing)";
        return checked;
      }
      if (e.prev_hash != prev) {
        problem = at + "prev_hash does not match the hash of the row before";
        return checked;
      }
      if (security::sha256_hex(domain::audit_canonical(e)) != e.hash) {
        problem = at + "hash does not match the row's contents (the row was changed)";
        return checked;
      }
      prev = e.hash;
      ++expected_seq;
      ++checked;
      after = e.seq;
    }
  }
}

}  // namespace xiaonao::store
