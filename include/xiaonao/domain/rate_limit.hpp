#pragma once
/// Abuse limits as pure bookkeeping with an explicit clock: token buckets per key or address,
/// and a login throttle. The callers (http) hold the lock and pass `now`.
#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace xiaonao::domain {

using SteadyTime = std::chrono::steady_clock::time_point;

/// One token bucket per name: `rate` tokens per second, at most `burst` stored. Names not seen
/// for a while are forgotten so that a flood of addresses cannot grow the map without bound.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst, std::size_t max_names = 100000);
  /// Takes one token; when none is left returns false and the seconds until one is available.
  bool allow(const std::string& name, SteadyTime now, double& retry_after_s);
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    SteadyTime last;
  };
  void prune(SteadyTime now);
  double rate_;
  double burst_;
  std::size_t max_names_;
  std::unordered_map<std::string, Bucket> buckets_;
};

/// Failed logins per name (account or address): after `max_failures` within `window`, the name is
/// blocked until the window since the first of them has passed. A success clears the name.
class LoginThrottle {
 public:
  LoginThrottle(int max_failures, std::chrono::seconds window, std::size_t max_names = 100000);
  /// Seconds until `name` may try again, or 0 when it may now.
  double blocked_for(const std::string& name, SteadyTime now) const;
  void failure(const std::string& name, SteadyTime now);
  void success(const std::string& name);

 private:
  struct Entry {
    int failures;
    SteadyTime first;
  };
  int max_failures_;
  std::chrono::seconds window_;
  std::size_t max_names_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace xiaonao::domain
