// The reference data in memory (store/reference_cache.hpp) answers exactly what the SQL it
// stands in for answers, on a random county whose polygons share edges and vertices given
// with every digit a double has: locate and owner (location, marker, exact, alias, the ones the
// statement must decide, points off every zone) and the camera part, each run both ways against
// the same database. Then: a change to a kind moves its version, a reload shares the kinds that
// did not change, and the cache says a picture is stale until it has reloaded. The fuzzy
// address match in memory gives pg_trgm's own similarity() and the database's best five.
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "harness.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/normalize.hpp"
#include "xiaonao/domain/reference.hpp"
#include "xiaonao/domain/reference_index.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/store/fusion.hpp"
#include "xiaonao/store/reference_cache.hpp"

namespace xiaonao::itest {
namespace {

// Every digit of the double (the shortest text that reads back as it).
std::string num(double v) {
  std::string s;
  domain::append_json_double(s, v);
  return s;
}

std::string wkt_point(domain::GeoPoint p) { return "SRID=4326;POINT(" + num(p.lon) + " " + num(p.lat) + ")"; }

std::string ring(const std::vector<domain::GeoPoint>& pts) {
  std::string s = "(";
  for (std::size_t k = 0; k <= pts.size(); ++k) {
    const auto& p = pts[k % pts.size()];
    s += (k ? "," : "") + num(p.lon) + " " + num(p.lat);
  }
  return s + ")";
}

// The sum of the versions in the transaction's snapshot, as the intake batch reads it.
std::int64_t version_sum(pqxx::transaction_base& t) {
  return t.exec("SELECT coalesce(sum(version), 0)::bigint FROM reference_versions")[0][0].as<std::int64_t>();
}

class ReferenceMemory : public IntegrationTest {
 protected:
  static constexpr int kN = 6;  // zones are the cells of a jittered kN × kN lattice
  std::mt19937_64 rng{20261126};
  std::vector<std::vector<domain::GeoPoint>> v;  // lattice vertices
  std::vector<std::string> address_texts, alias_texts, marker_codes, phones, id_numbers;

  double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); }
  bool chance(double p) { return uniform(0, 1) < p; }

  void build_county() {
    auto& s = sql();
    // Vertices with every digit in use; neighbouring cells share them exactly, so their edges
    // coincide. Cell (3, 3) is left out: a gap where the nearest zone applies.
    v.assign(kN + 1, std::vector<domain::GeoPoint>(kN + 1));
    for (int i = 0; i <= kN; ++i)
      for (int j = 0; j <= kN; ++j)
        v[i][j] = {119.80 + i * 0.01 + uniform(-0.003, 0.003), 28.40 + j * 0.01 + uniform(-0.003, 0.003)};
    for (int i = 0; i < kN; ++i) {
      for (int j = 0; j < kN; ++j) {
        if (i == 3 && j == 3) continue;
        const std::vector<domain::GeoPoint> quad{v[i][j], v[i + 1][j], v[i + 1][j + 1], v[i][j + 1]};
        // Every other zone's ring is given clockwise: PostGIS takes both orientations.
        std::vector<domain::GeoPoint> r = quad;
        if ((i + j) % 2) std::reverse(r.begin(), r.end());
        const auto id = "Z" + std::to_string(i) + std::to_string(j);
        s.exec("INSERT INTO zones (id, name, station_id, area_type, geom) VALUES ($1, $1, $2, 'urban',"
               " ST_Multi(ST_GeomFromText($3, 4326)))",
               id, "S" + std::to_string(i % 3), "POLYGON(" + ring(r) + ")");
        // Two triangular grids per zone, along its diagonal.
        s.exec("INSERT INTO grids (id, name, zone_id, geom) VALUES ($1, $1, $3, ST_Multi(ST_GeomFromText($2, 4326)))",
               "G" + id + "a", "POLYGON(" + ring({quad[0], quad[1], quad[2]}) + ")", id);
        s.exec("INSERT INTO grids (id, name, zone_id, geom) VALUES ($1, $1, $3, ST_Multi(ST_GeomFromText($2, 4326)))",
               "G" + id + "b", "POLYGON(" + ring({quad[0], quad[2], quad[3]}) + ")", id);
      }
    }
    // A zone over others with a hole in it: the smaller id ("Y" < "Z…") wins where it covers,
    // except in its hole. And a two-part zone.
    s.exec("INSERT INTO zones (id, name, station_id, area_type, geom) VALUES ('Y1', 'Y1', 'S9', 'rural',"
           " ST_Multi(ST_GeomFromText($1, 4326)))",
           "POLYGON((119.815 28.415,119.835 28.415,119.835 28.435,119.815 28.435,119.815 28.415),"
           "(119.82 28.42,119.82 28.43,119.83 28.43,119.83 28.42,119.82 28.42))");
    s.exec("INSERT INTO zones (id, name, station_id, area_type, geom) VALUES ('Y2', 'Y2', 'S8', 'suburban',"
           " ST_GeomFromText('MULTIPOLYGON(((119.84 28.40,119.845 28.40,119.845 28.405,119.84 28.40)),"
           "((119.85 28.44,119.855 28.44,119.855 28.445,119.85 28.445,119.85 28.44)))', 4326))");
    for (int k = 0; k < 300; ++k) {
      // Some texts twice (the smaller id wins), some aliases shared.
      const auto text = "云和县中山路" + std::to_string(k % 250) + "号";
      const auto alias = "中山路" + std::to_string(k % 120) + "号院";
      const auto id = "A" + std::to_string(1000 - k);
      s.exec("INSERT INTO addresses (id, text, norm, aliases, alias_norms, geog) VALUES ($1, $2, $2, $3::text[], $3::text[], $4)",
             id, text, chance(0.5) ? "{" + alias + "}" : std::string("{}"), wkt_point(random_point()));
      address_texts.push_back(text);
      alias_texts.push_back(alias);
    }
    for (int k = 0; k < 3000; ++k) {
      const bool dome = chance(0.3);
      s.exec("INSERT INTO cameras (id, name, bearing_deg, fov_deg, range_m, stream_url, online, geog)"
             " VALUES ($1, $1, $2, $3, $4, $5, $6, $7)",
             "C" + std::to_string(k), dome ? nullptr : num(uniform(0, 359.9)).c_str(), dome ? "360" : num(uniform(20, 120)),
             num(uniform(50, 400)), chance(0.2) ? nullptr : ("rtsp://cam/" + std::to_string(k)).c_str(),
             chance(0.85), wkt_point(random_point()));
    }
    for (int k = 0; k < 40; ++k) {
      const auto code = "M" + std::to_string(k);
      // A camera of the county (online or not), one that does not exist, or none.
      const auto cam = k % 4 == 0 ? std::string("C-none") : k % 4 == 1 ? std::string() : "C" + std::to_string(k * 70);
      s.exec("INSERT INTO markers (id, description, camera_id, geog) VALUES ($1, $1, $2, $3)", code,
             cam.empty() ? nullptr : cam.c_str(), wkt_point(random_point()));
      marker_codes.push_back(code);
    }
  }

  // Residents: phones and identity numbers shared between persons (the first by id whose
  // address exists wins), addresses that do not exist or are not given, and keys of every shape
  // (mobile, landline with its leading zero, too long for the packed form, old 15-digit and
  // lower-case-x identity numbers, which the memory keeps in its map).
  void add_persons() {
    auto& s = sql();
    const auto digits = [&](int n) {
      std::string d;
      for (int k = 0; k < n; ++k) d += static_cast<char>('0' + rng() % 10);
      return d;
    };
    for (int k = 0; k < 60; ++k) {
      switch (k % 4) {
        case 0: phones.push_back("0578" + digits(7)); break;
        case 1: phones.push_back("1" + digits(18)); break;
        default: phones.push_back("139" + digits(8)); break;
      }
      switch (k % 5) {
        case 0: id_numbers.push_back(digits(15)); break;
        case 1: id_numbers.push_back(digits(17) + "x"); break;
        case 2: id_numbers.push_back(digits(17) + "X"); break;
        default: id_numbers.push_back(digits(18)); break;
      }
    }
    const auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
    for (int k = 0; k < 400; ++k) {
      std::string ph = "{";
      for (int n = static_cast<int>(rng() % 3); n > 0; --n) ph += (ph.size() > 1 ? "," : "") + pick(phones);
      ph += "}";
      const double x = uniform(0, 1);
      // Some addresses crowded (more residents than a household lists), one that does not exist.
      const auto address = x < 0.15   ? std::string("A-gone")
                           : x < 0.45 ? "A" + std::to_string(701 + rng() % 4)
                                      : "A" + std::to_string(701 + rng() % 300);
      // Flags in any order, each once (as import stores them).
      auto flags = domain::person_flags();
      std::shuffle(flags.begin(), flags.end(), rng);
      flags.resize(chance(0.4) ? 0 : rng() % 4);
      std::string fl = "{";
      for (const auto& f : flags) fl += (fl.size() > 1 ? "," : "") + f;
      fl += "}";
      // Ids whose text order is not their number's: the database's order is what counts.
      s.exec("INSERT INTO persons (id, name, id_number, phones, address_id, flags) VALUES ($1, 'n', $2, $3::text[], $4, $5::text[])",
             "P" + std::to_string(k), chance(0.1) ? nullptr : pick(id_numbers).c_str(), ph,
             x > 0.92 ? nullptr : address.c_str(), fl);
    }
  }

  domain::GeoPoint random_point() { return {uniform(119.795, 119.865), uniform(28.395, 28.465)}; }

  // Points that test the edges: lattice vertices, points on the axis-aligned edges of Y1 and
  // its hole, random points (some in the gap, some just off the county), and points far from
  // every zone.
  domain::GeoPoint test_point(int k) {
    switch (k % 6) {
      case 0: return v[std::uniform_int_distribution<int>(0, kN)(rng)][std::uniform_int_distribution<int>(0, kN)(rng)];
      case 1: return {chance(0.5) ? 119.82 : 119.835, uniform(28.41, 28.44)};
      case 2: return {uniform(119.83, 119.84), uniform(28.43, 28.44)};  // the gap and around it
      case 3: return {uniform(119.0, 119.7), uniform(28.0, 28.9)};
      default: return random_point();
    }
  }

  domain::AlertInput random_alert(int k) {
    domain::AlertInput a;
    a.source = "110";
    a.source_ref = "r" + std::to_string(k);
    a.category = "theft";
    a.received_at = domain::now_utc();
    const double x = uniform(0, 1);
    const auto pick = [&](const std::vector<std::string>& from) {
      return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
    };
    if (x < 0.35) {
      a.location = test_point(k);
      if (chance(0.3)) a.address = pick(address_texts);  // recorded as its address id
    } else if (x < 0.5) {
      a.marker = chance(0.8) ? pick(marker_codes) : std::string("M-unknown");
      if (chance(0.5)) a.address = pick(address_texts);
    } else if (x < 0.65) {
      a.address = pick(address_texts);
    } else if (x < 0.8) {
      a.address = pick(alias_texts);
    } else if (x < 0.9) {
      a.address = "云和县中山路" + std::to_string(k) + "号楼";  // not exact: the fuzzy match
    } else {
      a.caller = domain::Caller{std::string("13900000000"), std::nullopt};  // nobody: not located
    }
    if (phones.empty() || chance(0.5)) return a;
    // A subject and a caller, who place the alert when nothing else does: known or not, by
    // phone (written as a caller might) or identity number or both.
    const auto known = [&](const std::vector<std::string>& from) { return chance(0.8) ? pick(from) : std::string("123"); };
    if (chance(0.5)) {
      a.subject = domain::Subject{};
      if (chance(0.6)) a.subject->phone = "+86 " + known(phones);
      if (!a.subject->phone || chance(0.3)) a.subject->id_number = known(id_numbers);
    }
    if (chance(0.6)) a.caller = domain::Caller{known(phones), std::nullopt};
    if (chance(0.5)) {  // placed by them alone
      a.location.reset();
      a.marker.reset();
      a.address.reset();
    }
    return a;
  }
};

void expect_same(const store::Located& m, const store::Located& q, const std::string& what) {
  EXPECT_EQ(m.point.has_value(), q.point.has_value()) << what;
  if (m.point && q.point) {
    EXPECT_EQ(m.point->lon, q.point->lon) << what;
    EXPECT_EQ(m.point->lat, q.point->lat) << what;
  }
  EXPECT_EQ(m.located_by, q.located_by) << what;
  EXPECT_EQ(m.confidence, q.confidence) << what;
  EXPECT_EQ(m.address_id, q.address_id) << what;
  // The same list; the texts differ only in spacing (json_agg's and JsonWriter's).
  EXPECT_EQ(m.candidates.empty() ? json() : json::parse(m.candidates),
            q.candidates.empty() ? json() : json::parse(q.candidates))
      << what;
  EXPECT_EQ(m.zone_id, q.zone_id) << what;
  EXPECT_EQ(m.station_id, q.station_id) << what;
  EXPECT_EQ(m.grid_id, q.grid_id) << what;
  EXPECT_EQ(m.owner_flag, q.owner_flag) << what;
}

TEST_F(ReferenceMemory, LocateOwnerCamerasAndHouseholdAnswerAsTheTablesDo) {
  build_county();
  add_persons();
  pqxx::connection c(db_conninfo());
  store::prepare_fusion(c);
  const auto ref = store::load_reference(c, nullptr);
  EXPECT_EQ(ref->zones->size(), static_cast<std::size_t>(kN * kN - 1 + 2));
  EXPECT_EQ(ref->grids->size(), static_cast<std::size_t>(2 * (kN * kN - 1)));
  EXPECT_EQ(ref->cameras->size(), 3000u);
  EXPECT_EQ(ref->markers->size(), 40u);
  EXPECT_EQ(ref->homes->size(), static_cast<std::size_t>(sql().scalar("SELECT count(address_id) FROM persons")));
  {
    pqxx::work w(c);
    EXPECT_EQ(version_sum(w), ref->version_sum());
  }

  // Locate and owner, in batches of 20 as intake sends them.
  std::vector<domain::AlertInput> alerts;
  for (int k = 0; k < 1200; ++k) alerts.push_back(random_alert(k));
  const store::LocateOptions lo;
  std::map<std::string, int> seen;  // how each was located, and owner flags: the test covers them all
  for (std::size_t from = 0; from < alerts.size(); from += 20) {
    std::vector<const domain::AlertInput*> batch;
    for (std::size_t k = from; k < from + 20; ++k) batch.push_back(&alerts[k]);
    const std::vector<bool> want(batch.size(), true);
    pqxx::work w(c);
    const auto by_memory = store::locate_alerts(w, batch, want, lo, ref.get());
    const auto by_sql = store::locate_alerts(w, batch, want, lo, nullptr);
    for (std::size_t k = 0; k < batch.size(); ++k) {
      expect_same(by_memory[k], by_sql[k], "alert " + std::to_string(from + k));
      ++seen["by:" + by_sql[k].located_by];
      ++seen["flag:" + by_sql[k].owner_flag];
      ++seen["zone:" + std::string(by_sql[k].zone_id.empty() ? "none" : by_sql[k].zone_id.substr(0, 1))];
    }
  }
  for (const char* k : {"by:location", "by:marker", "by:address", "by:alias", "by:fuzzy", "by:subject", "by:caller_phone",
                        "by:", "flag:", "flag:nearest_zone", "flag:no_zone", "zone:Y", "zone:Z"})
    EXPECT_GT(seen[k], 0) << "no alert covered " << k;

  // The camera and household parts, for points near the markers and anywhere, at crowded
  // addresses and others, with subjects known by phone (written as a caller might) or identity
  // number or not known.
  std::vector<store::FuseInput> incidents;
  for (int k = 0; k < 120; ++k) {
    store::FuseInput f;
    f.id = domain::new_uuid();
    f.category = "theft";
    f.received_at = domain::now_utc();
    f.at = test_point(k);
    if (k % 3 == 0) {
      f.markers = {marker_codes[static_cast<std::size_t>(k) % marker_codes.size()]};
      if (k % 2) f.markers.push_back(marker_codes[static_cast<std::size_t>(k + 1) % marker_codes.size()]);
    }
    if (k % 10 == 0) f.at.reset();  // not located: no cameras at all
    if (k % 4 != 3) f.address_id = k % 4 == 0 ? "A" + std::to_string(701 + k % 5) : k % 4 == 1 ? "A-gone" : "A" + std::to_string(701 + k % 300);
    if (k % 5 < 2) f.subject_phones.push_back("+86 " + phones[static_cast<std::size_t>(k) % phones.size()]);
    if (k % 7 < 2) f.subject_ids.push_back(k % 7 ? id_numbers[static_cast<std::size_t>(k) % id_numbers.size()] : "123");
    if (k % 11 == 0) f.subject_phones.push_back(phones[static_cast<std::size_t>(k + 1) % phones.size()]);
    incidents.push_back(f);
  }
  store::FusionOptions fo;
  fo.camera_radius_m = 400;
  fo.household_max = 3;  // six rows a part: crowded addresses are cut short
  ASSERT_TRUE(ref->homes->households());
  const auto now_text = domain::format_rfc3339(domain::now_utc());
  pqxx::work w(c);
  const auto by_memory = store::fuse_parts(w, incidents, fo, now_text, {}, ref.get());
  const auto by_sql = store::fuse_parts(w, incidents, fo, now_text, {}, nullptr);
  ASSERT_EQ(by_memory.size(), by_sql.size());
  int cameras = 0, marker_cameras = 0, residents = 0, via_subject = 0, full_households = 0;
  for (std::size_t k = 0; k < by_sql.size(); ++k) {
    auto m = json::parse(by_memory[k].fusion), q = json::parse(by_sql[k].fusion);
    residents += static_cast<int>(q["household"].size());
    if (q["household"].size() == 3) ++full_households;
    for (const auto& h : q["household"]) via_subject += h["via"] == "subject";
    ASSERT_EQ(m["cameras"].size(), q["cameras"].size()) << "incident " << k << "\n" << m["cameras"] << "\n" << q["cameras"];
    for (std::size_t n = 0; n < q["cameras"].size(); ++n) {
      auto& a = m["cameras"][n];
      auto& b = q["cameras"][n];
      // The sphere's distance in C++ and in PostGIS differ in the last bits; shown to 0.1 m.
      EXPECT_NEAR(a["distance_m"].get<double>(), b["distance_m"].get<double>(), 0.1001) << "incident " << k;
      a.erase("distance_m");
      b.erase("distance_m");
      ++cameras;
      if (b["marker_camera"].get<bool>()) ++marker_cameras;
    }
    EXPECT_EQ(m, q) << "incident " << k;
    EXPECT_EQ(by_memory[k].event.data, by_sql[k].event.data) << "incident " << k;
  }
  EXPECT_GT(cameras, 300);
  EXPECT_GT(marker_cameras, 3);
  EXPECT_GT(residents, 100);
  EXPECT_GT(via_subject, 10);
  EXPECT_GT(full_households, 20);
}

TEST_F(ReferenceMemory, AChangeMovesItsVersionAndAReloadSharesWhatDidNotChange) {
  build_county();
  pqxx::connection c(db_conninfo());
  const auto first = store::load_reference(c, nullptr);
  sql().exec("UPDATE cameras SET online = NOT online WHERE id = 'C7'");
  {
    pqxx::work w(c);
    EXPECT_EQ(version_sum(w), first->version_sum() + 1);
  }
  const auto second = store::load_reference(c, first.get());
  EXPECT_EQ(second->version_sum(), first->version_sum() + 1);
  EXPECT_NE(second->cameras, first->cameras);
  EXPECT_EQ(second->zones, first->zones);
  EXPECT_EQ(second->grids, first->grids);
  EXPECT_EQ(second->addresses, first->addresses);
  EXPECT_EQ(second->markers, first->markers);
  EXPECT_NE(second->cameras->find("C7")->online, first->cameras->find("C7")->online);

  // Every statement on every kind counts, TRUNCATE included; an uncommitted change does not.
  const auto before = first->version_sum();
  sql().exec("DELETE FROM markers WHERE id = 'M1'");
  sql().exec("INSERT INTO addresses (id, text, norm, geog) VALUES ('AX', 'x', 'x', $1)", point(119.8, 28.4));
  sql().exec("UPDATE zones SET name = 'n' WHERE id = 'Z00'");
  sql().exec("TRUNCATE grids");
  sql().exec("INSERT INTO persons (id, name, phones, address_id) VALUES ('P1', 'n', '{13900000001}', 'AX')");
  {
    pqxx::connection other(db_conninfo());
    pqxx::work open(other);
    open.exec("UPDATE markers SET description = 'd'");
    pqxx::work w(c);
    EXPECT_EQ(version_sum(w), before + 6);
  }
  const auto third = store::load_reference(c, second.get());
  EXPECT_EQ(third->grids->size(), 0u);
  EXPECT_EQ(third->homes->by_phone("13900000001", *third->addresses)->id, "AX");
  EXPECT_EQ(second->homes->by_phone("13900000001", *second->addresses), nullptr);
  EXPECT_EQ(third->marker("M1"), nullptr);
  EXPECT_EQ(third->addresses->exact("x")->id, "AX");
  EXPECT_EQ(third->cameras, second->cameras);
}

// Intake works out each alert's locate from memory before its batch (store::prelocate); the
// batch takes that result only when its own picture is the one it was worked out with.
TEST_F(ReferenceMemory, ALocateWorkedOutAheadIsUsedOnlyWithItsOwnPicture) {
  build_county();
  pqxx::connection c(db_conninfo());
  store::prepare_fusion(c);
  const auto first = store::load_reference(c, nullptr);
  domain::AlertInput a = random_alert(1);
  a.location.reset();
  a.marker.reset();
  a.address = address_texts[0];
  const store::LocateOptions lo;
  auto ahead = store::prelocate(a, first, lo);
  ASSERT_TRUE(ahead.settled);
  ASSERT_TRUE(ahead.located.point.has_value());
  const auto id = ahead.located.address_id;
  // The same picture: the result worked out ahead stands (marked here, to see it is the one used).
  ahead.located.located_by = "ahead";
  {
    pqxx::work w(c);
    EXPECT_EQ(store::locate_alerts(w, {&a}, {true}, lo, first.get(), {&ahead})[0].located_by, "ahead");
  }
  // The address moves: a picture loaded after it does not take the result worked out before.
  sql().exec("UPDATE addresses SET geog = ST_SetSRID(ST_MakePoint(119.9, 28.5), 4326)::geography WHERE id = $1", id);
  const auto second = store::load_reference(c, first.get());
  pqxx::work w(c);
  const auto now = store::locate_alerts(w, {&a}, {true}, lo, second.get(), {&ahead})[0];
  ASSERT_TRUE(now.point.has_value());
  EXPECT_DOUBLE_EQ(now.point->lon, 119.9);
  EXPECT_DOUBLE_EQ(now.point->lat, 28.5);
  EXPECT_NE(now.located_by, "ahead");
  expect_same(now, store::locate_alerts(w, {&a}, {true}, lo, nullptr)[0], "after the move");
}

TEST_F(ReferenceMemory, TheCacheLoadsAtStartAndCallsAPictureStaleUntilItHasReloaded) {
  build_county();
  store::ReferenceCache cache(db_conninfo());
  cache.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!cache.current() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto first = cache.current();
  ASSERT_NE(first, nullptr) << "no picture after 60 s";
  EXPECT_EQ(cache.current_for(first->version_sum()), first);
  EXPECT_EQ(cache.stale_reads(), 0u);

  sql().exec("UPDATE cameras SET online = false WHERE id = 'C1'");
  const auto db_sum = sql().scalar("SELECT sum(version) FROM reference_versions");
  ASSERT_EQ(db_sum, first->version_sum() + 1);
  // Stale for that version: no picture, and a reload is asked for, which brings it.
  EXPECT_EQ(cache.current_for(db_sum), nullptr);
  EXPECT_EQ(cache.stale_reads(), 1u);
  std::shared_ptr<const domain::reference::Index> now;
  while (!(now = cache.current_for(db_sum)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_NE(now, nullptr) << "no reload after 60 s";
  EXPECT_FALSE(now->cameras->find("C1")->online);
  EXPECT_EQ(now->zones, first->zones);
  EXPECT_GE(cache.reloads(), 2u);
  cache.stop();
}

std::string ctype_of_database(pqxx::connection& c) {
  pqxx::work w(c);
  return w.exec("SELECT datctype FROM pg_database WHERE datname = current_database()")[0][0].as<std::string>();
}

// Texts that exercise pg_trgm's rules: ideographs, digits, mixed case, letters whose lower
// case is not ASCII (Ä, Σ, Ж, İ, full-width), non-word characters inside (splitting words),
// one- and two-character words, emoji.
std::string random_text(std::mt19937_64& rng) {
  static const std::vector<std::string> pieces{"云和县", "中山路", "12", "号", "Ab", "ÄÖÜ", "straße", "ΑΒΓΣ", "Жук",
                                               "ｆｕｌｌ", "İ", "-", " ", "·", "😀", "x", "1a2B", "人民", "楼", "、"};
  std::string s;
  const auto n = 1 + rng() % 6;
  for (unsigned k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
  return s;
}

// show_trgm's array text ({"  c"," ca",0x1a2b3c,...}) as trigram codes: a printable trigram
// is its three characters, any other is written as hex, first byte highest.
domain::trigram::Set parse_show_trgm(const std::string& text) {
  domain::trigram::Set out;
  std::size_t i = 1;
  while (i < text.size() && text[i] != '}') {
    std::string item;
    if (text[i] == '"') {
      const auto end = text.find('"', i + 1);
      item = text.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      const auto end = text.find_first_of(",}", i);
      item = text.substr(i, end - i);
      i = end;
    }
    if (i < text.size() && text[i] == ',') ++i;
    if (item.size() == 8 && item.compare(0, 2, "0x") == 0) {
      const auto v = static_cast<std::uint32_t>(std::stoul(item.substr(2), nullptr, 16));
      out.push_back(((v >> 16) & 0xFF) | (v & 0xFF00) | ((v & 0xFF) << 16));
    } else if (item.size() == 3) {
      out.push_back(static_cast<unsigned char>(item[0]) | (static_cast<unsigned char>(item[1]) << 8) |
                    (static_cast<std::uint32_t>(static_cast<unsigned char>(item[2])) << 16));
    } else {
      ADD_FAILURE() << "show_trgm item " << item;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ReferenceMemory, FuzzyScoresAreTheDatabases) {
  pqxx::connection c(db_conninfo());
  const auto rules = domain::trigram::CharRules::of_locale(ctype_of_database(c));
  ASSERT_TRUE(rules.has_value()) << "the database's LC_CTYPE is not a locale of this machine";
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string in;
  domain::JsonWriter jw(in);
  jw.begin_array();
  for (int k = 0; k < 600; ++k) {
    pairs.emplace_back(random_text(rng), k % 5 == 0 ? std::string() : random_text(rng));
    jw.begin_object().key("k").integer(k).key("a").string(pairs.back().first).key("b").string(pairs.back().second);
    jw.end_object();
  }
  jw.end_array();
  pqxx::work w(c);
  const auto r = w.exec_params(
      "SELECT similarity(a, b)::text, show_trgm(a)::text FROM json_to_recordset($1::json) AS x(k int, a text, b text)"
      " ORDER BY k",
      in);
  ASSERT_EQ(r.size(), pairs.size());
  int nonzero = 0;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const auto& [a, b] = pairs[k];
    const float want = std::stof(r[k][0].as<std::string>());  // float4's shortest text reads back exactly
    const float got = domain::trigram::similarity(domain::trigram::trigrams(a, *rules),
                                                  domain::trigram::trigrams(b, *rules));
    EXPECT_EQ(got, want) << "similarity('" << a << "', '" << b << "'); show_trgm(a) = " << r[k][1].as<std::string>();
    // The trigrams themselves, hashed ones included (similarity alone cannot tell the hash).
    EXPECT_EQ(domain::trigram::trigrams(a, *rules), parse_show_trgm(r[k][1].as<std::string>())) << a;
    if (want > 0 && want < 1) ++nonzero;
  }
  EXPECT_GT(nonzero, 100);
}

TEST_F(ReferenceMemory, FuzzyMatchIsTheDatabasesBestFive) {
  build_county();
  pqxx::connection c(db_conninfo());
  const auto ref = store::load_reference(c, nullptr);
  ASSERT_TRUE(ref->addresses->fuzzy_ready());
  pqxx::work w(c);
  int found = 0;
  for (int k = 0; k < 200; ++k) {
    // A standard address or an alias with a slip: a character dropped, doubled or changed, a
    // suffix added. An address scores as the best of its standard text and its aliases (021).
    auto q = k % 2 ? address_texts[rng() % address_texts.size()] : alias_texts[rng() % alias_texts.size()];
    const auto at = (rng() % (q.size() / 3)) * 3;  // these texts are 3-byte characters and ASCII digits
    switch (k % 8 / 2) {
      case 0: q.erase(at, 1); break;
      case 1: q.insert(at, q.substr(at, 1)); break;
      case 2: q += "附近"; break;
      default: q = random_text(rng);
    }
    q = domain::normalize_address(q);
    const auto want = w.exec_params(
        "SELECT id, round(max(s)::numeric, 3)::float8 FROM (SELECT id, similarity(norm, $1) AS s FROM addresses"
        " UNION ALL SELECT address_id, similarity(norm, $1) FROM address_aliases) x"
        " GROUP BY id HAVING max(s) >= 0.2 ORDER BY max(s) DESC, id LIMIT 5",
        q);
    const auto got = ref->addresses->fuzzy(q, 5, 0.2);
    ASSERT_EQ(got.size(), want.size()) << q;
    for (std::size_t n = 0; n < got.size(); ++n) {
      EXPECT_EQ(got[n].address->id, want[n][0].as<std::string>()) << q << " #" << n;
      EXPECT_NEAR(got[n].score, want[n][1].as<double>(), 0.00051) << q << " #" << n;
    }
    if (!got.empty()) ++found;
  }
  EXPECT_GT(found, 120);
}

}  // namespace
}  // namespace xiaonao::itest
