// The reference data in memory (include/xiaonao/store/reference_cache.hpp).
#include "xiaonao/store/reference_cache.hpp"

#include <chrono>

#include <malloc.h>
#include <unordered_map>

#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"

namespace xiaonao::store {
namespace {

namespace ref = domain::reference;

domain::GeoPoint point(const pqxx::row& r, int at) { return {r[at].as<double>(), r[at + 1].as<double>()}; }
std::string text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

// Polygons as WKT with every digit that makes the stored double (ST_AsText's default keeps 15
// decimals, which loses digits of coordinates below 10).
std::shared_ptr<const ref::Areas> load_areas(pqxx::transaction_base& t, const char* table, const char* station) {
  auto areas = std::make_shared<ref::Areas>();
  for (const auto& r : t.exec(std::string("SELECT id, ") + station + ", ST_AsText(geom, 20) FROM " + table)) {
    if (!areas->add(r[0].as<std::string>(), text(r[1]), r[2].as<std::string>()))
      throw std::runtime_error(std::string("reference: unreadable polygon in ") + table + " " + r[0].as<std::string>());
  }
  areas->build();
  return areas;
}

// The fuzzy match in memory reproduces pg_trgm only under the database's own LC_CTYPE; when
// this machine lacks that locale, the match stays in SQL (Addresses::fuzzy_ready()).
std::shared_ptr<const ref::Addresses> load_addresses(pqxx::transaction_base& t) {
  const auto ctype = t.exec("SELECT datctype FROM pg_database WHERE datname = current_database()")[0][0];
  auto out = std::make_shared<ref::Addresses>(domain::trigram::CharRules::of_locale(ctype.as<std::string>()));
  std::unordered_map<std::string, std::vector<std::string>> aliases;
  for (const auto& r : t.exec("SELECT a.id, u.n FROM addresses a, unnest(a.alias_norms) AS u(n)"))
    aliases[r[0].as<std::string>()].push_back(r[1].as<std::string>());
  static const std::vector<std::string> none;
  for (const auto& r : t.exec("SELECT id, text, norm, ST_X(geog::geometry), ST_Y(geog::geometry) FROM addresses")) {
    auto id = r[0].as<std::string>();
    const auto it = aliases.find(id);
    out->add(std::move(id), r[1].as<std::string>(), r[2].as<std::string>(), it == aliases.end() ? none : it->second,
             point(r, 3));
  }
  out->build();
  return out;
}

std::shared_ptr<const ref::Cameras> load_cameras(pqxx::transaction_base& t) {
  auto out = std::make_shared<ref::Cameras>();
  for (const auto& r : t.exec("SELECT id, name, stream_url, ST_X(geog::geometry), ST_Y(geog::geometry), bearing_deg,"
                              " fov_deg, range_m, online FROM cameras")) {
    ref::Camera c;
    c.id = r[0].as<std::string>();
    c.name = r[1].as<std::string>();
    c.stream_url = text(r[2]);
    c.at = point(r, 3);
    if (!r[5].is_null()) c.bearing_deg = r[5].as<double>();
    c.fov_deg = r[6].as<double>();
    c.range_m = r[7].as<double>();
    c.online = r[8].as<bool>();
    out->add(std::move(c));
  }
  out->build();
  return out;
}

std::shared_ptr<const std::unordered_map<std::string, ref::Marker>> load_markers(pqxx::transaction_base& t) {
  auto out = std::make_shared<std::unordered_map<std::string, ref::Marker>>();
  for (const auto& r : t.exec("SELECT id, camera_id, ST_X(geog::geometry), ST_Y(geog::geometry) FROM markers"))
    (*out)[r[0].as<std::string>()] = ref::Marker{point(r, 2), text(r[1])};
  return out;
}

// The strings of a text[] field (null: none).
void strings_of_array(const pqxx::field& f, std::vector<std::string>& out) {
  out.clear();
  if (f.is_null()) return;
  auto parser = f.as_array();
  for (auto next = parser.get_next(); next.first != pqxx::array_parser::juncture::done; next = parser.get_next())
    if (next.first == pqxx::array_parser::juncture::string_value) out.push_back(std::move(next.second));
}

// The persons with an address, in id order as the database sorts ids (the order the locate
// statement picks the first of), read through a cursor: a million rows at once would hold
// hundreds of megabytes of results while the index is built.
std::shared_ptr<const ref::Homes> load_homes(pqxx::transaction_base& t) {
  auto out = std::make_shared<ref::Homes>();
  t.exec("DECLARE xn_homes NO SCROLL CURSOR FOR SELECT address_id, phones, id_number, id, flags FROM persons"
         " WHERE address_id IS NOT NULL ORDER BY id");
  std::vector<std::string> phones, flags;
  for (;;) {
    const auto rows = t.exec("FETCH 20000 FROM xn_homes");
    for (const auto& r : rows) {
      strings_of_array(r[1], phones);
      strings_of_array(r[4], flags);
      out->add(r[0].as<std::string>(), phones, r[2].is_null() ? std::nullopt : std::optional(r[2].as<std::string>()),
               std::string_view(r[3].c_str(), r[3].size()), flags);
    }
    if (rows.empty()) break;
  }
  t.exec("CLOSE xn_homes");
  out->build();
  return out;
}

}  // namespace

std::shared_ptr<const ref::Index> load_reference(pqxx::connection& c, const ref::Index* previous) {
  // One snapshot for the versions and every kind read: the picture is the database as of it.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> t(c);
  auto next = std::make_shared<ref::Index>();
  for (const auto& r : t.exec("SELECT kind, version FROM reference_versions"))
    next->versions[r[0].as<std::string>()] = r[1].as<std::int64_t>();
  const auto same = [&](const char* kind) {
    return previous && previous->versions.count(kind) && next->versions.count(kind) &&
           previous->versions.at(kind) == next->versions.at(kind);
  };
  next->zones = same("zones") ? previous->zones : load_areas(t, "zones", "station_id");
  next->grids = same("grids") ? previous->grids : load_areas(t, "grids", "''");
  next->addresses = same("addresses") ? previous->addresses : load_addresses(t);
  next->cameras = same("cameras") ? previous->cameras : load_cameras(t);
  next->markers = same("markers") ? previous->markers : load_markers(t);
  next->homes = same("persons") ? previous->homes : load_homes(t);
  t.commit();
  return next;
}

ReferenceCache::ReferenceCache(std::string conninfo) : conninfo_(std::move(conninfo)) {}

ReferenceCache::~ReferenceCache() { stop(); }

void ReferenceCache::start() {
  thread_ = std::thread([this] {
    log::name_thread("xn-reference");
    run();
  });
}

void ReferenceCache::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReferenceCache::request_reload() {
  {
    std::lock_guard lk(mu_);
    wanted_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<const ref::Index> ReferenceCache::current() const {
  std::lock_guard lk(mu_);
  return index_;
}

std::shared_ptr<const ref::Index> ReferenceCache::current_for(std::int64_t db_version_sum) {
  auto index = current();
  if (index && index->version_sum() == db_version_sum) return index;
  ++stale_reads_;
  request_reload();
  return nullptr;
}

void ReferenceCache::run() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
    }
    try {
      if (!conn) conn = open_connection(conninfo_, 0);  // a full county takes a few seconds
      const auto started = std::chrono::steady_clock::now();
      const auto previous = current();
      auto next = load_reference(*conn, previous.get());
      if (previous && previous->versions == next->versions) continue;
      {
        std::lock_guard lk(mu_);
        index_ = next;
      }
      // A load reads hundreds of megabytes of rows that are freed again; give them back.
      malloc_trim(0);
      tried_ = true;
      ++reloads_;
      log::info("reference.loaded",
                {{"version", next->version_sum()},
                 {"zones", next->zones->size()},
                 {"grids", next->grids->size()},
                 {"addresses", next->addresses->size()},
                 {"fuzzy_in_memory", next->addresses->fuzzy_ready()},
                 {"cameras", next->cameras->size()},
                 {"markers", next->markers->size()},
                 {"persons", next->homes->size()},
                 {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count()}});
    } catch (const std::exception& e) {
      if (is_connection_error(e)) conn.reset();
      log::warn("reference.load_failed", {{"error", e.what()}});
      tried_ = true;
      // Fusion goes on with SQL meanwhile; the next stale batch or notification asks again,
      // and so does this, after a pause.
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_; })) return;
      wanted_ = true;
    }
  }
}

}  // namespace xiaonao::store
