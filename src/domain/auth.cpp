#include "xiaonao/domain/auth.hpp"

#include <algorithm>
#include <array>

#include "xiaonao/domain/query.hpp"

namespace xiaonao::domain {
namespace {

constexpr std::array<std::pair<Role, const char*>, 6> kRoles{{
    {Role::duty_officer, "duty_officer"},
    {Role::station_chief, "station_chief"},
    {Role::county_commander, "county_commander"},
    {Role::analyst, "analyst"},
    {Role::integrator, "integrator"},
    {Role::admin, "admin"},
}};

constexpr std::array<std::pair<Permission, const char*>, static_cast<std::size_t>(Permission::count_)> kPerms{{
    {Permission::open, "open"},
    {Permission::self, "self"},
    {Permission::categories_read, "categories:read"},
    {Permission::alerts_write, "alerts:write"},
    {Permission::incidents_read, "incidents:read"},
    {Permission::persons_unmask, "persons:unmask"},
    {Permission::feed_read, "feed:read"},
    {Permission::audit_read, "audit:read"},
    {Permission::users_manage, "users:manage"},
    {Permission::apikeys_manage, "apikeys:manage"},
    {Permission::metrics_read, "metrics:read"},
    {Permission::incidents_write, "incidents:write"},
    {Permission::reference_write, "reference:write"},
    {Permission::units_write, "units:write"},
    {Permission::map_read, "map:read"},
    {Permission::orders_write, "orders:write"},
    {Permission::support_handle, "support:handle"},
    {Permission::incidents_review, "incidents:review"},
    {Permission::stats_read, "stats:read"},
}};

PermissionSet set_of(std::initializer_list<Permission> ps) {
  PermissionSet s;
  for (auto p : ps) s.set(static_cast<std::size_t>(p));
  return s;
}

}  // namespace

const char* role_name(Role r) {
  for (const auto& [role, name] : kRoles) {
    if (role == r) return name;
  }
  return "unknown";
}

const char* permission_name(Permission p) {
  for (const auto& [perm, name] : kPerms) {
    if (perm == p) return name;
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view s) {
  for (const auto& [role, name] : kRoles) {
    if (s == name) return role;
  }
  return std::nullopt;
}

std::optional<Permission> parse_permission(std::string_view s) {
  for (const auto& [perm, name] : kPerms) {
    if (s == name) return perm;
  }
  return std::nullopt;
}

const std::vector<Role>& all_roles() {
  static const std::vector<Role> roles = [] {
    std::vector<Role> v;
    for (const auto& [role, name] : kRoles) v.push_back(role);
    return v;
  }();
  return roles;
}

// The one table of what each role may do; docs/security.md shows it as the route × role matrix.
PermissionSet role_permissions(Role r) {
  using P = Permission;
  switch (r) {
    case Role::duty_officer:
      return set_of({P::categories_read, P::incidents_read, P::persons_unmask, P::feed_read, P::incidents_write,
                     P::units_write, P::map_read, P::orders_write});
    case Role::station_chief:
      return set_of({P::categories_read, P::incidents_read, P::persons_unmask, P::feed_read, P::audit_read,
                     P::incidents_write, P::units_write, P::map_read, P::orders_write, P::incidents_review,
                     P::stats_read});
    case Role::county_commander:
      return set_of({P::categories_read, P::incidents_read, P::persons_unmask, P::feed_read, P::incidents_write,
                     P::units_write, P::map_read, P::orders_write, P::support_handle, P::incidents_review,
                     P::stats_read});
    case Role::analyst:
      // Statistics and response times, with no personal data, so no incident view.
      return set_of({P::categories_read, P::metrics_read, P::stats_read});
    case Role::integrator:
      return set_of({P::categories_read, P::alerts_write, P::reference_write, P::units_write});
    case Role::admin:
      // Reference import writes the register but reads nothing operational back.
      return set_of({P::categories_read, P::audit_read, P::users_manage, P::apikeys_manage, P::metrics_read,
                     P::reference_write});
  }
  return {};
}

PermissionSet key_grantable_permissions() {
  using P = Permission;
  // A county platform may read the whole feed and incident list with a key; personal data
  // stays masked for keys, and keys never administer.
  // A unit's terminal (or a vendor's fleet system) reports order steps with orders:write.
  return set_of({P::categories_read, P::alerts_write, P::incidents_read, P::feed_read, P::metrics_read,
                 P::reference_write, P::units_write, P::map_read, P::orders_write, P::stats_read});
}

bool Principal::sees_station(std::string_view station, const std::vector<std::string>& shared_with) const {
  if (county_wide) return true;
  if (station_id.empty()) return false;
  if (station == station_id) return true;
  return std::find(shared_with.begin(), shared_with.end(), station_id) != shared_with.end();
}

bool Principal::may_send_source(std::string_view source) const {
  if (kind == Kind::user) return true;
  return std::any_of(sources.begin(), sources.end(), [&](const std::string& s) { return s == "*" || s == source; });
}

std::string Principal::ref() const { return (kind == Kind::user ? "user:" : "key:") + id; }

Principal user_principal(std::string id, std::string name, std::string station_id, const std::vector<Role>& roles,
                         std::string session_id) {
  Principal p;
  p.kind = Principal::Kind::user;
  p.id = std::move(id);
  p.name = std::move(name);
  p.station_id = std::move(station_id);
  p.roles = roles;
  p.session_id = std::move(session_id);
  for (auto r : roles) {
    p.permissions |= role_permissions(r);
    if (r == Role::county_commander || r == Role::admin) p.county_wide = true;
  }
  return p;
}

Principal key_principal(std::string id, std::string name, const std::vector<Permission>& scopes,
                        std::vector<std::string> sources) {
  Principal p;
  p.kind = Principal::Kind::api_key;
  p.id = std::move(id);
  p.name = std::move(name);
  p.county_wide = true;
  p.sources = std::move(sources);
  const auto grantable = key_grantable_permissions();
  for (auto s : scopes) {
    if (grantable.test(static_cast<std::size_t>(s))) p.permissions.set(static_cast<std::size_t>(s));
  }
  return p;
}

std::optional<std::vector<Role>> parse_roles(std::string_view list, std::string& bad) {
  std::vector<Role> out;
  for (auto item : split_list(list)) {
    auto r = parse_role(item);
    if (!r) {
      bad = std::string(item);
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  return out;
}

std::optional<std::vector<Permission>> parse_scopes(std::string_view list, std::string& bad) {
  std::vector<Permission> out;
  const auto grantable = key_grantable_permissions();
  for (auto item : split_list(list)) {
    auto p = parse_permission(item);
    if (!p || !grantable.test(static_cast<std::size_t>(*p))) {
      bad = std::string(item);
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
  }
  return out;
}

namespace {
bool is_code(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}
}  // namespace

std::optional<Error> check_password(std::string_view password, int min_length, const char* field) {
  if (password.size() < static_cast<std::size_t>(min_length))
    return Error{ErrorKind::invalid_field, "password must have at least " + std::to_string(min_length) + " characters", field};
  if (password.size() > 256) return Error{ErrorKind::invalid_field, "password must have at most 256 characters", field};
  if (std::all_of(password.begin(), password.end(), [&](char c) { return c == password[0]; }))
    return Error{ErrorKind::invalid_field, "password must not be one character repeated", field};
  return std::nullopt;
}

std::optional<Error> check_new_user(std::string_view police_number, std::string_view name, std::string_view station_id,
                                    const std::vector<Role>& roles, std::string_view password, int min_password_length) {
  if (!is_code(police_number, 32))
    return Error{ErrorKind::invalid_field, "police_number must be 1-32 letters, digits, '_', '-' or '.'", "police_number"};
  if (name.empty() || name.size() > 64) return Error{ErrorKind::invalid_field, "name must have 1-64 bytes", "name"};
  if (!station_id.empty() && !is_code(station_id, 64))
    return Error{ErrorKind::invalid_field, "station_id must be 1-64 letters, digits, '_', '-' or '.'", "station_id"};
  if (roles.empty()) return Error{ErrorKind::invalid_field, "at least one role is needed", "roles"};
  const bool station_role = std::any_of(roles.begin(), roles.end(), [](Role r) {
    return r == Role::duty_officer || r == Role::station_chief;
  });
  if (station_role && station_id.empty())
    return Error{ErrorKind::invalid_field, "duty_officer and station_chief need a station_id", "station_id"};
  return check_password(password, min_password_length);
}

}  // namespace xiaonao::domain
