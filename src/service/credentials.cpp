#include "xiaonao/service/credentials.hpp"

#include <algorithm>

namespace xiaonao::service {

CredentialCache::CredentialCache(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries) {}

std::shared_ptr<const domain::Principal> CredentialCache::find(const std::string& hash, Clock::time_point now) {
  std::lock_guard lk(mu_);
  const auto it = entries_.find(hash);
  if (it == entries_.end()) return nullptr;
  if (now >= it->second.expires) {
    entries_.erase(it);
    return nullptr;
  }
  return it->second.principal;
}

std::uint64_t CredentialCache::generation() const {
  std::lock_guard lk(mu_);
  return generation_;
}

void CredentialCache::put(const std::string& hash, std::shared_ptr<const domain::Principal> p, Clock::time_point now,
                          Clock::time_point expires, std::uint64_t generation) {
  if (ttl_.count() <= 0) return;
  std::lock_guard lk(mu_);
  if (generation != generation_) return;
  if (entries_.size() >= max_entries_) {
    std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.expires; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[hash] = Entry{std::move(p), std::min(expires, now + ttl_)};
}

void CredentialCache::clear() {
  std::lock_guard lk(mu_);
  ++generation_;
  entries_.clear();
}

}  // namespace xiaonao::service
