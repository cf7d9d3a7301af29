#pragma once
/// Deadlines and escalation (docs/architecture.md, "Deadlines and escalation"): the scheduler
/// that announces every missed deadline exactly once, however many instances run and whenever
/// they restart, and the reader behind GET /api/v1/escalations.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/domain/escalation.hpp"
#include "xiaonao/domain/feed_order.hpp"

namespace xiaonao::store {

/// One deadline a round announced.
struct MissedDeadline {
  std::int64_t id = 0;
  std::string kind;     ///< acknowledge|arrive|feedback|accept|answer|done
  double late_s = 0;    ///< how late it was when announced (database clock)
};

/// What one round announced: the frames to publish after its commit and the deadlines.
struct EscalationRound {
  std::vector<domain::Frame> frames;
  std::vector<MissedDeadline> missed;
};

/// One round in one transaction: locks up to `batch` unmet, unannounced deadlines that are due
/// by the database's clock (FOR UPDATE SKIP LOCKED: rows another instance or a meeting step
/// holds are left to them), stamps fired_at, fired_by = `instance_id` and late_s, and appends
/// one `deadline.missed` event per row (on the deadline's station, so that station's feed and
/// the county feed carry it) before the commit.
EscalationRound fire_due_deadlines(pqxx::connection& c, int batch, const std::string& instance_id);

/// Seconds until the earliest unmet, unannounced deadline is due by the database's clock
/// (negative when it is overdue); nullopt when there is none.
std::optional<double> next_deadline_in(pqxx::connection& c);

/// GET /api/v1/escalations: announced deadlines, newest first, as {"items":[...]}.
/// `visible_station` non-empty limits them to deadlines of that station or of incidents that
/// station sees (its own or shared with it); `nobody` (a principal with neither a station
/// nor county-wide sight) sees none.
nlohmann::json list_escalations(pqxx::connection& c, const domain::escalation::Query& q,
                                const std::string& visible_station, bool nobody = false);

/// Settings of the scheduler.
struct EscalationOptions {
  std::string conninfo;
  int statement_timeout_ms = 0;
  int scan_ms = 250;        ///< config loop.escalation_scan_ms: the longest sleep
  int batch = 500;          ///< config loop.escalation_batch: deadlines per transaction
  std::string instance_id;  ///< written to deadlines.fired_by (empty: host:pid)
};

/// The escalation scheduler: a thread with its own connection that LISTENs on
/// xiaonao_deadlines (store::add_deadlines notifies it, so a new early deadline is seen at
/// once), otherwise sleeps until the next due time or scan_ms, whichever is first, and fires
/// what is due. Reconnects with backoff when the database goes away; rows live in the
/// database, so what came due meanwhile is announced on the next round, late_s saying how late.
class EscalationScheduler {
 public:
  using FrameSink = std::function<void(std::vector<domain::Frame>)>;
  /// Called once per announced deadline with its kind and the lag from due_at to publication.
  using Observe = std::function<void(const std::string& kind, double lag_s)>;

  EscalationScheduler(EscalationOptions options, FrameSink sink, Observe observe);
  ~EscalationScheduler();
  EscalationScheduler(const EscalationScheduler&) = delete;
  EscalationScheduler& operator=(const EscalationScheduler&) = delete;

  void start();
  /// Finishes the round in progress and joins the thread.
  void stop();
  /// Deadlines this instance announced since it started.
  std::uint64_t fired_total() const { return fired_.load(); }
  /// The id written to fired_by.
  const std::string& instance_id() const { return options_.instance_id; }

 private:
  void run();
  EscalationOptions options_;
  FrameSink sink_;
  Observe observe_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> fired_{0};
  std::thread thread_;
};

}  // namespace xiaonao::store
