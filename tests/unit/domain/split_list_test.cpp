#include <gtest/gtest.h>

#include "xiaonao/domain/query.hpp"

namespace xiaonao::domain {
namespace {

using V = std::vector<std::string_view>;

TEST(SplitList, KeepsEveryItemIncludingEmptyOnes) {
  EXPECT_EQ(split_list("a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_list("a,,b"), (V{"a", "", "b"}));
  EXPECT_EQ(split_list("a,"), (V{"a", ""}));
  EXPECT_EQ(split_list(""), (V{""}));
  EXPECT_EQ(split_list("xiaonao.v1, xiaonao.bearer.t"), (V{"xiaonao.v1", " xiaonao.bearer.t"}));
}

}  // namespace
}  // namespace xiaonao::domain
