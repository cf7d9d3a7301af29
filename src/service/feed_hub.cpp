#include "xiaonao/service/feed_hub.hpp"

#include <algorithm>

namespace xiaonao::service {

FeedHub::FeedHub(std::size_t ring_size, std::int64_t last_seq) : order_(last_seq), ring_size_(ring_size) {}

void FeedHub::offer(std::vector<domain::Frame> frames) {
  std::lock_guard lk(mu_);
  auto released = order_.offer(std::move(frames));
  if (released.empty()) return;
  published_ += released.size();
  for (const auto& f : released) {
    ring_.push_back(f);
    if (ring_.size() > ring_size_) ring_.pop_front();
  }
  auto batch = std::make_shared<const std::vector<domain::Frame>>(std::move(released));
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(subscribers_, [&](const std::weak_ptr<Subscriber>& w) {
    auto s = w.lock();
    if (!s) return true;
    s->deliver(batch, now);
    return false;
  });
}

std::optional<std::vector<domain::Frame>> FeedHub::attach(const std::shared_ptr<Subscriber>& s, std::int64_t since,
                                                          std::size_t max_backlog) {
  std::lock_guard lk(mu_);
  const auto last = order_.last_released();
  const auto ring_first = ring_.empty() ? last + 1 : ring_.front().seq;
  if (since + 1 < ring_first) return std::nullopt;
  if (last > since && static_cast<std::size_t>(last - since) > max_backlog) return std::nullopt;
  std::vector<domain::Frame> backlog;
  for (const auto& f : ring_) {
    if (f.seq > since) backlog.push_back(f);
  }
  subscribers_.push_back(s);
  return backlog;
}

void FeedHub::detach(const Subscriber* s) {
  std::lock_guard lk(mu_);
  std::erase_if(subscribers_, [&](const std::weak_ptr<Subscriber>& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
}

std::int64_t FeedHub::last_released() const {
  std::lock_guard lk(mu_);
  return order_.last_released();
}

std::size_t FeedHub::subscriber_count() const {
  std::lock_guard lk(mu_);
  return subscribers_.size();
}

std::uint64_t FeedHub::published_total() const {
  std::lock_guard lk(mu_);
  return published_;
}

}  // namespace xiaonao::service
