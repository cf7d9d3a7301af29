#pragma once
/// The local batches whose feed frames may still be on their way to the hub. A writer holds a
/// ticket from the start of a batch until it has offered the batch's frames; the notify
/// listener, told of a seq the feed has not released yet, first waits for the batches that had
/// begun by then. The seq is usually one of theirs: reading it back from the events table would
/// cost a query for frames that the hub then drops as duplicates (docs/architecture.md, "The
/// feed").
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace xiaonao::store {

class CommitsInFlight {
 public:
  /// Held for one batch; ends it when destroyed (also when the batch throws).
  class Ticket {
   public:
    Ticket(Ticket&& o) noexcept : owner_(o.owner_), n_(o.n_) { o.owner_ = nullptr; }
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() {
      if (owner_) owner_->end(n_);
    }

   private:
    friend class CommitsInFlight;
    Ticket(CommitsInFlight* owner, std::uint64_t n) : owner_(owner), n_(n) {}
    CommitsInFlight* owner_ = nullptr;
    std::uint64_t n_ = 0;
  };

  Ticket begin();
  /// How many batches have begun so far (a mark for wait_ended).
  std::uint64_t begun() const;
  /// Waits until the first `begun` batches have all ended, at most `timeout`; those begun
  /// later are not waited for. True when they have.
  bool wait_ended(std::uint64_t begun, std::chrono::milliseconds timeout);

 private:
  void end(std::uint64_t n);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_ = 0;
  std::set<std::uint64_t> running_;
};

}  // namespace xiaonao::store
