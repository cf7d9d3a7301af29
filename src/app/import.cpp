// `xiaonaod import --kind KIND FILE [--replace]`: a whole county's reference data from a
// GeoJSON file at COPY speed. The file is mapped and parsed as a stream: each feature is
// validated (the same domain code as PUT /api/v1/reference/{kind}) and streamed into COPY as
// soon as its object ends, then discarded, so memory stays flat however big the file is.
// Everything happens in one transaction: an invalid feature writes nothing.
#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "app.hpp"
#include "xiaonao/domain/audit.hpp"
#include "xiaonao/domain/reference.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/migrations.hpp"
#include "xiaonao/store/reference_store.hpp"

namespace xiaonao::app {
namespace {

using nlohmann::json;

// A feature that failed validation: thrown out of the parser callback to stop the parse.
struct InvalidFeature {
  domain::Error error;
};

// The file's bytes, mapped read-only for the life of the import.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw std::runtime_error("cannot stat " + path);
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (data_ == MAP_FAILED) throw std::runtime_error("cannot map " + path);
      ::madvise(data_, size_, MADV_SEQUENTIAL);
    }
  }
  ~MappedFile() {
    if (data_ && data_ != MAP_FAILED) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* begin() const { return static_cast<const char*>(data_); }
  const char* end() const { return begin() + size_; }
  std::size_t size() const { return size_; }

 private:
  int fd_{-1};
  void* data_{nullptr};
  std::size_t size_{0};
};

std::string os_user() {
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return std::to_string(geteuid());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int import_command(const config::Config& cfg, const std::string& kind_name, const std::string& path, bool replace) {
  const auto kind = domain::parse_ref_kind(kind_name);
  if (!kind) {
    std::fprintf(stderr, "xiaonaod: unknown kind '%s' (stations, zones, grids, addresses, persons, cameras, units, markers)\n",
                 kind_name.c_str());
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    MappedFile file(path);
    store::apply_migrations(cfg.db.conninfo);
    // No statement timeout: the upsert of a million rows takes longer than any API query may.
    auto c = store::open_connection(cfg.db.conninfo, 0);
    store::RefImport imp(*c, *kind, replace);
    // A whole kind replaced from a file (the first load of a county): indexes are built once
    // after the load instead of row by row (docs/operations.md says readers wait meanwhile).
    imp.rebuild_indexes(replace);

    bool in_features = false;  // inside the top-level "features" array
    std::size_t index = 0;     // of the next feature
    domain::RefIdSet ids;
    auto callback = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
      using E = json::parse_event_t;
      if (depth == 1) {
        if (ev == E::key) in_features = parsed == "features";
        return true;
      }
      if (depth != 2 || !in_features) return true;
      if (ev == E::object_start) return true;
      if (ev == E::object_end) {
        auto row = domain::parse_ref_feature(*kind, parsed, index);
        if (!row) throw InvalidFeature{row.error()};
        if (auto e = ids.add(domain::ref_row_id(*row), index)) throw InvalidFeature{*e};
        imp.add(*row);
        ++index;
        return false;  // done with it: keep nothing of the feature in the tree
      }
      // A value or an array where a Feature object belongs.
      const auto at = "features[" + std::to_string(index) + "]";
      throw InvalidFeature{{domain::ErrorKind::invalid_field, at + " must be a GeoJSON Feature object", at}};
    };
    json root;
    try {
      root = json::parse(file.begin(), file.end(), callback);
    } catch (const InvalidFeature& f) {
      std::fprintf(stderr, "xiaonaod: %s: %s; nothing was imported\n", f.error.field.c_str(), f.error.message.c_str());
      return 2;
    } catch (const json::parse_error& e) {
      std::fprintf(stderr, "xiaonaod: %s is not valid JSON: %s; nothing was imported\n", path.c_str(), e.what());
      return 2;
    }
    const auto t = root.is_object() ? root.find("type") : root.end();
    if (!root.is_object() || t == root.end() || *t != "FeatureCollection") {
      std::fprintf(stderr, "xiaonaod: type: the file must be a GeoJSON FeatureCollection; nothing was imported\n");
      return 2;
    }
    const auto f = root.find("features");
    if (f == root.end() || !f->is_array()) {
      std::fprintf(stderr, "xiaonaod: features: must be an array of GeoJSON Features; nothing was imported\n");
      return 2;
    }
    const double parsed_s = seconds_since(started);
    const auto n = imp.apply();
    domain::AuditEntry e;
    e.actor = "cli:" + os_user();
    e.actor_name = "xiaonaod CLI (" + os_user() + ")";
    e.action = "reference.import";
    e.target = std::string("reference:") + domain::ref_kind_name(*kind);
    e.detail = json{{"kind", domain::ref_kind_name(*kind)}, {"replace", replace}, {"file", path},
                    {"received", n.received}, {"inserted", n.inserted}, {"updated", n.updated}, {"deleted", n.deleted}}
                   .dump();
    store::append_audit(imp.work(), e);
    imp.commit();
    // Fresh statistics at once, so fusion's queries plan on the new data (autovacuum would
    // take its time).
    try {
      pqxx::nontransaction(*c).exec0(std::string("ANALYZE ") + domain::ref_kind_name(*kind));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "xiaonaod: imported, but ANALYZE failed: %s\n", e.what());
    }
    std::printf("%s: received %lld, inserted %lld, updated %lld, deleted %lld (%.1f s: parse+copy %.1f s, upsert %.1f s)\n",
                domain::ref_kind_name(*kind), static_cast<long long>(n.received), static_cast<long long>(n.inserted),
                static_cast<long long>(n.updated), static_cast<long long>(n.deleted), seconds_since(started), parsed_s,
                seconds_since(started) - parsed_s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonaod: import failed: %s; nothing was imported\n", e.what());
    return 1;
  }
}

}  // namespace xiaonao::app
