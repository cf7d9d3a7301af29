// The direct JSON writer: escaping by example, then properties against nlohmann (the same text
// for strings and integers, the same value back for doubles) over random inputs from a fixed seed.
// The cursor that reads JSON text of a known shape: by example, then against nlohmann's parse of
// random texts, and on broken texts (an std::invalid_argument, never anything else).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/json_text.hpp"

namespace xiaonao::domain {
namespace {

using nlohmann::json;

constexpr std::uint64_t kSeed = 20261126;

std::string str(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string dbl(double d) {
  std::string out;
  append_json_double(out, d);
  return out;
}

TEST(JsonText, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(str(""), R"("")");
  EXPECT_EQ(str("plain"), R"("plain")");
  EXPECT_EQ(str(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(str(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(str("/"), R"("/")");  // a solidus needs no escape
}

TEST(JsonText, EscapesEveryControlCharacter) {
  EXPECT_EQ(str("a\nb\tc\rd\be\ff"), R"("a\nb\tc\rd\be\ff")");
  EXPECT_EQ(str(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(str("\x01\x1f"), R"("\u0001\u001f")");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(str(s), json(s).dump()) << "control character " << c;
    EXPECT_EQ(json::parse(str(s)).get<std::string>(), s) << "control character " << c;
  }
  EXPECT_EQ(str("\x7f"), "\"\x7f\"");  // DEL is allowed raw in JSON (nlohmann writes it raw too)
}

TEST(JsonText, PassesUtf8Through) {
  EXPECT_EQ(str("李芳"), "\"李芳\"");
  EXPECT_EQ(str("收到刷单信息，正准备转账"), "\"收到刷单信息，正准备转账\"");
  EXPECT_EQ(str("\xF0\x9F\x9A\x93 \xC3\xA9"), "\"\xF0\x9F\x9A\x93 \xC3\xA9\"");  // 🚓 é
  EXPECT_EQ(str("\xE2\x80\xA8"), "\"\xE2\x80\xA8\"");  // U+2028 is valid raw in JSON
}

TEST(JsonText, AppendsWithoutClearing) {
  std::string out = "x=";
  append_json_string(out, "y");
  append_json_int(out, -42);
  EXPECT_EQ(out, R"(x="y"-42)");
}

TEST(JsonText, Doubles) {
  EXPECT_EQ(dbl(119.5701), "119.5701");
  EXPECT_EQ(dbl(28.1174), "28.1174");
  EXPECT_EQ(dbl(3.0), "3.0");
  EXPECT_EQ(dbl(0.0), "0.0");
  EXPECT_EQ(dbl(-0.0), "-0.0");
  EXPECT_EQ(dbl(-180.0), "-180.0");
  EXPECT_EQ(dbl(1e-7), json(1e-7).dump());
  EXPECT_EQ(dbl(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(dbl(std::numeric_limits<double>::infinity()), "null");
  for (const double d : {119.5701, 28.1174, 3.0, -0.0, 0.1, 1e300, -2.5e-300, 120.123456789012}) {
    EXPECT_EQ(json::parse(dbl(d)).get<double>(), d) << dbl(d);
    EXPECT_TRUE(json::parse(dbl(d)).is_number_float()) << dbl(d);
  }
}

TEST(JsonText, Integers) {
  for (const std::int64_t v : {std::int64_t{0}, std::int64_t{4}, std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                               std::numeric_limits<std::int64_t>::min()}) {
    std::string out;
    append_json_int(out, v);
    EXPECT_EQ(out, json(v).dump());
  }
}

TEST(JsonText, WriterPlacesCommasAndColons) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("a").integer(1);
  w.key("b").begin_array().string("x").null().boolean(true).begin_object().end_object().end_array();
  w.key("c").begin_object().key("d").number(2.5).key("e").raw(R"({"f":[]})").end_object();
  w.optional_string("g", std::optional<std::string>{});
  w.optional_string("h", std::optional<std::string>{"v"});
  w.key("i").begin_array().end_array();
  w.end_object();
  EXPECT_EQ(out, R"({"a":1,"b":["x",null,true,{}],"c":{"d":2.5,"e":{"f":[]}},"g":null,"h":"v","i":[]})");
  EXPECT_TRUE(json::accept(out));
}

TEST(JsonText, WriterTopLevelArray) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  for (int i = 0; i < 3; ++i) w.begin_object().key("idx").integer(i).end_object();
  w.end_array();
  EXPECT_EQ(out, R"([{"idx":0},{"idx":1},{"idx":2}])");
}

// A random valid UTF-8 string, biased towards the characters that need care: controls, quotes,
// backslashes, and multi-byte sequences of every length.
std::string random_utf8(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> len_dist(0, 40);
  std::uniform_int_distribution<int> kind(0, 6);
  std::string s;
  const int n = len_dist(rng);
  for (int i = 0; i < n; ++i) {
    char32_t cp = 0;
    switch (kind(rng)) {
      case 0: cp = std::uniform_int_distribution<char32_t>(0, 0x1F)(rng); break;
      case 1: cp = std::uniform_int_distribution<int>(0, 1)(rng) ? U'"' : U'\\'; break;
      case 2: cp = std::uniform_int_distribution<char32_t>(0x20, 0x7F)(rng); break;
      case 3: cp = std::uniform_int_distribution<char32_t>(0x80, 0x7FF)(rng); break;
      case 4: cp = std::uniform_int_distribution<char32_t>(0x800, 0xFFFF)(rng); break;
      case 5: cp = std::uniform_int_distribution<char32_t>(0x10000, 0x10FFFF)(rng); break;
      default: cp = std::uniform_int_distribution<char32_t>(0x4E00, 0x9FFF)(rng); break;  // CJK
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // surrogates are not characters
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return s;
}

TEST(JsonTextProperty, StringsMatchNlohmannAndRoundTrip) {
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < 20000; ++i) {
    const auto s = random_utf8(rng);
    const auto out = str(s);
    ASSERT_EQ(out, json(s).dump()) << "case " << i;
    ASSERT_EQ(json::parse(out).get<std::string>(), s) << "case " << i;
  }
}

TEST(JsonTextProperty, DoublesRoundTrip) {
  std::mt19937_64 rng(kSeed);
  std::uniform_real_distribution<double> coord(-180.0, 180.0);
  for (int i = 0; i < 20000; ++i) {
    double d = 0;
    if (i % 2 == 0) {
      d = coord(rng);
    } else {
      const std::uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
      if (!std::isfinite(d)) continue;
    }
    const auto out = dbl(d);
    const auto back = json::parse(out);
    ASSERT_TRUE(back.is_number_float()) << out;
    ASSERT_EQ(back.get<double>(), d) << out;
  }
}

TEST(JsonTextProperty, ObjectsMatchNlohmannDump) {
  // Keys written in sorted order give exactly nlohmann's text for the same object.
  std::mt19937_64 rng(kSeed + 1);
  for (int i = 0; i < 2000; ++i) {
    json expected = json::object();
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    const std::string keys[] = {"a", "b\"", "c\n", "d", "李"};
    for (const auto& k : keys) {
      switch (rng() % 4) {
        case 0: {
          const auto v = random_utf8(rng);
          expected[k] = v;
          w.key(k).string(v);
          break;
        }
        case 1: {
          const auto v = static_cast<std::int64_t>(rng());
          expected[k] = v;
          w.key(k).integer(v);
          break;
        }
        case 2:
          expected[k] = nullptr;
          w.key(k).null();
          break;
        default:
          expected[k] = (rng() & 1) != 0;
          w.key(k).boolean(expected[k].get<bool>());
      }
    }
    w.end_object();
    ASSERT_EQ(out, expected.dump()) << "case " << i;
  }
}

// ---- JsonCursor -----------------------------------------------------------------------------

TEST(JsonCursor, ReadsRowsAsTheDatabaseWritesThem) {
  // json_agg of json_build_array: ", " between elements, floats in their shortest form.
  JsonCursor c(R"([["u1", "巡逻车 \"1\"", null, 12.5, 3, true, ["elderly_alone", "minor"]], )"
               R"(["u2", "a\\b\n\u00e9\ud83d\ude00", "S1", 1e-05, -7, false, null]])");
  c.begin_array();
  ASSERT_TRUE(c.more());
  c.begin_array();
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string(), "u1");
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string(), "巡逻车 \"1\"");
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string_or_null(), std::nullopt);
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.number(), 12.5);
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.integer(), 3);
  ASSERT_TRUE(c.more());
  EXPECT_TRUE(c.boolean());
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.strings(), (std::vector<std::string>{"elderly_alone", "minor"}));
  EXPECT_FALSE(c.more());
  ASSERT_TRUE(c.more());
  c.begin_array();
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string(), "u2");
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string(), "a\\b\n\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.string_or_null(), std::optional<std::string>("S1"));
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.number(), 1e-05);
  ASSERT_TRUE(c.more());
  EXPECT_EQ(c.integer(), -7);
  ASSERT_TRUE(c.more());
  EXPECT_FALSE(c.boolean());
  ASSERT_TRUE(c.more());
  EXPECT_TRUE(c.strings().empty());
  EXPECT_FALSE(c.more());
  EXPECT_FALSE(c.more());
  EXPECT_TRUE(c.at_end());
}

TEST(JsonCursor, RefusesWhatIsNotJsonOrNotTheKindAsked) {
  const auto throws = [](const std::string& text, auto read) {
    JsonCursor c(text);
    EXPECT_THROW(read(c), std::invalid_argument) << text;
  };
  throws("", [](JsonCursor& c) { c.string(); });
  throws("\"abc", [](JsonCursor& c) { c.string(); });
  throws("\"a\\x\"", [](JsonCursor& c) { c.string(); });
  throws("\"\\ud800\"", [](JsonCursor& c) { c.string(); });   // a lone high surrogate
  throws("\"\\udc00x\"", [](JsonCursor& c) { c.string(); });  // a lone low surrogate
  throws("\"\\u12\"", [](JsonCursor& c) { c.string(); });
  throws("\"a\nb\"", [](JsonCursor& c) { c.string(); });  // a raw control character
  throws("12", [](JsonCursor& c) { c.string(); });
  throws("inf", [](JsonCursor& c) { c.number(); });
  throws("-inf", [](JsonCursor& c) { c.number(); });
  throws("+1", [](JsonCursor& c) { c.number(); });
  throws(".5", [](JsonCursor& c) { c.number(); });
  throws("1.5", [](JsonCursor& c) { c.integer(); });
  throws("1e3", [](JsonCursor& c) { c.integer(); });
  throws("nul", [](JsonCursor& c) { c.skip(); });
  throws("tru", [](JsonCursor& c) { c.boolean(); });
  throws("[1 2]", [](JsonCursor& c) {
    c.begin_array();
    while (c.more()) c.integer();
  });
  throws("[1,2", [](JsonCursor& c) {
    c.begin_array();
    while (c.more()) c.integer();
  });
  throws("[1}", [](JsonCursor& c) { c.skip(); });
  throws("{\"a\" 1}", [](JsonCursor& c) { c.skip(); });
  throws(std::string(100, '['), [](JsonCursor& c) { c.skip(); });  // deeper than it follows
  throws("]", [](JsonCursor& c) { c.more(); });                     // not inside an array
}

// Found when writing fuzz_json_text: a number too small for a double is zero to nlohmann (and strtod),
// where from_chars reports it out of range; one too large is no JSON nlohmann accepts either.
TEST(JsonCursor, NumbersBeyondADoubleAsNlohmannReadsThem) {
  for (const char* text : {"1e-400", "-1e-400", "0.000001e-330", "123e-500", "-0.0e-999", "1e-320", "5e-324",
                           "0.00000000000000000000000000000001e-300", "1234567890123456789012345e-330"}) {
    ASSERT_TRUE(json::accept(text)) << text;
    const double want = json::parse(text).get<double>();
    JsonCursor c(text);
    const double got = c.number();
    EXPECT_EQ(got, want) << text;
    EXPECT_EQ(std::signbit(got), std::signbit(want)) << text;
    EXPECT_TRUE(c.at_end()) << text;
  }
  for (const char* text : {"1e400", "-1e400", "12345e305", "0.1e310"}) {
    EXPECT_FALSE(json::accept(text)) << text;
    JsonCursor c(text);
    EXPECT_THROW(c.number(), std::invalid_argument) << text;
  }
}

// A random JSON value of every kind, nested a few levels.
json random_value(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth < 3 ? 8 : 6)) {
    case 0: return random_utf8(rng);
    case 1: return static_cast<std::int64_t>(rng());
    case 2: {
      double d = 0;
      const std::uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
      return std::isfinite(d) ? d : 0.25;
    }
    case 3: return std::uniform_real_distribution<double>(-180.0, 180.0)(rng);
    case 4: return (rng() & 1) != 0;
    case 5: return nullptr;
    case 6: {
      json a = json::array();
      for (auto n = rng() % 5; n > 0; --n) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (auto n = rng() % 4; n > 0; --n) o[random_utf8(rng)] = random_value(rng, depth + 1);
      return o;
    }
  }
}

// Reads `expected`'s shape from the cursor and, when `check`, compares every value (objects are
// skipped: the cursor does not read their members one by one).
void read_as(JsonCursor& c, const json& expected, bool check = true) {
  if (expected.is_string()) {
    const auto v = c.string();
    if (check) {
      ASSERT_EQ(v, expected.get<std::string>());
    }
  } else if (expected.is_number_integer()) {
    const auto v = c.integer();
    if (check) {
      ASSERT_EQ(v, expected.get<std::int64_t>());
    }
  } else if (expected.is_number_float()) {
    const auto v = c.number();
    if (check) {
      ASSERT_EQ(v, expected.get<double>());
    }
  } else if (expected.is_boolean()) {
    const auto v = c.boolean();
    if (check) {
      ASSERT_EQ(v, expected.get<bool>());
    }
  } else if (expected.is_null()) {
    const auto v = c.null();
    if (check) {
      ASSERT_TRUE(v);
    }
  } else if (expected.is_array()) {
    c.begin_array();
    for (const auto& e : expected) {
      const bool more = c.more();
      if (check) {
        ASSERT_TRUE(more);
      }
      if (!more) return;
      read_as(c, e, check);
    }
    const bool more = c.more();
    if (check) {
      ASSERT_FALSE(more);
    }
  } else {
    c.skip();
  }
}

TEST(JsonCursorProperty, ReadsWhatNlohmannWrites) {
  // Compact, indented, and with every non-ASCII character escaped (surrogate pairs included).
  std::mt19937_64 rng(kSeed + 2);
  for (int i = 0; i < 5000; ++i) {
    json v = json::array();
    for (auto n = rng() % 4 + 1; n > 0; --n) v.push_back(random_value(rng, 1));
    for (const auto& text : {v.dump(), v.dump(1), v.dump(-1, ' ', true)}) {
      JsonCursor c(text);
      read_as(c, v);
      ASSERT_FALSE(HasFatalFailure()) << "case " << i << ": " << text;
      ASSERT_TRUE(c.at_end()) << text;
      JsonCursor s(text);
      s.skip();
      ASSERT_TRUE(s.at_end()) << text;
    }
  }
}

TEST(JsonCursorProperty, BrokenTextsThrowInvalidArgumentOnly) {
  // Cut short or with a byte changed: either it still reads (the change kept it valid) or it
  // throws std::invalid_argument; nothing else, and no read past the end (the sanitizer builds).
  std::mt19937_64 rng(kSeed + 3);
  const char bytes[] = "[]{},:\"\\u0123456789.eE+-tfnrl \x01\xC3\xFF";
  for (int i = 0; i < 20000; ++i) {
    json v = json::array();
    for (auto n = rng() % 3 + 1; n > 0; --n) v.push_back(random_value(rng, 1));
    std::string text = v.dump();
    if (rng() & 1) {
      text.resize(rng() % text.size());
    } else {
      text[rng() % text.size()] = bytes[rng() % (sizeof bytes - 1)];
    }
    const std::string owned = text;  // exactly its bytes: a read past them is a heap overflow
    try {
      JsonCursor s{std::string_view(owned.data(), owned.size())};
      s.skip();
      JsonCursor c{std::string_view(owned.data(), owned.size())};
      read_as(c, v, false);
    } catch (const std::invalid_argument&) {
    }
  }
}

}  // namespace
}  // namespace xiaonao::domain
