#pragma once
// Private to the store module: running a fixed SQL text as a named prepared statement.
#include <string>
#include <utility>

#include <pqxx/pqxx>

namespace xiaonao::store::detail {

/// Runs `sql` as the prepared statement `name` on the transaction's connection, preparing it
/// there on first use (libpqxx prepares lazily; registering the same text again is a string
/// compare). For the closed loop's hot statements, which otherwise are parsed and planned on
/// every call. `name` must always come with the same `sql`.
template <class... Args>
pqxx::result exec_named(pqxx::transaction_base& t, const char* name, const std::string& sql, Args&&... args) {
  t.conn().prepare(name, sql);
  return t.exec_prepared(name, std::forward<Args>(args)...);
}

}  // namespace xiaonao::store::detail
