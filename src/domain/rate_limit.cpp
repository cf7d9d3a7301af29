#include "xiaonao/domain/rate_limit.hpp"

#include <algorithm>

namespace xiaonao::domain {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_names)
    : rate_(rate), burst_(std::max(burst, 1.0)), max_names_(max_names) {}

bool RateLimiter::allow(const std::string& name, SteadyTime now, double& retry_after_s) {
  auto it = buckets_.find(name);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_names_) prune(now);
    it = buckets_.emplace(name, Bucket{burst_, now}).first;
  }
  auto& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    retry_after_s = 0;
    return true;
  }
  retry_after_s = rate_ > 0 ? (1.0 - b.tokens) / rate_ : 3600.0;
  return false;
}

// Forgets buckets that have refilled completely (they behave exactly like new ones); if that is
// not enough, forgets everything: limits reset rather than memory growing.
void RateLimiter::prune(SteadyTime now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed * rate_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  if (buckets_.size() >= max_names_) buckets_.clear();
}

LoginThrottle::LoginThrottle(int max_failures, std::chrono::seconds window, std::size_t max_names)
    : max_failures_(max_failures), window_(window), max_names_(max_names) {}

double LoginThrottle::blocked_for(const std::string& name, SteadyTime now) const {
  const auto it = entries_.find(name);
  if (it == entries_.end() || it->second.failures < max_failures_) return 0;
  const auto until = it->second.first + window_;
  if (now >= until) return 0;
  return std::chrono::duration<double>(until - now).count();
}

void LoginThrottle::failure(const std::string& name, SteadyTime now) {
  auto it = entries_.find(name);
  if (it != entries_.end() && now >= it->second.first + window_) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_names_) {
      std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.first + window_; });
      if (entries_.size() >= max_names_) entries_.clear();
    }
    entries_.emplace(name, Entry{1, now});
    return;
  }
  ++it->second.failures;
}

void LoginThrottle::success(const std::string& name) { entries_.erase(name); }

}  // namespace xiaonao::domain
