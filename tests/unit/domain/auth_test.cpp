#include "xiaonao/domain/auth.hpp"

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

TEST(Roles, NamesRoundTrip) {
  for (auto r : all_roles()) EXPECT_EQ(parse_role(role_name(r)), r);
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(parse_role(""));
  for (std::size_t i = 0; i < static_cast<std::size_t>(Permission::count_); ++i) {
    const auto p = static_cast<Permission>(i);
    EXPECT_EQ(parse_permission(permission_name(p)), p);
  }
}

TEST(Roles, AdminSeesNoOperationalData) {
  const auto p = user_principal("1", "admin", "", {Role::admin}, "s");
  EXPECT_TRUE(p.may(Permission::users_manage));
  EXPECT_FALSE(p.may(Permission::incidents_read));
  EXPECT_FALSE(p.may(Permission::feed_read));
  EXPECT_FALSE(p.may(Permission::persons_unmask));
  EXPECT_FALSE(p.may(Permission::alerts_write));
}

TEST(Roles, AnalystHasNoPersonalData) {
  const auto p = user_principal("1", "a", "", {Role::analyst}, "s");
  EXPECT_FALSE(p.may(Permission::incidents_read));
  EXPECT_FALSE(p.may(Permission::persons_unmask));
  EXPECT_TRUE(p.may(Permission::categories_read));
}

TEST(Roles, StationRolesAreScopedToTheirStation) {
  const auto officer = user_principal("1", "o", "S01", {Role::duty_officer}, "s");
  EXPECT_FALSE(officer.county_wide);
  EXPECT_TRUE(officer.sees_station("S01"));
  EXPECT_FALSE(officer.sees_station("S02"));
  EXPECT_FALSE(officer.sees_station(""));  // not yet assigned: the county triages it
  EXPECT_TRUE(officer.sees_station("S02", {"S03", "S01"}));  // shared with S01
  EXPECT_FALSE(officer.may(Permission::audit_read));
  const auto chief = user_principal("2", "c", "S01", {Role::station_chief}, "s");
  EXPECT_TRUE(chief.may(Permission::audit_read));
  const auto county = user_principal("3", "k", "", {Role::county_commander}, "s");
  EXPECT_TRUE(county.county_wide);
  EXPECT_TRUE(county.sees_station("S02"));
  EXPECT_TRUE(county.sees_station(""));
}

TEST(Roles, RolesAddUp) {
  const auto p = user_principal("1", "x", "S01", {Role::duty_officer, Role::admin}, "s");
  EXPECT_TRUE(p.may(Permission::users_manage));
  EXPECT_TRUE(p.may(Permission::incidents_read));
}

TEST(Keys, ScopesAreLimitedToWhatKeysMayHold) {
  const auto k = key_principal("abc", "k", {Permission::alerts_write, Permission::persons_unmask, Permission::users_manage},
                               {"110"});
  EXPECT_TRUE(k.may(Permission::alerts_write));
  EXPECT_FALSE(k.may(Permission::persons_unmask));
  EXPECT_FALSE(k.may(Permission::users_manage));
  EXPECT_FALSE(k.may(Permission::incidents_read));
  EXPECT_TRUE(k.may(Permission::self));
  EXPECT_TRUE(k.may_send_source("110"));
  EXPECT_FALSE(k.may_send_source("12345"));
  const auto any = key_principal("abd", "k", {Permission::alerts_write}, {"*"});
  EXPECT_TRUE(any.may_send_source("video_ai"));
  EXPECT_EQ(any.ref(), "key:abd");
}

TEST(Parsing, RolesAndScopesNameTheBadItem) {
  std::string bad;
  auto r = parse_roles("duty_officer,station_chief,duty_officer", bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_FALSE(parse_roles("duty_officer,boss", bad));
  EXPECT_EQ(bad, "boss");
  EXPECT_FALSE(parse_roles("", bad));
  EXPECT_FALSE(parse_scopes("alerts:write,persons:unmask", bad));
  EXPECT_EQ(bad, "persons:unmask");
  EXPECT_TRUE(parse_scopes("alerts:write,feed:read", bad));
}

TEST(NewUser, ChecksNameTheField) {
  const std::vector<Role> officer = {Role::duty_officer};
  EXPECT_FALSE(check_new_user("041234", "张三", "S01", officer, "correct horse", 10));
  EXPECT_EQ(check_new_user("04 1234", "张三", "S01", officer, "correct horse", 10)->field, "police_number");
  EXPECT_EQ(check_new_user("041234", "", "S01", officer, "correct horse", 10)->field, "name");
  EXPECT_EQ(check_new_user("041234", "张三", "", officer, "correct horse", 10)->field, "station_id");
  EXPECT_EQ(check_new_user("041234", "张三", "S01", {}, "correct horse", 10)->field, "roles");
  EXPECT_EQ(check_new_user("041234", "张三", "S01", officer, "short", 10)->field, "password");
  EXPECT_EQ(check_new_user("041234", "张三", "S01", officer, "aaaaaaaaaaaa", 10)->field, "password");
  EXPECT_FALSE(check_new_user("041235", "王五", "", {Role::county_commander}, "correct horse", 10));
}

}  // namespace
}  // namespace xiaonao::domain
