#include "xiaonao/domain/alert.hpp"

#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace xiaonao::domain {
namespace {

using nlohmann::json;

// The example from docs/api.md plus every optional field, so each rule can be broken alone.
json valid_alert() {
  return json::parse(R"({
    "source": "110", "source_ref": "110-20261126-0001",
    "received_at": "2026-11-26T08:30:00+08:00", "category": "fraud", "priority": 2,
    "caller": {"phone": "13857801234", "name": "李芳"},
    "location": {"lon": 119.5701, "lat": 28.1174},
    "address": "浙江省丽水市莲都区白云街道1号", "marker": "LS-0421",
    "subject": {"phone": "+86 138-5780-1234", "id_number": "33110219850101123x"},
    "description": "收到刷单信息，正准备转账"
  })");
}

Result<AlertInput> parse_with(const std::function<void(json&)>& edit, const AlertLimits& limits = {}) {
  json j = valid_alert();
  edit(j);
  return parse_alert(j.dump(), limits);
}

// Asserts that the edited alert fails with `kind` naming `field`.
void expect_error(const std::function<void(json&)>& edit, ErrorKind kind, const std::string& field,
                  const AlertLimits& limits = {}) {
  const auto r = parse_with(edit, limits);
  ASSERT_FALSE(r.ok()) << "accepted, expected an error on " << field;
  EXPECT_EQ(error_code(r.error().kind), std::string(error_code(kind))) << r.error().message;
  EXPECT_EQ(r.error().field, field) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
}

void expect_ok(const std::function<void(json&)>& edit) {
  const auto r = parse_with(edit);
  ASSERT_TRUE(r.ok()) << r.error().field << ": " << r.error().message;
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

// --- the whole body -----------------------------------------------------------------------

TEST(ParseAlert, AcceptsTheDocumentedExample) {
  const auto r = parse_alert(R"({"source": "110", "source_ref": "110-20261126-0001",
      "received_at": "2026-11-26T08:30:00+08:00", "category": "fraud",
      "caller": {"phone": "13857801234", "name": "李芳"},
      "location": {"lon": 119.5701, "lat": 28.1174}, "description": "收到刷单信息，正准备转账"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source, "110");
  EXPECT_EQ(r->source_ref, "110-20261126-0001");
  EXPECT_EQ(format_rfc3339(r->received_at), "2026-11-26T00:30:00.000000Z");
  EXPECT_EQ(r->category, "fraud");
  EXPECT_FALSE(r->priority.has_value());
  ASSERT_TRUE(r->caller.has_value());
  EXPECT_EQ(r->caller->phone, "13857801234");
  EXPECT_EQ(r->caller->name, "李芳");
  ASSERT_TRUE(r->location.has_value());
  EXPECT_DOUBLE_EQ(r->location->lon, 119.5701);
  EXPECT_DOUBLE_EQ(r->location->lat, 28.1174);
  EXPECT_FALSE(r->address.has_value());
  EXPECT_FALSE(r->marker.has_value());
  EXPECT_FALSE(r->subject.has_value());
  EXPECT_EQ(r->description, "收到刷单信息，正准备转账");
}

TEST(ParseAlert, AcceptsEveryOptionalField) {
  const auto r = parse_with([](json&) {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->priority, 2);
  EXPECT_EQ(r->address, "浙江省丽水市莲都区白云街道1号");
  EXPECT_EQ(r->marker, "LS-0421");
  ASSERT_TRUE(r->subject.has_value());
  EXPECT_EQ(r->subject->phone, "+86 138-5780-1234");
}

TEST(ParseAlert, AcceptsTheMinimalAlert) {
  const auto r = parse_alert(
      R"({"source":"walk_in","source_ref":"w1","received_at":"2026-11-26T00:00:00Z","category":"help"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->caller || r->location || r->address || r->marker || r->subject || r->description);
}

TEST(ParseAlert, NotJsonIsMalformed) {
  for (const char* body : {"", "{", "not json", "{\"source\": }", "{'source': '110'}",
                           "{\"a\":1} trailing", "{\"a\":NaN}", "{\"a\":1e999}", "\xff\xfe"}) {
    const auto r = parse_alert(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::malformed_json) << body;
    EXPECT_EQ(r.error().field, "") << body;
  }
}

TEST(ParseAlert, InvalidUtf8InsideAStringIsMalformed) {
  const auto r = parse_alert("{\"source\":\"110\",\"source_ref\":\"\xc3\x28\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::malformed_json);
}

TEST(ParseAlert, NestingDeeperThanTheLimitIsMalformed) {
  const auto r = parse_with([](json& j) {
    json deep = 1;
    for (int i = 0; i < 20; ++i) deep = json::array({deep});
    j["extra"] = deep;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::malformed_json);
  EXPECT_NE(r.error().message.find("16"), std::string::npos) << r.error().message;

  AlertLimits loose;
  loose.max_depth = 64;
  EXPECT_TRUE(parse_with([](json& j) {
    json deep = 1;
    for (int i = 0; i < 20; ++i) deep = json::array({deep});
    j["extra"] = deep;
  }, loose).ok());
}

TEST(ParseAlert, HugeNestingIsRefusedBeforeParsing) {
  const auto r = parse_alert(std::string(1000000, '['));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::malformed_json);
}

TEST(ParseAlert, TopLevelMustBeAnObject) {
  for (const char* body : {"[]", "42", "\"alert\"", "null", "true"}) {
    const auto r = parse_alert(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_field) << body;
    EXPECT_EQ(r.error().field, "") << body;
  }
}

TEST(ParseAlert, UnknownFieldsAreIgnored) {
  expect_ok([](json& j) { j["vendor_extension"] = {{"anything", json::array({1, 2})}}; });
}

TEST(ParseAlert, FirstErrorFollowsTheContractOrder) {
  expect_error([](json& j) { j.erase("category"); j["source"] = 1; }, ErrorKind::invalid_field, "source");
}

// --- source -------------------------------------------------------------------------------

TEST(AlertSource, IsRequired) {
  expect_error([](json& j) { j.erase("source"); }, ErrorKind::missing_field, "source");
}
TEST(AlertSource, NullCountsAsMissing) {
  expect_error([](json& j) { j["source"] = nullptr; }, ErrorKind::missing_field, "source");
}
TEST(AlertSource, MustBeAString) {
  expect_error([](json& j) { j["source"] = 110; }, ErrorKind::invalid_field, "source");
}
TEST(AlertSource, MustNotBeEmpty) {
  expect_error([](json& j) { j["source"] = ""; }, ErrorKind::invalid_field, "source");
}
TEST(AlertSource, AtMost32Characters) {
  expect_ok([](json& j) { j["source"] = std::string(32, 'a'); });
  expect_error([](json& j) { j["source"] = std::string(33, 'a'); }, ErrorKind::invalid_field, "source");
}
TEST(AlertSource, OnlyLowercaseDigitsUnderscoreAndHyphen) {
  for (const char* ok : {"110", "12345", "alarm_pillar", "fraud_warning", "video-ai", "walk_in"}) {
    expect_ok([&](json& j) { j["source"] = ok; });
  }
  for (const char* bad : {"Alarm", "video ai", "110\n", "消防", "a.b", "a/b"}) {
    expect_error([&](json& j) { j["source"] = bad; }, ErrorKind::invalid_field, "source");
  }
}

// --- source_ref ---------------------------------------------------------------------------

TEST(AlertSourceRef, IsRequired) {
  expect_error([](json& j) { j.erase("source_ref"); }, ErrorKind::missing_field, "source_ref");
}
TEST(AlertSourceRef, MustBeAString) {
  expect_error([](json& j) { j["source_ref"] = 1; }, ErrorKind::invalid_field, "source_ref");
}
TEST(AlertSourceRef, LengthIsCountedInCharactersNotBytes) {
  // 128 Chinese characters are 384 bytes but within the limit of 128 characters.
  expect_ok([](json& j) { j["source_ref"] = repeat("警", 128); });
  expect_error([](json& j) { j["source_ref"] = repeat("警", 129); }, ErrorKind::invalid_field,
               "source_ref");
  expect_ok([](json& j) { j["source_ref"] = repeat("😀", 128); });  // 4-byte code points
}
TEST(AlertSourceRef, MustNotBeEmpty) {
  expect_error([](json& j) { j["source_ref"] = ""; }, ErrorKind::invalid_field, "source_ref");
}
TEST(AlertSourceRef, RefusesControlCharacters) {
  for (const char* bad : {"a\nb", "a\tb", "a\x01", "a\x7f", "a\xc2\x85"  /* U+0085 */}) {
    expect_error([&](json& j) { j["source_ref"] = bad; }, ErrorKind::invalid_field, "source_ref");
  }
  expect_error([](json& j) { j["source_ref"] = std::string("a\0b", 3); }, ErrorKind::invalid_field,
               "source_ref");
}

// --- received_at --------------------------------------------------------------------------

TEST(AlertReceivedAt, IsRequired) {
  expect_error([](json& j) { j.erase("received_at"); }, ErrorKind::missing_field, "received_at");
}
TEST(AlertReceivedAt, MustBeAString) {
  expect_error([](json& j) { j["received_at"] = 1764117000; }, ErrorKind::invalid_field,
               "received_at");
}
TEST(AlertReceivedAt, MustBeRfc3339WithAnOffset) {
  for (const char* bad : {"2026-11-26T08:30:00", "2026-11-26", "26/11/2026 08:30", "2026-02-30T00:00:00Z"}) {
    expect_error([&](json& j) { j["received_at"] = bad; }, ErrorKind::invalid_field, "received_at");
  }
}
TEST(AlertReceivedAt, IsStoredInUtc) {
  const auto r = parse_with([](json& j) { j["received_at"] = "2026-11-26T07:59:59.5+08:00"; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(format_rfc3339(r->received_at), "2026-11-25T23:59:59.500000Z");
}

// --- category -----------------------------------------------------------------------------

TEST(AlertCategory, IsRequired) {
  expect_error([](json& j) { j.erase("category"); }, ErrorKind::missing_field, "category");
}
TEST(AlertCategory, MustBeAString) {
  expect_error([](json& j) { j["category"] = json::array({"fraud"}); }, ErrorKind::invalid_field,
               "category");
}
TEST(AlertCategory, MustNotBeEmpty) {
  expect_error([](json& j) { j["category"] = ""; }, ErrorKind::invalid_field, "category");
}
TEST(AlertCategory, ExistenceIsLeftToTheService) {
  // Unknown codes pass here; the service answers unknown_category from the categories table.
  expect_ok([](json& j) { j["category"] = "no_such_category"; });
}

// --- priority -----------------------------------------------------------------------------

TEST(AlertPriority, IsOptional) {
  const auto r = parse_with([](json& j) { j.erase("priority"); });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->priority.has_value());
  EXPECT_FALSE(parse_with([](json& j) { j["priority"] = nullptr; })->priority.has_value());
}
TEST(AlertPriority, AcceptsOneToFour) {
  for (int p = 1; p <= 4; ++p) {
    const auto r = parse_with([&](json& j) { j["priority"] = p; });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->priority, p);
  }
}
TEST(AlertPriority, OutOfRangeIsInvalid) {
  for (long long p : {0LL, 5LL, -1LL, 4294967297LL}) {
    expect_error([&](json& j) { j["priority"] = p; }, ErrorKind::invalid_field, "priority");
  }
  expect_error([](json& j) { j["priority"] = std::numeric_limits<std::uint64_t>::max(); },
               ErrorKind::invalid_field, "priority");
}
TEST(AlertPriority, MustBeAnInteger) {
  const auto bad = [](const char* text) {
    json j = valid_alert();
    std::string body = j.dump();
    const auto pos = body.find("\"priority\":2");
    return parse_alert(body.replace(pos, 12, std::string("\"priority\":") + text));
  };
  for (const char* text : {"2.5", "2.0", "\"2\"", "true", "[2]", "{}", "1e0"}) {
    const auto r = bad(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_field) << text;
    EXPECT_EQ(r.error().field, "priority") << text;
  }
}

// --- caller -------------------------------------------------------------------------------

TEST(AlertCaller, MustBeAnObject) {
  expect_error([](json& j) { j["caller"] = "13857801234"; }, ErrorKind::invalid_field, "caller");
}
TEST(AlertCaller, NullIsAbsent) {
  const auto r = parse_with([](json& j) { j["caller"] = nullptr; });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->caller.has_value());
}
TEST(AlertCaller, PhoneMayUseDigitsPlusHyphenAndSpace) {
  for (const char* ok : {"110", "13857801234", "+86 138-5780-1234", "0578-2123456", "12345678901234567890"}) {
    expect_ok([&](json& j) { j["caller"]["phone"] = ok; });
  }
}
TEST(AlertCaller, PhoneLengthIs3To20) {
  expect_error([](json& j) { j["caller"]["phone"] = "12"; }, ErrorKind::invalid_field, "caller.phone");
  expect_error([](json& j) { j["caller"]["phone"] = std::string(21, '1'); }, ErrorKind::invalid_field,
               "caller.phone");
}
TEST(AlertCaller, PhoneRefusesOtherCharacters) {
  for (const char* bad : {"138a5780", "(0578)212", "138.5780", "１３８５７８０", "138\n5780"}) {
    expect_error([&](json& j) { j["caller"]["phone"] = bad; }, ErrorKind::invalid_field, "caller.phone");
  }
}
TEST(AlertCaller, PhoneNeedsADigit) {
  expect_error([](json& j) { j["caller"]["phone"] = "- -+"; }, ErrorKind::invalid_field, "caller.phone");
}
TEST(AlertCaller, PhoneMustBeAString) {
  expect_error([](json& j) { j["caller"]["phone"] = 13857801234LL; }, ErrorKind::invalid_field,
               "caller.phone");
}
TEST(AlertCaller, NameIsAtMost64Characters) {
  expect_ok([](json& j) { j["caller"]["name"] = repeat("芳", 64); });
  expect_error([](json& j) { j["caller"]["name"] = repeat("芳", 65); }, ErrorKind::invalid_field,
               "caller.name");
}
TEST(AlertCaller, NameMustBeAString) {
  expect_error([](json& j) { j["caller"]["name"] = json::object(); }, ErrorKind::invalid_field,
               "caller.name");
}
TEST(AlertCaller, NameRefusesControlCharacters) {
  expect_error([](json& j) { j["caller"]["name"] = "李\n芳"; }, ErrorKind::invalid_field, "caller.name");
}
TEST(AlertCaller, BothMembersAreOptional) {
  const auto r = parse_with([](json& j) { j["caller"] = json::object(); });
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->caller.has_value());
  EXPECT_FALSE(r->caller->phone || r->caller->name);
}

// --- location -----------------------------------------------------------------------------

TEST(AlertLocation, MustBeAnObject) {
  expect_error([](json& j) { j["location"] = json::array({119.57, 28.11}); }, ErrorKind::invalid_field,
               "location");
}
TEST(AlertLocation, LonIsRequired) {
  expect_error([](json& j) { j["location"].erase("lon"); }, ErrorKind::missing_field, "location.lon");
}
TEST(AlertLocation, LatIsRequired) {
  expect_error([](json& j) { j["location"].erase("lat"); }, ErrorKind::missing_field, "location.lat");
}
TEST(AlertLocation, LonMustBeANumber) {
  expect_error([](json& j) { j["location"]["lon"] = "119.57"; }, ErrorKind::invalid_field,
               "location.lon");
  expect_error([](json& j) { j["location"]["lon"] = true; }, ErrorKind::invalid_field, "location.lon");
}
TEST(AlertLocation, LatMustBeANumber) {
  expect_error([](json& j) { j["location"]["lat"] = "28.11"; }, ErrorKind::invalid_field,
               "location.lat");
}
TEST(AlertLocation, LonWithinPlusMinus180) {
  expect_ok([](json& j) { j["location"]["lon"] = 180; });
  expect_ok([](json& j) { j["location"]["lon"] = -180.0; });
  expect_error([](json& j) { j["location"]["lon"] = 180.000001; }, ErrorKind::invalid_field,
               "location.lon");
  expect_error([](json& j) { j["location"]["lon"] = -181; }, ErrorKind::invalid_field, "location.lon");
}
TEST(AlertLocation, LatWithinPlusMinus90) {
  expect_ok([](json& j) { j["location"]["lat"] = -90; });
  expect_error([](json& j) { j["location"]["lat"] = 90.5; }, ErrorKind::invalid_field, "location.lat");
  expect_error([](json& j) { j["location"]["lat"] = 1e300; }, ErrorKind::invalid_field, "location.lat");
}
TEST(AlertLocation, SwappedCoordinatesAreCaughtByLatRange) {
  // A classic integrator bug: lat/lon swapped. 119 is no latitude.
  expect_error([](json& j) { j["location"] = {{"lon", 28.1174}, {"lat", 119.5701}}; },
               ErrorKind::invalid_field, "location.lat");
}
TEST(AlertLocation, NullIsAbsent) {
  const auto r = parse_with([](json& j) { j["location"] = nullptr; });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->location.has_value());
}
TEST(AlertLocation, NullCoordinateIsMissing) {
  expect_error([](json& j) { j["location"]["lat"] = nullptr; }, ErrorKind::missing_field,
               "location.lat");
}

// --- address ------------------------------------------------------------------------------

TEST(AlertAddress, MustBeAString) {
  expect_error([](json& j) { j["address"] = 1; }, ErrorKind::invalid_field, "address");
}
TEST(AlertAddress, Is1To300Characters) {
  expect_ok([](json& j) { j["address"] = repeat("街", 300); });
  expect_error([](json& j) { j["address"] = repeat("街", 301); }, ErrorKind::invalid_field, "address");
  expect_error([](json& j) { j["address"] = ""; }, ErrorKind::invalid_field, "address");
}
TEST(AlertAddress, LimitComesFromAlertLimits) {
  AlertLimits limits;
  limits.max_address = 10;
  expect_error([](json& j) { j["address"] = repeat("街", 11); }, ErrorKind::invalid_field, "address",
               limits);
}
TEST(AlertAddress, RefusesNul) {
  expect_error([](json& j) { j["address"] = std::string("a\0b", 3); }, ErrorKind::invalid_field,
               "address");
}

// --- marker -------------------------------------------------------------------------------

TEST(AlertMarker, MustBeAString) {
  expect_error([](json& j) { j["marker"] = 421; }, ErrorKind::invalid_field, "marker");
}
TEST(AlertMarker, Is1To64Characters) {
  expect_ok([](json& j) { j["marker"] = std::string(64, 'M'); });
  expect_error([](json& j) { j["marker"] = std::string(65, 'M'); }, ErrorKind::invalid_field, "marker");
  expect_error([](json& j) { j["marker"] = ""; }, ErrorKind::invalid_field, "marker");
}
TEST(AlertMarker, RefusesControlCharacters) {
  expect_error([](json& j) { j["marker"] = "LS\t0421"; }, ErrorKind::invalid_field, "marker");
}

// --- subject ------------------------------------------------------------------------------

TEST(AlertSubject, MustBeAnObject) {
  expect_error([](json& j) { j["subject"] = "13857801234"; }, ErrorKind::invalid_field, "subject");
}
TEST(AlertSubject, NeedsPhoneOrIdNumber) {
  expect_error([](json& j) { j["subject"] = json::object(); }, ErrorKind::invalid_field, "subject");
  expect_error([](json& j) { j["subject"] = {{"phone", nullptr}, {"id_number", nullptr}}; },
               ErrorKind::invalid_field, "subject");
}
TEST(AlertSubject, EitherMemberAloneIsEnough) {
  expect_ok([](json& j) { j["subject"] = {{"phone", "13857801234"}}; });
  expect_ok([](json& j) { j["subject"] = {{"id_number", "331102198501011234"}}; });
}
TEST(AlertSubject, PhoneFollowsThePhoneRule) {
  expect_error([](json& j) { j["subject"]["phone"] = "call me"; }, ErrorKind::invalid_field,
               "subject.phone");
}
TEST(AlertSubject, IdNumberIs15Or18Digits) {
  expect_ok([](json& j) { j["subject"]["id_number"] = "331102850101123"; });
  expect_ok([](json& j) { j["subject"]["id_number"] = "331102198501011234"; });
  for (const char* bad : {"33110219850101123", "3311021985010112345", "", "33110219850101123A",
                          "3311X2198501011234", "X31102198501011234", "331102 98501011234",
                          "３３１１０２１９８５０１０１１２３４"}) {
    expect_error([&](json& j) { j["subject"]["id_number"] = bad; }, ErrorKind::invalid_field,
                 "subject.id_number");
  }
}
TEST(AlertSubject, IdNumberFinalXIsNormalisedToUppercase) {
  const auto r = parse_with([](json& j) { j["subject"]["id_number"] = "33110219850101123x"; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subject->id_number, "33110219850101123X");
  const auto upper = parse_with([](json& j) { j["subject"]["id_number"] = "33110219850101123X"; });
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->subject->id_number, "33110219850101123X");
}
TEST(AlertSubject, IdNumberMustBeAString) {
  expect_error([](json& j) { j["subject"]["id_number"] = 331102198501011234LL; },
               ErrorKind::invalid_field, "subject.id_number");
}

// --- description --------------------------------------------------------------------------

TEST(AlertDescription, MustBeAString) {
  expect_error([](json& j) { j["description"] = json::array(); }, ErrorKind::invalid_field,
               "description");
}
TEST(AlertDescription, IsAtMost4000Characters) {
  expect_ok([](json& j) { j["description"] = repeat("转", 4000); });
  expect_error([](json& j) { j["description"] = repeat("转", 4001); }, ErrorKind::invalid_field,
               "description");
}
TEST(AlertDescription, MayBeEmptyAndMultiline) {
  expect_ok([](json& j) { j["description"] = ""; });
  expect_ok([](json& j) { j["description"] = "第一行\r\n第二行\t完"; });
}
TEST(AlertDescription, RefusesOtherControlCharacters) {
  expect_error([](json& j) { j["description"] = "bell\x07"; }, ErrorKind::invalid_field,
               "description");
  expect_error([](json& j) { j["description"] = std::string("nul\0", 4); }, ErrorKind::invalid_field,
               "description");
}
TEST(AlertDescription, LimitComesFromAlertLimits) {
  AlertLimits limits;
  limits.max_description = 5;
  expect_error([](json& j) { j["description"] = "123456"; }, ErrorKind::invalid_field, "description",
               limits);
}

// --- alert_from_json with values that never went through the parser ---------------------

TEST(AlertFromJson, RefusesInvalidUtf8BuiltInMemory) {
  json j = valid_alert();
  j["description"] = std::string("\xed\xa0\x80");  // a UTF-16 surrogate encoded as UTF-8
  auto r = alert_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "description");
  j["description"] = std::string("\xc0\xaf");  // overlong '/'
  r = alert_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "description");
  j["description"] = std::string("\xe8\xbd");  // truncated
  r = alert_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "description");
}

TEST(AlertFromJson, RefusesNonFiniteNumbersBuiltInMemory) {
  json j = valid_alert();
  j["location"]["lon"] = std::numeric_limits<double>::quiet_NaN();
  auto r = alert_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "location.lon");
  j["location"]["lon"] = std::numeric_limits<double>::infinity();
  r = alert_from_json(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "location.lon");
}

// --- to_json ------------------------------------------------------------------------------

TEST(AlertToJson, UsesTheContractsFieldNames) {
  const auto r = parse_with([](json&) {});
  ASSERT_TRUE(r.ok());
  const json j = to_json(*r);
  EXPECT_EQ(j["source"], "110");
  EXPECT_EQ(j["source_ref"], "110-20261126-0001");
  EXPECT_EQ(j["received_at"], "2026-11-26T00:30:00.000000Z");
  EXPECT_EQ(j["category"], "fraud");
  EXPECT_EQ(j["priority"], 2);
  EXPECT_EQ(j["caller"], json({{"phone", "13857801234"}, {"name", "李芳"}}));
  EXPECT_EQ(j["location"]["lon"], 119.5701);
  EXPECT_EQ(j["location"]["lat"], 28.1174);
  EXPECT_EQ(j["address"], "浙江省丽水市莲都区白云街道1号");
  EXPECT_EQ(j["marker"], "LS-0421");
  EXPECT_EQ(j["subject"], json({{"phone", "+86 138-5780-1234"}, {"id_number", "33110219850101123X"}}));
  EXPECT_EQ(j["description"], "收到刷单信息，正准备转账");
  EXPECT_EQ(j.size(), 11u);
}

TEST(AlertToJson, AbsentOptionalsAreNull) {
  const auto r = parse_alert(
      R"({"source":"110","source_ref":"r","received_at":"2026-11-26T00:00:00Z","category":"help"})");
  ASSERT_TRUE(r.ok());
  const json j = to_json(*r);
  for (const char* key : {"priority", "caller", "location", "address", "marker", "subject", "description"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j[key].is_null()) << key;
  }
}

TEST(AlertToJson, ParsesBackToTheSameAlert) {
  const auto r = parse_with([](json&) {});
  ASSERT_TRUE(r.ok());
  const auto again = parse_alert(to_json(*r).dump());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(to_json(*again), to_json(*r));
}

}  // namespace
}  // namespace xiaonao::domain
