#pragma once
/// The in-process side of the feed: orders frames, keeps a ring of recent ones, and hands
/// each released batch to every subscriber. Thread-safe.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "xiaonao/domain/feed_order.hpp"

namespace xiaonao::service {

/// A batch of frames shared by every subscriber that receives it.
using FrameBatch = std::shared_ptr<const std::vector<domain::Frame>>;

/// Something that receives released frames. deliver() is called with the hub's lock held,
/// which is what keeps every subscriber's order identical; it must only queue (post to the
/// subscriber's own executor), never block or call back into the hub.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  /// `released`: when the hub released the batch (for xiaonao_feed_delivery_seconds).
  virtual void deliver(FrameBatch batch, std::chrono::steady_clock::time_point released) = 0;
};

class FeedHub {
 public:
  /// `last_seq` is the highest seq already committed when the hub starts.
  FeedHub(std::size_t ring_size, std::int64_t last_seq);

  /// Offers frames from any source (a local commit, the table catch-up); duplicates and
  /// already released seqs are dropped, later ones wait for the gap to fill.
  void offer(std::vector<domain::Frame> frames);

  /// Joins a subscriber that has seen everything up to `since`. If the ring still holds every
  /// frame after `since`, registers it and returns those frames (possibly none): from then on
  /// deliver() brings the rest. Returns nullopt when `since` is older than the ring, or more than
  /// `max_backlog` frames behind: the caller replays from the table first and tries again later.
  std::optional<std::vector<domain::Frame>> attach(const std::shared_ptr<Subscriber>& s, std::int64_t since,
                                                   std::size_t max_backlog);

  /// Removes a subscriber (also done lazily once it is destroyed).
  void detach(const Subscriber* s);

  std::int64_t last_released() const;
  std::size_t subscriber_count() const;
  /// Frames released since start (the `xiaonao_feed_events_published_total` counter).
  std::uint64_t published_total() const;

 private:
  mutable std::mutex mu_;
  domain::FeedOrder order_;
  std::size_t ring_size_;
  std::deque<domain::Frame> ring_;
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
  std::uint64_t published_{0};
};

}  // namespace xiaonao::service
