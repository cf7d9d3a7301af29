// pg_trgm's trigrams and similarity (domain::trigram) on values from PostgreSQL's documentation
// and its regression tests, and the index's best matches against scoring every text. The same
// scores are compared with the database's own similarity() in tests/integration
// (ReferenceMemory.FuzzyScoresAreTheDatabases).
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "xiaonao/domain/trigram.hpp"

namespace xiaonao::domain::trigram {
namespace {

std::uint32_t code(const char (&s)[4]) {
  return static_cast<unsigned char>(s[0]) | (static_cast<unsigned char>(s[1]) << 8) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16);
}

TEST(Trigram, AsciiWordsArePaddedAndLowerCased) {
  // show_trgm('Cat') = {"  c"," ca","at ",cat}
  Set want{code("  c"), code(" ca"), code("at "), code("cat")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(trigrams("Cat", CharRules::ascii()), want);
  // Punctuation splits words; a one-letter word still gives "  x" and " x ".
  EXPECT_EQ(trigrams("a-", CharRules::ascii()).size(), 2u);
  EXPECT_TRUE(trigrams("--- ", CharRules::ascii()).empty());
  EXPECT_EQ(trigrams("cat cat", CharRules::ascii()), trigrams("cat", CharRules::ascii()));
}

TEST(Trigram, SimilarityIsSharedOverUnion) {
  const auto r = CharRules::ascii();
  // The documentation's example: similarity('word', 'two words') = 0.363636 (4 of 11).
  EXPECT_FLOAT_EQ(similarity(trigrams("word", r), trigrams("two words", r)), 4.0f / 11.0f);
  EXPECT_EQ(similarity(trigrams("abc", r), trigrams("abc", r)), 1.0f);
  EXPECT_EQ(similarity(trigrams("", r), trigrams("", r)), 0.0f);
  EXPECT_EQ(similarity(trigrams("abc", r), trigrams("xyz", r)), 0.0f);
}

TEST(Trigram, MultibyteTrigramsAreHashedToThreeBytes) {
  const auto rules = CharRules::of_locale("C.UTF-8");
  if (!rules) GTEST_SKIP() << "no C.UTF-8 locale here";
  const auto t = trigrams("人民路", *rules);
  EXPECT_EQ(t.size(), 4u);  // "  人", " 人民", "人民路", "民路 "
  for (const auto c : t) EXPECT_LE(c, 0xFFFFFFu);
  // Under C (ASCII) rules the ideographs are not word characters at all.
  EXPECT_TRUE(trigrams("人民路", CharRules::ascii()).empty());
  EXPECT_EQ(trigrams("人民路12号", CharRules::ascii()).size(), 3u);  // the word "12"
}

TEST(Trigram, UnknownLocaleIsReported) {
  EXPECT_FALSE(CharRules::of_locale("xx_NOWHERE.UTF-8").has_value());
  EXPECT_TRUE(CharRules::of_locale("POSIX").has_value());
}

// Random addresses over a small alphabet (so that texts share many trigrams, the hard case for
// the index's pruning): the index's answer is exactly the brute-force top list.
// `index.best(query, limit, floor)` is `all` (every match at or above the floor, scored by
// brute force) best first, equal scores by index, cut to `limit`.
void expect_best(const Index& index, const std::string& query, std::size_t limit, double floor, std::vector<Match> all) {
  std::sort(all.begin(), all.end(), [](const Match& a, const Match& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  });
  if (all.size() > limit) all.resize(limit);
  const auto got = index.best(query, limit, floor);
  ASSERT_EQ(got.size(), all.size()) << query;
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].index, all[k].index) << query << " #" << k;
    EXPECT_EQ(got[k].score, all[k].score) << query << " #" << k;
  }
}

TEST(TrigramIndex, BestIsTheBruteForceTopList) {
  const auto rules = CharRules::of_locale("C.UTF-8").value_or(CharRules::ascii());
  const std::vector<std::string> pieces{"城关镇", "人民路", "解放街", "1", "2", "3", "号", "栋", "单元", "新村",
                                        "a",      "B",      "-",      "东", "西", "镇"};
  std::mt19937 rng(20261127);
  const auto random_text = [&] {
    std::string s = "江宁县";
    const auto n = 1 + rng() % 8;
    for (unsigned k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    return s;
  };
  std::vector<std::string> texts;
  Index index(rules);
  for (int i = 0; i < 3000; ++i) {
    texts.push_back(random_text());
    index.add(texts.back());
  }
  index.build();
  ASSERT_EQ(index.size(), texts.size());
  std::vector<Set> sets;
  for (const auto& t : texts) sets.push_back(trigrams(t, rules));
  for (int q = 0; q < 300; ++q) {
    const auto query = q % 3 == 0 ? texts[rng() % texts.size()] : random_text();
    const double floor = q % 2 ? 0.2 : 0.5;
    const std::size_t limit = 1 + q % 6;
    const auto qs = trigrams(query, rules);
    std::vector<Match> want;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const float s = similarity(qs, sets[i]);
      if (static_cast<double>(s) >= floor) want.push_back({i, s});
    }
    expect_best(index, query, limit, floor, std::move(want));
  }
}

// Texts in groups (an address and its aliases): each group scores as its best text, appears
// once, and the list is the brute-force one over groups. Groups are given out of order and
// some texts repeat within a group or across groups.
TEST(TrigramIndex, GroupsScoreAsTheirBestText) {
  const auto rules = CharRules::of_locale("C.UTF-8").value_or(CharRules::ascii());
  const std::vector<std::string> pieces{"城关镇", "人民路", "解放街", "1", "2", "3", "号", "栋", "单元", "新村", "东", "西"};
  std::mt19937 rng(20261128);
  const auto random_text = [&] {
    std::string s;
    const auto n = 1 + rng() % 6;
    for (unsigned k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    return s;
  };
  constexpr std::size_t kGroups = 1500;
  std::vector<std::vector<std::string>> groups(kGroups);
  for (auto& g : groups) g.push_back(random_text());
  Index index(rules);
  for (std::size_t i = 0; i < kGroups; ++i) index.add(groups[i][0], i);
  for (int k = 0; k < 2000; ++k) {
    const auto g = rng() % kGroups;
    groups[g].push_back(rng() % 10 == 0 ? groups[rng() % kGroups][0] : random_text());
    index.add(groups[g].back(), g);
  }
  index.build();
  for (int q = 0; q < 300; ++q) {
    const auto query = random_text() + (q % 2 ? "号" : "");
    const double floor = q % 3 ? 0.2 : 0.4;
    const std::size_t limit = 1 + q % 6;
    const auto qs = trigrams(query, rules);
    std::vector<Match> want;
    for (std::size_t g = 0; g < kGroups; ++g) {
      float best = 0;
      for (const auto& t : groups[g]) best = std::max(best, similarity(qs, trigrams(t, rules)));
      if (static_cast<double>(best) >= floor) want.push_back({g, best});
    }
    expect_best(index, query, limit, floor, std::move(want));
  }
}

}  // namespace
}  // namespace xiaonao::domain::trigram
