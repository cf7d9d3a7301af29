#pragma once
/// The server's abuse limits behind one lock: per-principal and per-address token buckets and
/// the login throttle (domain/rate_limit.hpp holds the arithmetic).
#include <chrono>
#include <mutex>
#include <string>

#include "xiaonao/config/config.hpp"
#include "xiaonao/domain/rate_limit.hpp"

namespace xiaonao::service {

class AbuseGuard {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AbuseGuard(const config::Security& cfg);

  /// One request by an authenticated user or key (Principal::ref()). False: over the limit,
  /// retry after `retry_after_s`.
  bool allow_principal(const std::string& ref, Clock::time_point now, double& retry_after_s);
  /// One request from an address that brought no valid credentials.
  bool allow_address(const std::string& address, Clock::time_point now, double& retry_after_s);
  /// Seconds until a login for this account from this address may be tried (0: now).
  double login_blocked_for(const std::string& account, const std::string& address, Clock::time_point now);
  void login_failed(const std::string& account, const std::string& address, Clock::time_point now);
  void login_succeeded(const std::string& account);

 private:
  std::mutex mu_;
  domain::RateLimiter principals_;
  domain::RateLimiter addresses_;
  domain::LoginThrottle login_accounts_;
  domain::LoginThrottle login_addresses_;
};

}  // namespace xiaonao::service
