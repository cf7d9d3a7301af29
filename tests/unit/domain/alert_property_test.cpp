// Property test: whatever bytes arrive, parse_alert returns either a valid alert or one of the
// documented errors naming the field at fault, and never crashes or throws. Random inputs come
// from a fixed seed so a failure is repeatable; the failing input is printed escaped.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/alert.hpp"

namespace xiaonao::domain {
namespace {

using nlohmann::json;

constexpr std::uint64_t kSeed = 20261126;

const std::set<std::string> kFieldPaths = {
    "source",   "source_ref",   "received_at",  "category",     "priority",
    "caller",   "caller.phone", "caller.name",  "location",     "location.lon",
    "location.lat", "address",  "marker",       "subject",      "subject.phone",
    "subject.id_number", "description"};

const std::string kValidAlert = R"({"source":"110","source_ref":"110-20261126-0001",)"
                                R"("received_at":"2026-11-26T08:30:00.123+08:00","category":"fraud",)"
                                R"("priority":2,"caller":{"phone":"13857801234","name":"李芳"},)"
                                R"("location":{"lon":119.5701,"lat":28.1174},"address":"莲都区白云街道1号",)"
                                R"("marker":"LS-0421","subject":{"phone":"+86 138-5780-1234",)"
                                R"("id_number":"33110219850101123x"},"description":"收到刷单信息，正准备转账"})";

std::string escaped(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// The property itself. Returns a description of the violation, or "" when it holds;
// `accepted` (when given) tells whether the body was a valid alert.
std::string violation(std::string_view body, bool* accepted = nullptr) {
  Result<AlertInput> r = Error{};
  try {
    r = parse_alert(body);
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  }
  if (accepted != nullptr) *accepted = r.ok();
  if (r.ok()) {
    // A valid alert written back in contract form must validate again to the same value.
    json j;
    try {
      j = to_json(*r);
      const auto again = parse_alert(j.dump());
      if (!again.ok()) return "to_json output rejected: " + again.error().message;
      if (to_json(*again) != j) return "round trip changed the alert";
    } catch (const std::exception& e) {
      return std::string("round trip threw: ") + e.what();
    }
    return "";
  }
  const Error& e = r.error();
  if (e.message.empty()) return "empty message";
  switch (e.kind) {
    case ErrorKind::malformed_json:
      if (!e.field.empty()) return "malformed_json with a field: " + e.field;
      return "";
    case ErrorKind::missing_field:
      if (kFieldPaths.count(e.field) == 0) return "missing_field with unknown field '" + e.field + "'";
      return "";
    case ErrorKind::invalid_field:
      if (e.field.empty() && e.message == "body must be a JSON object") return "";
      if (kFieldPaths.count(e.field) == 0) return "invalid_field with unknown field '" + e.field + "'";
      return "";
    default:
      return std::string("unexpected kind ") + error_code(e.kind);
  }
}

#define EXPECT_PROPERTY(body, ...)                                              \
  do {                                                                          \
    const std::string body_ = (body);                                           \
    const std::string v_ = violation(body_ __VA_OPT__(, ) __VA_ARGS__);          \
    ASSERT_EQ(v_, "") << "input: \"" << escaped(body_) << "\"";                 \
  } while (0)

class Fuzz {
 public:
  explicit Fuzz(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }
  char byte() { return static_cast<char>(below(256)); }

  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  std::string random_bytes() {
    std::string s(below(200), '\0');
    for (auto& c : s) c = byte();
    return s;
  }

  // Bytes drawn from JSON's own alphabet, so the parser gets past the first character.
  std::string jsonish() {
    static const std::vector<std::string> pieces = {
        "{", "}", "[", "]", "\"", ":", ",", " ", "0", "1", "-", ".", "e", "E", "+", "true",
        "false", "null", "\\", "\\u", "00", "d8", "\"source\"", "\"location\"", "\"lat\"",
        "\"priority\"", "\xe8\xad\xa6", "\xff", "\xc0\x80", "NaN", "Infinity", "1e999"};
    std::string s;
    const std::size_t n = below(60);
    for (std::size_t i = 0; i < n; ++i) s += pick(pieces);
    return s;
  }

  std::string mutate_bytes(std::string s) {
    const std::size_t n = 1 + below(8);
    for (std::size_t i = 0; i < n; ++i) {
      switch (below(6)) {
        case 0:  // flip one bit
          if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1 << below(8));
          break;
        case 1:  // insert a byte
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(below(s.size() + 1)), byte());
          break;
        case 2:  // delete a byte
          if (!s.empty()) s.erase(below(s.size()), 1);
          break;
        case 3:  // truncate
          s.resize(below(s.size() + 1));
          break;
        case 4: {  // duplicate a chunk
          if (s.empty()) break;
          const std::size_t at = below(s.size());
          const std::size_t len = std::min<std::size_t>(below(32), s.size() - at);
          s.insert(at, s.substr(at, len));
          break;
        }
        default:  // replace a byte with a structural character
          if (!s.empty()) s[below(s.size())] = "{}[]\":,\\"[below(8)];
          break;
      }
    }
    return s;
  }

  json deep(std::size_t depth) {
    json v = "bottom";
    for (std::size_t i = 0; i < depth; ++i) v = chance(50) ? json::array({v}) : json{{"k", v}};
    return v;
  }

  json odd_value() {
    switch (below(22)) {
      case 0: return nullptr;
      case 1: return true;
      case 2: return false;
      case 3: return 0;
      case 4: return -1;
      case 5: return 2.5;
      case 6: return 1e308;
      case 7: return -1e308;
      case 8: return std::numeric_limits<std::uint64_t>::max();
      case 9: return std::numeric_limits<std::int64_t>::min();
      case 10: return "";
      case 11: return std::string(5000, 'x');
      case 12: return "NaN";
      case 13: return "Infinity";
      case 14: return std::string("ctl\x01\x1f\x7f", 6);
      case 15: return std::string("nul\0", 4);
      case 16: return "警情警情警情";
      case 17: return json::array({1, "2", nullptr});
      case 18: return json::object({{"phone", 1}});
      case 19: return deep(below(20));
      case 20: return 4;
      default: return "2026-11-26T08:30:00Z";
    }
  }

  // A JSON-level mutation: change, delete or retype one field, possibly a nested one.
  std::string mutate_structure() {
    static const json base = json::parse(kValidAlert);
    json j = base;
    const std::size_t n = 1 + below(3);
    for (std::size_t i = 0; i < n; ++i) {
      static const std::vector<std::string> top = {
          "source", "source_ref", "received_at", "category", "priority", "caller", "location",
          "address", "marker", "subject", "description", "unknown_extra"};
      const std::string& key = pick(top);
      if (chance(20)) {
        j.erase(key);
      } else if (chance(30) && j.contains(key) && j[key].is_object() && !j[key].empty()) {
        auto it = j[key].begin();
        std::advance(it, static_cast<std::ptrdiff_t>(below(j[key].size())));
        const std::string member = it.key();
        if (chance(25)) j[key].erase(member); else j[key][member] = odd_value();
      } else {
        j[key] = odd_value();
      }
    }
    return j.dump();
  }

  // Replaces a number in the text with a token JSON does not allow or that overflows.
  std::string bad_number_token() {
    static const std::vector<std::string> tokens = {
        "NaN", "-NaN", "Infinity", "-Infinity", "inf", "1e999", "-1e999", "0x10", "+1", ".5",
        "01", "1.", "1e", "--1", "1_000", "99999999999999999999999999", "4.0", "2e0", "1E+0"};
    static const std::vector<std::string> targets = {"119.5701", "28.1174", "2"};
    std::string s = kValidAlert;
    const std::string& target = pick(targets);
    const auto pos = target == "2" ? s.find("\"priority\":2") + 11 : s.find(target);
    s.replace(pos, target.size(), pick(tokens));
    return s;
  }

  // Puts an invalid UTF-8 sequence inside one of the string values.
  std::string bad_utf8() {
    static const std::vector<std::string> seqs = {
        "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe8\xad", "\x80", "\xf8\x88\x80\x80\x80"};
    std::string s = kValidAlert;
    const auto pos = s.find("刷单");
    s.insert(pos, pick(seqs));
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(AlertProperty, TheBaseAlertIsValid) {
  const auto r = parse_alert(kValidAlert);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(AlertProperty, RandomBytes) {
  Fuzz fuzz(kSeed);
  for (int i = 0; i < 5000; ++i) EXPECT_PROPERTY(fuzz.random_bytes());
}

TEST(AlertProperty, RandomJsonLikeText) {
  Fuzz fuzz(kSeed + 1);
  for (int i = 0; i < 5000; ++i) EXPECT_PROPERTY(fuzz.jsonish());
}

TEST(AlertProperty, ByteMutationsOfAValidAlert) {
  Fuzz fuzz(kSeed + 2);
  for (int i = 0; i < 10000; ++i) EXPECT_PROPERTY(fuzz.mutate_bytes(kValidAlert));
}

TEST(AlertProperty, FieldTypeAndValueMutations) {
  Fuzz fuzz(kSeed + 3);
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    bool ok = false;
    EXPECT_PROPERTY(fuzz.mutate_structure(), &ok);
    accepted += ok ? 1 : 0;
  }
  // Both outcomes must actually occur, or the generator is not testing anything.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 5000);
}

TEST(AlertProperty, NonJsonNumberTokensAreMalformedOrRefused) {
  Fuzz fuzz(kSeed + 4);
  for (int i = 0; i < 1000; ++i) {
    const std::string body = fuzz.bad_number_token();
    EXPECT_PROPERTY(body);
    const auto r = parse_alert(body);
    // None of these tokens is a valid JSON number in range: NaN and friends never get through.
    EXPECT_FALSE(r.ok() && r->location && (r->location->lon != r->location->lon ||
                                           r->location->lat != r->location->lat))
        << escaped(body);
  }
}

TEST(AlertProperty, InvalidUtf8IsAlwaysRefused) {
  Fuzz fuzz(kSeed + 5);
  for (int i = 0; i < 500; ++i) {
    const std::string body = fuzz.bad_utf8();
    EXPECT_PROPERTY(body);
    EXPECT_FALSE(parse_alert(body).ok()) << escaped(body);
  }
}

TEST(AlertProperty, NestingAroundTheLimit) {
  Fuzz fuzz(kSeed + 6);
  for (int i = 0; i < 500; ++i) {
    const std::size_t depth = 12 + fuzz.below(8);  // 12..19 around the limit
    json j = json::parse(kValidAlert);
    j["extra"] = fuzz.deep(depth);
    const std::string body = j.dump();
    EXPECT_PROPERTY(body);
    // The alert object is level 1, so the extra value may nest 15 more levels.
    const auto r = parse_alert(body);
    if (depth <= 15) {
      EXPECT_TRUE(r.ok()) << depth;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().kind, ErrorKind::malformed_json) << depth;
    }
  }
}

}  // namespace
}  // namespace xiaonao::domain
