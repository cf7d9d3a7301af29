#include "xiaonao/store/migrations.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>

#include <pqxx/pqxx>

#include "xiaonao/log/log.hpp"

namespace xiaonao::store {
namespace {

// Any constant works; it only has to be the same for every instance of xiaonaod.
constexpr std::int64_t migration_lock_key = 0x58494e414f4d4947;  // "XINAOMIG"

std::string checksum(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a, enough to notice an edited file
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

int latest_migration_version() {
  const auto& all = embedded_migrations();
  return all.empty() ? 0 : all.back().version;
}

int apply_migrations(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  // A session-level advisory lock: a second instance starting at the same moment waits here
  // and then finds everything applied.
  pqxx::nontransaction(c).exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");
  int applied = 0;
  try {
    pqxx::nontransaction(c).exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    std::map<int, std::pair<std::string, std::string>> done;
    {
      pqxx::read_transaction t(c);
      for (const auto& row : t.exec("SELECT version, name, checksum FROM schema_migrations")) {
        done[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
      }
    }
    for (const auto& [version, info] : done) {
      if (version > latest_migration_version()) {
        throw std::runtime_error("database has migration " + std::to_string(version) + " (" + info.first +
                                 ") which this binary does not know; run a newer xiaonaod");
      }
    }
    for (const auto& m : embedded_migrations()) {
      const auto sum = checksum(m.sql);
      if (auto it = done.find(m.version); it != done.end()) {
        if (it->second.second != sum) {
          throw std::runtime_error("migration " + m.name + " was changed after it was applied (checksum " +
                                   it->second.second + " in the database, " + sum + " here)");
        }
        continue;
      }
      try {
        pqxx::work w(c);
        w.exec(m.sql);
        w.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.version,
                      m.name, sum);
        w.commit();
      } catch (const std::exception& e) {
        throw std::runtime_error("migration " + m.name + " failed: " + e.what());
      }
      log::info("db.migrated", {{"version", m.version}, {"name", m.name}});
      ++applied;
    }
  } catch (...) {
    try {
      pqxx::nontransaction(c).exec("SELECT pg_advisory_unlock_all()");
    } catch (...) {
    }
    throw;
  }
  pqxx::nontransaction(c).exec("SELECT pg_advisory_unlock_all()");
  return applied;
}

}  // namespace xiaonao::store
