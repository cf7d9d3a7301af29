#pragma once
/// The demo county: a deterministic, synthetic copy of a county's reference data around Yunhe
/// county (云和县, Lishui, Zhejiang), at the scale of the seeds (15 stations, ~170 police zones,
/// ~1,000 grids, 200,000 addresses, 1,000,000 persons, 10,000 cameras, 256 units, 220 markers)
/// or at a small scale for tests. Pure generation: no I/O here but `write_county`, which writes
/// one GeoJSON FeatureCollection per kind with exactly the properties the importer takes.
///
/// The geometry is one jittered quadrilateral lattice, denser in the centre (the county seat):
/// zones are 3×3 blocks of lattice cells and grids are blocks of cells inside one zone, so
/// zones never overlap, grids tile their zone exactly, and every ring uses the very same
/// (rounded) vertex coordinates as its neighbours.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace xiaonao::county {

/// How big a county to generate.
enum class Scale { small, full };

/// "small" / "full".
const char* scale_name(Scale s);
/// Parses "small" / "full"; false on anything else.
bool parse_scale(std::string_view text, Scale& out);

/// A WGS84 point.
struct Pt {
  double lon = 0;
  double lat = 0;
  bool operator==(const Pt&) const = default;
};

/// A closed ring: first point == last point, counter-clockwise.
using Ring = std::vector<Pt>;

/// The sizes a scale stands for.
struct Params {
  Scale scale = Scale::small;
  int zones_x = 4, zones_y = 3;      ///< police zones per row / column of the lattice
  int cells_per_zone = 3;            ///< lattice cells per zone side
  double half_width_km = 5, half_height_km = 4;
  double warp = 1.0;                 ///< centre density: cells at the edge are (1+3·warp)× wider
  double urban_km = 1.5, suburban_km = 2.5;  ///< zone centroid distance from the centre
  bool suburban_single_cells = true; ///< suburban grids are single cells (else rows of cells)
  std::vector<std::pair<int, int>> station_seeds;  ///< zone lattice index of each station
  int addresses = 2000;
  int persons = 10000;
  int cameras = 200;
  int patrol_cars = 12, kiosks = 6, ptus = 1, officers = 9, drones = 2;
  int markers = 20;
};

/// The parameters of a scale.
Params params_for(Scale s);

struct Station {
  std::string id, name, short_name, township, phone;
  Pt point;
};

struct Zone {
  std::string id, name, station_id, area_type, officer_name, officer_phone;
  int station = 0;               ///< index into County::stations
  int zi = 0, zj = 0;            ///< lattice index of the zone
  Ring ring;
  Pt centroid;
};

struct Grid {
  std::string id, name, zone_id, worker_name, worker_phone;
  int zone = 0;                  ///< index into County::zones
  int ci0 = 0, cj0 = 0, ni = 1, nj = 1;  ///< the block of lattice cells it covers
  std::string street;            ///< the road or village its addresses are on
  Ring ring;
};

struct Address {
  std::string id, text;
  std::vector<std::string> aliases;
  int grid = 0;                  ///< index into County::grids
  Pt point;
};

struct Camera {
  std::string id, name, stream_url;
  bool dome = false;
  double bearing_deg = 0, fov_deg = 360, range_m = 100;
  bool online = true;
  Pt point;
};

struct Unit {
  std::string id, call_sign, kind, station_id, status;
  Pt point;
};

struct Marker {
  std::string id, description;
  int camera = -1;               ///< index into County::cameras, -1 for none
  Pt point;
};

/// One resident. Streamed (a million of them), never all held at once.
struct Person {
  std::string id, name, id_number;
  std::vector<std::string> phones;  ///< 0, 1 or 2 numbers
  int address = 0;                  ///< index into County::addresses
  std::vector<const char*> flags;   ///< in the order of kFlags
};

/// The person flags, in the order they are written.
inline constexpr const char* kFlags[] = {"elderly_alone", "mental_illness", "person_of_interest",
                                         "floating",      "minor",          "disabled"};

/// Everything but the persons, which `for_each_person` streams.
struct County {
  std::uint64_t seed = 0;
  Params params;
  Pt centre;
  Pt bbox_min, bbox_max;
  int lattice_nx = 0, lattice_ny = 0;    ///< cells per row / column
  std::vector<Pt> lattice;               ///< (nx+1)·(ny+1) vertices, row-major by j then i
  std::vector<int> cell_zone;            ///< zone index of each cell (nx·ny, row-major)
  std::vector<int> cell_grid;            ///< grid index of each cell
  std::vector<Station> stations;
  std::vector<Zone> zones;
  std::vector<Grid> grids;
  std::vector<Address> addresses;
  std::vector<std::uint8_t> household;   ///< residents per address (sums to params.persons)
  std::vector<bool> elderly_alone;       ///< per address: one elderly resident living alone
  std::vector<Camera> cameras;
  std::vector<Unit> units;
  std::vector<Marker> markers;

  /// Lattice vertex (i, j), 0 <= i <= nx, 0 <= j <= ny.
  const Pt& vertex(int i, int j) const { return lattice[static_cast<std::size_t>(j) * (lattice_nx + 1) + i]; }
  /// The four corners of cell (i, j), counter-clockwise from the south-west.
  std::vector<Pt> cell_quad(int i, int j) const;
};

/// Generates the county (all but the persons) for a seed. Deterministic: the same seed and
/// scale give the same county, on any platform (no std distributions are used).
County make_county(std::uint64_t seed, Scale scale);

/// Calls `fn` for every person, in id order; deterministic for the county's seed.
void for_each_person(const County& c, const std::function<void(const Person&)>& fn);

/// Counts of what was written, by kind, and the time it took.
struct WriteResult {
  long stations = 0, zones = 0, grids = 0, addresses = 0, persons = 0, cameras = 0, units = 0,
       markers = 0;
  long flags[6] = {0, 0, 0, 0, 0, 0};  ///< persons per flag, in kFlags order
  long bytes = 0;
};

/// Writes `<dir>/<kind>.geojson` for the eight kinds, `samples.json` (a few addresses, all
/// markers and a few residents with phones and id numbers: what xiaonao-replay draws its demo
/// alerts from) and, last, `county.json` (seed, scale, counts, bbox). Throws std::runtime_error
/// on an I/O error. The directory must exist.
WriteResult write_county(const County& c, const std::string& dir);

// --- pure helpers (also used by the tests) ------------------------------------------------------

/// The check character of a resident identity number (GB 11643, ISO 7064 MOD 11-2) from its
/// first 17 digits: '0'..'9' or 'X'. '?' when `first17` is not 17 digits.
char id_check_char(std::string_view first17);

/// True if `id` is 18 characters, 17 digits then the right check character.
bool id_number_valid(std::string_view id);

/// Signed area of a closed ring in degrees² (positive: counter-clockwise).
double ring_area(const Ring& r);

/// True if `p` lies strictly inside the closed ring (points on the boundary may go either way).
bool point_in_ring(const Pt& p, const Ring& r);

/// True if the ring is closed, has at least 4 points and no two non-adjacent edges touch.
bool ring_is_simple(const Ring& r);

/// Great-circle distance in metres.
double distance_m(const Pt& a, const Pt& b);

/// The point `metres` away from `p` towards `bearing_deg` (0 = north, clockwise); flat-earth,
/// good for the few hundred metres it is used for.
Pt offset_m(const Pt& p, double metres, double bearing_deg);

}  // namespace xiaonao::county
