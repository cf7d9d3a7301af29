#include "xiaonao/domain/privacy.hpp"

#include <random>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

TEST(Mask, NumbersKeepThreeAndFour) {
  EXPECT_EQ(mask_number("13812345678"), "138****5678");
  EXPECT_EQ(mask_number("330102199001011234"), "330***********1234");
  EXPECT_EQ(mask_number("1234567"), "*******");
  EXPECT_EQ(mask_number(""), "");
}

TEST(Mask, NamesKeepTheFirstCharacter) {
  EXPECT_EQ(mask_name("张三"), "张*");
  EXPECT_EQ(mask_name("欧阳小明"), "欧***");
  EXPECT_EQ(mask_name("Li Lei"), "L* ***");
  EXPECT_EQ(mask_name(""), "");
}

// Property: masking never lets more than the kept characters through and keeps the length
// (numbers) or the character count (names), whatever the input bytes.
TEST(Mask, PropertyNothingLeaksForRandomInput) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 24, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    const auto m = mask_number(s);
    ASSERT_EQ(m.size(), s.size());
    const std::size_t stars = std::count(m.begin(), m.end(), '*');
    ASSERT_GE(stars + (s.size() >= 8 ? 7 : 0), s.size());
    const auto n = mask_name(s);
    ASSERT_LE(n.size(), s.size() + 4);
  }
}

TEST(Mask, PeopleInAViewAreMaskedAndListed) {
  auto view = nlohmann::json::parse(R"({"alerts":[
    {"id":"a1","caller":{"phone":"13812345678","name":"张三"},"subject":null},
    {"id":"a2","caller":null,"subject":{"phone":null,"id_number":"330102199001011234"}}]})");
  auto unmasked = view;
  const auto people = mask_people(view, false);
  EXPECT_EQ(people, (std::vector<std::string>{"alert:a1/caller", "alert:a2/subject"}));
  EXPECT_EQ(view["alerts"][0]["caller"]["phone"], "138****5678");
  EXPECT_EQ(view["alerts"][0]["caller"]["name"], "张*");
  EXPECT_EQ(view["alerts"][1]["subject"]["id_number"], "330***********1234");
  EXPECT_TRUE(view["alerts"][1]["subject"]["phone"].is_null());
  EXPECT_EQ(mask_people(unmasked, true), people);
  EXPECT_EQ(unmasked["alerts"][0]["caller"]["phone"], "13812345678");
}

}  // namespace
}  // namespace xiaonao::domain
