#include "xiaonao/store/db_pool.hpp"

#include <pqxx/pqxx>

#include "xiaonao/log/log.hpp"

namespace xiaonao::store {

namespace {
std::string& app_role() {
  static std::string role;
  return role;
}
}  // namespace

void set_app_role(std::string role) { app_role() = std::move(role); }

std::unique_ptr<pqxx::connection> open_connection(const std::string& conninfo, int statement_timeout_ms,
                                                  bool index_paths) {
  auto c = std::make_unique<pqxx::connection>(conninfo);
  pqxx::nontransaction n(*c);
  // jit = off: every statement here is a short indexed one, where compiling a plan (tens of ms,
  // more on a busy host) costs far more than it could save; large tables push the planner's
  // cost estimates over jit_above_cost all the same (fusion's household and history).
  std::string setup =
      "SET TIME ZONE 'UTC'; SET jit = off; SET statement_timeout = " + std::to_string(statement_timeout_ms);
  // The role name was checked by config to be a plain identifier; quote it anyway.
  if (index_paths) setup += "; SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off";
  if (!app_role().empty()) setup += "; SET ROLE " + n.quote_name(app_role());
  n.exec(setup);
  return c;
}

bool is_connection_error(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
}

bool is_transient(const std::exception& e) {
  return is_connection_error(e) || dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
         dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr;
}

DbPool::DbPool(std::string conninfo, int size, std::size_t queue_limit, int statement_timeout_ms)
    : conninfo_(std::move(conninfo)), statement_timeout_ms_(statement_timeout_ms), queue_limit_(queue_limit) {
  for (int i = 0; i < size; ++i)
    threads_.emplace_back([this, i] {
      log::name_thread("xn-db-" + std::to_string(i));
      run(i);
    });
}

DbPool::~DbPool() { stop(); }

bool DbPool::submit(Job job) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t DbPool::queue_depth() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void DbPool::stop() {
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

void DbPool::run(int index) {
  std::unique_ptr<pqxx::connection> conn;
  // Connect up front so the first requests do not pay for it.
  try {
    conn = open_connection(conninfo_, statement_timeout_ms_);
  } catch (const std::exception& e) {
    log::warn("db.connect_failed", {{"worker", index}, {"error", e.what()}});
  }
  for (;;) {
    Job job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!conn) {
      try {
        conn = open_connection(conninfo_, statement_timeout_ms_);
      } catch (const std::exception& e) {
        log::warn("db.connect_failed", {{"worker", index}, {"error", e.what()}});
      }
    }
    try {
      job(conn.get());
    } catch (const std::exception& e) {
      // Jobs report their own errors; what reaches here means the connection is suspect.
      log::warn("db.job_failed", {{"worker", index}, {"error", e.what()}});
      if (is_connection_error(e)) conn.reset();
    }
    // libpqxx 6 may keep is_open() true after a drop; a failed job's connection_error above
    // is the reliable signal, and a closed socket is the other.
    if (conn && !conn->is_open()) conn.reset();
  }
}

}  // namespace xiaonao::store
