#include "xiaonao/domain/error.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

struct KindRow {
  ErrorKind kind;
  const char* code;
  int status;
};

// The table from docs/api.md, row by row: integrators match on these strings.
constexpr KindRow kTable[] = {
    {ErrorKind::malformed_json, "malformed_json", 400},
    {ErrorKind::bad_request, "bad_request", 400},
    {ErrorKind::missing_field, "missing_field", 422},
    {ErrorKind::invalid_field, "invalid_field", 422},
    {ErrorKind::unknown_category, "unknown_category", 422},
    {ErrorKind::unsupported_media_type, "unsupported_media_type", 415},
    {ErrorKind::payload_too_large, "payload_too_large", 413},
    {ErrorKind::unauthorized, "unauthorized", 401},
    {ErrorKind::forbidden, "forbidden", 403},
    {ErrorKind::too_many_requests, "too_many_requests", 429},
    {ErrorKind::not_found, "not_found", 404},
    {ErrorKind::method_not_allowed, "method_not_allowed", 405},
    {ErrorKind::conflict, "conflict", 409},
    {ErrorKind::unavailable, "unavailable", 503},
    {ErrorKind::internal, "internal", 500},
};

TEST(ErrorKind, CodesAndStatusesMatchTheApiDocument) {
  for (const auto& row : kTable) {
    EXPECT_STREQ(error_code(row.kind), row.code);
    EXPECT_EQ(http_status(row.kind), row.status) << row.code;
  }
}

TEST(ErrorKind, EveryCodeIsDistinct) {
  std::set<std::string> codes;
  for (const auto& row : kTable) codes.insert(error_code(row.kind));
  EXPECT_EQ(codes.size(), std::size(kTable));
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(static_cast<bool>(good));
  EXPECT_EQ(*good, 7);

  Result<int> bad = Error{ErrorKind::not_found, "no such incident", "id"};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::not_found);
  EXPECT_EQ(bad.error().field, "id");
}

}  // namespace
}  // namespace xiaonao::domain
