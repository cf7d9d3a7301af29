#pragma once
/// Wakes the feed when any instance commits events: LISTEN on a dedicated connection is the
/// wake-up, the events table is the truth. Also polls now and then in case a NOTIFY was lost
/// (for example while the connection was being re-established).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "xiaonao/domain/feed_order.hpp"
#include "xiaonao/store/commits_in_flight.hpp"

namespace xiaonao::store {

/// The channel every intake transaction notifies with its last seq.
inline constexpr const char* feed_channel = "xiaonao_feed";
/// The channel a change to the categories table notifies (trigger of 016).
inline constexpr const char* categories_channel = "xiaonao_categories";
/// The channel a change to a reference kind held in memory notifies (trigger of 017).
inline constexpr const char* reference_channel = "xiaonao_reference";

/// Catches the in-memory feed up with the events table.
class NotifyListener {
 public:
  /// `last_published` tells how far the feed is; `publish` receives frames read from the table.
  /// `local` (may be null): this instance's batches in flight; a notified seq is read from the
  /// table only once those begun by then have offered their frames (or after `local_wait_ms`)
  /// and it is still missing.
  NotifyListener(std::string conninfo, int poll_interval_ms,
                 std::function<std::int64_t()> last_published,
                 std::function<void(std::vector<domain::Frame>)> publish, CommitsInFlight* local = nullptr,
                 int local_wait_ms = 250);
  ~NotifyListener();
  /// Also LISTENs on `channel` (credential changes on store::kAuthChannel, categories_channel,
  /// reference_channel); `changed` runs on the listener's thread for each notification, and
  /// after every reconnect (one may have come while nobody listened). Call before start().
  void on_change(const char* channel, std::function<void()> changed);
  void start();
  void stop();
  /// Reads of the events table so far (catch-ups after a notification or on the poll).
  std::uint64_t table_reads() const { return table_reads_.load(std::memory_order_relaxed); }

 private:
  void run();

  std::string conninfo_;
  int poll_interval_ms_;
  std::chrono::milliseconds local_wait_;
  std::function<std::int64_t()> last_published_;
  std::function<void(std::vector<domain::Frame>)> publish_;
  CommitsInFlight* local_;
  std::atomic<std::uint64_t> table_reads_{0};
  std::vector<std::pair<const char*, std::function<void()>>> changes_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace xiaonao::store
