// The batches in flight that the notify listener waits for before it reads a notified seq from
// the table (store/commits_in_flight.hpp).
#include "xiaonao/store/commits_in_flight.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

namespace xiaonao::store {
namespace {

using std::chrono::milliseconds;

TEST(CommitsInFlight, NothingRunningMeansNothingToWaitFor) {
  CommitsInFlight f;
  EXPECT_TRUE(f.wait_ended(f.begun(), milliseconds(0)));
  { auto t = f.begin(); }
  EXPECT_EQ(f.begun(), 1u);
  EXPECT_TRUE(f.wait_ended(f.begun(), milliseconds(0)));
}

TEST(CommitsInFlight, ABatchBegunBeforeTheMarkIsWaitedForUntilItEnds) {
  CommitsInFlight f;
  std::optional<CommitsInFlight::Ticket> a(f.begin()), b(f.begin());
  const auto mark = f.begun();
  EXPECT_FALSE(f.wait_ended(mark, milliseconds(0)));
  a.reset();
  EXPECT_FALSE(f.wait_ended(mark, milliseconds(0))) << "b still runs";
  b.reset();
  EXPECT_TRUE(f.wait_ended(mark, milliseconds(0)));
}

TEST(CommitsInFlight, ABatchBegunAfterTheMarkIsNotWaitedFor) {
  CommitsInFlight f;
  std::optional<CommitsInFlight::Ticket> early(f.begin());
  const auto mark = f.begun();
  auto late = f.begin();
  early.reset();
  EXPECT_TRUE(f.wait_ended(mark, milliseconds(0)));
}

TEST(CommitsInFlight, AWaiterWakesWhenTheBatchEndsOnAnotherThread) {
  CommitsInFlight f;
  std::optional<CommitsInFlight::Ticket> t(f.begin());
  const auto mark = f.begun();
  bool ended = false;
  std::thread waiter([&] { ended = f.wait_ended(mark, std::chrono::minutes(5)); });
  t.reset();  // also when the batch threw: the ticket ends with its scope
  waiter.join();
  EXPECT_TRUE(ended);
}

TEST(CommitsInFlight, AMovedTicketEndsOnce) {
  CommitsInFlight f;
  std::optional<CommitsInFlight::Ticket> moved;
  {
    auto t = f.begin();
    moved.emplace(std::move(t));
  }
  EXPECT_FALSE(f.wait_ended(f.begun(), milliseconds(0))) << "the moved-from ticket ended the batch";
  moved.reset();
  EXPECT_TRUE(f.wait_ended(f.begun(), milliseconds(0)));
}

}  // namespace
}  // namespace xiaonao::store
