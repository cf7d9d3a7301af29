// The note body parser and the states that take a note (docs/api.md, "Notes"), with a property
// test: random bodies never throw, every refusal names `text` or `kind`, and what passes keeps
// the documented invariants.
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/domain/notes.hpp"

namespace xiaonao::domain::notes {
namespace {

using nlohmann::json;

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

TEST(NoteParser, TextAndDefaultKind) {
  auto in = parse_note(json{{"text", "报警人回电：车已找到\n在东门"}});
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, "报警人回电：车已找到\n在东门");
  EXPECT_EQ(in->kind, "info");
}

TEST(NoteParser, EveryKind) {
  for (const auto k : kKinds) {
    auto in = parse_note(json{{"text", "x"}, {"kind", std::string(k)}});
    ASSERT_TRUE(in) << k;
    EXPECT_EQ(in->kind, k);
  }
  EXPECT_TRUE(parse_note(json{{"text", "x"}, {"kind", nullptr}}));
}

TEST(NoteParser, RefusalsNameTheField) {
  struct Case {
    json body;
    ErrorKind kind;
    const char* field;
  };
  const std::vector<Case> cases{
      {json::object(), ErrorKind::missing_field, "text"},
      {json{{"text", nullptr}}, ErrorKind::missing_field, "text"},
      {json{{"text", 5}}, ErrorKind::invalid_field, "text"},
      {json{{"text", json::array({"a"})}}, ErrorKind::invalid_field, "text"},
      {json{{"text", ""}}, ErrorKind::invalid_field, "text"},
      {json{{"text", " \n\t "}}, ErrorKind::invalid_field, "text"},
      {json{{"text", std::string("a\x01b")}}, ErrorKind::invalid_field, "text"},
      {json{{"text", std::string(2001, 'x')}}, ErrorKind::invalid_field, "text"},
      {json{{"text", "x"}, {"kind", "gossip"}}, ErrorKind::invalid_field, "kind"},
      {json{{"text", "x"}, {"kind", 1}}, ErrorKind::invalid_field, "kind"},
      {json{{"text", "x"}, {"kind", "INFO"}}, ErrorKind::invalid_field, "kind"},
  };
  for (const auto& c : cases) {
    auto in = parse_note(c.body);
    ASSERT_FALSE(in) << c.body.dump();
    EXPECT_EQ(in.error().kind, c.kind) << c.body.dump();
    EXPECT_EQ(in.error().field, c.field) << c.body.dump();
  }
}

TEST(NoteParser, LengthCountsCodePoints) {
  std::string chinese;
  for (int i = 0; i < 2000; ++i) chinese += "警";  // 6000 bytes, 2000 code points
  EXPECT_TRUE(parse_note(json{{"text", chinese}}));
  EXPECT_FALSE(parse_note(json{{"text", chinese + "警"}}));
  EXPECT_TRUE(parse_note(json{{"text", std::string(2000, 'x')}}));
}

TEST(NoteStates, AllButClosedAndCancelled) {
  using S = loop::IncidentState;
  for (int i = 0; i < static_cast<int>(S::count_); ++i) {
    const auto s = static_cast<S>(i);
    EXPECT_EQ(accepts_note(s), s != S::closed && s != S::cancelled) << i;
  }
  EXPECT_FALSE(accepts_note(S::count_));
}

json random_value(std::mt19937_64& rng, int depth) {
  static const char* strings[] = {"info", "caller_update", "scene_report", "", " ", "\n", "现场报告", "a\tb",
                                  "\x7f", "\x1f", "Info"};
  switch (rng() % (depth > 1 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return (rng() & 1) != 0;
    case 2: return static_cast<std::int64_t>(rng() % 7) - 3;
    case 3: return 1.5;
    case 4: return std::string(strings[rng() % std::size(strings)]);
    case 5: return std::string(1995 + rng() % 10, "xy\n"[rng() % 3]);
    case 6: {
      json a = json::array();
      for (std::size_t i = 0, n = rng() % 3; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: return json{{"text", random_value(rng, depth + 1)}};
  }
}

TEST(NoteParserProperty, RandomBodiesNeverThrowAndNameTheField) {
  std::mt19937_64 rng(20261126);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    json body = json::object();
    for (const char* k : {"text", "kind", "other"}) {
      if (rng() % 3 != 0) body[k] = random_value(rng, 0);
    }
    Result<NoteInput> in = Error{};
    ASSERT_NO_THROW(in = parse_note(body)) << body.dump();
    if (!in) {
      const auto& f = in.error().field;
      EXPECT_TRUE(f == "text" || f == "kind") << body.dump();
      EXPECT_TRUE(in.error().kind == ErrorKind::missing_field || in.error().kind == ErrorKind::invalid_field);
      continue;
    }
    ++accepted;
    EXPECT_TRUE(body["text"].is_string());
    EXPECT_GE(code_points(in->text), 1u);
    EXPECT_LE(code_points(in->text), kMaxText);
    EXPECT_NE(in->text.find_first_not_of(" \t\r\n"), std::string::npos);
    EXPECT_NE(std::find(kKinds.begin(), kKinds.end(), in->kind), kKinds.end());
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace xiaonao::domain::notes
