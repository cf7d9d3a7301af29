// The bodies and queries of support requests, diversions, feedback and response times: every
// field's rule, and a property test that no body (random JSON, mutated valid bodies) crashes a
// parser or yields an error without a code and, where a member is at fault, its field.
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/support.hpp"

namespace xiaonao::domain::support {
namespace {

using nlohmann::json;

TimePoint at(const char* text) { return *parse_rfc3339(text); }

template <class T>
void expect_error(const Result<T>& r, ErrorKind kind, const std::string& field) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, kind) << r.error().message;
  EXPECT_EQ(r.error().field, field) << r.error().message;
}

TEST(SupportRequest, KindAndDetail) {
  auto r = parse_support_request(json{{"kind", "video"}, {"detail", "跟踪车牌浙K12345的去向"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, "video");
  expect_error(parse_support_request(json{{"detail", "x"}}), ErrorKind::missing_field, "kind");
  expect_error(parse_support_request(json{{"kind", "pizza"}, {"detail", "x"}}), ErrorKind::invalid_field, "kind");
  expect_error(parse_support_request(json{{"kind", 3}, {"detail", "x"}}), ErrorKind::invalid_field, "kind");
  expect_error(parse_support_request(json{{"kind", "video"}}), ErrorKind::missing_field, "detail");
  expect_error(parse_support_request(json{{"kind", "video"}, {"detail", ""}}), ErrorKind::invalid_field, "detail");
  expect_error(parse_support_request(json{{"kind", "video"}, {"detail", std::string(2001, 'x')}}),
               ErrorKind::invalid_field, "detail");
  // Code points, not bytes: 2000 Chinese characters fit.
  std::string zh;
  for (int i = 0; i < 2000; ++i) zh += "车";
  EXPECT_TRUE(parse_support_request(json{{"kind", "manpower"}, {"detail", zh}}).ok());
  expect_error(parse_support_request(json{{"kind", "video"}, {"detail", std::string("a\x01b")}}),
               ErrorKind::invalid_field, "detail");
  EXPECT_TRUE(parse_support_request(json{{"kind", "video"}, {"detail", "line\nline\ttab"}}).ok());
  for (const auto k : kSupportKinds) EXPECT_TRUE(is_support_kind(k));
}

TEST(SupportRequest, ExternalOpensAnAssistAlert) {
  const json body = {{"origin", "county:龙泉市"},
                     {"kind", "cross_jurisdiction"},
                     {"detail", "协查走失老人"},
                     {"ref", "LQ-2026-0042"},
                     {"incident", {{"category", "missing_person"}, {"address", "中山街12号"}, {"description", "老人"}}}};
  auto r = parse_external_support(body, at("2026-11-26T02:00:00Z"), "gen");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->origin, "county:龙泉市");
  EXPECT_EQ(r->alert.source, "assist");
  EXPECT_EQ(r->alert.source_ref, "county:龙泉市/LQ-2026-0042");
  EXPECT_EQ(r->alert.category, "missing_person");
  EXPECT_EQ(format_rfc3339(r->alert.received_at), "2026-11-26T02:00:00.000000Z");
  EXPECT_FALSE(r->alert.priority.has_value());

  json no_ref = body;
  no_ref.erase("ref");
  no_ref["incident"]["source"] = "110";  // the server decides the source
  no_ref["incident"]["received_at"] = "2026-11-26T09:00:00+08:00";
  r = parse_external_support(no_ref, at("2026-11-26T02:00:00Z"), "gen-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->alert.source, "assist");
  EXPECT_EQ(r->alert.source_ref, "county:龙泉市/gen-1");
  EXPECT_EQ(format_rfc3339(r->alert.received_at), "2026-11-26T01:00:00.000000Z");

  json bad = body;
  bad.erase("incident");
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::missing_field, "incident");
  bad["incident"] = "missing man";
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::invalid_field, "incident");
  bad = body;
  bad["incident"].erase("category");
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::missing_field, "incident.category");
  bad = body;
  bad["incident"]["location"] = {{"lon", 500}, {"lat", 28}};
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::invalid_field, "incident.location.lon");
  bad = body;
  bad.erase("origin");
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::missing_field, "origin");
  bad["origin"] = std::string(65, 'a');
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::invalid_field, "origin");
  bad = body;
  bad["ref"] = 42;
  expect_error(parse_external_support(bad, {}, "g"), ErrorKind::invalid_field, "ref");
}

TEST(SupportRequest, AssistSourceRefIsCutOnACharacterBoundary) {
  std::string origin;
  for (int i = 0; i < 60; ++i) origin += "龙";  // 180 bytes
  const auto ref = assist_source_ref(origin, "x");
  EXPECT_LE(ref.size(), 128u);
  EXPECT_EQ(ref.size() % 3, 0u);
  EXPECT_EQ(assist_source_ref("a", "b"), "a/b");
}

TEST(SupportRequest, Events) {
  auto r = parse_support_event(json{{"type", "answer"}, {"answer", "车辆在云和出口出现"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, loop::SupportEvent::answer);
  expect_error(parse_support_event(json{{"type", "answer"}}), ErrorKind::missing_field, "answer");
  expect_error(parse_support_event(json{{"type", "reject"}}), ErrorKind::missing_field, "note");
  expect_error(parse_support_event(json{{"type", "accept"}, {"answer", "x"}}), ErrorKind::invalid_field, "answer");
  expect_error(parse_support_event(json::object()), ErrorKind::missing_field, "type");
  expect_error(parse_support_event(json{{"type", "ack"}}), ErrorKind::invalid_field, "type");
  EXPECT_TRUE(parse_support_event(json{{"type", "accept"}}).ok());
  EXPECT_TRUE(parse_support_event(json{{"type", "close"}, {"note", "结束"}}).ok());
}

TEST(SupportRequest, NumbersUseTheLocalDate) {
  EXPECT_EQ(format_support_number(at("2026-11-25T17:00:00Z"), 7, 480), "S20261126-000007");
  EXPECT_EQ(format_support_number(at("2026-11-25T15:59:59Z"), 1234567, 480), "S20261125-1234567");
}

TEST(Diversion, BodyAndEvents) {
  auto d = parse_diversion(json{{"agency", "12345"}, {"note", "电梯噪音"}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->agency, "12345");
  EXPECT_TRUE(parse_diversion(json{{"agency", "utilities"}}).ok());
  expect_error(parse_diversion(json::object()), ErrorKind::missing_field, "agency");
  expect_error(parse_diversion(json{{"agency", "110"}}), ErrorKind::invalid_field, "agency");
  expect_error(parse_diversion(json{{"agency", "12345"}, {"note", 5}}), ErrorKind::invalid_field, "note");

  auto e = parse_diversion_event(json{{"type", "reject"}, {"reason", "属于治安案件"}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, loop::DiversionEvent::reject);
  expect_error(parse_diversion_event(json{{"type", "reject"}}), ErrorKind::missing_field, "reason");
  expect_error(parse_diversion_event(json{{"type", "done"}, {"reason", "x"}}), ErrorKind::invalid_field, "reason");
  expect_error(parse_diversion_event(json{{"type", "answer"}}), ErrorKind::invalid_field, "type");
  EXPECT_TRUE(parse_diversion_event(json{{"type", "accept"}, {"note", "已受理"}}).ok());
}

TEST(Feedback, ResultCallbackReview) {
  auto f = parse_feedback(json{{"outcome", "mediated"}, {"summary", "双方和解"}, {"people_involved", 2}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->people_involved, 2);
  EXPECT_FALSE(f->property_recovered.has_value());
  EXPECT_TRUE(parse_feedback(json{{"outcome", "other"}, {"summary", "x"}, {"people_involved", 3.0}}).ok());
  expect_error(parse_feedback(json{{"summary", "x"}}), ErrorKind::missing_field, "outcome");
  expect_error(parse_feedback(json{{"outcome", "won"}, {"summary", "x"}}), ErrorKind::invalid_field, "outcome");
  expect_error(parse_feedback(json{{"outcome", "other"}}), ErrorKind::missing_field, "summary");
  for (const json& bad : {json(-1), json(10001), json(1.5), json("2"), json(true), json(1e300)})
    expect_error(parse_feedback(json{{"outcome", "other"}, {"summary", "x"}, {"people_involved", bad}}),
                 ErrorKind::invalid_field, "people_involved");
  expect_error(parse_feedback(json{{"outcome", "other"}, {"summary", "x"}, {"people_involved", 18446744073709551615ull}}),
               ErrorKind::invalid_field, "people_involved");

  auto cb = parse_callback(json{{"reached", true}, {"satisfaction", 5}});
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->satisfaction, 5);
  EXPECT_TRUE(parse_callback(json{{"reached", false}, {"note", "无人接听"}}).ok());
  EXPECT_TRUE(parse_callback(json{{"reached", false}, {"satisfaction", nullptr}}).ok());
  expect_error(parse_callback(json{{"reached", true}}), ErrorKind::missing_field, "satisfaction");
  expect_error(parse_callback(json{{"reached", false}, {"satisfaction", 3}}), ErrorKind::invalid_field, "satisfaction");
  expect_error(parse_callback(json{{"reached", true}, {"satisfaction", 6}}), ErrorKind::invalid_field, "satisfaction");
  expect_error(parse_callback(json{{"reached", true}, {"satisfaction", 0}}), ErrorKind::invalid_field, "satisfaction");
  expect_error(parse_callback(json{{"satisfaction", 3}}), ErrorKind::missing_field, "reached");
  expect_error(parse_callback(json{{"reached", "yes"}}), ErrorKind::invalid_field, "reached");

  EXPECT_TRUE(parse_review(json{{"verdict", "good"}}).ok());
  expect_error(parse_review(json{{"verdict", "excellent"}}), ErrorKind::invalid_field, "verdict");
  expect_error(parse_review(json::object()), ErrorKind::missing_field, "verdict");
}

TEST(Feedback, StatesThatTakeIt) {
  using S = loop::IncidentState;
  for (int i = 0; i < static_cast<int>(S::count_); ++i) {
    const auto s = static_cast<S>(i);
    const bool fb = s == S::dispatched || s == S::on_scene || s == S::resolved;
    EXPECT_EQ(accepts_feedback(s), fb) << loop::name(s);
    EXPECT_EQ(accepts_review(s), s == S::resolved) << loop::name(s);
    EXPECT_EQ(accepts_support_request(s), s != S::closed && s != S::cancelled) << loop::name(s);
  }
}

TEST(ResponseQuery, ParsesAndScopes) {
  auto q = parse_response_query({{"station_id", "S01"}, {"category", "theft"}, {"from", "2026-11-01T00:00:00+08:00"},
                                 {"to", "2026-12-01T00:00:00+08:00"}, {"group_by", "category"}},
                                "");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->station_id, "S01");
  EXPECT_EQ(q->group_by, GroupBy::category);
  EXPECT_EQ(format_rfc3339(*q->from), "2026-10-31T16:00:00.000000Z");
  q = parse_response_query({}, "");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->station_id.has_value());
  EXPECT_EQ(q->group_by, GroupBy::none);
  // A station role: its own station by default, another is forbidden.
  q = parse_response_query({}, "S02");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->station_id, "S02");
  expect_error(parse_response_query({{"station_id", "S01"}}, "S02"), ErrorKind::forbidden, "station_id");
  EXPECT_TRUE(parse_response_query({{"station_id", "S02"}, {"group_by", "station"}}, "S02").ok());
  expect_error(parse_response_query({{"group_by", "zone"}}, ""), ErrorKind::bad_request, "group_by");
  expect_error(parse_response_query({{"from", "yesterday"}}, ""), ErrorKind::bad_request, "from");
  expect_error(parse_response_query({{"from", "2026-11-02T00:00:00Z"}, {"to", "2026-11-01T00:00:00Z"}}, ""),
               ErrorKind::bad_request, "to");
  expect_error(parse_response_query({{"station_id", ""}}, ""), ErrorKind::bad_request, "station_id");
  expect_error(parse_response_query({{"category", "a,b"}}, ""), ErrorKind::bad_request, "category");
}

// ---- property: no body crashes a parser; every error names a field where one is at fault ---------

json random_value(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 2 ? 5 : 7);
  static const std::vector<std::string> strings = {"", "video", "answer", "reject", "12345", "good", "mediated",
                                                   "车", std::string("\x01", 1), std::string(3000, 'x'), "accept",
                                                   "done", "county:龙泉市", "missing_person"};
  switch (kind(rng)) {
    case 0: return nullptr;
    case 1: return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2: return std::uniform_int_distribution<long long>(-20, 20000)(rng);
    case 3: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 4:
    case 5: return strings[std::uniform_int_distribution<std::size_t>(0, strings.size() - 1)(rng)];
    case 6: {
      json a = json::array();
      for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      static const std::vector<std::string> keys = {"kind",    "detail",  "type",   "note",    "answer", "reason",
                                                    "agency",  "outcome", "summary", "reached", "verdict",
                                                    "origin",  "ref",     "incident", "category", "satisfaction",
                                                    "people_involved", "property_recovered", "location", "address"};
      json o = json::object();
      for (int i = std::uniform_int_distribution<int>(0, 6)(rng); i > 0; --i)
        o[keys[std::uniform_int_distribution<std::size_t>(0, keys.size() - 1)(rng)]] = random_value(rng, depth + 1);
      return o;
    }
  }
}

template <class T>
void check(const Result<T>& r, const json& body) {
  if (r.ok()) return;
  const auto& e = r.error();
  EXPECT_TRUE(e.kind == ErrorKind::missing_field || e.kind == ErrorKind::invalid_field ||
              e.kind == ErrorKind::malformed_json)
      << body.dump() << ": " << e.message;
  EXPECT_FALSE(e.message.empty()) << body.dump();
  if (e.kind == ErrorKind::missing_field) {
    EXPECT_FALSE(e.field.empty()) << body.dump();
  }
}

TEST(SupportProperty, RandomBodiesGetAnAnswerNamingTheField) {
  std::mt19937 rng(20261126);
  for (int i = 0; i < 20000; ++i) {
    json body = random_value(rng, 0);
    if (!body.is_object()) body = json{{"x", body}};
    check(parse_support_request(body), body);
    check(parse_external_support(body, TimePoint{}, "g"), body);
    check(parse_support_event(body), body);
    check(parse_diversion(body), body);
    check(parse_diversion_event(body), body);
    check(parse_feedback(body), body);
    check(parse_callback(body), body);
    check(parse_review(body), body);
  }
}

TEST(SupportProperty, AValidBodyWithOneMemberBrokenNamesThatMember) {
  const std::vector<std::pair<std::function<bool(const json&, std::string&)>, json>> cases = {
      {[](const json& b, std::string& f) {
         auto r = parse_support_request(b);
         if (!r.ok()) f = r.error().field;
         return r.ok();
       },
       json{{"kind", "video"}, {"detail", "d"}}},
      {[](const json& b, std::string& f) {
         auto r = parse_feedback(b);
         if (!r.ok()) f = r.error().field;
         return r.ok();
       },
       json{{"outcome", "other"}, {"summary", "s"}, {"people_involved", 1}, {"property_recovered", "p"}}},
      {[](const json& b, std::string& f) {
         auto r = parse_diversion(b);
         if (!r.ok()) f = r.error().field;
         return r.ok();
       },
       json{{"agency", "12345"}, {"note", "n"}}},
      {[](const json& b, std::string& f) {
         auto r = parse_review(b);
         if (!r.ok()) f = r.error().field;
         return r.ok();
       },
       json{{"verdict", "good"}, {"note", "n"}}},
  };
  for (const auto& [parse, valid] : cases) {
    std::string field;
    ASSERT_TRUE(parse(valid, field)) << valid.dump();
    for (const auto& [key, value] : valid.items()) {
      for (const json& broken : {json(12345678), json::array(), json::object(), json(std::string("\x02", 1))}) {
        json b = valid;
        b[key] = broken;
        field.clear();
        if (!parse(b, field)) {
          EXPECT_EQ(field, key) << b.dump();
        }
      }
    }
  }
}

}  // namespace
}  // namespace xiaonao::domain::support
