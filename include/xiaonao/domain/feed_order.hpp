#pragma once
/// Ordering logic of the live feed: frames reach subscribers strictly by seq, without gaps.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xiaonao::domain {

/// One serialized feed frame plus what subscribers filter on.
struct Frame {
  std::int64_t seq{0};
  std::string category;    ///< empty when the event has none
  std::string station_id;  ///< empty until stations exist or when the event has none
  /// The frame as it goes on the wire, encoded once for every subscriber: a WebSocket text
  /// frame (ws::text_frame: its header, then the JSON).
  std::shared_ptr<const std::string> wire;
};

/// Accepts frames in any order and from several sources (local commits, database catch-up),
/// releases them strictly in seq order after `last`, and drops ones already released.
class FeedOrder {
 public:
  explicit FeedOrder(std::int64_t last_released = 0) : last_(last_released) {}

  /// Offers frames; returns the run that became releasable (possibly empty), in seq order.
  std::vector<Frame> offer(std::vector<Frame> frames);
  /// The highest seq released so far.
  std::int64_t last_released() const { return last_; }
  /// True when frames are held back waiting for an earlier seq (a gap to fetch).
  bool has_gap() const { return !pending_.empty(); }
  /// The first seq held back, or 0 when none.
  std::int64_t first_pending() const { return pending_.empty() ? 0 : pending_.begin()->first; }

 private:
  std::int64_t last_;
  std::map<std::int64_t, Frame> pending_;
};

}  // namespace xiaonao::domain
