#include "xiaonao/domain/audit.hpp"

namespace xiaonao::domain {
namespace {
void field(std::string& out, const char* name, const std::string& value) {
  out += name;
  out += '=';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}
}  // namespace

std::string audit_canonical(const AuditEntry& e) {
  std::string out;
  out.reserve(256 + e.detail.size() + e.reason.size());
  field(out, "seq", std::to_string(e.seq));
  field(out, "at_us", std::to_string(e.at_us));
  field(out, "actor", e.actor);
  field(out, "actor_name", e.actor_name);
  field(out, "station_id", e.station_id);
  field(out, "action", e.action);
  field(out, "target", e.target);
  field(out, "incident_id", e.incident_id);
  field(out, "reason", e.reason);
  field(out, "detail", e.detail);
  field(out, "prev_hash", e.prev_hash);
  return out;
}

AuditEntry audit_entry(const Principal& who, std::string action) {
  AuditEntry e;
  e.actor = who.ref();
  e.actor_name = who.name;
  e.station_id = who.station_id;
  e.action = std::move(action);
  return e;
}

}  // namespace xiaonao::domain
