#pragma once
/// Writes the county's reference data: every batch of one kind in ONE transaction, through
/// COPY into a temporary table and one upsert from it (the REST import and the CLI share it).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/reference.hpp"

namespace xiaonao::store {

/// What one import did.
struct RefCounts {
  std::int64_t received{0};  ///< rows in the batch
  std::int64_t inserted{0};  ///< new ids
  std::int64_t updated{0};   ///< ids that existed (rewritten even when unchanged)
  std::int64_t deleted{0};   ///< replace only: rows of the kind not in the batch
};

/// One import of one kind, open on its own transaction:
/// construct → add() each row (streamed by COPY) → apply() → (more statements on work(),
/// e.g. the audit row) → commit(). Destroyed without commit(), nothing is written.
/// For units, an import sets call_sign, kind, station_id, status and the last position
/// with position_at = now(); speed and heading are left as they are.
class RefImport {
 public:
  /// `statement_timeout_ms` >= 0: the transaction's own statement_timeout (0: none), for
  /// batches bigger than the connection's timeout allows.
  RefImport(pqxx::connection& c, domain::RefKind kind, bool replace, int statement_timeout_ms = -1);
  ~RefImport();
  RefImport(const RefImport&) = delete;
  RefImport& operator=(const RefImport&) = delete;

  /// For a bulk --replace by the table's owner (the CLI): apply() drops the kind's secondary
  /// indexes before the upsert and builds them again after it, which is several times faster
  /// for a whole county but locks the table against readers until commit.
  void rebuild_indexes(bool on) { rebuild_indexes_ = on; }

  /// Streams one validated row into the transaction's temporary table.
  void add(const domain::RefRow& row);
  /// Ends the COPY and upserts (and, with replace, deletes the rows not in the batch).
  RefCounts apply();
  /// The transaction, for statements that must commit with the import.
  pqxx::work& work() { return work_; }
  void commit();

 private:
  domain::RefKind kind_;
  bool replace_;
  pqxx::work work_;
  std::unique_ptr<pqxx::stream_to> copy_;
  std::int64_t received_{0};
  bool rebuild_indexes_{false};
};

/// Rows per kind, exactly counted, in all_ref_kinds() order.
std::vector<std::pair<std::string, std::int64_t>> reference_counts(pqxx::transaction_base& tx);

}  // namespace xiaonao::store
