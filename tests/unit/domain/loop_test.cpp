// The closed loop's state machines, walked exhaustively: every state × every event against a
// table written out by hand, so a change to a rule shows up as a changed row here.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "xiaonao/domain/loop.hpp"

namespace xiaonao::domain::loop {
namespace {

// For every state (by name): event name -> next state name ("" = illegal).
template <class S, class E>
void expect_table(const std::map<std::string, std::map<std::string, std::string>>& table) {
  const auto ns = static_cast<int>(S::count_);
  const auto ne = static_cast<int>(E::count_);
  ASSERT_EQ(static_cast<int>(table.size()), ns) << "the table must list every state";
  for (int i = 0; i < ns; ++i) {
    const auto s = static_cast<S>(i);
    const auto& row = table.at(name(s));
    for (int j = 0; j < ne; ++j) {
      const auto e = static_cast<E>(j);
      const auto it = row.find(name(e));
      const std::string want = it == row.end() ? "" : it->second;
      const auto got = next(s, e);
      EXPECT_EQ(got ? std::string(name(*got)) : std::string(), want) << name(s) << " + " << name(e);
    }
  }
}

TEST(Loop, IncidentLifecycleEveryStateTimesEveryEvent) {
  expect_table<IncidentState, IncidentEvent>({
      {"received", {{"assess", "assessed"}, {"dispatch", "dispatched"}, {"cancel", "cancelled"}, {"divert", "diverted"}}},
      {"assessed", {{"assess", "assessed"}, {"dispatch", "dispatched"}, {"cancel", "cancelled"}, {"divert", "diverted"}}},
      {"dispatched",
       {{"dispatch", "dispatched"}, {"arrive", "on_scene"}, {"resolve", "resolved"}, {"cancel", "cancelled"}}},
      {"on_scene", {{"dispatch", "on_scene"}, {"arrive", "on_scene"}, {"resolve", "resolved"}}},
      {"resolved", {{"close", "closed"}}},
      {"closed", {}},
      {"cancelled", {}},
      {"diverted", {{"reclaim", "assessed"}}},
  });
}

TEST(Loop, OrderStatesEveryStateTimesEveryEvent) {
  expect_table<OrderState, OrderEvent>({
      {"issued",
       {{"ack", "acknowledged"}, {"en_route", "en_route"}, {"on_scene", "on_scene"}, {"complete", "completed"},
        {"decline", "declined"}, {"reassign", "reassigned"}}},
      {"acknowledged",
       {{"en_route", "en_route"}, {"on_scene", "on_scene"}, {"complete", "completed"}, {"decline", "declined"},
        {"reassign", "reassigned"}}},
      {"en_route",
       {{"on_scene", "on_scene"}, {"complete", "completed"}, {"decline", "declined"}, {"reassign", "reassigned"}}},
      {"on_scene", {{"complete", "completed"}, {"reassign", "reassigned"}}},
      {"completed", {}},
      {"declined", {}},
      {"reassigned", {}},
  });
}

TEST(Loop, SupportRequestsEveryStateTimesEveryEvent) {
  expect_table<SupportState, SupportEvent>({
      {"requested", {{"accept", "accepted"}, {"reject", "rejected"}}},
      {"accepted", {{"answer", "answered"}}},
      {"answered", {{"answer", "answered"}, {"close", "closed"}}},
      {"closed", {}},
      {"rejected", {}},
  });
}

TEST(Loop, DiversionsEveryStateTimesEveryEvent) {
  expect_table<DiversionState, DiversionEvent>({
      {"sent", {{"accept", "accepted"}, {"reject", "rejected"}}},
      {"accepted", {{"done", "done"}}},
      {"rejected", {}},
      {"done", {}},
  });
}

TEST(Loop, NamesRoundTrip) {
  for (int i = 0; i < static_cast<int>(IncidentState::count_); ++i)
    EXPECT_EQ(parse_incident_state(name(static_cast<IncidentState>(i))), static_cast<IncidentState>(i));
  for (int i = 0; i < static_cast<int>(IncidentEvent::count_); ++i)
    EXPECT_EQ(parse_incident_event(name(static_cast<IncidentEvent>(i))), static_cast<IncidentEvent>(i));
  for (int i = 0; i < static_cast<int>(OrderState::count_); ++i)
    EXPECT_EQ(parse_order_state(name(static_cast<OrderState>(i))), static_cast<OrderState>(i));
  for (int i = 0; i < static_cast<int>(OrderEvent::count_); ++i)
    EXPECT_EQ(parse_order_event(name(static_cast<OrderEvent>(i))), static_cast<OrderEvent>(i));
  for (int i = 0; i < static_cast<int>(SupportState::count_); ++i)
    EXPECT_EQ(parse_support_state(name(static_cast<SupportState>(i))), static_cast<SupportState>(i));
  for (int i = 0; i < static_cast<int>(SupportEvent::count_); ++i)
    EXPECT_EQ(parse_support_event(name(static_cast<SupportEvent>(i))), static_cast<SupportEvent>(i));
  for (int i = 0; i < static_cast<int>(DiversionState::count_); ++i)
    EXPECT_EQ(parse_diversion_state(name(static_cast<DiversionState>(i))), static_cast<DiversionState>(i));
  for (int i = 0; i < static_cast<int>(DiversionEvent::count_); ++i)
    EXPECT_EQ(parse_diversion_event(name(static_cast<DiversionEvent>(i))), static_cast<DiversionEvent>(i));
  EXPECT_FALSE(parse_incident_state("Received"));
  EXPECT_FALSE(parse_order_event(""));
}

TEST(Loop, OpenAndFinalStates) {
  EXPECT_TRUE(is_open(IncidentState::received));
  EXPECT_TRUE(is_open(IncidentState::on_scene));
  EXPECT_FALSE(is_open(IncidentState::resolved));
  EXPECT_FALSE(is_open(IncidentState::diverted));
  EXPECT_TRUE(is_final(IncidentState::closed));
  EXPECT_TRUE(is_final(IncidentState::cancelled));
  EXPECT_FALSE(is_final(IncidentState::diverted));  // a rejected hand-off comes back
  EXPECT_TRUE(is_ended(OrderState::reassigned));
  EXPECT_FALSE(is_ended(OrderState::on_scene));
}

TEST(Loop, DeadlinesFollowPriorityAndAreaType) {
  const DeadlinePolicy p;
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::acknowledge, 1, std::nullopt), 60);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::acknowledge, 4, std::nullopt), 300);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 1, AreaType::urban), 300);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 2, AreaType::suburban), 600);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 1, AreaType::rural), 1800);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 3, AreaType::urban), 600);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 4, AreaType::rural), 7200);
  // No zone: the strictest (urban).
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::arrive, 1, std::nullopt), 300);
  // Out-of-range priorities are clamped.
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::acknowledge, 0, std::nullopt), 60);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::acknowledge, 9, std::nullopt), 300);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::feedback, 2, std::nullopt), 86400);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::accept, 2, std::nullopt, true), 120);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::accept, 2, std::nullopt, false), 1800);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::answer, 2, std::nullopt), 1800);
  EXPECT_EQ(deadline_seconds(p, DeadlineKind::done, 2, std::nullopt), 259200);
  DeadlinePolicy q;
  q.arrive_s = {100, 200, 300};
  q.arrive_pct = {50, 100, 150, 333};
  EXPECT_EQ(deadline_seconds(q, DeadlineKind::arrive, 1, AreaType::suburban), 100);
  EXPECT_EQ(deadline_seconds(q, DeadlineKind::arrive, 4, AreaType::urban), 333);
}

}  // namespace
}  // namespace xiaonao::domain::loop
