#include "xiaonao/store/notify_listener.hpp"

#include <algorithm>
#include <chrono>

#include <pqxx/pqxx>

#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::store {
namespace {

// Remembers the highest seq any instance announced since the last look.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::int64_t& announced) : notification_receiver(c, feed_channel), announced_(announced) {}
  void operator()(const std::string& payload, int) override {
    try {
      announced_ = std::max<std::int64_t>(announced_, std::stoll(payload));
    } catch (const std::exception&) {
      announced_ = std::numeric_limits<std::int64_t>::max();  // unreadable: just look
    }
  }

 private:
  std::int64_t& announced_;
};

// Calls back on every notification of its channel: credentials changed anywhere (logout,
// revocation, password change), the categories changed.
class ChangeReceiver final : public pqxx::notification_receiver {
 public:
  ChangeReceiver(pqxx::connection_base& c, const char* channel, const std::function<void()>& changed)
      : notification_receiver(c, channel), changed_(changed) {}
  void operator()(const std::string&, int) override {
    if (changed_) changed_();
  }

 private:
  const std::function<void()>& changed_;
};

constexpr int catch_up_page = 1000;
// While it waits for this instance's batches, the listener takes the notifications that arrive
// this often: a revocation, a category or reference change must not wait for a stuck batch.
constexpr std::chrono::milliseconds notify_slice{10};

}  // namespace

NotifyListener::NotifyListener(std::string conninfo, int poll_interval_ms,
                               std::function<std::int64_t()> last_published,
                               std::function<void(std::vector<domain::Frame>)> publish, CommitsInFlight* local,
                               int local_wait_ms)
    : conninfo_(std::move(conninfo)),
      poll_interval_ms_(poll_interval_ms),
      local_wait_(local_wait_ms),
      last_published_(std::move(last_published)),
      publish_(std::move(publish)),
      local_(local) {}

void NotifyListener::on_change(const char* channel, std::function<void()> changed) {
  changes_.emplace_back(channel, std::move(changed));
}

NotifyListener::~NotifyListener() { stop(); }

void NotifyListener::start() {
  thread_ = std::thread([this] {
    log::name_thread("xn-notify");
    run();
  });
}

void NotifyListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void NotifyListener::run() {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  std::vector<std::unique_ptr<ChangeReceiver>> change_receivers;
  std::int64_t announced = 0;
  const auto catch_up = [&] {
    for (;;) {
      table_reads_.fetch_add(1, std::memory_order_relaxed);
      auto frames = read_events(*conn, last_published_(), catch_up_page);
      const bool more = frames.size() == static_cast<std::size_t>(catch_up_page);
      if (!frames.empty()) publish_(std::move(frames));
      if (!more) break;
    }
  };
  while (!stopping_) {
    try {
      if (!conn) {
        conn = open_connection(conninfo_, 0);
        // LISTEN again after every reconnect, then read what we may have missed meanwhile.
        receiver = std::make_unique<Receiver>(*conn, announced);
        for (const auto& [channel, changed] : changes_)
          change_receivers.push_back(std::make_unique<ChangeReceiver>(*conn, channel, changed));
        // A revocation or another change may have been announced while we were not listening.
        for (const auto& [channel, changed] : changes_) changed();
        catch_up();
      }
      const auto wait_us = static_cast<long>(std::min(poll_interval_ms_, 250)) * 1000;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(poll_interval_ms_);
      bool woke = false;
      // Short waits so stop() is honoured quickly; a poll of the table when nothing came.
      while (!stopping_ && std::chrono::steady_clock::now() < deadline) {
        if (conn->await_notification(0, wait_us) > 0) {
          woke = true;
          break;
        }
      }
      if (stopping_) break;
      // Our own commits usually reach the feed straight from the writer; read the table only
      // when an instance announced a seq the feed has not released yet, or on the poll. The
      // seq announced is most often that of a local batch whose writer is about to offer its
      // frames (the NOTIFY and the writer's answer leave PostgreSQL together): wait for the
      // local batches begun by now first, a bounded wait (a batch stuck on a lock must not hold
      // up what other instances commit for long). Other channels' notifications are taken in
      // between, as they come.
      if (woke && announced > last_published_() && local_) {
        const auto begun = local_->begun();
        const auto until = std::chrono::steady_clock::now() + local_wait_;
        while (!stopping_) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
          if (left <= std::chrono::milliseconds::zero() || local_->wait_ended(begun, std::min(left, notify_slice))) break;
          conn->get_notifs();
        }
      }
      if (!woke || announced > last_published_()) catch_up();
    } catch (const std::exception& e) {
      log::warn("feed.listener_error", {{"error", e.what()}});
      receiver.reset();
      change_receivers.clear();
      conn.reset();
      for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  receiver.reset();
  change_receivers.clear();
}

}  // namespace xiaonao::store
