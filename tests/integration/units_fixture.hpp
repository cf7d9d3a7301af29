#pragma once
// Shared by test_units.cpp and test_map.cpp: users made with the CLI, login, requests as a
// token, and reference rows written with direct SQL (the import is another part's code).
#include "harness.hpp"

namespace xiaonao::itest {

class UnitsTest : public IntegrationTest {
 protected:
  void add_unit(const std::string& id, const std::string& station, const std::string& status = "available",
                std::optional<std::pair<double, double>> at = std::nullopt, const std::string& kind = "patrol_car") {
    if (at) {
      sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status, geog, position_at) VALUES "
                 "($1, $2, $3, $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326)::geography, now() - interval '1 minute')",
                 id, "呼号" + id, kind, station, status, at->first, at->second);
    } else {
      sql().exec("INSERT INTO units (id, call_sign, kind, station_id, status) VALUES ($1, $2, $3, $4, $5)", id,
                 "呼号" + id, kind, station, status);
    }
  }
};

}  // namespace xiaonao::itest
