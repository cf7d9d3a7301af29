#pragma once
/// The reference data that fusion reads at intake, held in memory (docs/architecture.md,
/// "Reference data in memory"): loads the kinds of domain::reference::Index from the database,
/// reloads the ones whose version moved (on a NOTIFY of 017's trigger, or when an intake batch
/// found its picture stale), and hands out the current picture. A reader that finds the picture
/// stale fuses with SQL until the reload is done: the picture is never trusted blindly.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "xiaonao/domain/reference_index.hpp"

namespace xiaonao::store {

/// Loads a picture of the cached kinds in one snapshot: the kinds whose version equals
/// `previous`'s are shared with it, the others read from their tables.
std::shared_ptr<const domain::reference::Index> load_reference(pqxx::connection& c,
                                                               const domain::reference::Index* previous);

class ReferenceCache {
 public:
  explicit ReferenceCache(std::string conninfo);
  ~ReferenceCache();
  ReferenceCache(const ReferenceCache&) = delete;
  ReferenceCache& operator=(const ReferenceCache&) = delete;

  /// Starts the reload thread, which loads the first picture at once.
  void start();
  void stop();
  /// Asks the reload thread to bring the picture up to date (cheap; requests coalesce).
  void request_reload();
  /// The current picture; null before the first load.
  std::shared_ptr<const domain::reference::Index> current() const;
  /// Returns the current picture if its versions sum to `db_version_sum`, else null (and asks
  /// for a reload): what an intake batch calls with the sum its first statement read.
  std::shared_ptr<const domain::reference::Index> current_for(std::int64_t db_version_sum);

  /// Whether the first load has been tried (loaded or failed): until then intake fuses from the
  /// tables, much slower at a county's size, so /readyz waits for it.
  bool first_load_tried() const { return tried_; }

  std::uint64_t reloads() const { return reloads_; }
  std::uint64_t stale_reads() const { return stale_reads_; }

 private:
  void run();
  std::string conninfo_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_{true};
  bool stopping_{false};
  std::shared_ptr<const domain::reference::Index> index_;
  std::atomic<std::uint64_t> reloads_{0}, stale_reads_{0};
  std::atomic<bool> tried_{false};
  std::thread thread_;
};

}  // namespace xiaonao::store
