#pragma once
/// The county's slow-changing reference data in memory, for fusion at intake
/// (docs/architecture.md, "Reference data in memory"): zones and grids (which polygon covers a
/// point), cameras (the nearest online ones within a radius), alarm-pillar markers and the
/// standard addresses by normalised text, alias and trigram similarity. Each answers exactly
/// what the SQL it stands in for answers (the fuzzy match: the exact best five, which the SQL
/// approximates; store/fusion.cpp); the store loads it, checks that it is current and falls
/// back to SQL when it is not. Pure: no I/O. Built once, then read-only, so any number of
/// threads may read one instance.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xiaonao/domain/alert.hpp"
#include "xiaonao/domain/trigram.hpp"

namespace xiaonao::domain::reference {

/// Polygons (zones or grids) and which of them covers a point.
class Areas {
 public:
  struct Area {
    std::string id;
    std::string station_id;  ///< zones: the owning station; grids: empty
  };
  Areas();
  ~Areas();
  Areas(Areas&&) noexcept;
  Areas& operator=(Areas&&) noexcept;

  /// Adds a polygon or multipolygon given as WKT (lon lat, as PostGIS's ST_AsText writes it).
  /// Returns false (and adds nothing) when the text is not a (multi)polygon.
  bool add(std::string id, std::string station_id, const std::string& wkt);
  /// Indexes what was added; call once, before the first `covering`.
  void build();
  /// The area whose polygon covers `p` (its boundary included, like ST_Covers on geometry:
  /// planar in lon/lat); among several (a shared edge) the smallest id; null when none.
  const Area* covering(GeoPoint p) const;
  /// False only when no polygon can come within `metres` of `p` on the sphere (no box of one
  /// meets the box that holds that circle); true says "maybe", for the exact search in SQL.
  bool maybe_within(GeoPoint p, double metres) const;
  std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A camera as the fusion's camera part needs it.
struct Camera {
  std::string id, name, stream_url;  ///< stream_url empty: none
  GeoPoint at;
  std::optional<double> bearing_deg;
  double fov_deg{360};
  double range_m{0};
  bool online{true};
};

/// A camera found near a point, with its distance in metres on the sphere.
struct CameraNear {
  const Camera* camera;
  double distance_m;
};

/// The county's cameras, indexed by position and by id.
class Cameras {
 public:
  Cameras();
  ~Cameras();
  Cameras(Cameras&&) noexcept;
  Cameras& operator=(Cameras&&) noexcept;

  void add(Camera c);
  /// Indexes what was added; call once, before the first query.
  void build();
  /// The `limit` nearest online cameras within `radius_m` of `p` (on the sphere), nearest
  /// first, ties by id.
  std::vector<CameraNear> nearest_online(GeoPoint p, double radius_m, std::size_t limit) const;
  /// The camera with this id, online or not; null when unknown.
  const Camera* find(const std::string& id) const;
  std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// An alarm-pillar or location-sign marker.
struct Marker {
  GeoPoint at;
  std::string camera_id;  ///< empty: none
};

/// A standard address as the matches return it.
struct Address {
  std::string id;
  std::string text;  ///< the standard address as written
  GeoPoint at;
};

/// The standard addresses by normalised text, by normalised alias and by trigram similarity.
class Addresses {
 public:
  /// `rules`: how the database's pg_trgm reads characters (its LC_CTYPE); none when this
  /// machine cannot reproduce them, and then `fuzzy_ready()` is false.
  explicit Addresses(std::optional<trigram::CharRules> rules = trigram::CharRules::ascii());
  ~Addresses();
  Addresses(Addresses&&) noexcept;
  Addresses& operator=(Addresses&&) noexcept;

  /// `norm` and `alias_norms` as the table stores them (domain::normalize_address).
  void add(std::string id, std::string text, const std::string& norm, const std::vector<std::string>& alias_norms,
           GeoPoint at);
  /// Indexes what was added; call once, before the first query.
  void build();
  /// The address whose normalised text is `norm` (several: the smallest id); null when none.
  const Address* exact(const std::string& norm) const;
  /// The address with `norm` among its aliases (several: the smallest id); null when none.
  const Address* alias(const std::string& norm) const;
  /// The address with this id; null when none.
  const Address* find(std::string_view id) const;

  struct Scored {
    const Address* address;
    float score;  ///< pg_trgm similarity(text, query), the best over its norm and alias norms
    /// The alias (its normalised form) whose similarity is the score; empty when the standard
    /// text's is (a tie goes to the standard text, then to the alias added first).
    std::string_view alias;
  };
  /// Whether `fuzzy` answers as pg_trgm would in this database.
  bool fuzzy_ready() const;
  /// The at most `limit` addresses whose normalised text or one of whose aliases is most
  /// similar to `norm` (an address scores as the best of them) with a similarity of at least
  /// `floor`: best first, equal scores by id. Over every address (the SQL look-up, for speed,
  /// ranks only texts that share a first or last part).
  std::vector<Scored> fuzzy(const std::string& norm, std::size_t limit, double floor) const;
  std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Where the county's residents live, by phone and by identity number, and who lives at each
/// address: what locate needs to place an alert by its subject or by its caller, and the
/// household part of fusion (the persons table's id, phones, id_number, address_id and flags).
/// Compact: a key that is a plain number (a phone of up to 17 digits, an 18-character identity
/// number) is held as a 64-bit integer, any other in a map of its own, the persons' ids one
/// after another in one string and their flags as small codes, so a county of a million persons
/// takes some 60 MB.
class Homes {
 public:
  Homes();
  ~Homes();
  Homes(Homes&&) noexcept;
  Homes& operator=(Homes&&) noexcept;

  /// Adds a person with an address, in the order of their ids as the database sorts them: the
  /// look-ups answer with the first person who has the key and whose address exists, as the
  /// locate statement's `ORDER BY p.id LIMIT 1` over persons joined with addresses does.
  void add(const std::string& address_id, const std::vector<std::string>& phones,
           const std::optional<std::string>& id_number, std::string_view person_id = {},
           const std::vector<std::string>& flags = {});
  /// Indexes what was added; call once, before the first look-up.
  void build();
  /// The address, among `addresses`, of the first person with this (normalised) phone or with
  /// this identity number; null when none.
  const Address* by_phone(const std::string& phone, const Addresses& addresses) const;
  const Address* by_id_number(const std::string& id_number, const Addresses& addresses) const;
  /// Persons added.
  std::size_t size() const;

  /// One member of a household: the person, their flags as stored, and why they are listed
  /// ("address": they live at the incident's address; "subject": at a subject's home).
  struct Member {
    std::string person_id;
    std::vector<std::string> flags;
    std::string via;
  };
  /// Whether household() answers: every person's flags are known ones (person_flags()), each at
  /// most once, as import stores them. Otherwise the household part reads the tables.
  bool households() const;
  /// The household part's rows, as the parts statement lists them: at most `max` persons (by
  /// id) at `address_id` and at each home address of the persons with one of `subject_phones`
  /// (normalised) or `subject_ids`, ordered by via ("address" first), then by id, at most
  /// `max` in all (a person at both is listed twice, as the statement does).
  std::vector<Member> household(const std::string& address_id, const std::vector<std::string>& subject_phones,
                                const std::vector<std::string>& subject_ids, std::size_t max) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One consistent picture of the cached kinds: each kind as of its version (reference_versions,
/// bumped by a trigger in the transaction that changes the kind). Kinds are shared between
/// pictures, so a reload copies only the kinds that changed.
struct Index {
  std::map<std::string, std::int64_t> versions;  ///< kind → version it was loaded at
  std::shared_ptr<const Areas> zones, grids;
  std::shared_ptr<const Cameras> cameras;
  std::shared_ptr<const std::unordered_map<std::string, Marker>> markers;
  std::shared_ptr<const Addresses> addresses;
  std::shared_ptr<const Homes> homes;  ///< the persons kind

  /// The sum of the versions: every change raises one version, so a picture is current exactly
  /// when this equals the database's sum (the versions of a picture and of any snapshot are
  /// each all ≤ or all ≥ one another).
  std::int64_t version_sum() const;
  /// The marker with this code, or null.
  const Marker* marker(const std::string& id) const;
};

}  // namespace xiaonao::domain::reference
