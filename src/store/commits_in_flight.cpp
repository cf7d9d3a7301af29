#include "xiaonao/store/commits_in_flight.hpp"

namespace xiaonao::store {

CommitsInFlight::Ticket CommitsInFlight::begin() {
  std::lock_guard lk(mu_);
  const auto n = next_++;
  running_.insert(n);
  return Ticket(this, n);
}

void CommitsInFlight::end(std::uint64_t n) {
  {
    std::lock_guard lk(mu_);
    running_.erase(n);
  }
  cv_.notify_all();
}

std::uint64_t CommitsInFlight::begun() const {
  std::lock_guard lk(mu_);
  return next_;
}

bool CommitsInFlight::wait_ended(std::uint64_t begun, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return running_.empty() || *running_.begin() >= begun; });
}

}  // namespace xiaonao::store
