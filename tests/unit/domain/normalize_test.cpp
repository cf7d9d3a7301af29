#include "xiaonao/domain/normalize.hpp"

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

TEST(NormalizeAddress, DropsSpacesAndPunctuationAndFoldsWidthAndCase) {
  EXPECT_EQ(normalize_address("丽水市 莲都区，中山街１２３号（B幢）"), "丽水市莲都区中山街123号b幢");
  EXPECT_EQ(normalize_address("中山街123号B幢"), normalize_address("中山街 １２３ 号 ｂ 幢。"));
  EXPECT_EQ(normalize_address("\u3000中山街\u3000"), "中山街");
}

TEST(NormalizeAddress, KeepsChineseTextAndDigits) {
  EXPECT_EQ(normalize_address("白云山路5弄"), "白云山路5弄");
  EXPECT_EQ(normalize_address(""), "");
  EXPECT_EQ(normalize_address("，。、"), "");
}

TEST(NormalizeAddress, DropsInvalidUtf8Bytes) {
  EXPECT_EQ(normalize_address(std::string("中\xff山\xe4街")), "中山街");
  EXPECT_EQ(normalize_address(std::string("\xc0\xafx")), "x");  // overlong '/'
}

TEST(NormalizePhone, KeepsDigitsAndDropsChinaCountryCode) {
  EXPECT_EQ(normalize_phone("138-0000-1234"), "13800001234");
  EXPECT_EQ(normalize_phone("+86 138 0000 1234"), "13800001234");
  EXPECT_EQ(normalize_phone("0086 13800001234"), "13800001234");
  EXPECT_EQ(normalize_phone("１３８００００１２３４"), "13800001234");
  EXPECT_EQ(normalize_phone("0578-2123456"), "05782123456");
  EXPECT_EQ(normalize_phone("8613"), "8613");  // too short to carry a country code
  EXPECT_EQ(normalize_phone("none"), "");
}

}  // namespace
}  // namespace xiaonao::domain
