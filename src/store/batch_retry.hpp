#pragma once
// Private to the store module: how the batching writers (intake, orders) run one batch.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"

namespace xiaonao::store::detail {

struct BatchRetry {
  std::string name;          ///< log events "<name>.retry", "<name>.batch_split", "<name>.failed"
  int backoff_ms = 20;       ///< attempt n waits n × this before running again
  std::atomic<std::uint64_t>* retries = nullptr;  ///< counts the transient retries, when given
};

/// Runs `write(items)` (one transaction that commits and answers every item) for `batch`:
/// a transient failure (is_transient) runs it again, up to four attempts, then answers 503; any
/// other failure of a batch of several runs each item again on its own, in arrival order, so one
/// bad item cannot take its neighbours down with it; a single item that fails so is answered
/// 500. Items are answered through `item.done(Error)`.
template <class Item, class Write>
void write_with_retries(std::vector<Item> batch, std::unique_ptr<pqxx::connection>& conn, const BatchRetry& how,
                        Write&& write) {
  std::vector<std::vector<Item>> work;
  work.push_back(std::move(batch));
  while (!work.empty()) {
    auto items = std::move(work.back());
    work.pop_back();
    for (int attempt = 1;; ++attempt) {
      try {
        write(items);
        break;
      } catch (const std::exception& e) {
        if (is_connection_error(e)) conn.reset();
        const bool transient = is_transient(e);
        if (transient && attempt < 4) {
          if (how.retries) how.retries->fetch_add(1, std::memory_order_relaxed);
          log::warn(how.name + ".retry", {{"attempt", attempt}, {"batch", items.size()}, {"error", e.what()}});
          std::this_thread::sleep_for(std::chrono::milliseconds(how.backoff_ms * attempt));
          continue;
        }
        if (!transient && items.size() > 1) {
          log::warn(how.name + ".batch_split", {{"batch", items.size()}, {"error", e.what()}});
          // Pushed in reverse so they are taken in arrival order.
          for (auto it = items.rbegin(); it != items.rend(); ++it) {
            std::vector<Item> one;
            one.push_back(std::move(*it));
            work.push_back(std::move(one));
          }
          break;
        }
        log::error(how.name + ".failed", {{"batch", items.size()}, {"error", e.what()}});
        for (auto& it : items) {
          it.done(domain::Error{transient ? domain::ErrorKind::unavailable : domain::ErrorKind::internal,
                                transient ? "database unavailable, retry later" : "internal error", ""});
        }
        break;
      }
    }
  }
}

}  // namespace xiaonao::store::detail
