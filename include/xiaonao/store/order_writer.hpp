#pragma once
/// The order writer: the order steps of concurrent requests (POST /api/v1/orders/{id}/events,
/// POST /api/v1/incidents/{id}/orders) run one after the other in ONE transaction, with one
/// event append and one commit, as the intake writer batches alerts (docs/architecture.md,
/// "### Orders"). Each request hears its own answer only after the commit.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/domain/loop.hpp"
#include "xiaonao/domain/orders.hpp"
#include "xiaonao/store/commits_in_flight.hpp"
#include "xiaonao/store/event_log.hpp"
#include "xiaonao/store/orders.hpp"

namespace xiaonao::store {

/// Settings of the order writer.
struct OrderWriterOptions {
  std::string conninfo;
  int threads = 1;               ///< config loop.order_writer_threads
  std::size_t batch_max = 64;    ///< steps per transaction at most (config loop.order_batch_max)
  std::size_t queue_limit = 10000;
  int statement_timeout_ms = 5000;
  /// After the first queued step, wait up to this long for more (config
  /// loop.order_batch_gather_ms; 0: never wait, a lone step commits at once).
  int gather_ms = 0;
  domain::loop::DeadlinePolicy policy;
  int utc_offset_minutes = 480;
  /// Each batch holds a ticket here until its frames went to the sink (may be null).
  CommitsInFlight* in_flight = nullptr;
};

/// The order writer. Thread-safe.
class OrderWriter {
 public:
  /// The answer's body (200/201 on success) or the step's refusal; runs on a writer thread
  /// after the commit (or the failure).
  using Callback = std::function<void(domain::Result<std::string>)>;
  /// Receives the feed frames of each committed batch, in seq order, before the callbacks run.
  using CommitSink = std::function<void(std::vector<domain::Frame>)>;

  OrderWriter(OrderWriterOptions options, CommitSink sink);
  ~OrderWriter();
  OrderWriter(const OrderWriter&) = delete;
  OrderWriter& operator=(const OrderWriter&) = delete;

  /// Queues POST /api/v1/orders/{id}/events; false when the queue is full (answer 503).
  bool submit_event(std::string order_id, domain::orders::OrderEventRequest r, OrderCaller who, Callback done);
  /// Queues POST /api/v1/incidents/{id}/orders; false when the queue is full (answer 503).
  bool submit_issue(std::string incident_id, domain::orders::OrderRequest r, OrderCaller who, Callback done);

  std::size_t queue_depth() const;

  /// Counters since start: committed transactions, the steps they carried (their ratio is the
  /// mean batch size, refused steps included) and the seconds spent in them, BEGIN to COMMIT.
  struct Stats {
    std::uint64_t batches{0};
    std::uint64_t steps{0};
    double seconds{0};
    std::uint64_t retries{0};  ///< batches run again after a transient error (deadlock, serialization, connection)
  };
  Stats stats() const;
  /// Writes what is queued, then joins the threads. Later submits are refused.
  void stop();

 private:
  /// One step: runs inside the batch's transaction, appends its events on success.
  using Step = std::function<domain::Result<std::string>(pqxx::work&, std::vector<NewEvent>&)>;
  struct Item {
    Step step;
    Callback done;
  };
  bool submit(Item item);
  void run();

  OrderWriterOptions options_;
  CommitSink sink_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_{false};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> steps_{0};
  std::atomic<std::uint64_t> micros_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::vector<std::thread> threads_;
};

}  // namespace xiaonao::store
