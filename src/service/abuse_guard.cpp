#include "xiaonao/service/abuse_guard.hpp"

#include <algorithm>

namespace xiaonao::service {

AbuseGuard::AbuseGuard(const config::Security& cfg)
    : principals_(cfg.rate_per_principal, cfg.burst_per_principal),
      addresses_(cfg.rate_per_address, cfg.burst_per_address),
      login_accounts_(cfg.login_max_failures, std::chrono::seconds(cfg.login_window_s)),
      // An address may try a few accounts (a shared command-room terminal), not a dictionary.
      login_addresses_(cfg.login_max_failures * 4, std::chrono::seconds(cfg.login_window_s)) {}

bool AbuseGuard::allow_principal(const std::string& ref, Clock::time_point now, double& retry_after_s) {
  std::lock_guard lk(mu_);
  return principals_.allow(ref, now, retry_after_s);
}

bool AbuseGuard::allow_address(const std::string& address, Clock::time_point now, double& retry_after_s) {
  std::lock_guard lk(mu_);
  return addresses_.allow(address, now, retry_after_s);
}

double AbuseGuard::login_blocked_for(const std::string& account, const std::string& address, Clock::time_point now) {
  std::lock_guard lk(mu_);
  return std::max(login_accounts_.blocked_for(account, now), login_addresses_.blocked_for(address, now));
}

void AbuseGuard::login_failed(const std::string& account, const std::string& address, Clock::time_point now) {
  std::lock_guard lk(mu_);
  login_accounts_.failure(account, now);
  login_addresses_.failure(address, now);
}

void AbuseGuard::login_succeeded(const std::string& account) {
  std::lock_guard lk(mu_);
  login_accounts_.success(account);
}

}  // namespace xiaonao::service
