#include "xiaonao/domain/incident.hpp"

#include <cctype>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

using namespace std::chrono;

TimePoint at(const char* rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(TimePoint{});
}

TEST(IncidentNumber, FormatsLocalDateAndPaddedSerial) {
  EXPECT_EQ(format_incident_number(at("2026-11-26T08:30:00+08:00"), 42, 480),
            "XN20261126-000042");
  EXPECT_EQ(format_incident_number(at("2026-11-26T08:30:00+08:00"), 0, 480), "XN20261126-000000");
  EXPECT_EQ(format_incident_number(at("2026-11-26T08:30:00+08:00"), 999999, 480),
            "XN20261126-999999");
}

TEST(IncidentNumber, SerialsBeyondSixDigitsGrowInsteadOfWrapping) {
  EXPECT_EQ(format_incident_number(at("2026-11-26T08:30:00+08:00"), 1234567, 480),
            "XN20261126-1234567");
}

TEST(IncidentNumber, UsesTheStationsDateAcrossUtcMidnight) {
  // 16:00 UTC is midnight in China: the local date turns over before the UTC date does.
  EXPECT_EQ(format_incident_number(at("2026-11-25T15:59:59.999999Z"), 1, 480),
            "XN20261125-000001");
  EXPECT_EQ(format_incident_number(at("2026-11-25T16:00:00Z"), 1, 480), "XN20261126-000001");
  // 07:00 in China is still yesterday in UTC, but the number carries the local day.
  EXPECT_EQ(format_incident_number(at("2026-11-26T07:00:00+08:00"), 5, 480), "XN20261126-000005");
  EXPECT_EQ(format_incident_number(at("2026-11-26T07:00:00+08:00"), 5, 0), "XN20261125-000005");
  // New year's eve and a leap day.
  EXPECT_EQ(format_incident_number(at("2026-12-31T16:30:00Z"), 7, 480), "XN20270101-000007");
  EXPECT_EQ(format_incident_number(at("2028-02-28T16:00:00Z"), 7, 480), "XN20280229-000007");
  // A western offset moves the date back.
  EXPECT_EQ(format_incident_number(at("2026-11-26T03:00:00Z"), 7, -300), "XN20261125-000007");
}

TEST(Uuid, RecognisesOnlyCanonicalLowercase) {
  EXPECT_TRUE(is_uuid("0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(is_uuid("0B3E8F4A-1C2D-4E5F-8A9B-0C1D2E3F4A5B"));
  EXPECT_FALSE(is_uuid("0b3e8f4a1c2d4e5f8a9b0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid("{0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b}"));
  EXPECT_FALSE(is_uuid("0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5"));
  EXPECT_FALSE(is_uuid("0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5bc"));
  EXPECT_FALSE(is_uuid("0b3e8f4a-1c2d-4e5f-8a9b_0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid("0b3e8f4g-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_FALSE(is_uuid(""));
  EXPECT_FALSE(is_uuid("../../../../etc/passwd-0000-0000-0000"));
}

TEST(Uuid, NewUuidsAreCanonicalVersion7AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto u = new_uuid();
    ASSERT_TRUE(is_uuid(u)) << u;
    ASSERT_EQ(u[14], '7') << u;                          // version
    ASSERT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;  // variant
    ASSERT_TRUE(seen.insert(u).second) << "duplicate " << u;
  }
}

TEST(Uuid, NewUuidsBeginWithTheirMillisecondAndSortByIt) {
  using namespace std::chrono;
  // 2026-11-28T08:00:00.123Z is 1795852800123 ms since the epoch, 0x01a2212b107b.
  const TimePoint t{milliseconds{1795852800123LL}};
  const auto u = new_uuid(t + microseconds{456});
  EXPECT_EQ(u.substr(0, 13), "01a2212b-107b") << u;
  // Within a millisecond the order is random; a later millisecond sorts after.
  for (int i = 0; i < 1000; ++i) {
    const auto a = new_uuid(t), b = new_uuid(t + milliseconds{1});
    ASSERT_LT(a, b) << a << " " << b;
  }
  EXPECT_LT(new_uuid(t), new_uuid(t + hours{24 * 365 * 100}));
}

TEST(Uuid, ThreadsDoNotShareASequence) {
  std::vector<std::string> a, b;
  std::thread t1([&] { for (int i = 0; i < 100; ++i) a.push_back(new_uuid()); });
  std::thread t2([&] { for (int i = 0; i < 100; ++i) b.push_back(new_uuid()); });
  t1.join();
  t2.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 200u);
}

TEST(Cursor, RoundTrips) {
  const PageCursor c{at("2026-11-26T08:30:00.123456+08:00"), "0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"};
  const auto text = encode_cursor(c);
  for (const char ch : text) {
    ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')
        << "not URL-safe: " << text;
  }
  const auto back = decode_cursor(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->received_at, c.received_at);
  EXPECT_EQ(back->id, c.id);
}

TEST(Cursor, RoundTripsManyPositions) {
  // Different lengths of the time part exercise every base64 tail (0, 2 or 3 characters).
  const TimePoint times[] = {TimePoint{}, TimePoint{microseconds{1}}, TimePoint{microseconds{-1}},
                             at("1900-01-01T00:00:00Z"), at("2026-11-26T00:00:00Z"),
                             at("9999-12-31T23:59:59Z"), at("0000-01-01T00:00:00Z")};
  for (const auto t : times) {
    for (int i = 0; i < 20; ++i) {
      const PageCursor c{t + microseconds{i * 7}, new_uuid()};
      const auto back = decode_cursor(encode_cursor(c));
      ASSERT_TRUE(back.has_value()) << encode_cursor(c);
      EXPECT_EQ(back->received_at, c.received_at);
      EXPECT_EQ(back->id, c.id);
    }
  }
}

std::string b64url(const std::string& raw) {
  // Test-side encoder, independent of the code under test.
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : raw) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += a[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += a[((val << 8) >> (bits + 8)) & 0x3F];
  return out;
}

TEST(Cursor, TestEncoderAgreesWithTheCodeUnderTest) {
  const PageCursor c{TimePoint{microseconds{1764117000123456}}, "0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"};
  EXPECT_EQ(encode_cursor(c), b64url("1764117000123456|0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
}

TEST(Cursor, RejectsGarbage) {
  const std::string id = "0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  const std::string good = b64url("1764117000123456|" + id);
  ASSERT_TRUE(decode_cursor(good).has_value());

  EXPECT_FALSE(decode_cursor(""));
  EXPECT_FALSE(decode_cursor("!!!!"));
  EXPECT_FALSE(decode_cursor(good + "="));                        // padding
  EXPECT_FALSE(decode_cursor(good + "A"));                        // extra character
  EXPECT_FALSE(decode_cursor(good.substr(0, good.size() - 1)));   // truncated
  EXPECT_FALSE(decode_cursor(good.substr(0, 10) + "+" + good.substr(11)));  // standard alphabet
  EXPECT_FALSE(decode_cursor(good.substr(0, 10) + " " + good.substr(11)));
  EXPECT_FALSE(decode_cursor(b64url("1764117000123456" + id)));   // no separator
  EXPECT_FALSE(decode_cursor(b64url("|" + id)));                  // no time
  EXPECT_FALSE(decode_cursor(b64url("17641x7000123456|" + id)));  // not a number
  EXPECT_FALSE(decode_cursor(b64url("+1764117000123456|" + id)));
  EXPECT_FALSE(decode_cursor(b64url(" 1764117000123456|" + id)));
  EXPECT_FALSE(decode_cursor(b64url("01764117000123456|" + id)));  // non-canonical number
  EXPECT_FALSE(decode_cursor(b64url("-0|" + id)));
  EXPECT_FALSE(decode_cursor(b64url("99999999999999999999|" + id)));  // overflows int64
  EXPECT_FALSE(decode_cursor(b64url("9223372036854775807|" + id)));   // beyond year 9999
  EXPECT_FALSE(decode_cursor(b64url("1764117000123456|" + id + "|x")));
  EXPECT_FALSE(decode_cursor(b64url("1764117000123456|" + std::string("0B3E8F4A-1C2D-4E5F-8A9B-0C1D2E3F4A5B"))));
  EXPECT_FALSE(decode_cursor(b64url("1764117000123456|")));
  EXPECT_FALSE(decode_cursor(b64url(std::string("1764117000123456|") + id.substr(0, 35) + '\0')));
  EXPECT_FALSE(decode_cursor("MjAyNi0x"));  // the docs' placeholder is not a cursor
}

TEST(Cursor, RejectsNonZeroTrailingBits) {
  // "YQ" is "a"; "YR" decodes to the same byte with a stray bit set, so it is not canonical.
  const std::string id = "0b3e8f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  const std::string raw = "1764117000123456|" + id;  // 53 bytes: 53 % 3 == 2, a 3-character tail
  std::string text = b64url(raw);
  ASSERT_TRUE(decode_cursor(text).has_value());
  char& last = text.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // With a 2-byte tail the last character carries 4 data bits and 2 padding bits.
  last = alphabet[alphabet.find(last) | 1];
  EXPECT_FALSE(decode_cursor(text).has_value());
}

}  // namespace
}  // namespace xiaonao::domain
