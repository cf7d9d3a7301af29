#include "xiaonao/domain/time.hpp"

#include <string>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

using namespace std::chrono;

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int us = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} +
         microseconds{us};
}

struct ValidCase {
  const char* text;
  TimePoint expected;
};

class Rfc3339Valid : public ::testing::TestWithParam<ValidCase> {};

TEST_P(Rfc3339Valid, Parses) {
  const auto& c = GetParam();
  const auto t = parse_rfc3339(c.text);
  ASSERT_TRUE(t.has_value()) << c.text;
  EXPECT_EQ(format_rfc3339(*t), format_rfc3339(c.expected)) << c.text;
  EXPECT_EQ(*t, c.expected) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Rfc3339Valid,
    ::testing::Values(
        ValidCase{"2026-11-26T00:30:00Z", utc(2026, 11, 26, 0, 30)},
        ValidCase{"2026-11-26t00:30:00z", utc(2026, 11, 26, 0, 30)},
        ValidCase{"2026-11-26T08:30:00+08:00", utc(2026, 11, 26, 0, 30)},
        // Local morning in China is the previous day in UTC.
        ValidCase{"2026-11-26T07:15:00+08:00", utc(2026, 11, 25, 23, 15)},
        // A negative offset pushes the instant into the next UTC day.
        ValidCase{"2026-11-26T22:00:00-05:00", utc(2026, 11, 27, 3, 0)},
        ValidCase{"2026-12-31T23:59:59-00:30", utc(2027, 1, 1, 0, 29, 59)},
        ValidCase{"2027-01-01T00:00:00+14:00", utc(2026, 12, 31, 10, 0)},
        ValidCase{"2026-11-26T08:30:00+05:45", utc(2026, 11, 26, 2, 45)},
        ValidCase{"2026-11-26T00:00:00-00:00", utc(2026, 11, 26)},
        ValidCase{"2026-11-26T00:00:00+23:59", utc(2026, 11, 25, 0, 1)},
        // Fractions: 1 to 9 digits, truncated (not rounded) to microseconds.
        ValidCase{"2026-11-26T00:30:00.5Z", utc(2026, 11, 26, 0, 30, 0, 500000)},
        ValidCase{"2026-11-26T00:30:00.012345Z", utc(2026, 11, 26, 0, 30, 0, 12345)},
        ValidCase{"2026-11-26T00:30:00.1234567Z", utc(2026, 11, 26, 0, 30, 0, 123456)},
        ValidCase{"2026-11-26T00:30:00.999999999Z", utc(2026, 11, 26, 0, 30, 0, 999999)},
        ValidCase{"2026-11-26T00:30:00.000000001+08:00", utc(2026, 11, 25, 16, 30)},
        // Leap years: divisible by 4, except centuries, except every 400 years.
        ValidCase{"2024-02-29T12:00:00Z", utc(2024, 2, 29, 12)},
        ValidCase{"2000-02-29T12:00:00Z", utc(2000, 2, 29, 12)},
        ValidCase{"2028-02-29T23:59:59+08:00", utc(2028, 2, 29, 15, 59, 59)},
        ValidCase{"2026-01-31T23:59:59Z", utc(2026, 1, 31, 23, 59, 59)},
        ValidCase{"2026-04-30T00:00:00Z", utc(2026, 4, 30)},
        ValidCase{"1970-01-01T00:00:00Z", utc(1970, 1, 1)},
        ValidCase{"1969-12-31T23:59:59.999999Z", utc(1969, 12, 31, 23, 59, 59, 999999)},
        ValidCase{"0000-01-01T00:00:00Z", utc(0, 1, 1)},
        ValidCase{"9999-12-31T23:59:59Z", utc(9999, 12, 31, 23, 59, 59)}));

class Rfc3339Invalid : public ::testing::TestWithParam<const char*> {};

TEST_P(Rfc3339Invalid, IsRejected) { EXPECT_FALSE(parse_rfc3339(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(
    Table, Rfc3339Invalid,
    ::testing::Values(
        "", "2026-11-26", "2026-11-26T00:30Z", "2026-11-26T00:30:00",  // no seconds / no offset
        "2026-11-26 00:30:00Z",                                        // space separator
        "2026-11-26T00:30:00+0800", "2026-11-26T00:30:00+08", "2026-11-26T00:30:00+8:00",
        "2026-11-26T00:30:00+24:00", "2026-11-26T00:30:00+08:60", "2026-11-26T00:30:00 Z",
        "2026-11-26T00:30:00Z ", " 2026-11-26T00:30:00Z", "2026-11-26T00:30:00ZZ",
        "2026-11-26T00:30:00.Z", "2026-11-26T00:30:00.1234567890Z", "2026-11-26T00:30:00,5Z",
        "2026-11-26T00:30:00.5", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-32T00:00:00Z",
        "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z", "2026-11-26T23:59:60Z",  // no leap sec
        "26-11-26T00:30:00Z", "20261-11-26T00:30:00Z", "2026/11/26T00:30:00Z",
        "2026-1-26T00:30:00Z", "2026-11-26T0:30:00Z", "2026-11-26T00:30:0Z",
        "+2026-11-26T00:30:00Z", "2026-11-26T00:30:00UTC", "2026-11-26T00:30:00+08:00:00",
        "２０２６-11-26T00:30:00Z", "2026-11-26T00:30:00\xef\xbc\xba",
        "1764117000"));

TEST(Rfc3339, EmbeddedNulIsRejected) {
  const std::string text("2026-11-26T00:30:00Z\0junk", 25);
  EXPECT_FALSE(parse_rfc3339(text).has_value());
}

TEST(Rfc3339, FormatsUtcWithMicroseconds) {
  EXPECT_EQ(format_rfc3339(utc(2026, 11, 26, 0, 30)), "2026-11-26T00:30:00.000000Z");
  EXPECT_EQ(format_rfc3339(utc(2026, 1, 2, 3, 4, 5, 6)), "2026-01-02T03:04:05.000006Z");
  EXPECT_EQ(format_rfc3339(utc(1969, 12, 31, 23, 59, 59, 999999)),
            "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(TimePoint{}), "1970-01-01T00:00:00.000000Z");
}

TEST(Rfc3339, FormatThenParseRoundTrips) {
  // Walk across years, leap days and pre-epoch instants with an odd microsecond stride.
  TimePoint t = utc(1960, 1, 1, 0, 0, 0, 1);
  const TimePoint end = utc(2100, 1, 1);
  int checked = 0;
  while (t < end) {
    const auto text = format_rfc3339(t);
    const auto back = parse_rfc3339(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, t) << text;
    t += hours{24 * 17 + 5} + microseconds{123457};
    ++checked;
  }
  EXPECT_GT(checked, 2000);
}

TEST(Rfc3339, ParseThenFormatNormalisesToUtc) {
  const auto t = parse_rfc3339("2026-11-26T08:30:00.25+08:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2026-11-26T00:30:00.250000Z");
}

TEST(NowUtc, IsCloseToTheSystemClock) {
  const auto before = time_point_cast<microseconds>(system_clock::now());
  const auto now = now_utc();
  const auto after = time_point_cast<microseconds>(system_clock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace xiaonao::domain
