// The admin CLI: users, integrator keys and the audit chain, straight on the database.
// Every change is audited with the operating-system user as the actor.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "app.hpp"
#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/security/crypto.hpp"
#include "xiaonao/security/tokens.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/migrations.hpp"

namespace xiaonao::app {
namespace {

using nlohmann::json;

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --name value; flags get "1"
};

const std::vector<std::string> kFlags = {"--password-stdin", "--json", "--replace"};

bool parse_args(const std::vector<std::string>& in, Args& out, std::string& error) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto& a = in[i];
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
    } else if (std::find(kFlags.begin(), kFlags.end(), a) != kFlags.end()) {
      out.options[a] = "1";
    } else if (i + 1 < in.size()) {
      out.options[a] = in[++i];
    } else {
      error = a + " needs a value";
      return false;
    }
  }
  return true;
}

std::string os_user() {
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return std::to_string(geteuid());
}

domain::AuditEntry cli_entry(std::string action) {
  domain::AuditEntry e;
  e.actor = "cli:" + os_user();
  e.actor_name = "xiaonaod CLI (" + os_user() + ")";
  e.action = std::move(action);
  return e;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "xiaonaod: %s\n", message.c_str());
  return 2;
}

// --password-stdin reads one line; --password takes it from the command line (visible to
// other local users in the process list: for scripts and demos only).
bool read_password(const Args& a, std::string& out, std::string& error) {
  if (a.options.count("--password-stdin")) {
    if (!std::getline(std::cin, out)) {
      error = "no password on standard input";
      return false;
    }
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return true;
  }
  if (auto it = a.options.find("--password"); it != a.options.end()) {
    out = it->second;
    return true;
  }
  error = "give the password with --password-stdin (or --password)";
  return false;
}

std::string opt(const Args& a, const char* name) {
  const auto it = a.options.find(name);
  return it == a.options.end() ? std::string() : it->second;
}

std::string join_roles(const std::vector<domain::Role>& roles) {
  std::string s;
  for (auto r : roles) s += (s.empty() ? "" : ",") + std::string(domain::role_name(r));
  return s;
}

int user_command(const config::Config& cfg, pqxx::connection& c, const Args& a) {
  const auto sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub == "list") {
    pqxx::read_transaction t(c);
    std::printf("%-12s %-16s %-12s %-8s %s\n", "police_no", "name", "station", "enabled", "roles");
    for (const auto& u : store::list_users(t)) {
      std::printf("%-12s %-16s %-12s %-8s %s\n", u.police_number.c_str(), u.name.c_str(),
                  u.station_id.empty() ? "-" : u.station_id.c_str(), u.enabled ? "yes" : "no", join_roles(u.roles).c_str());
    }
    return 0;
  }
  if (sub == "add") {
    store::UserRow u;
    u.police_number = opt(a, "--police-number");
    u.name = opt(a, "--name");
    u.station_id = opt(a, "--station");
    std::string bad, error, password;
    auto roles = domain::parse_roles(opt(a, "--roles"), bad);
    if (!roles) return fail("unknown role '" + bad + "' (roles: duty_officer, station_chief, county_commander, analyst, integrator, admin)");
    u.roles = *roles;
    if (!read_password(a, password, error)) return fail(error);
    if (auto e = domain::check_new_user(u.police_number, u.name, u.station_id, u.roles, password,
                                        cfg.security.password_min_length))
      return fail(e->field + ": " + e->message);
    u.password_hash = security::hash_password(password, static_cast<unsigned long long>(cfg.security.argon2_ops),
                                              static_cast<std::size_t>(cfg.security.argon2_memory_kib));
    pqxx::work w(c);
    const auto id = store::insert_user(w, u);
    if (!id) return fail("a user with police number " + u.police_number + " exists");
    auto e = cli_entry("user.create");
    e.target = "user:" + *id;
    e.station_id = u.station_id;  // the station chief sees who joined his station
    e.detail = json{{"police_number", u.police_number}, {"roles", join_roles(u.roles)}, {"station_id", u.station_id}}.dump();
    store::append_audit(w, e);
    w.commit();
    std::printf("created user %s (%s), id %s\n", u.police_number.c_str(), u.name.c_str(), id->c_str());
    return 0;
  }
  if ((sub == "passwd" || sub == "disable" || sub == "enable") && a.positional.size() == 3) {
    const auto& number = a.positional[2];
    std::string hash;
    if (sub == "passwd") {
      std::string password, error;
      if (!read_password(a, password, error)) return fail(error);
      if (auto e = domain::check_password(password, cfg.security.password_min_length)) return fail(e->message);
      hash = security::hash_password(password, static_cast<unsigned long long>(cfg.security.argon2_ops),
                                     static_cast<std::size_t>(cfg.security.argon2_memory_kib));
    }
    pqxx::work w(c);
    const bool found = sub == "passwd" ? store::set_password(w, number, hash) : store::set_enabled(w, number, sub == "enable");
    if (!found) return fail("no user with police number " + number);
    auto e = cli_entry(sub == "passwd" ? "user.password" : "user." + sub);
    e.target = "user:" + store::find_user(w, number)->id;
    store::append_audit(w, e);
    w.commit();
    std::printf("%s: %s\n", number.c_str(), sub == "passwd" ? "password changed, sessions revoked" : (sub + "d").c_str());
    return 0;
  }
  return fail("usage: xiaonaod user add|passwd|disable|enable|list (see xiaonaod --help)");
}

int apikey_command(pqxx::connection& c, const Args& a) {
  const auto sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub == "list") {
    pqxx::read_transaction t(c);
    std::printf("%-12s %-20s %-8s %-40s %s\n", "id", "name", "revoked", "scopes", "sources");
    for (const auto& k : store::list_keys(t)) {
      std::string scopes, sources;
      for (auto p : k.scopes) scopes += (scopes.empty() ? "" : ",") + std::string(domain::permission_name(p));
      for (const auto& s : k.sources) sources += (sources.empty() ? "" : ",") + s;
      std::printf("%-12s %-20s %-8s %-40s %s\n", k.id.c_str(), k.name.c_str(), k.revoked ? "yes" : "no",
                  scopes.c_str(), sources.c_str());
    }
    return 0;
  }
  if (sub == "create") {
    store::KeyRow k;
    k.name = opt(a, "--name");
    if (k.name.empty() || k.name.size() > 64) return fail("--name is required (1-64 bytes)");
    std::string bad;
    auto scopes = domain::parse_scopes(opt(a, "--scopes").empty() ? "alerts:write" : opt(a, "--scopes"), bad);
    if (!scopes) return fail("a key cannot have the scope '" + bad + "' (alerts:write, incidents:read, feed:read, metrics:read, categories:read)");
    k.scopes = *scopes;
    const auto sources = opt(a, "--sources");
    if (sources.empty()) return fail("--sources is required: the alert sources the key may send, or '*'");
    for (auto s : domain::split_list(sources)) {
      if (!s.empty()) k.sources.emplace_back(s);
    }
    const auto key = security::new_api_key();
    k.id = key.id;
    k.secret_hash = security::sha256_hex(key.secret);
    k.created_by = "cli:" + os_user();
    pqxx::work w(c);
    store::insert_key(w, k);
    auto e = cli_entry("apikey.create");
    e.target = "key:" + k.id;
    e.detail = json{{"name", k.name}, {"scopes", opt(a, "--scopes")}, {"sources", sources}}.dump();
    store::append_audit(w, e);
    w.commit();
    // The key alone on stdout, so that scripts can capture it; it is never shown again.
    std::printf("%s\n", key.text.c_str());
    std::fprintf(stderr, "created key %s (%s); store it now, it is not shown again\n", k.id.c_str(), k.name.c_str());
    return 0;
  }
  if (sub == "revoke" && a.positional.size() == 3) {
    pqxx::work w(c);
    if (!store::revoke_key(w, a.positional[2])) return fail("no live key with id " + a.positional[2]);
    auto e = cli_entry("apikey.revoke");
    e.target = "key:" + a.positional[2];
    store::append_audit(w, e);
    w.commit();
    std::printf("revoked %s\n", a.positional[2].c_str());
    return 0;
  }
  return fail("usage: xiaonaod apikey create|revoke|list (see xiaonaod --help)");
}

int audit_command(pqxx::connection& c, const Args& a) {
  const auto sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub != "verify") return fail("usage: xiaonaod audit verify");
  pqxx::read_transaction t(c);
  std::string problem;
  const auto n = store::verify_audit(t, problem);
  if (!problem.empty()) {
    std::printf("audit chain BROKEN after %lld good rows: %s\n", static_cast<long long>(n), problem.c_str());
    return 1;
  }
  const auto last = t.exec("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  std::printf("audit chain OK: %lld rows", static_cast<long long>(n));
  // The newest hash, to be written down elsewhere: it anchors the chain against truncation.
  if (!last.empty()) std::printf(", last seq %s hash %s", last[0][0].c_str(), last[0][1].c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

int admin(const config::Config& cfg, const std::vector<std::string>& argv) {
  Args a;
  std::string error;
  if (!parse_args(argv, a, error)) return fail(error);
  if (a.positional.at(0) == "import") {
    if (a.positional.size() != 2 || opt(a, "--kind").empty())
      return fail("usage: xiaonaod import --kind KIND FILE [--replace]");
    return import_command(cfg, opt(a, "--kind"), a.positional[1], a.options.count("--replace") > 0);
  }
  try {
    security::init();
    store::apply_migrations(cfg.db.conninfo);
    auto c = store::open_connection(cfg.db.conninfo, cfg.db.statement_timeout_ms);
    const auto& what = a.positional.at(0);
    if (what == "user") return user_command(cfg, *c, a);
    if (what == "apikey") return apikey_command(*c, a);
    if (what == "audit") return audit_command(*c, a);
    return fail("unknown command " + what);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonaod: %s\n", e.what());
    return 1;
  }
}

}  // namespace xiaonao::app
