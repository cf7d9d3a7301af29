// The lifecycle and order body parsers (domain/orders): what each accepts, and that every
// refusal names its field.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/orders.hpp"

namespace xiaonao::domain::orders {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TimePoint at(const char* text) { return *parse_rfc3339(text); }

TEST(Transition, AcceptsTheOfficerSteps) {
  auto r = parse_transition(json{{"event", "assess"}, {"reason", "核实"}, {"category", "fraud"}, {"priority", 2}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->event, loop::IncidentEvent::assess);
  EXPECT_EQ(r->category, "fraud");
  EXPECT_EQ(r->priority, 2);
  for (const char* e : {"resolve", "close"}) EXPECT_TRUE(parse_transition(json{{"event", e}})) << e;
  EXPECT_TRUE(parse_transition(json{{"event", "cancel"}, {"reason", "duplicate"}}));
}

TEST(Transition, RefusesWithTheField) {
  const auto field = [](const json& body) {
    auto r = parse_transition(body);
    EXPECT_FALSE(r) << body.dump();
    return r ? std::string("<ok>") : r.error().field;
  };
  EXPECT_EQ(field(json::object()), "event");
  EXPECT_EQ(field(json{{"event", "fly"}}), "event");
  // Orders dispatch and arrive; diversions divert and reclaim.
  for (const char* e : {"dispatch", "arrive", "divert", "reclaim"}) EXPECT_EQ(field(json{{"event", e}}), "event") << e;
  EXPECT_EQ(field(json{{"event", 3}}), "event");
  EXPECT_EQ(field(json{{"event", "cancel"}}), "reason");
  EXPECT_EQ(field(json{{"event", "assess"}, {"priority", 0}}), "priority");
  EXPECT_EQ(field(json{{"event", "assess"}, {"priority", 5}}), "priority");
  EXPECT_EQ(field(json{{"event", "assess"}, {"priority", 1.5}}), "priority");
  EXPECT_EQ(field(json{{"event", "assess"}, {"category", "Not A Code"}}), "category");
  EXPECT_EQ(field(json{{"event", "resolve"}, {"category", "fraud"}}), "category");
  EXPECT_EQ(field(json{{"event", "resolve"}, {"reason", std::string(kMaxReason + 1, 'x')}}), "reason");
  EXPECT_EQ(field(json{{"event", "resolve"}, {"resaon", "typo"}}), "resaon");
  EXPECT_EQ(parse_transition(json{{"event", "dispatch"}}).error().kind, ErrorKind::invalid_field);
  EXPECT_EQ(parse_transition(json::object()).error().kind, ErrorKind::missing_field);
}

TEST(OrderRequest, AcceptsOneOrderPerUnit) {
  auto r = parse_order_request(
      json{{"unit_ids", {"U1", "U2"}}, {"instruction", "上门劝阻"}, {"kind", "visit"}, {"station_id", "S01"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->unit_ids, (std::vector<std::string>{"U1", "U2"}));
  EXPECT_EQ(r->kind, "visit");
  EXPECT_EQ(r->station_id, "S01");
  EXPECT_TRUE(parse_order_request(json{{"unit_ids", {"U1"}}, {"instruction", "x"}, {"kind", "video_check"}}));
}

TEST(OrderRequest, RefusesWithTheField) {
  const json good = {{"unit_ids", {"U1", "U2"}}, {"instruction", "go"}, {"kind", "respond"}};
  const auto field = [&good](const char* key, const json& value) {
    json b = good;
    if (value.is_discarded()) b.erase(key); else b[key] = value;
    auto r = parse_order_request(b);
    EXPECT_FALSE(r) << b.dump();
    return r ? std::string("<ok>") : r.error().field;
  };
  const json gone = json(json::value_t::discarded);
  EXPECT_EQ(field("unit_ids", gone), "unit_ids");
  EXPECT_EQ(field("unit_ids", json::array()), "unit_ids");
  EXPECT_EQ(field("unit_ids", "U1"), "unit_ids");
  EXPECT_EQ(field("unit_ids", {"U1", 7}), "unit_ids[1]");
  EXPECT_EQ(field("unit_ids", {"U1", "U1"}), "unit_ids[1]");
  EXPECT_EQ(field("unit_ids", {"a/b"}), "unit_ids[0]");
  json many = json::array();
  for (std::size_t i = 0; i <= kMaxUnitsPerRequest; ++i) many.push_back("U" + std::to_string(i));
  EXPECT_EQ(field("unit_ids", many), "unit_ids");
  EXPECT_EQ(field("instruction", gone), "instruction");
  EXPECT_EQ(field("instruction", ""), "instruction");
  EXPECT_EQ(field("instruction", std::string(kMaxInstruction + 1, 'x')), "instruction");
  EXPECT_EQ(field("kind", "patrol"), "kind");
  EXPECT_EQ(field("kind", gone), "kind");
  EXPECT_EQ(field("station_id", 5), "station_id");
  EXPECT_EQ(field("units", {"U1"}), "units");
}

TEST(OrderEvent, AcceptsEveryStep) {
  const auto now = at("2026-11-26T10:00:00Z");
  for (const char* t : {"ack", "en_route", "on_scene", "complete"}) {
    auto r = parse_order_event(json{{"type", t}, {"note", "ok"}}, now);
    ASSERT_TRUE(r) << t;
    EXPECT_FALSE(r->at);
  }
  auto d = parse_order_event(json{{"type", "decline"}, {"reason", "车辆故障"}}, now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, "车辆故障");
  auto re = parse_order_event(json{{"type", "reassign"}, {"unit_id", "U9"}, {"reason", "closer"}}, now);
  ASSERT_TRUE(re);
  EXPECT_EQ(re->unit_id, "U9");
  auto a = parse_order_event(json{{"type", "ack"}, {"at", "2026-11-26T18:00:30+08:00"}}, now);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->at, now + 30s);  // within the skew
}

TEST(OrderEvent, RefusesWithTheField) {
  const auto now = at("2026-11-26T10:00:00Z");
  const auto field = [now](const json& body) {
    auto r = parse_order_event(body, now);
    EXPECT_FALSE(r) << body.dump();
    return r ? std::string("<ok>") : r.error().field;
  };
  EXPECT_EQ(field(json::object()), "type");
  EXPECT_EQ(field(json{{"type", "close"}}), "type");
  EXPECT_EQ(field(json{{"type", "decline"}}), "reason");
  EXPECT_EQ(field(json{{"type", "decline"}, {"reason", ""}}), "reason");
  EXPECT_EQ(field(json{{"type", "reassign"}, {"reason", "x"}}), "unit_id");
  EXPECT_EQ(field(json{{"type", "ack"}, {"unit_id", "U2"}}), "unit_id");
  EXPECT_EQ(field(json{{"type", "ack"}, {"at", "yesterday"}}), "at");
  EXPECT_EQ(field(json{{"type", "ack"}, {"at", "2026-11-26T10:01:01Z"}}), "at");  // beyond the skew
  EXPECT_EQ(field(json{{"type", "ack"}, {"note", std::string(kMaxNote + 1, 'x')}}), "note");
  EXPECT_EQ(field(json{{"type", "ack"}, {"extra", 1}}), "extra");
}

TEST(OrderQuery, ParsesAndRefuses) {
  std::map<std::string, std::string> q{{"incident_id", "0b8f2a52-5f0e-4c4f-9d1e-3f7f1f1f1f1f"},
                                       {"state", "issued,acknowledged"},
                                       {"limit", "20"}};
  const auto get = [&q](const char* k) -> std::optional<std::string> {
    auto it = q.find(k);
    return it == q.end() ? std::nullopt : std::optional(it->second);
  };
  auto r = parse_order_query(get);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->states.size(), 2u);
  EXPECT_EQ(r->limit, 20);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"incident_id", "x"}, {"state", "issued,,"}, {"state", "lost"}, {"limit", "0"}, {"limit", "501"},
           {"cursor", "nope"}, {"unit_id", "a/b"}}) {
    auto saved = q;
    q[k] = v;
    auto bad = parse_order_query(get);
    ASSERT_FALSE(bad) << k << "=" << v;
    EXPECT_EQ(bad.error().field, k);
    EXPECT_EQ(bad.error().kind, ErrorKind::bad_request);
    q = saved;
  }
}

TEST(OrderNumber, LikeIncidentNumbers) {
  EXPECT_EQ(format_order_number(at("2026-11-26T17:00:00Z"), 42, 480), "O20261127-000042");
}

TEST(AutoAssess, OpenedDataAndTheAssessedStep) {
  AlertInput a;
  a.source = "fraud_warning";
  a.category = "fraud";
  a.priority = 2;
  OpenedIncident ids{"a1", "i1", "XN20261126-000001", "2026-11-26T00:00:00.000000Z", "2026-11-26T00:00:01.000000Z"};
  EXPECT_EQ(json::parse(incident_opened_data(a, ids))["status"], "received");
  ids.assessed = true;
  EXPECT_EQ(json::parse(incident_opened_data(a, ids))["status"], "assessed");
  const auto step = json::parse(incident_auto_assessed_data(a, ids));
  EXPECT_EQ(step["from"], "received");
  EXPECT_EQ(step["to"], "assessed");
  EXPECT_EQ(step["event"], "assess");
  EXPECT_EQ(step["actor"], "system:auto_assess");
  EXPECT_EQ(step["at"], "2026-11-26T00:00:01.000000Z");
  EXPECT_EQ(step["id"], "i1");
  EXPECT_EQ(step["priority"], 2);
  EXPECT_NE(step["reason"].get<std::string>().find("fraud_warning"), std::string::npos);
  // Keys in sorted order, like every event written without a JSON tree.
  EXPECT_EQ(step.dump(), incident_auto_assessed_data(a, ids));
}

}  // namespace
}  // namespace xiaonao::domain::orders
