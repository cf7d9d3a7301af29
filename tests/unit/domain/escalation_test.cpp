// The escalation scheduler's wake-up rule and the GET /api/v1/escalations query parser (with a
// property test over random parameter bytes: it never throws, and what it accepts is in range).
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "xiaonao/domain/escalation.hpp"

namespace xiaonao::domain::escalation {
namespace {

TEST(EscalationWait, NothingPendingSleepsTheScanInterval) {
  EXPECT_EQ(wait_ms(std::nullopt, false, 250), 250);
  EXPECT_EQ(wait_ms(std::nullopt, true, 250), 250);
}

TEST(EscalationWait, WakesAtTheNextDueTimeWhenItComesBeforeTheScan) {
  EXPECT_EQ(wait_ms(0.1, false, 250), 100);
  EXPECT_EQ(wait_ms(0.0101, false, 250), 11) << "rounded up, so the round finds it due";
  EXPECT_EQ(wait_ms(0.0000001, false, 250), 1) << "never a zero wait for a future deadline";
  EXPECT_EQ(wait_ms(0.25, false, 250), 250);
  EXPECT_EQ(wait_ms(3600.0, false, 250), 250);
  EXPECT_EQ(wait_ms(1e12, false, 250), 250) << "no overflow on a far deadline";
}

TEST(EscalationWait, DueButNotAnnouncedRetriesSoonWithoutSpinning) {
  // The round found nothing it could lock: another transaction holds the row.
  EXPECT_EQ(wait_ms(-0.5, false, 250), 20);
  EXPECT_EQ(wait_ms(0.0, false, 250), 20);
  EXPECT_EQ(wait_ms(-0.5, false, 10), 10) << "never longer than the scan interval";
  // A full batch left more due rows behind: go again at once.
  EXPECT_EQ(wait_ms(-0.5, true, 250), 0);
}

TEST(EscalationWait, DegenerateInputsStayInRange) {
  EXPECT_EQ(wait_ms(std::numeric_limits<double>::quiet_NaN(), false, 250), 250);
  EXPECT_EQ(wait_ms(std::nullopt, false, 0), 1);
  EXPECT_EQ(wait_ms(-std::numeric_limits<double>::infinity(), false, 250), 20);
  EXPECT_EQ(wait_ms(std::numeric_limits<double>::infinity(), false, 250), 250);
}

TEST(EscalationQuery, DefaultsWhenEmpty) {
  const auto q = parse_query(std::nullopt, std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->station_id, "");
  EXPECT_FALSE(q->open);
  EXPECT_FALSE(q->since);
  EXPECT_EQ(q->limit, 100);
}

TEST(EscalationQuery, AcceptsEveryParameter) {
  const auto q = parse_query("S01", "true", "2026-11-26T08:30:00+08:00", "500");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->station_id, "S01");
  ASSERT_TRUE(q->open);
  EXPECT_TRUE(*q->open);
  ASSERT_TRUE(q->since);
  EXPECT_EQ(format_rfc3339(*q->since), "2026-11-26T00:30:00.000000Z");
  EXPECT_EQ(q->limit, 500);
  const auto closed = parse_query(std::nullopt, "false", std::nullopt, "1");
  ASSERT_TRUE(closed);
  ASSERT_TRUE(closed->open);
  EXPECT_FALSE(*closed->open);
  EXPECT_EQ(closed->limit, 1);
}

TEST(EscalationQuery, RejectsBadValuesNamingTheParameter) {
  const auto field = [](const Result<Query>& r) { return r ? std::string("(accepted)") : r.error().field; };
  EXPECT_EQ(field(parse_query("", std::nullopt, std::nullopt, std::nullopt)), "station_id");
  EXPECT_EQ(field(parse_query("S 01", std::nullopt, std::nullopt, std::nullopt)), "station_id");
  EXPECT_EQ(field(parse_query(std::string(65, 'S'), std::nullopt, std::nullopt, std::nullopt)), "station_id");
  EXPECT_EQ(field(parse_query(std::nullopt, "yes", std::nullopt, std::nullopt)), "open");
  EXPECT_EQ(field(parse_query(std::nullopt, "", std::nullopt, std::nullopt)), "open");
  EXPECT_EQ(field(parse_query(std::nullopt, std::nullopt, "yesterday", std::nullopt)), "since");
  EXPECT_EQ(field(parse_query(std::nullopt, std::nullopt, "2026-11-26T08:30:00", std::nullopt)), "since");
  for (const char* bad : {"0", "501", "", "-1", "1e2", "abc", "1000", " 5"})
    EXPECT_EQ(field(parse_query(std::nullopt, std::nullopt, std::nullopt, std::string_view(bad))), "limit") << bad;
  const auto r = parse_query(std::nullopt, "maybe", std::nullopt, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::bad_request);
}

// Random bytes in every parameter: never throws; an accepted query is in range.
TEST(EscalationQuery, PropertyRandomParametersNeverThrowAndStayInRange) {
  std::mt19937_64 rng(20261126);
  const std::string alphabet = "0123456789-:.TZ+truefalsS ,%/\x01\xe4";
  const auto random_text = [&]() -> std::optional<std::string> {
    if (rng() % 4 == 0) return std::nullopt;
    std::string s;
    const auto n = rng() % 30;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    if (rng() % 8 == 0) s = std::to_string(static_cast<int>(rng() % 1200) - 100);
    return s;
  };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto a = random_text(), b = random_text(), c = random_text(), d = random_text();
    const auto view = [](const std::optional<std::string>& s) {
      return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    Result<Query> q = Error{};
    ASSERT_NO_THROW(q = parse_query(view(a), view(b), view(c), view(d)));
    if (!q) {
      EXPECT_EQ(q.error().kind, ErrorKind::bad_request);
      EXPECT_FALSE(q.error().field.empty());
      continue;
    }
    ++accepted;
    EXPECT_GE(q->limit, 1);
    EXPECT_LE(q->limit, 500);
    EXPECT_LE(q->station_id.size(), 64u);
    if (b) {
      EXPECT_TRUE(*b == "true" || *b == "false");
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace xiaonao::domain::escalation
