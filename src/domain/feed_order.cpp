#include "xiaonao/domain/feed_order.hpp"

namespace xiaonao::domain {

std::vector<Frame> FeedOrder::offer(std::vector<Frame> frames) {
  for (auto& f : frames) {
    // Already released (a catch-up page overlapping a live notification): drop it.
    if (f.seq <= last_) continue;
    // The same seq from two sources carries the same event; the first copy is kept.
    pending_.try_emplace(f.seq, std::move(f));
  }
  std::vector<Frame> out;
  // Release only the contiguous run after last_: a frame after a gap waits until the gap is
  // filled, since a subscriber must never see seq N+2 before N+1.
  auto it = pending_.begin();
  while (it != pending_.end() && it->first == last_ + 1) {
    last_ = it->first;
    out.push_back(std::move(it->second));
    it = pending_.erase(it);
  }
  return out;
}

}  // namespace xiaonao::domain
