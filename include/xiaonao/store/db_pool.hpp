#pragma once
/// A fixed set of worker threads, each owning one PostgreSQL connection.
/// libpqxx calls block, so they run here and never on the network threads.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>

namespace xiaonao::store {

/// Opens a connection with the session settings every Xiaonao connection uses
/// (UTC time zone, statement timeout, and the application role when one is set).
/// `index_paths`: for the connections of the hot writers (intake, fusion, orders, unit
/// positions), whose statements are all designed around an index and touch a few rows by key: no
/// sequential scans, hash or merge joins (`enable_seqscan`, `enable_hashjoin`, `enable_mergejoin`
/// off), so that a prepared statement's generic plan, made while a table was still small, cannot
/// stay a walk of the whole table as it grows (docs/architecture.md, "Plans of the hot
/// statements").
std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo, int statement_timeout_ms,
                                                  bool index_paths = false);

/// The role open_connection switches to with SET ROLE (config db.app_role); empty: none.
/// Set once at start-up, after migrations (which run as the connecting user), before any
/// connection is opened.
void set_app_role(std::string role);

/// Runs jobs on `size` threads, each with its own connection. The queue is bounded: submit()
/// says "full" instead of growing, and the caller answers 503.
class DbPool {
 public:
  /// A job gets the worker's connection, or nullptr when the database cannot be reached
  /// (the job must then report "unavailable" to its caller).
  using Job = std::function<void(pqxx::connection*)>;

  DbPool(std::string conninfo, int size, std::size_t queue_limit, int statement_timeout_ms);
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  /// Queues a job; false when the queue is full or the pool is stopping.
  bool submit(Job job);
  /// Jobs waiting for a connection (the `xiaonao_db_queue_depth` gauge).
  std::size_t queue_depth() const;
  /// Finishes queued jobs, then joins the threads.
  void stop();

 private:
  void run(int index);

  std::string conninfo_;
  int statement_timeout_ms_;
  std::size_t queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_{false};
  std::vector<std::thread> threads_;
};

/// True when the exception means the connection is gone and must be recreated.
bool is_connection_error(const std::exception& e);

/// True when running the same transaction again may well succeed: the connection dropped, or
/// PostgreSQL chose the transaction as the victim of a deadlock or a serialization failure.
bool is_transient(const std::exception& e);

}  // namespace xiaonao::store
