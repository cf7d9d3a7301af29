// Property test of the order and lifecycle body parsers: for random JSON objects they never
// throw, every refusal names a field (or the body), and whatever they accept holds the
// documented invariants.
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/orders.hpp"
#include "xiaonao/domain/units.hpp"

namespace xiaonao::domain::orders {
namespace {

using nlohmann::json;

json random_value(std::mt19937_64& rng, int depth) {
  static const char* strings[] = {"assess", "resolve", "close", "cancel", "dispatch", "reclaim", "ack", "en_route",
                                  "on_scene", "complete", "decline", "reassign", "respond", "visit", "video_check",
                                  "search", "U1", "S01", "", "a/b", "2026-11-26T10:00:00Z", "2999-01-01T00:00:00Z",
                                  "fraud", "Bad Code"};
  switch (rng() % (depth > 2 ? 5 : 7)) {
    case 0: return nullptr;
    case 1: return (rng() & 1) != 0;
    case 2: return static_cast<std::int64_t>(rng() % 12) - 3;
    case 3: return std::string(strings[rng() % std::size(strings)]);
    case 4: return std::string(rng() % 2100, 'x');
    case 5: {
      json a = json::array();
      for (std::size_t i = 0, n = rng() % 4; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      o["k"] = random_value(rng, depth + 1);
      return o;
    }
  }
}

json random_body(std::mt19937_64& rng) {
  static const char* keys[] = {"event", "reason", "category", "priority", "station_id", "unit_ids", "instruction",
                               "kind",  "type",   "note",     "at",       "unit_id",    "other"};
  json b = json::object();
  for (const char* k : keys) {
    if (rng() % 3 == 0) b[k] = random_value(rng, 0);
  }
  return b;
}

TEST(OrderParsersProperty, NeverThrowAndKeepTheirPromises) {
  std::mt19937_64 rng(20261126);
  const auto now = *parse_rfc3339("2026-11-26T10:00:00Z");
  int accepted = 0;
  for (int i = 0; i < 30000; ++i) {
    json body = random_body(rng);
    // Bias towards bodies that pass: fill in the required members from time to time.
    if (i % 4 == 0) {
      body["unit_ids"] = {"U1", "U2"};
      body["instruction"] = "go";
      body["kind"] = "respond";
    }
    ASSERT_NO_THROW({
      auto t = parse_transition(body);
      if (t) {
        ++accepted;
        EXPECT_TRUE(t->event == loop::IncidentEvent::assess || t->event == loop::IncidentEvent::resolve ||
                    t->event == loop::IncidentEvent::close || t->event == loop::IncidentEvent::cancel);
        EXPECT_LE(t->reason.size(), kMaxReason);
        if (t->priority) {
          EXPECT_TRUE(*t->priority >= 1 && *t->priority <= 4);
        }
        if (t->category || t->priority) {
          EXPECT_EQ(t->event, loop::IncidentEvent::assess);
        }
        if (t->event == loop::IncidentEvent::cancel) {
          EXPECT_FALSE(t->reason.empty());
        }
      } else {
        EXPECT_FALSE(t.error().message.empty());
      }
      auto o = parse_order_request(body);
      if (o) {
        ++accepted;
        EXPECT_TRUE(!o->unit_ids.empty() && o->unit_ids.size() <= kMaxUnitsPerRequest);
        EXPECT_EQ(std::set<std::string>(o->unit_ids.begin(), o->unit_ids.end()).size(), o->unit_ids.size());
        for (const auto& u : o->unit_ids) EXPECT_TRUE(is_reference_id(u));
        EXPECT_TRUE(is_order_kind(o->kind));
        EXPECT_FALSE(o->instruction.empty());
        EXPECT_LE(o->instruction.size(), kMaxInstruction);
      } else {
        EXPECT_FALSE(o.error().field.empty()) << body.dump();
      }
      auto e = parse_order_event(body, now);
      if (e) {
        ++accepted;
        if (e->at) {
          EXPECT_LE(*e->at, now + kFutureSkew);
        }
        if (e->type == loop::OrderEvent::decline) {
          EXPECT_FALSE(e->reason.empty());
        }
        if (e->type == loop::OrderEvent::reassign) {
          EXPECT_TRUE(is_reference_id(e->unit_id));
        } else {
          EXPECT_TRUE(e->unit_id.empty());
        }
      } else {
        EXPECT_FALSE(e.error().field.empty()) << body.dump();
      }
    });
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace xiaonao::domain::orders
