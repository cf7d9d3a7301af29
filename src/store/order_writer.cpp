#include "xiaonao/store/order_writer.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include "xiaonao/domain/time.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "batch_retry.hpp"

namespace xiaonao::store {
namespace {

// The writer's connection with the order steps' statements prepared (the issue path prepares
// its own on first use, store/prepared.hpp).
std::unique_ptr<pqxx::connection> open_order_connection(const OrderWriterOptions& o) {
  auto c = open_connection(o.conninfo, o.statement_timeout_ms, true);
  prepare_order_statements(*c);
  return c;
}

}  // namespace

OrderWriter::OrderWriter(OrderWriterOptions options, CommitSink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  for (int i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this, i] {
      log::name_thread("xn-orders-" + std::to_string(i));
      run();
    });
}

OrderWriter::~OrderWriter() { stop(); }

bool OrderWriter::submit(Item item) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= options_.queue_limit) return false;
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
  return true;
}

bool OrderWriter::submit_event(std::string order_id, domain::orders::OrderEventRequest r, OrderCaller who,
                               Callback done) {
  const auto& o = options_;
  return submit(Item{[&o, id = std::move(order_id), r = std::move(r), who = std::move(who)](
                         pqxx::work& w, std::vector<NewEvent>& events) {
                       return record_order_event_in(w, id, r, who, o.policy, o.utc_offset_minutes, events);
                     },
                     std::move(done)});
}

bool OrderWriter::submit_issue(std::string incident_id, domain::orders::OrderRequest r, OrderCaller who,
                               Callback done) {
  const auto& o = options_;
  return submit(Item{[&o, id = std::move(incident_id), r = std::move(r), who = std::move(who)](
                         pqxx::work& w, std::vector<NewEvent>& events) {
                       return issue_orders_in(w, id, r, who, o.policy, o.utc_offset_minutes, events);
                     },
                     std::move(done)});
}

std::size_t OrderWriter::queue_depth() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

OrderWriter::Stats OrderWriter::stats() const {
  return Stats{batches_.load(std::memory_order_relaxed), steps_.load(std::memory_order_relaxed),
               static_cast<double>(micros_.load(std::memory_order_relaxed)) / 1e6,
               retries_.load(std::memory_order_relaxed)};
}

void OrderWriter::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void OrderWriter::run() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = open_order_connection(options_);
  } catch (const std::exception& e) {
    log::warn("orders.connect_failed", {{"error", e.what()}});
  }
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      // Optionally wait a little for more steps to share the commit (tests use it to make
      // batches on purpose; 0, the default, never waits).
      if (options_.gather_ms > 0)
        cv_.wait_for(lk, std::chrono::milliseconds(options_.gather_ms),
                     [&] { return stopping_ || queue_.size() >= options_.batch_max; });
      // Everything queued now, in arrival order: two steps on one order run in the order
      // their requests came, each seeing the other's writes as if committed before it.
      while (!queue_.empty() && batch.size() < options_.batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // A refusal is a result, not a failure. A deadlock is transient: a batch locks several
    // incidents, orders and units in request order, so it can cross a transaction that locks
    // two of them the other way round.
    detail::write_with_retries(std::move(batch), conn, {"orders", 20, &retries_}, [&](std::vector<Item>& items) {
      if (!conn) conn = open_order_connection(options_);
      std::optional<CommitsInFlight::Ticket> ticket;
      if (options_.in_flight) ticket.emplace(options_.in_flight->begin());
      const auto started = std::chrono::steady_clock::now();
      std::vector<domain::Result<std::string>> results;
      results.reserve(items.size());
      std::vector<NewEvent> events;
      pqxx::work w(*conn);
      // Each step locks what it changes (incident → order → unit) and checks before its
      // first write, so a refused step leaves nothing behind; its locks go with the commit.
      for (auto& it : items) results.push_back(it.step(w, events));
      // Last: the feed_seq lock is held only for the append and the commit.
      const auto at = domain::format_rfc3339(domain::now_utc());
      std::int64_t last = 0;
      if (!events.empty())
        last = w.exec_prepared1("xn_append", events_param(events), static_cast<std::int64_t>(events.size()), at)[0]
                   .as<std::int64_t>();
      w.commit();
      micros_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                       std::chrono::steady_clock::now() - started)
                                                       .count()),
                        std::memory_order_relaxed);
      batches_.fetch_add(1, std::memory_order_relaxed);
      steps_.fetch_add(items.size(), std::memory_order_relaxed);
      if (!events.empty()) sink_(event_frames(events, last, at));
      ticket.reset();
      for (std::size_t i = 0; i < items.size(); ++i) items[i].done(std::move(results[i]));
    });
  }
}

}  // namespace xiaonao::store
