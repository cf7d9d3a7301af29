#pragma once
/// Durable alert intake: concurrent alerts are batched into shared transactions, each alert
/// gets its incident and its feed events in the same commit, and the caller hears back only
/// after COMMIT returned.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/store/commits_in_flight.hpp"
#include "xiaonao/store/fusion.hpp"

namespace xiaonao::store {

class ReferenceCache;

/// What the client is told about one accepted alert.
struct IngestResult {
  std::string alert_id;
  std::string incident_id;
  std::string incident_number;
  bool merged{false};
  bool created{false};  ///< false: (source, source_ref) was already stored; nothing written
};

/// The JSON body of the answer to POST /api/v1/alerts for `r` (status 201 when r.created,
/// else 200), written without a JSON tree.
std::string answer_json(const IngestResult& r);

/// Settings of the writer.
struct AlertWriterOptions {
  std::string conninfo;
  int threads = 2;
  /// The first writer takes every batch; each other one is an overflow writer that takes a
  /// batch only while the first has been on its own for this long (a batch waiting on a lock,
  /// or more than one writer can keep up with). 0: every writer takes batches as they come.
  int overflow_ms = 20;
  std::size_t batch_max = 256;
  int gather_ms = 0;  ///< wait this long after the first alert for more to share its batch (0: never)
  std::size_t queue_limit = 10000;
  int statement_timeout_ms = 5000;
  int utc_offset_minutes = 480;
  /// Fusion inside the intake transaction (locate, owner, merge; docs/architecture.md "Fusion").
  int nearest_zone_m = 500;
  int merge_radius_m = 200;  ///< 0: merging is off
  int merge_window_s = 600;
  /// Sources whose alerts open their incident already assessed (config loop.auto_assess_sources).
  std::vector<std::string> auto_assess_sources;
  double address_min_score = 0.3;
  double address_sure_score = 0.6;
  /// Set: cameras, units, household and history (store::fuse_parts) of the incidents a batch
  /// opens or joins run inside the batch's transaction, before the event append, so their
  /// `incident.fused` events share its commit. Should that part fail (not a transient error),
  /// the batch runs again without it and the incidents go to `after_commit`.
  std::optional<FusionOptions> fuse;
  /// The reference data in memory; null (or stale for a batch): locate, owner and cameras read
  /// the tables.
  ReferenceCache* reference = nullptr;
  /// Called on the writer thread after each commit with the incidents it opened or that
  /// alerts joined and that are not fused yet (for the fusion worker). May be empty.
  std::function<void(std::vector<std::string>)> after_commit;
  /// Fusion timings of a batch that located alerts: "intake" (locate + owner + merge, once),
  /// "parts" (fuse_parts, once) and "full" (from locate to the fused result, once per new alert:
  /// what each alert waited for its fusion, without the commit; an alert located from memory in
  /// `submit` adds that time of its own to the batch's). May be empty.
  std::function<void(std::string_view stage, double seconds)> observe_fusion;
  /// Each batch holds a ticket here until its frames went to the sink (may be null).
  CommitsInFlight* in_flight = nullptr;
};

/// The intake writer. Thread-safe.
class AlertWriter {
 public:
  using Callback = std::function<void(domain::Result<IngestResult>)>;
  /// Receives the feed frames of each committed batch, in seq order.
  using CommitSink = std::function<void(std::vector<domain::Frame>)>;

  /// `priority` must be resolved (category default applied) before submit.
  AlertWriter(AlertWriterOptions options, CommitSink sink);
  ~AlertWriter();
  AlertWriter(const AlertWriter&) = delete;
  AlertWriter& operator=(const AlertWriter&) = delete;

  /// Queues an alert; false when the queue is full (answer 503). The callback runs on a
  /// writer thread after the commit (or the failure).
  bool submit(domain::AlertInput alert, Callback done);
  std::size_t queue_depth() const;

  /// Counters since start: committed intake transactions, the alerts they carried (their
  /// ratio is the mean batch size) and the seconds spent inside them, from BEGIN to COMMIT;
  /// the incidents fused whose parts came with the merge look-up (a guess that held) and those
  /// that needed the parts statement after it.
  struct Stats {
    std::uint64_t batches{0};
    std::uint64_t alerts{0};
    double seconds{0};
    std::uint64_t parts_guessed{0};
    std::uint64_t parts_rerun{0};
    std::uint64_t retries{0};  ///< batches run again after a transient failure
  };
  Stats stats() const;
  /// Writes what is queued, then joins the threads.
  void stop();

 private:
  struct Item {
    domain::AlertInput alert;
    Callback done;
    std::optional<PreLocated> pre;  ///< its locate from memory, worked out in submit
  };
  void run(bool first);
  /// Under mu_: whether an overflow writer may take a batch now (else until when to wait; none:
  /// until notified).
  bool overflow_may_take(std::optional<std::chrono::steady_clock::time_point>& until) const;

  AlertWriterOptions options_;
  CommitSink sink_;
  mutable std::mutex mu_;
  std::condition_variable cv_;           // the first writer's
  std::condition_variable overflow_cv_;  // the overflow writers'
  std::deque<Item> queue_;
  bool stopping_{false};
  /// When the first writer took the batch it is on (none: it is waiting).
  std::optional<std::chrono::steady_clock::time_point> first_busy_since_;
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> batch_alerts_{0};
  std::atomic<std::uint64_t> batch_micros_{0};
  std::atomic<std::uint64_t> parts_guessed_{0};
  std::atomic<std::uint64_t> parts_rerun_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::vector<std::thread> threads_;
};

}  // namespace xiaonao::store
