#pragma once
/// Wakes the feed when any instance commits events: LISTEN on a dedicated connection is the
/// wake-up, the events table is the truth. Also polls now and then in case a NOTIFY was lost
/// (for example while the connection was being re-established).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "xiaonao/domain/feed_order.hpp"

namespace xiaonao::store {

/// The channel every intake transaction notifies with its last seq.
inline constexpr const char* feed_channel = "xiaonao_feed";
/// The channel a change to the categories table notifies (trigger of 016).
inline constexpr const char* categories_channel = "xiaonao_categories";

/// Catches the in-memory feed up with the events table.
class NotifyListener {
 public:
  /// `last_published` tells how far the feed is; `publish` receives frames read from the table.
  NotifyListener(std::string conninfo, int poll_interval_ms,
                 std::function<std::int64_t()> last_published,
                 std::function<void(std::vector<domain::Frame>)> publish);
  ~NotifyListener();
  /// Also LISTENs for credential changes (store::kAuthChannel); `changed` runs on the
  /// listener's thread for each, and after every reconnect. Call before start().
  void on_auth_change(std::function<void()> changed);
  /// Also LISTENs for changes to the categories (categories_channel); `changed` runs on the
  /// listener's thread for each, and after every reconnect. Call before start().
  void on_categories_change(std::function<void()> changed);
  void start();
  void stop();

 private:
  void run();

  std::string conninfo_;
  int poll_interval_ms_;
  std::function<std::int64_t()> last_published_;
  std::function<void(std::vector<domain::Frame>)> publish_;
  std::function<void()> auth_changed_;
  std::function<void()> categories_changed_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace xiaonao::store
