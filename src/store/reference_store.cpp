// Reference import: COPY into a temporary table shaped like the kind's columns, then one
// INSERT … ON CONFLICT (id) DO UPDATE from it, all in one transaction. COPY is what makes a
// million persons load in seconds; the REST import uses the same path so both behave alike.
#include "xiaonao/store/reference_store.hpp"

#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace xiaonao::store {

using domain::RefKind;

namespace {

struct KindSql {
  const char* table;
  std::vector<const char*> columns;  // in COPY order; the first is id
};

const KindSql& kind_sql(RefKind kind) {
  static const std::array<KindSql, 8> table = {{
      {"stations", {"id", "name", "phone", "geog"}},
      {"zones", {"id", "name", "station_id", "area_type", "officer_name", "officer_phone", "geom"}},
      {"grids", {"id", "name", "zone_id", "worker_name", "worker_phone", "geom"}},
      {"addresses", {"id", "text", "norm", "aliases", "alias_norms", "geog"}},
      {"persons", {"id", "name", "id_number", "phones", "address_id", "flags"}},
      {"cameras", {"id", "name", "bearing_deg", "fov_deg", "range_m", "stream_url", "online", "geog"}},
      {"units", {"id", "call_sign", "kind", "station_id", "status", "geog"}},
      {"markers", {"id", "description", "camera_id", "geog"}},
  }};
  return table[static_cast<std::size_t>(kind)];
}

std::string column_list(const KindSql& k, const char* prefix = "") {
  std::string out;
  for (const auto* c : k.columns) out += (out.empty() ? "" : ", ") + std::string(prefix) + c;
  return out;
}

// A PostgreSQL array literal of texts: {"a","b"}, each element quoted with " and \ escaped.
std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string number(double d) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

using Field = std::optional<std::string>;

std::vector<Field> fields_of(const domain::RefRow& row) {
  using namespace domain;
  return std::visit(
      [](const auto& r) -> std::vector<Field> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, StationRow>) {
          return {r.id, r.name, r.phone, ewkt(r.point)};
        } else if constexpr (std::is_same_v<T, ZoneRow>) {
          return {r.id, r.name, r.station_id, r.area_type, r.officer_name, r.officer_phone, ewkt(r.geom)};
        } else if constexpr (std::is_same_v<T, GridRow>) {
          return {r.id, r.name, r.zone_id, r.worker_name, r.worker_phone, ewkt(r.geom)};
        } else if constexpr (std::is_same_v<T, AddressRow>) {
          return {r.id, r.text, r.norm, text_array(r.aliases), text_array(r.alias_norms), ewkt(r.point)};
        } else if constexpr (std::is_same_v<T, PersonRow>) {
          return {r.id, r.name, r.id_number, text_array(r.phones), r.address_id, text_array(r.flags)};
        } else if constexpr (std::is_same_v<T, CameraRow>) {
          return {r.id,         r.name, r.bearing_deg ? Field(number(*r.bearing_deg)) : std::nullopt,
                  number(r.fov_deg), number(r.range_m), r.stream_url, std::string(r.online ? "t" : "f"),
                  ewkt(r.point)};
        } else if constexpr (std::is_same_v<T, UnitRow>) {
          return {r.id, r.call_sign, r.kind, r.station_id, r.status, ewkt(r.point)};
        } else {
          return {r.id, r.description, r.camera_id, ewkt(r.point)};
        }
      },
      row);
}

// stream_to takes a row as a tuple-like of fields; const char* null is SQL NULL.
template <std::size_t N>
void write_row(pqxx::stream_to& s, const std::vector<Field>& fields) {
  std::array<const char*, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = fields[i] ? fields[i]->c_str() : nullptr;
  s << a;
}

}  // namespace

RefImport::RefImport(pqxx::connection& c, RefKind kind, bool replace, int statement_timeout_ms)
    : kind_(kind), replace_(replace), work_(c) {
  const auto& k = kind_sql(kind);
  if (statement_timeout_ms >= 0) work_.exec0("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms));
  // The temporary table has exactly the kind's columns and types (geography, text[]), so COPY
  // parses EWKT and array literals itself; it disappears with the transaction.
  work_.exec0("CREATE TEMP TABLE ref_in ON COMMIT DROP AS SELECT " + column_list(k) + " FROM " + k.table +
              " WITH NO DATA");
  copy_ = std::make_unique<pqxx::stream_to>(work_, "ref_in");
}

RefImport::~RefImport() {
  if (copy_) {
    try {
      copy_->complete();
    } catch (...) {  // the transaction is being abandoned anyway
    }
  }
}

void RefImport::add(const domain::RefRow& row) {
  const auto fields = fields_of(row);
  switch (fields.size()) {
    case 4: write_row<4>(*copy_, fields); break;
    case 6: write_row<6>(*copy_, fields); break;
    case 7: write_row<7>(*copy_, fields); break;
    case 8: write_row<8>(*copy_, fields); break;
    default: throw std::logic_error("reference row with an unexpected column count");
  }
  ++received_;
}

RefCounts RefImport::apply() {
  copy_->complete();
  copy_.reset();
  const auto& k = kind_sql(kind_);
  const bool unit = kind_ == RefKind::units;
  std::string set;
  for (std::size_t i = 1; i < k.columns.size(); ++i) set += std::string(k.columns[i]) + " = EXCLUDED." + k.columns[i] + ", ";
  if (unit) set += "position_at = EXCLUDED.position_at, ";
  set += "updated_at = now()";
  RefCounts n;
  n.received = received_;
  // Building an index once from all rows is much cheaper than updating it row by row (the GIN
  // indexes on phones, aliases and trigrams most of all). Constraint indexes (the primary key,
  // which the upsert needs) stay; the others are dropped here and created again below from
  // their own definitions, so an index a later migration adds is kept too.
  std::vector<std::string> rebuild;
  if (rebuild_indexes_) {
    work_.exec0("SET LOCAL maintenance_work_mem = '256MB'");
    const auto idx = work_.exec_params(
        "SELECT quote_ident(i.indexname), i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
        "ORDER BY i.indexname",
        k.table);
    for (const auto& row : idx) {
      work_.exec0("DROP INDEX " + row[0].as<std::string>());
      rebuild.push_back(row[1].as<std::string>());
    }
  }
  if (received_ > 0) {
    // Statistics for the anti-join of a replace; cheap next to the load.
    if (replace_ && received_ > 10000) work_.exec0("ANALYZE ref_in");
    const auto r = work_.exec1(
        "WITH up AS (INSERT INTO " + std::string(k.table) + " (" + column_list(k) + (unit ? ", position_at" : "") +
        ") SELECT " + column_list(k) + (unit ? ", now()" : "") + " FROM ref_in ON CONFLICT (id) DO UPDATE SET " + set +
        " RETURNING (xmax = 0) AS ins) SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up");
    n.inserted = r[0].as<std::int64_t>();
    n.updated = r[1].as<std::int64_t>();
  }
  if (replace_) {
    const auto r = work_.exec("DELETE FROM " + std::string(k.table) +
                              " t WHERE NOT EXISTS (SELECT 1 FROM ref_in i WHERE i.id = t.id)");
    n.deleted = static_cast<std::int64_t>(r.affected_rows());
  }
  for (const auto& def : rebuild) work_.exec0(def);
  return n;
}

void RefImport::commit() { work_.commit(); }

std::vector<std::pair<std::string, std::int64_t>> reference_counts(pqxx::transaction_base& tx) {
  std::string sql = "SELECT ";
  const auto& kinds = domain::all_ref_kinds();
  for (std::size_t i = 0; i < kinds.size(); ++i)
    sql += std::string(i ? ", " : "") + "(SELECT count(*) FROM " + kind_sql(kinds[i]).table + ")";
  const auto r = tx.exec1(sql);
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (std::size_t i = 0; i < kinds.size(); ++i)
    out.emplace_back(domain::ref_kind_name(kinds[i]), r[static_cast<int>(i)].as<std::int64_t>());
  return out;
}

}  // namespace xiaonao::store
