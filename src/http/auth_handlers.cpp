// Login and sessions, users, integrator keys and the audit log. Every write is audited in the
// transaction that makes it.
#include <boost/asio/post.hpp>
#include <pqxx/pqxx>

#include "auth.hpp"
#include "handler_util.hpp"
#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/security/crypto.hpp"
#include "xiaonao/security/tokens.hpp"
#include "xiaonao/store/auth_store.hpp"

namespace xiaonao::http {

using domain::Error;
using domain::ErrorKind;
using domain::Permission;
using nlohmann::json;

namespace {

json roles_json(const std::vector<domain::Role>& roles) {
  json out = json::array();
  for (auto r : roles) out.push_back(domain::role_name(r));
  return out;
}

json permissions_json(const domain::PermissionSet& set) {
  json out = json::array();
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (set.test(i)) out.push_back(domain::permission_name(static_cast<Permission>(i)));
  }
  return out;
}

json user_json(const store::UserRow& u) {
  return {{"id", u.id},
          {"police_number", u.police_number},
          {"name", u.name},
          {"station_id", u.station_id.empty() ? json(nullptr) : json(u.station_id)},
          {"roles", roles_json(u.roles)},
          {"enabled", u.enabled},
          {"created_at", u.created_at}};
}

json key_json(const store::KeyRow& k) {
  json scopes = json::array();
  for (auto p : k.scopes) scopes.push_back(domain::permission_name(p));
  return {{"id", k.id},           {"name", k.name},       {"scopes", std::move(scopes)}, {"sources", k.sources},
          {"created_by", k.created_by}, {"created_at", k.created_at}, {"revoked", k.revoked}};
}

// The access and refresh tokens of a new or rotated session.
json session_json(const std::string& access, const std::string& refresh, const config::Security& s,
                  const store::UserRow& u) {
  const auto p = domain::user_principal(u.id, u.name, u.station_id, u.roles, "");
  return {{"access_token", access},
          {"token_type", "Bearer"},
          {"expires_in", s.access_ttl_s},
          {"refresh_token", refresh},
          {"refresh_expires_in", s.refresh_ttl_s},
          {"user", {{"id", u.id},
                    {"police_number", u.police_number},
                    {"name", u.name},
                    {"station_id", u.station_id.empty() ? json(nullptr) : json(u.station_id)},
                    {"roles", roles_json(u.roles)},
                    {"permissions", permissions_json(p.permissions)}}}};
}

// Argon2id against a fixed hash when the account does not exist, so the answer takes as long
// for an unknown police number as for a wrong password.
const std::string& dummy_hash() {
  static const std::string h = security::hash_password("xiaonao-no-such-user");
  return h;
}

// Runs `job` where Argon2id belongs: on the hashing pool (inline without one), never on a
// thread that holds a database connection. Should it throw (libsodium out of memory), the
// request is answered 500 through `failed` and the pool goes on.
template <class F>
void on_hashing(Context& ctx, Reply failed, F job) {
  auto run = [failed = std::move(failed), job = std::move(job)]() mutable {
    try {
      job();
    } catch (const std::exception& e) {
      log::error("auth.hash_failed", {{"error", e.what()}});
      failed(error_response({ErrorKind::internal, "internal error", ""}));
    }
  };
  if (ctx.hashing) {
    boost::asio::post(*ctx.hashing, std::move(run));
  } else {
    run();
  }
}

std::string new_password_hash(const Context& ctx, const std::string& password) {
  return security::hash_password(password, static_cast<unsigned long long>(ctx.cfg.security.argon2_ops),
                                 static_cast<std::size_t>(ctx.cfg.security.argon2_memory_kib));
}

void login(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto number = string_member(*body, "police_number", true, 64);
  if (!number) return reply(error_response(number.error()));
  auto password = string_member(*body, "password", true, 256);
  if (!password) return reply(error_response(password.error()));
  const auto now = std::chrono::steady_clock::now();
  if (const double wait = ctx.guard.login_blocked_for(*number, call.address, now); wait > 0)
    return reply(too_many_requests(wait, "too many failed logins; try again later"));
  // Three steps, so that Argon2id (tens of milliseconds of CPU and security.argon2_memory_kib
  // of memory) holds no database connection: on a pool thread, the logins of a shift change
  // would hold every reader connection and stall every view behind them. 1. the account, read
  // on the pool; 2. the password, checked on the hashing pool; 3. the session (or the failure)
  // and its audit entry, in one transaction on the pool, where the account is read again: one
  // disabled or given a new password in between does not log in.
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const Reply answer = [shared_reply](Response r) { (*shared_reply)(std::move(r)); };
  on_db(ctx, answer, call.request_id,
        [&ctx, answer, rid = call.request_id, number = *number, password = *password,
         address = call.address](pqxx::connection& c) -> std::optional<Response> {
          std::optional<store::UserRow> user;
          {
            pqxx::read_transaction r(c);
            user = store::find_user(r, number);
            r.commit();
          }
          auto check = [&ctx, answer, rid, number, password, address, user = std::move(user)]() {
            const bool ok = user ? security::verify_password(password, user->password_hash)
                                 : (security::verify_password(password, dummy_hash()), false);
            on_db(ctx, answer, rid, [&ctx, ok, user, number, address](pqxx::connection& c) {
              pqxx::work w(c);
              const auto now = user ? store::find_user(w, number) : std::nullopt;
              const bool same = now && now->password_hash == user->password_hash;
              domain::AuditEntry e;
              e.actor = user ? "user:" + user->id : "anonymous";
              e.actor_name = user ? user->name + " (" + user->police_number + ")" : number;
              e.station_id = user ? user->station_id : "";
              e.detail = json{{"address", address}}.dump();
              if (!ok || !same || !now->enabled) {
                ctx.guard.login_failed(number, address, std::chrono::steady_clock::now());
                e.action = "auth.login_failed";
                e.reason = !ok ? "wrong police number or password"
                               : !same ? "password changed during the login" : "user disabled";
                store::append_audit(w, e);
                w.commit();
                return unauthorized("wrong police number or password, or the account is disabled");
              }
              ctx.guard.login_succeeded(number);
              const auto access = security::new_access_token();
              const auto refresh = security::new_refresh_token();
              store::insert_session(w, now->id, security::sha256_hex(access), ctx.cfg.security.access_ttl_s,
                                    security::sha256_hex(refresh), ctx.cfg.security.refresh_ttl_s, address);
              e.action = "auth.login";
              store::append_audit(w, e);
              w.commit();
              return json_response(200, session_json(access, refresh, ctx.cfg.security, *now).dump());
            });
          };
          on_hashing(ctx, answer, std::move(check));
          return std::nullopt;
        });
}

void refresh(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  auto token = string_member(*body, "refresh_token", true, 128);
  if (!token) return reply(error_response(token.error()));
  if (!security::looks_like_refresh_token(*token)) return reply(unauthorized("invalid or expired refresh token"));
  on_db(ctx, std::move(reply), call.request_id, [&ctx, token = *token](pqxx::connection& c) {
    pqxx::work w(c);
    const auto access = security::new_access_token();
    const auto refresh = security::new_refresh_token();
    std::string session;
    const auto user = store::rotate_session(w, security::sha256_hex(token), security::sha256_hex(access),
                                            ctx.cfg.security.access_ttl_s, security::sha256_hex(refresh),
                                            ctx.cfg.security.refresh_ttl_s, session);
    if (!user) return unauthorized("invalid or expired refresh token");
    w.commit();
    ctx.credentials.clear();
    return json_response(200, session_json(access, refresh, ctx.cfg.security, *user).dump());
  });
}

void logout(Context& ctx, Call& call, Reply reply) {
  const auto who = call.principal;
  if (who->kind != domain::Principal::Kind::user)
    return reply(error_response({ErrorKind::bad_request, "keys do not log in; an admin revokes them", ""}));
  on_db(ctx, std::move(reply), call.request_id, [&ctx, who](pqxx::connection& c) {
    pqxx::work w(c);
    store::revoke_session(w, who->session_id);
    auto e = domain::audit_entry(*who, "auth.logout");
    store::append_audit(w, e);
    w.commit();
    // This instance forgets at once; the others on the NOTIFY sent at commit.
    ctx.credentials.clear();
    return json_response(200, R"({"status":"logged_out"})");
  });
}

void me(Context&, Call& call, Reply reply) {
  const auto& p = *call.principal;
  json roles = roles_json(p.roles);
  reply(json_response(200, json{{"kind", p.kind == domain::Principal::Kind::user ? "user" : "api_key"},
                                {"id", p.id},
                                {"name", p.name},
                                {"station_id", p.station_id.empty() ? json(nullptr) : json(p.station_id)},
                                {"county_wide", p.county_wide},
                                {"roles", std::move(roles)},
                                {"permissions", permissions_json(p.permissions)},
                                {"sources", p.sources}}
                               .dump()));
}

void list_users(Context& ctx, Call& call, Reply reply) {
  on_db(ctx, std::move(reply), call.request_id, [](pqxx::connection& c) {
    pqxx::read_transaction t(c);
    json items = json::array();
    for (const auto& u : store::list_users(t)) items.push_back(user_json(u));
    return json_response(200, json{{"items", std::move(items)}}.dump());
  });
}

void create_user(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  store::UserRow u;
  for (auto [name, out, required] : {std::tuple{"police_number", &u.police_number, true},
                                     std::tuple{"name", &u.name, true}, std::tuple{"station_id", &u.station_id, false}}) {
    auto v = string_member(*body, name, required, 64);
    if (!v) return reply(error_response(v.error()));
    *out = *v;
  }
  auto password = string_member(*body, "password", true, 256);
  if (!password) return reply(error_response(password.error()));
  const auto roles_it = body->find("roles");
  if (roles_it == body->end()) return reply(error_response({ErrorKind::missing_field, "roles is required", "roles"}));
  if (!roles_it->is_array()) return reply(error_response({ErrorKind::invalid_field, "roles must be an array of role names", "roles"}));
  for (const auto& r : *roles_it) {
    const auto role = r.is_string() ? domain::parse_role(r.get<std::string>()) : std::nullopt;
    if (!role) return reply(error_response({ErrorKind::invalid_field, "unknown role " + r.dump(), "roles"}));
    u.roles.push_back(*role);
  }
  if (auto e = domain::check_new_user(u.police_number, u.name, u.station_id, u.roles, *password,
                                      ctx.cfg.security.password_min_length))
    return reply(error_response(*e));
  // The reply goes to the job, and a copy to on_hashing for a failed hash: only one answers.
  on_hashing(ctx, reply, [&ctx, u, password = *password, who = call.principal, rid = call.request_id,
                          reply]() mutable {
    u.password_hash = new_password_hash(ctx, password);
    on_db(ctx, std::move(reply), rid, [&ctx, u, who](pqxx::connection& c) mutable {
      pqxx::work w(c);
      const auto id = store::insert_user(w, u);
      if (!id) return error_response({ErrorKind::conflict, "a user with this police number exists", "police_number"});
      u.id = *id;
      auto e = domain::audit_entry(*who, "user.create");
      e.target = "user:" + *id;
      if (!u.station_id.empty()) e.station_id = u.station_id;  // the station chief sees it
      e.detail = json{{"police_number", u.police_number}, {"roles", roles_json(u.roles)}, {"station_id", u.station_id}}.dump();
      store::append_audit(w, e);
      w.commit();
      const auto row = store::find_user(w, u.police_number);
      return json_response(201, user_json(*row).dump());
    });
  });
}

// POST /api/v1/users/{police_number}/password and /disable and /enable.
void change_user(Context& ctx, Call& call, Reply reply, const std::string& what) {
  const auto number = call.params.at(0);
  std::string password;
  if (what == "password") {
    auto body = json_object_body(ctx, call);
    if (!body) return reply(error_response(body.error()));
    auto p = string_member(*body, "password", true, 256);
    if (!p) return reply(error_response(p.error()));
    if (auto e = domain::check_password(*p, ctx.cfg.security.password_min_length)) return reply(error_response(*e));
    password = *p;
  }
  // The change, once the new password (if any) is hashed.
  auto apply = [&ctx, number, what, who = call.principal, rid = call.request_id](Reply reply, std::string hash) {
    on_db(ctx, std::move(reply), rid, [&ctx, number, what, hash = std::move(hash), who](pqxx::connection& c) {
      pqxx::work w(c);
      const bool found = what == "password" ? store::set_password(w, number, hash)
                                            : store::set_enabled(w, number, what == "enable");
      if (!found) return error_response({ErrorKind::not_found, "no user with this police number", "police_number"});
      auto e = domain::audit_entry(*who, "user." + what);
      e.target = "user:" + store::find_user(w, number)->id;
      store::append_audit(w, e);
      w.commit();
      ctx.credentials.clear();
      return json_response(200, user_json(*store::find_user(w, number)).dump());
    });
  };
  if (what != "password") return apply(std::move(reply), {});
  on_hashing(ctx, reply, [&ctx, apply, password, reply]() mutable {
    apply(std::move(reply), new_password_hash(ctx, password));
  });
}

void list_keys(Context& ctx, Call& call, Reply reply) {
  on_db(ctx, std::move(reply), call.request_id, [](pqxx::connection& c) {
    pqxx::read_transaction t(c);
    json items = json::array();
    for (const auto& k : store::list_keys(t)) items.push_back(key_json(k));
    return json_response(200, json{{"items", std::move(items)}}.dump());
  });
}

void create_key(Context& ctx, Call& call, Reply reply) {
  auto body = json_object_body(ctx, call);
  if (!body) return reply(error_response(body.error()));
  store::KeyRow k;
  auto name = string_member(*body, "name", true, 64);
  if (!name) return reply(error_response(name.error()));
  if (name->empty()) return reply(error_response({ErrorKind::invalid_field, "name must not be empty", "name"}));
  k.name = *name;
  for (const char* list : {"scopes", "sources"}) {
    const auto it = body->find(list);
    if (it == body->end()) return reply(error_response({ErrorKind::missing_field, std::string(list) + " is required", list}));
    if (!it->is_array() || it->empty() || it->size() > 64)
      return reply(error_response({ErrorKind::invalid_field, std::string(list) + " must be a non-empty array of strings", list}));
    for (const auto& v : *it) {
      const auto s = v.is_string() ? v.get<std::string>() : std::string();
      const bool code = !s.empty() && s.size() <= 32 &&
                        s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_:*-") == std::string::npos;
      if (!code) return reply(error_response({ErrorKind::invalid_field, std::string(list) + " has a bad entry " + v.dump(), list}));
      if (std::string_view(list) == "sources") {
        k.sources.push_back(s);
        continue;
      }
      const auto p = domain::parse_permission(s);
      if (!p || !domain::key_grantable_permissions().test(static_cast<std::size_t>(*p)))
        return reply(error_response({ErrorKind::invalid_field, "a key cannot have the scope " + v.dump(), "scopes"}));
      k.scopes.push_back(*p);
    }
  }
  on_db(ctx, std::move(reply), call.request_id, [k, who = call.principal](pqxx::connection& c) mutable {
    const auto key = security::new_api_key();
    k.id = key.id;
    k.secret_hash = security::sha256_hex(key.secret);
    k.created_by = who->ref();
    pqxx::work w(c);
    store::insert_key(w, k);
    auto e = domain::audit_entry(*who, "apikey.create");
    e.target = "key:" + k.id;
    e.detail = key_json(k).dump();
    store::append_audit(w, e);
    w.commit();
    auto out = key_json(*store::find_key(w, k.id));
    out["key"] = key.text;  // shown this once; only its hash is kept
    return json_response(201, out.dump());
  });
}

void revoke_key(Context& ctx, Call& call, Reply reply) {
  const auto id = call.params.at(0);
  on_db(ctx, std::move(reply), call.request_id, [&ctx, id, who = call.principal](pqxx::connection& c) {
    pqxx::work w(c);
    if (!store::revoke_key(w, id)) return error_response({ErrorKind::not_found, "no live key with this id", "id"});
    auto e = domain::audit_entry(*who, "apikey.revoke");
    e.target = "key:" + id;
    store::append_audit(w, e);
    w.commit();
    ctx.credentials.clear();
    return json_response(200, R"({"status":"revoked"})");
  });
}

json audit_json(const domain::AuditEntry& e) {
  auto detail = json::parse(e.detail, nullptr, false);
  return {{"seq", e.seq},
          {"at", domain::format_rfc3339(domain::TimePoint(std::chrono::microseconds(e.at_us)))},
          {"actor", e.actor},
          {"actor_name", e.actor_name},
          {"station_id", e.station_id.empty() ? json(nullptr) : json(e.station_id)},
          {"action", e.action},
          {"target", e.target.empty() ? json(nullptr) : json(e.target)},
          {"incident_id", e.incident_id.empty() ? json(nullptr) : json(e.incident_id)},
          {"reason", e.reason.empty() ? json(nullptr) : json(e.reason)},
          {"detail", detail.is_discarded() ? json(e.detail) : detail},
          {"hash", e.hash}};
}

void list_audit(Context& ctx, Call& call, Reply reply) {
  store::AuditFilter f;
  for (auto [key, out] : {std::pair{"actor", &f.actor}, std::pair{"action", &f.action},
                          std::pair{"station", &f.station_id}, std::pair{"incident_id", &f.incident_id}}) {
    if (auto it = call.query.find(key); it != call.query.end()) {
      if (it->second.empty() || it->second.size() > 128)
        return reply(error_response({ErrorKind::bad_request, std::string(key) + " must be 1-128 bytes", key}));
      *out = it->second;
    }
  }
  if (!f.incident_id.empty() && !domain::is_uuid(f.incident_id))
    return reply(error_response({ErrorKind::bad_request, "incident_id must be a UUID", "incident_id"}));
  for (const char* key : {"from", "to"}) {
    if (auto it = call.query.find(key); it != call.query.end()) {
      auto t = domain::parse_rfc3339(it->second);
      if (!t) return reply(error_response({ErrorKind::bad_request, std::string(key) + " must be an RFC 3339 time", key}));
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
      (std::string_view(key) == "from" ? f.from_us : f.to_us) = us;
    }
  }
  for (auto [key, out, lo, hi] : {std::tuple{"after", &f.after_seq, 0LL, 999999999999999LL},
                                  std::tuple{"limit", static_cast<std::int64_t*>(nullptr), 1LL, 1000LL}}) {
    if (auto it = call.query.find(key); it != call.query.end()) {
      const auto& s = it->second;
      if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(s) < lo || std::stoll(s) > hi)
        return reply(error_response({ErrorKind::bad_request, std::string(key) + " must be an integer from " +
                                                                 std::to_string(lo) + " to " + std::to_string(hi), key}));
      if (out) *out = std::stoll(s);
      else f.limit = static_cast<int>(std::stoll(s));
    }
  }
  // A station chief reads his own station's rows only.
  if (!call.principal->county_wide) f.station_id = call.principal->station_id;
  on_db(ctx, std::move(reply), call.request_id, [f](pqxx::connection& c) {
    pqxx::read_transaction t(c);
    const auto rows = store::list_audit(t, f);
    json items = json::array();
    for (const auto& e : rows) items.push_back(audit_json(e));
    json next = rows.size() == static_cast<std::size_t>(f.limit) ? json(rows.back().seq) : json(nullptr);
    return json_response(200, json{{"items", std::move(items)}, {"next_after", std::move(next)}}.dump());
  });
}

}  // namespace

void register_auth_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = Permission;
  auto bind = [&ctx](void (*fn)(Context&, Call&, Reply)) {
    return [&ctx, fn](Call& call, Reply reply) { fn(ctx, call, std::move(reply)); };
  };
  r.add(verb::post, "/api/v1/auth/login", P::open, bind(login));
  r.add(verb::post, "/api/v1/auth/refresh", P::open, bind(refresh));
  r.add(verb::post, "/api/v1/auth/logout", P::self, bind(logout));
  r.add(verb::get, "/api/v1/auth/me", P::self, bind(me));
  r.add(verb::get, "/api/v1/users", P::users_manage, bind(list_users));
  r.add(verb::post, "/api/v1/users", P::users_manage, bind(create_user));
  for (const char* what : {"password", "disable", "enable"}) {
    r.add(verb::post, std::string("/api/v1/users/{police_number}/") + what, P::users_manage,
          [&ctx, what](Call& call, Reply reply) { change_user(ctx, call, std::move(reply), what); });
  }
  r.add(verb::get, "/api/v1/apikeys", P::apikeys_manage, bind(list_keys));
  r.add(verb::post, "/api/v1/apikeys", P::apikeys_manage, bind(create_key));
  r.add(verb::delete_, "/api/v1/apikeys/{id}", P::apikeys_manage, bind(revoke_key));
  r.add(verb::get, "/api/v1/audit", P::audit_read, bind(list_audit));
}

}  // namespace xiaonao::http
