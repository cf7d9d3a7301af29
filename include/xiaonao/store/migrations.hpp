#pragma once
/// Schema migrations: numbered SQL files compiled into the binary, applied in order once.
#include <string>
#include <vector>

namespace xiaonao::store {

/// One migration file (sql/NNN_name.sql).
struct Migration {
  int version;
  std::string name;
  std::string sql;
};

/// All migrations known to this binary, ordered by version (generated at build time).
const std::vector<Migration>& embedded_migrations();

/// The highest version known to this binary.
int latest_migration_version();

/// Applies every pending migration, each in its own transaction, under an advisory lock so
/// that two instances starting together apply each file exactly once. Returns how many it
/// applied. Throws std::runtime_error naming the file when one fails, or when the database
/// has a version this binary does not know (a newer binary ran) or a changed checksum.
int apply_migrations(const std::string& conninfo);

}  // namespace xiaonao::store
