// The event payloads and the POST answer, written without a JSON tree, are the texts the
// nlohmann trees of the earlier implementation dumped: byte for byte where no double is
// involved, value for value otherwise. Random alerts come from a fixed seed.
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/incident.hpp"

namespace xiaonao::domain {
namespace {

using nlohmann::json;

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

json location_json(const std::optional<GeoPoint>& p) {
  if (!p) return nullptr;
  return {{"lon", p->lon}, {"lat", p->lat}};
}

// The trees as the intake writer built them before (commit db39903).
json old_incident(const AlertInput& a, const OpenedIncident& ids) {
  return {{"id", std::string(ids.incident_id)},
          {"number", std::string(ids.number)},
          {"status", "received"},
          {"category", a.category},
          {"priority", a.priority.value_or(4)},
          {"received_at", std::string(ids.received_at)},
          {"created_at", std::string(ids.created_at)},
          {"updated_at", std::string(ids.created_at)},
          {"location", location_json(a.location)},
          {"address", opt(a.address)},
          {"description", opt(a.description)},
          {"alert_count", 1},
          {"station_id", nullptr}};
}

json old_alert(const AlertInput& a, const OpenedIncident& ids) {
  return {{"alert_id", std::string(ids.alert_id)},
          {"incident_id", std::string(ids.incident_id)},
          {"incident_number", std::string(ids.number)},
          {"merged", false},
          {"source", a.source},
          {"category", a.category},
          {"priority", a.priority.value_or(4)},
          {"received_at", std::string(ids.received_at)},
          {"location", location_json(a.location)},
          {"address", opt(a.address)},
          {"description", opt(a.description)}};
}

std::string pick(std::mt19937_64& rng) {
  static const char* const texts[] = {"莲都区白云街道1号", "line\nbreak\tand \"quotes\" \\ slash", "", "x",
                                      "收到刷单信息，正准备转账 🚓", "\x01\x1f control"};
  return texts[rng() % std::size(texts)];
}

TEST(IncidentEvents, MatchTheEarlierTrees) {
  std::mt19937_64 rng(20261126);
  const std::string alert_id = new_uuid(), incident_id = new_uuid();
  const OpenedIncident ids{alert_id, incident_id, "XN20261126-000042", "2026-11-26T00:30:00.000000Z",
                           "2026-11-26T00:30:01.250000Z"};
  for (int i = 0; i < 2000; ++i) {
    AlertInput a;
    a.source = (rng() & 1) ? "110" : "fraud_warning";
    a.source_ref = "ref-" + std::to_string(i);
    a.category = (rng() & 1) ? "fraud" : "noise";
    if (rng() % 3) a.priority = static_cast<int>(1 + rng() % 4);
    if (rng() & 1) a.address = pick(rng);
    if (rng() & 1) a.description = pick(rng);
    if (rng() & 1) a.caller = Caller{std::string("13857801234"), pick(rng)};  // never in events
    const bool located = (rng() & 1) != 0;
    if (located) {
      std::uniform_real_distribution<double> lon(-180, 180), lat(-90, 90);
      a.location = GeoPoint{lon(rng), lat(rng)};
      if (i % 7 == 0) a.location = GeoPoint{120.0, -0.0};
    }
    const auto inc = incident_opened_data(a, ids);
    const auto al = alert_received_data(a, ids);
    if (!located) {
      ASSERT_EQ(inc, old_incident(a, ids).dump()) << "case " << i;
      ASSERT_EQ(al, old_alert(a, ids).dump()) << "case " << i;
    }
    ASSERT_EQ(json::parse(inc), old_incident(a, ids)) << "case " << i << ": " << inc;
    ASSERT_EQ(json::parse(al), old_alert(a, ids)) << "case " << i << ": " << al;
    ASSERT_EQ(al.find("13857801234"), std::string::npos);
  }
}

TEST(IncidentEvents, AnswerBody) {
  const auto body = alert_answer_json("a-id", "i-id", "XN20261126-000042", false, true);
  EXPECT_EQ(body, R"({"alert_id":"a-id","created":true,"incident_id":"i-id","incident_number":"XN20261126-000042","merged":false})");
  const json old = {{"alert_id", "a-id"}, {"incident_id", "i-id"}, {"incident_number", "XN20261126-000042"},
                    {"merged", true}, {"created", false}};
  EXPECT_EQ(alert_answer_json("a-id", "i-id", "XN20261126-000042", true, false), old.dump());
}

}  // namespace
}  // namespace xiaonao::domain
