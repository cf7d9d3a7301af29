#pragma once
/// Who is calling and what they may do: roles, permissions and the station scope.
/// Pure: no I/O, no clock, no crypto (those live in security and store).
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/error.hpp"

namespace xiaonao::domain {

/// The roles of the security issue. A user holds one or more.
enum class Role { duty_officer, station_chief, county_commander, analyst, integrator, admin };

/// Every action the API guards. Each route and the feed declare exactly one (deny by default);
/// `open` is for the few routes anyone may call (health, login).
enum class Permission {
  open,             ///< no credentials needed
  self,             ///< any authenticated principal: who am I, log out
  categories_read,  ///< the category list
  alerts_write,     ///< POST /api/v1/alerts (sources limited by the key's scope)
  incidents_read,   ///< incident list and one-screen view (station-scoped for station roles)
  persons_unmask,   ///< see a person's name, phone and id number unmasked (audited)
  feed_read,        ///< /ws/feed (station-scoped for station roles)
  audit_read,       ///< GET /api/v1/audit (admin: all; station chief: own station)
  users_manage,     ///< create, change and disable users
  apikeys_manage,   ///< create, list and revoke integrator keys
  metrics_read,     ///< /metrics, when it is not opened by config
  incidents_write,  ///< correct an incident (location) and split merged alerts (station-scoped)
  reference_write,  ///< import the county's reference data (PUT /api/v1/reference/{kind})
  units_write,      ///< report unit positions and set unit status (station-scoped for station roles)
  map_read,         ///< the map layers and unit tracks (station-scoped incidents)
  orders_write,     ///< issue orders and record their steps (ack, en route, on scene, ...)
  support_handle,   ///< the county's side of support requests: accept, answer, close, reject
  incidents_review, ///< the supervisor's review of a handled incident (评估)
  stats_read,       ///< statistics and response-time evaluation (station-scoped for station roles)
  count_            ///< number of permissions (not a permission)
};

using PermissionSet = std::bitset<static_cast<std::size_t>(Permission::count_)>;

/// Stable names ("duty_officer", "incidents:read") used in the API, the CLI and the docs.
const char* role_name(Role r);
const char* permission_name(Permission p);
std::optional<Role> parse_role(std::string_view s);
std::optional<Permission> parse_permission(std::string_view s);
/// All roles, in declaration order.
const std::vector<Role>& all_roles();

/// What a role may do.
PermissionSet role_permissions(Role r);
/// Scopes an integrator API key may be given (a key never unmasks or administers).
PermissionSet key_grantable_permissions();

/// An authenticated caller: an officer (user) or an integrator system (API key).
struct Principal {
  enum class Kind { user, api_key };
  Kind kind{Kind::user};
  std::string id;            ///< user id or key id
  std::string name;          ///< display name (user: name and police number; key: its name)
  std::string station_id;    ///< a user's station; empty for county-wide principals and keys
  std::vector<Role> roles;   ///< users only
  PermissionSet permissions;
  bool county_wide{false};   ///< sees every station's incidents and feed
  std::vector<std::string> sources;  ///< keys: alert sources it may send ("*" = any)
  std::string session_id;    ///< users: the login session the token belongs to

  bool may(Permission p) const {
    return p == Permission::open || (p == Permission::self ? true : permissions.test(static_cast<std::size_t>(p)));
  }
  /// Whether incidents owned by `station_id` (empty: not yet assigned) are visible, given the
  /// stations the incident is shared with.
  bool sees_station(std::string_view station_id, const std::vector<std::string>& shared_with = {}) const;
  /// Whether a key may send alerts of this source.
  bool may_send_source(std::string_view source) const;
  /// "user:<id>" or "key:<id>", for logs, audit rows and rate-limit buckets.
  std::string ref() const;
};

/// A user's principal from its stored fields.
Principal user_principal(std::string id, std::string name, std::string station_id, const std::vector<Role>& roles,
                         std::string session_id);
/// A key's principal from its stored fields; scopes outside key_grantable_permissions() are dropped.
Principal key_principal(std::string id, std::string name, const std::vector<Permission>& scopes,
                        std::vector<std::string> sources);

/// Parses a comma-separated list ("duty_officer,station_chief"); nullopt naming the first bad
/// item in `bad`.
std::optional<std::vector<Role>> parse_roles(std::string_view list, std::string& bad);
std::optional<std::vector<Permission>> parse_scopes(std::string_view list, std::string& bad);

/// Checks a password against the policy (length, not all one character); the error names `field`.
std::optional<Error> check_password(std::string_view password, int min_length, const char* field = "password");
/// Checks a new user's fields: police number and station as short codes, a name, at least one
/// role, a station for station roles, and the password policy. The error names the field.
std::optional<Error> check_new_user(std::string_view police_number, std::string_view name, std::string_view station_id,
                                    const std::vector<Role>& roles, std::string_view password, int min_password_length);

}  // namespace xiaonao::domain
