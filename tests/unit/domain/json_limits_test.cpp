#include "xiaonao/domain/json_limits.hpp"

#include <string>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

TEST(JsonDepth, ScalarsHaveDepthZero) {
  EXPECT_EQ(json_depth("", 16), 0u);
  EXPECT_EQ(json_depth("42", 16), 0u);
  EXPECT_EQ(json_depth("\"text\"", 16), 0u);
}

TEST(JsonDepth, CountsArraysAndObjects) {
  EXPECT_EQ(json_depth("{}", 16), 1u);
  EXPECT_EQ(json_depth("[]", 16), 1u);
  EXPECT_EQ(json_depth(R"({"a": {"b": [1, 2, {"c": 3}]}})", 16), 4u);
  // Depth is the deepest point, not the sum of siblings.
  EXPECT_EQ(json_depth(R"([[1], [2], [3], {"x": [4]}])", 16), 3u);
}

TEST(JsonDepth, IgnoresBracketsInsideStrings) {
  EXPECT_EQ(json_depth(R"({"a": "[[[[{{{{"})", 2), 1u);
  EXPECT_EQ(json_depth(R"(["]]]]", "}}}"])", 16), 1u);
}

TEST(JsonDepth, HandlesEscapedQuotesAndBackslashes) {
  // \" keeps the string open, so the brackets after it are text.
  EXPECT_EQ(json_depth(R"({"a": "x\"[[[[", "b": 1})", 2), 1u);
  // \\ closes the escape; the following quote ends the string, and [[ counts.
  EXPECT_EQ(json_depth(R"({"a": "x\\", "b": [[1]]})", 16), 3u);
  EXPECT_EQ(json_depth(R"({"a": "\\\"[[[", "b": [1]})", 16), 2u);
  EXPECT_EQ(json_depth(R"(["\u005b\u007b"])", 16), 1u);
}

TEST(JsonDepth, StopsAtTheLimit) {
  const std::string deep(100000, '[');
  EXPECT_EQ(json_depth(deep, 16), 17u);
  EXPECT_EQ(json_depth(std::string(16, '[') + std::string(16, ']'), 16), 16u);
  EXPECT_EQ(json_depth(std::string(17, '{'), 16), 17u);
}

TEST(JsonDepth, UnbalancedClosersDoNotWrap) {
  EXPECT_EQ(json_depth("]]]]}}[", 16), 1u);
  EXPECT_EQ(json_depth("]]]][[[", 2), 3u);
}

TEST(JsonDepth, UnterminatedStringHidesTheRest) {
  EXPECT_EQ(json_depth(R"({"a": "[[[[[)", 2), 1u);
}

}  // namespace
}  // namespace xiaonao::domain
