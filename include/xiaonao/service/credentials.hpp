#pragma once
/// Checked credentials kept in memory, so that a request with a known token or key does not
/// wait for the database. Thread-safe.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "xiaonao/domain/auth.hpp"

namespace xiaonao::service {

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;

  /// `ttl`: the longest an entry is trusted without the database (0: never cached).
  explicit CredentialCache(std::chrono::milliseconds ttl, std::size_t max_entries = 50000);

  /// The principal for a credential's hash, if cached and not expired.
  std::shared_ptr<const domain::Principal> find(const std::string& hash, Clock::time_point now);
  /// The generation to pass to put(): taken before the database look-up starts.
  std::uint64_t generation() const;
  /// Caches until `expires` (capped by the ttl), unless clear() ran since `generation` was
  /// taken: a look-up that raced a revocation must not bring the revoked credential back.
  void put(const std::string& hash, std::shared_ptr<const domain::Principal> p, Clock::time_point now,
           Clock::time_point expires, std::uint64_t generation);
  /// Forgets everything (a revocation anywhere, or the notification channel was lost).
  void clear();

 private:
  struct Entry {
    std::shared_ptr<const domain::Principal> principal;
    Clock::time_point expires;
  };
  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::uint64_t generation_{0};
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace xiaonao::service
