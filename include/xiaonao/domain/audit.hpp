#pragma once
/// The audit log's rows and the canonical text each row's hash is computed over.
#include <cstdint>
#include <string>

#include "xiaonao/domain/auth.hpp"

namespace xiaonao::domain {

/// One audit row. `seq`, `at_us`, `prev_hash` and `hash` are filled in when it is appended.
struct AuditEntry {
  std::int64_t seq{0};
  std::int64_t at_us{0};     ///< microseconds since the Unix epoch (UTC)
  std::string actor;         ///< user:<id>, key:<id> or cli:<os user>
  std::string actor_name;
  std::string station_id;    ///< empty: none
  std::string action;        ///< e.g. "person.unmask"
  std::string target;        ///< empty: none
  std::string incident_id;   ///< empty: none
  std::string reason;        ///< empty: none
  std::string detail{"{}"};  ///< a JSON object as text
  std::string prev_hash;
  std::string hash;
};

/// The hash of the row before the first one.
inline constexpr const char* kAuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

/// The exact bytes hashed for a row: every field but `hash`, in a fixed order, each as
/// "<name>=<length>:<value>\n" so that no choice of values can make two rows collide.
std::string audit_canonical(const AuditEntry& e);

/// A row for an action by `who`: actor, name and station filled in.
AuditEntry audit_entry(const Principal& who, std::string action);

}  // namespace xiaonao::domain
