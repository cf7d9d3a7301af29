#include "xiaonao/domain/audit.hpp"

#include <gtest/gtest.h>

namespace xiaonao::domain {
namespace {

AuditEntry sample() {
  AuditEntry e;
  e.seq = 7;
  e.at_us = 1764115200123456;
  e.actor = "user:3";
  e.actor_name = "张三 (041234)";
  e.station_id = "S01";
  e.action = "person.unmask";
  e.target = "alert:a1/caller";
  e.incident_id = "0b7e4a8e-7c1a-4c59-9a55-0a7f3f2b1c11";
  e.reason = "回访报警人";
  e.detail = R"({"k":1})";
  e.prev_hash = kAuditGenesis;
  return e;
}

TEST(AuditCanonical, EveryFieldCounts) {
  const auto base = audit_canonical(sample());
  for (int i = 0; i < 11; ++i) {
    auto e = sample();
    switch (i) {
      case 0: e.seq = 8; break;
      case 1: e.at_us += 1; break;
      case 2: e.actor = "user:4"; break;
      case 3: e.actor_name += " "; break;
      case 4: e.station_id = "S02"; break;
      case 5: e.action = "person.view"; break;
      case 6: e.target = "alert:a1/subject"; break;
      case 7: e.incident_id = ""; break;
      case 8: e.reason = "x"; break;
      case 9: e.detail = "{}"; break;
      case 10: e.prev_hash[0] = '1'; break;
    }
    EXPECT_NE(audit_canonical(e), base) << "field " << i;
  }
  auto e = sample();
  e.hash = "anything";
  EXPECT_EQ(audit_canonical(e), base);  // the hash itself is not hashed
}

TEST(AuditCanonical, LengthPrefixesPreventShiftingBytesBetweenFields) {
  auto a = sample();
  auto b = sample();
  a.target = "x\nreason=1:y";
  a.reason = "";
  b.target = "x";
  b.reason = "y";
  EXPECT_NE(audit_canonical(a), audit_canonical(b));
}

}  // namespace
}  // namespace xiaonao::domain
