// The demo county generator (include/xiaonao/county/county.hpp says what it builds).
#include "xiaonao/county/county.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <stdexcept>
#include <unordered_map>

#include "xiaonao/domain/fusion.hpp"

namespace xiaonao::county {

namespace {

// --- randomness ----------------------------------------------------------------------------------

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// splitmix64 with our own distributions: the standard library's distributions differ between
/// implementations, and "same seed, same bytes" must hold everywhere.
class Rng {
 public:
  /// One independent stream per kind, so that changing one kind never shifts another.
  Rng(std::uint64_t seed, std::uint64_t stream) : s_(mix64(seed * 0x9E3779B97F4A7C15ULL + mix64(stream + 1))) {}
  std::uint64_t next() {
    s_ += 0x9E3779B97F4A7C15ULL;
    return mix64(s_);
  }
  double real() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double real(double lo, double hi) { return lo + (hi - lo) * real(); }
  /// Uniform in [lo, hi].
  int uniform(int lo, int hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo + 1);
    return lo + static_cast<int>(((next() >> 32) * span) >> 32);
  }
  bool chance(double p) { return real() < p; }
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
  }

 private:
  std::uint64_t s_;
};

enum Stream : std::uint64_t {
  kLatticeStream = 1, kNamesStream, kAddressStream, kHouseholdStream, kPersonStream, kCameraStream,
  kUnitStream, kMarkerStream, kStaffStream
};

// --- names ---------------------------------------------------------------------------------------

const std::vector<std::string> kSurnames = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "郑", "梁", "谢", "叶", "潘", "蓝", "雷", "钟", "柳", "季", "毛", "项", "金",
    "程", "余", "蒋", "沈", "应", "汤", "卢", "吕", "魏", "严", "邱", "廖", "范", "方", "傅", "杜",
    "丁", "韩", "唐", "冯", "曾", "彭", "许", "袁", "邓", "曹", "任", "戴"};
// Local surnames (and the She minority's 蓝, 雷, 钟) are more frequent near the front.
const std::vector<std::string> kMaleGiven = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "华", "平", "刚", "斌", "辉", "波",
    "建", "国", "志", "海", "东", "德", "文", "俊", "浩", "宇", "鹏", "飞", "林", "峰", "新",
    "永", "福", "忠", "荣", "庆", "瑞", "成", "卫", "晓", "子", "一", "鸣", "然", "豪", "远"};
const std::vector<std::string> kFemaleGiven = {
    "芳", "娜", "敏", "静", "丽", "艳", "秀", "英", "桂", "霞", "燕", "萍", "玲", "红", "梅",
    "兰", "琴", "雪", "慧", "婷", "颖", "洁", "欣", "怡", "雨", "涵", "佳", "悦", "月", "春",
    "花", "美", "玉", "凤", "彩", "金", "银", "珍", "莉", "晶"};

// The townships of the 15 stations: the real ones of Yunhe first, then a few invented ones.
struct Township {
  const char* station;   // 派出所 name
  const char* short_name;
  const char* township;  // the 街道/镇/乡 in addresses
};
const Township kTownships[] = {
    {"浮云派出所", "浮云", "浮云街道"},       {"元和派出所", "元和", "元和街道"},
    {"白龙山派出所", "白龙山", "白龙山街道"}, {"凤凰山派出所", "凤凰山", "凤凰山街道"},
    {"崇头派出所", "崇头", "崇头镇"},         {"紧水滩派出所", "紧水滩", "紧水滩镇"},
    {"石塘派出所", "石塘", "石塘镇"},         {"雾溪派出所", "雾溪", "雾溪畲族乡"},
    {"安溪派出所", "安溪", "安溪畲族乡"},     {"赤石派出所", "赤石", "赤石乡"},
    {"沙铺派出所", "沙铺", "沙铺乡"},         {"黄源派出所", "黄源", "黄源乡"},
    {"大源派出所", "大源", "大源镇"},         {"朱村派出所", "朱村", "朱村乡"},
    {"仙宫湖派出所", "仙宫湖", "仙宫湖镇"}};

const std::vector<std::string> kRoads = {
    "中山路", "解放街", "人民路", "新建路", "云和大道", "环城西路", "环城北路", "环城东路",
    "环城南路", "凤凰山路", "白龙路", "木玩路", "江滨路", "健康路", "文化路", "城北路",
    "公园路", "朝阳路", "复兴路", "建设路", "胜利街", "育才路", "振兴路", "滨江路",
    "通济街", "仙宫路", "梯田路", "长汀路", "府前路", "望江路", "沙溪路", "云章路"};
const std::vector<std::string> kVillageFirst = {"梅", "贵", "坪", "黄", "沙", "长", "规", "叶", "大",
                                                "上", "下", "石", "朱", "龙", "凤", "桃", "竹", "松"};
const std::vector<std::string> kVillageSecond = {"源", "溪", "垟", "岗", "坑", "坪", "岭", "湾", "口", "山"};
const std::vector<std::string> kEstateStems = {
    "金水湾", "江滨", "凤凰", "白龙", "木玩城", "云和人家", "翡翠", "阳光", "锦绣", "和苑",
    "丽景", "明珠", "碧水", "紫荆", "桂花", "望江", "仙湖", "梯田", "春晖", "文昌",
    "新城", "东方", "滨湖", "香樟", "绿洲", "御景", "华府", "星河", "怡景", "瓯江"};
const std::vector<std::string> kEstateSuffixes = {"小区", "花园", "新村", "公寓", "家园", "苑"};
const std::vector<std::string> kPhasePrefix = {"", "二期", "三期", "四期", "五期", "六期", "七期", "八期", "九期"};

const std::vector<std::string> kMobilePrefixes = {
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "177", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "198", "199"};

/// The k-th mobile number: distinct for distinct k < 10^8 (the tail is a bijection mod 10^8:
/// the multiplier is odd and not a multiple of 5).
std::string mobile(std::uint64_t k) {
  const auto p = static_cast<std::size_t>(mix64(k) % kMobilePrefixes.size());
  const std::uint64_t tail = (k * 2654435761ULL + 31415926ULL) % 100000000ULL;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(tail));
  return kMobilePrefixes[p] + buf;
}
/// Mobile numbers of staff (zone officers, grid workers) come from a range no resident uses.
constexpr std::uint64_t kStaffPhoneBase = 50'000'000;

std::string person_name(Rng& r, const std::string& surname, bool male) {
  const auto& pool = male ? kMaleGiven : kFemaleGiven;
  std::string n = surname + r.one_of(pool);
  if (r.chance(0.7)) n += r.one_of(pool);
  return n;
}

std::string surname(Rng& r) {
  // Roughly Zipf: the first names of the list are much more common.
  const double x = r.real();
  const auto n = static_cast<double>(kSurnames.size());
  const auto i = static_cast<std::size_t>(std::min(n - 1, std::floor(n * x * x)));
  return kSurnames[i];
}

std::string number_text(long n, int width) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*ld", width, n);
  return buf;
}

// --- geometry ------------------------------------------------------------------------------------

constexpr double kMetresPerDegLat = 111320.0;
constexpr double kCentreLon = 119.5725;  // Yunhe county seat, as xiaonao-replay places it
constexpr double kCentreLat = 28.1160;

double round6(double v) { return std::round(v * 1e6) / 1e6; }
Pt round6(Pt p) { return {round6(p.lon), round6(p.lat)}; }

double km_per_deg_lon(double lat) { return kMetresPerDegLat / 1000.0 * std::cos(lat * std::numbers::pi / 180.0); }

/// Lattice coordinate u in [0,1] → position in [-1,1], denser near 0 (the county seat).
double warp(double u, double a) {
  const double s = 2 * u - 1;
  return (s + a * s * s * s) / (1 + a);
}

/// Bilinear point of a convex quad (SW, SE, NE, NW): inside it for s, t in [0, 1].
Pt bilinear(const std::vector<Pt>& q, double s, double t) {
  const double w0 = (1 - s) * (1 - t), w1 = s * (1 - t), w2 = s * t, w3 = (1 - s) * t;
  return {w0 * q[0].lon + w1 * q[1].lon + w2 * q[2].lon + w3 * q[3].lon,
          w0 * q[0].lat + w1 * q[1].lat + w2 * q[2].lat + w3 * q[3].lat};
}

/// The boundary of a block of cells as a closed counter-clockwise ring through every lattice
/// vertex on it (so neighbours share exactly the same vertices).
Ring block_ring(const County& c, int ci0, int cj0, int ni, int nj) {
  Ring r;
  for (int i = ci0; i <= ci0 + ni; ++i) r.push_back(c.vertex(i, cj0));
  for (int j = cj0 + 1; j <= cj0 + nj; ++j) r.push_back(c.vertex(ci0 + ni, j));
  for (int i = ci0 + ni - 1; i >= ci0; --i) r.push_back(c.vertex(i, cj0 + nj));
  for (int j = cj0 + nj - 1; j >= cj0; --j) r.push_back(c.vertex(ci0, j));
  return r;  // the last point is vertex(ci0, cj0) again: closed
}

Pt clamp_to(const County& c, Pt p) {
  return {std::clamp(p.lon, c.bbox_min.lon, c.bbox_max.lon), std::clamp(p.lat, c.bbox_min.lat, c.bbox_max.lat)};
}

// --- JSON text -----------------------------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

void append_coord(std::string& out, const Pt& p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "[%.6f,%.6f]", p.lon, p.lat);
  out += buf;
}

void append_number(std::string& out, double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  out += buf;
}

/// One FeatureCollection file written feature by feature through a buffer.
class FeatureFile {
 public:
  explicit FeatureFile(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw std::runtime_error("cannot write " + path);
    buf_.reserve(1 << 20);
    buf_ = "{\"type\":\"FeatureCollection\",\"features\":[\n";
  }
  FeatureFile(const FeatureFile&) = delete;
  FeatureFile& operator=(const FeatureFile&) = delete;
  ~FeatureFile() {
    if (f_) std::fclose(f_);
  }
  /// Starts a feature: the caller appends `geometry` and `properties` members, then calls end().
  std::string& begin() {
    if (count_ > 0) buf_ += ",\n";
    buf_ += "{\"type\":\"Feature\",";
    return buf_;
  }
  void end() {
    buf_ += '}';
    ++count_;
    if (buf_.size() >= (1 << 20)) flush();
  }
  /// Finishes the collection; returns the bytes written.
  long close() {
    buf_ += "\n]}\n";
    flush();
    if (std::fclose(f_) != 0) {
      f_ = nullptr;
      throw std::runtime_error("cannot write " + path_);
    }
    f_ = nullptr;
    return bytes_;
  }
  long count() const { return count_; }

 private:
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw std::runtime_error("cannot write " + path_);
    bytes_ += static_cast<long>(buf_.size());
    buf_.clear();
  }
  std::string path_;
  FILE* f_;
  std::string buf_;
  long count_ = 0;
  long bytes_ = 0;
};

void append_point_geometry(std::string& out, const Pt& p) {
  out += "\"geometry\":{\"type\":\"Point\",\"coordinates\":";
  append_coord(out, p);
  out += "},";
}

void append_polygon_geometry(std::string& out, const Ring& r) {
  out += "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[";
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (i) out += ',';
    append_coord(out, r[i]);
  }
  out += "]]},";
}

/// `"key":"value"`, with a leading comma unless `first`.
void prop(std::string& out, const char* key, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
  append_json_string(out, value);
}

void write_text_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + path);
}

// --- persons -------------------------------------------------------------------------------------

// Where floating residents come from (the first six digits of their identity numbers).
const std::vector<std::string> kFloatingRegions = {"362321", "522121", "412828", "513030",
                                                   "340822", "430524", "450981", "360731",
                                                   "433101", "421182"};
const std::string kLocalRegion = "331125";  // 云和县

/// The reference date ages and the "minor" flag are computed at (fixed: the output must not
/// depend on the day it is generated).
constexpr std::chrono::year_month_day kRefDate{std::chrono::year{2026}, std::chrono::month{1}, std::chrono::day{1}};

}  // namespace

// --- public helpers --------------------------------------------------------------------------------

const char* scale_name(Scale s) { return s == Scale::full ? "full" : "small"; }

bool parse_scale(std::string_view text, Scale& out) {
  if (text == "full") {
    out = Scale::full;
  } else if (text == "small") {
    out = Scale::small;
  } else {
    return false;
  }
  return true;
}

Params params_for(Scale s) {
  Params p;
  p.scale = s;
  if (s == Scale::small) {
    p.station_seeds = {{1, 1}, {3, 0}, {3, 2}};
    return p;  // the defaults of Params are the small county
  }
  p.zones_x = 13;
  p.zones_y = 13;
  p.cells_per_zone = 3;
  p.half_width_km = 15;
  p.half_height_km = 15;
  p.warp = 2.0;
  p.urban_km = 2.8;
  p.suburban_km = 7.0;
  p.suburban_single_cells = true;
  // Four stations share the county seat; eleven stand in a ring around it.
  p.station_seeds = {{5, 5}, {7, 5}, {5, 7}, {7, 7}};
  for (int k = 0; k < 11; ++k) {
    const double th = 2 * std::numbers::pi * k / 11 + 0.35;
    p.station_seeds.emplace_back(static_cast<int>(std::lround(6 + 4.4 * std::cos(th))),
                                 static_cast<int>(std::lround(6 + 4.4 * std::sin(th))));
  }
  p.addresses = 200'000;
  p.persons = 1'000'000;
  p.cameras = 10'000;
  p.patrol_cars = 153;
  p.kiosks = 37;
  p.ptus = 3;
  p.officers = 60;
  p.drones = 3;
  p.markers = 220;
  return p;
}

char id_check_char(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kChars[] = "10X98765432";
  if (first17.size() != 17) return '?';
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    const char ch = first17[static_cast<std::size_t>(i)];
    if (ch < '0' || ch > '9') return '?';
    sum += (ch - '0') * kWeights[i];
  }
  return kChars[sum % 11];
}

bool id_number_valid(std::string_view id) {
  return id.size() == 18 && id_check_char(id.substr(0, 17)) == id[17];
}

double ring_area(const Ring& r) {
  double a = 0;
  for (std::size_t i = 0; i + 1 < r.size(); ++i) a += r[i].lon * r[i + 1].lat - r[i + 1].lon * r[i].lat;
  return a / 2;
}

bool point_in_ring(const Pt& p, const Ring& r) {
  bool inside = false;
  for (std::size_t i = 0; i + 1 < r.size(); ++i) {
    const Pt& a = r[i];
    const Pt& b = r[i + 1];
    if ((a.lat > p.lat) != (b.lat > p.lat)) {
      const double x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
      if (p.lon < x) inside = !inside;
    }
  }
  return inside;
}

namespace {
double orient(const Pt& a, const Pt& b, const Pt& c) {
  return (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon);
}
bool on_segment(const Pt& a, const Pt& b, const Pt& p) {
  return std::min(a.lon, b.lon) <= p.lon && p.lon <= std::max(a.lon, b.lon) &&
         std::min(a.lat, b.lat) <= p.lat && p.lat <= std::max(a.lat, b.lat);
}
bool segments_touch(const Pt& a, const Pt& b, const Pt& c, const Pt& d) {
  const double o1 = orient(a, b, c), o2 = orient(a, b, d), o3 = orient(c, d, a), o4 = orient(c, d, b);
  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0))) return true;
  return (o1 == 0 && on_segment(a, b, c)) || (o2 == 0 && on_segment(a, b, d)) ||
         (o3 == 0 && on_segment(c, d, a)) || (o4 == 0 && on_segment(c, d, b));
}
}  // namespace

bool ring_is_simple(const Ring& r) {
  if (r.size() < 4 || !(r.front() == r.back())) return false;
  const std::size_t n = r.size() - 1;  // edges
  for (std::size_t i = 0; i < n; ++i) {
    if (r[i] == r[i + 1]) return false;
    for (std::size_t j = i + 1; j < n; ++j) {
      const bool adjacent = j == i + 1 || (i == 0 && j == n - 1);
      if (adjacent) {
        // Adjacent edges share one end; they must not fold back onto each other.
        const Pt& shared = j == i + 1 ? r[i + 1] : r[i];
        const Pt& p = j == i + 1 ? r[i] : r[i + 1];
        const Pt& q = j == i + 1 ? r[j + 1] : r[j];
        if (orient(p, shared, q) == 0 && ((q.lon - shared.lon) * (p.lon - shared.lon) +
                                          (q.lat - shared.lat) * (p.lat - shared.lat)) > 0)
          return false;
        continue;
      }
      if (segments_touch(r[i], r[i + 1], r[j], r[j + 1])) return false;
    }
  }
  return true;
}

double distance_m(const Pt& a, const Pt& b) {
  // The one haversine of the code base: the county measures as fusion does.
  return domain::fusion::distance_m({a.lon, a.lat}, {b.lon, b.lat});
}

Pt offset_m(const Pt& p, double metres, double bearing_deg) {
  const double b = bearing_deg * std::numbers::pi / 180.0;
  const double dlat = metres * std::cos(b) / kMetresPerDegLat;
  const double dlon = metres * std::sin(b) / (kMetresPerDegLat * std::cos(p.lat * std::numbers::pi / 180.0));
  return {p.lon + dlon, p.lat + dlat};
}

std::vector<Pt> County::cell_quad(int i, int j) const {
  return {vertex(i, j), vertex(i + 1, j), vertex(i + 1, j + 1), vertex(i, j + 1)};
}

// --- the county ------------------------------------------------------------------------------------

namespace {

void build_lattice(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kLatticeStream);
  c.lattice_nx = p.zones_x * p.cells_per_zone;
  c.lattice_ny = p.zones_y * p.cells_per_zone;
  c.centre = {kCentreLon, kCentreLat};
  const double kmx = km_per_deg_lon(kCentreLat), kmy = kMetresPerDegLat / 1000.0;
  c.lattice.reserve(static_cast<std::size_t>((c.lattice_nx + 1) * (c.lattice_ny + 1)));
  for (int j = 0; j <= c.lattice_ny; ++j) {
    for (int i = 0; i <= c.lattice_nx; ++i) {
      double u = static_cast<double>(i) / c.lattice_nx, v = static_cast<double>(j) / c.lattice_ny;
      // Inner vertices move by up to a fifth of a cell: every cell stays convex. The outer
      // boundary stays straight, so the county is its bounding box.
      const double ju = r.real(-0.2, 0.2) / c.lattice_nx, jv = r.real(-0.2, 0.2) / c.lattice_ny;
      if (i > 0 && i < c.lattice_nx) u += ju;
      if (j > 0 && j < c.lattice_ny) v += jv;
      const double x = warp(u, p.warp) * p.half_width_km, y = warp(v, p.warp) * p.half_height_km;
      c.lattice.push_back(round6(Pt{kCentreLon + x / kmx, kCentreLat + y / kmy}));
    }
  }
  c.bbox_min = c.vertex(0, 0);
  c.bbox_max = c.vertex(c.lattice_nx, c.lattice_ny);
}

void build_stations_and_zones(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kStaffStream);
  std::uint64_t staff_phone = kStaffPhoneBase;
  const int k = p.cells_per_zone;
  for (std::size_t s = 0; s < p.station_seeds.size(); ++s) {
    const Township& t = kTownships[s % std::size(kTownships)];
    Station st;
    st.id = "S" + number_text(static_cast<long>(s + 1), 2);
    st.name = std::string("云和县公安局") + t.station;
    st.short_name = t.short_name;
    st.township = t.township;
    st.phone = "0578-55" + number_text(r.uniform(10000, 99999), 5);
    const auto [zi, zj] = p.station_seeds[s];
    st.point = round6(bilinear(c.cell_quad(zi * k + k / 2, zj * k + k / 2), 0.5, 0.5));
    c.stations.push_back(std::move(st));
  }
  const double kmx = km_per_deg_lon(kCentreLat), kmy = kMetresPerDegLat / 1000.0;
  std::vector<int> per_station(c.stations.size(), 0);
  c.cell_zone.assign(static_cast<std::size_t>(c.lattice_nx * c.lattice_ny), -1);
  for (int zj = 0; zj < p.zones_y; ++zj) {
    for (int zi = 0; zi < p.zones_x; ++zi) {
      Zone z;
      z.zi = zi;
      z.zj = zj;
      // The nearest station seed in lattice terms owns the zone (ties: the lower station).
      int best = 0, best_d = 1 << 30;
      for (std::size_t s = 0; s < p.station_seeds.size(); ++s) {
        const int dx = zi - p.station_seeds[s].first, dy = zj - p.station_seeds[s].second;
        if (dx * dx + dy * dy < best_d) {
          best_d = dx * dx + dy * dy;
          best = static_cast<int>(s);
        }
      }
      z.station = best;
      z.station_id = c.stations[static_cast<std::size_t>(best)].id;
      z.ring = block_ring(c, zi * k, zj * k, k, k);
      double lon = 0, lat = 0;
      for (std::size_t i = 0; i + 1 < z.ring.size(); ++i) {
        lon += z.ring[i].lon;
        lat += z.ring[i].lat;
      }
      const auto n = static_cast<double>(z.ring.size() - 1);
      z.centroid = {lon / n, lat / n};
      const double dx = (z.centroid.lon - kCentreLon) * kmx, dy = (z.centroid.lat - kCentreLat) * kmy;
      const double d = std::hypot(dx, dy);
      z.area_type = d < p.urban_km ? "urban" : d < p.suburban_km ? "suburban" : "rural";
      const int index = static_cast<int>(c.zones.size());
      z.id = "Z" + number_text(index + 1, 3);
      const Station& st = c.stations[static_cast<std::size_t>(best)];
      z.name = st.township + "第" + std::to_string(++per_station[static_cast<std::size_t>(best)]) + "警务区";
      const bool male = r.chance(0.8);
      z.officer_name = person_name(r, surname(r), male);
      z.officer_phone = mobile(staff_phone++);
      for (int cj = zj * k; cj < zj * k + k; ++cj)
        for (int ci = zi * k; ci < zi * k + k; ++ci)
          c.cell_zone[static_cast<std::size_t>(cj * c.lattice_nx + ci)] = index;
      c.zones.push_back(std::move(z));
    }
  }
}

void build_grids(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kNamesStream);
  std::uint64_t staff_phone = kStaffPhoneBase + 100000;
  const int k = p.cells_per_zone;
  c.cell_grid.assign(c.cell_zone.size(), -1);
  // Villages: distinct two-character names, in a seeded order.
  std::vector<std::string> villages;
  for (const auto& a : kVillageFirst)
    for (const auto& b : kVillageSecond) villages.push_back(a + b + "村");
  for (std::size_t i = villages.size(); i > 1; --i)
    std::swap(villages[i - 1], villages[static_cast<std::size_t>(r.uniform(0, static_cast<int>(i) - 1))]);
  std::size_t next_village = 0;
  std::vector<int> roads_used(c.stations.size(), 0);
  for (std::size_t zidx = 0; zidx < c.zones.size(); ++zidx) {
    Zone& z = c.zones[zidx];
    const Station& st = c.stations[static_cast<std::size_t>(z.station)];
    std::vector<std::array<int, 4>> blocks;  // ci0, cj0, ni, nj
    const bool cells = z.area_type == "urban" || (z.area_type == "suburban" && p.suburban_single_cells);
    for (int row = 0; row < k; ++row) {
      if (cells) {
        for (int col = 0; col < k; ++col) blocks.push_back({z.zi * k + col, z.zj * k + row, 1, 1});
      } else {
        blocks.push_back({z.zi * k, z.zj * k + row, k, 1});
      }
    }
    std::string village;
    if (!cells) {
      village = next_village < villages.size()
                    ? villages[next_village]
                    : villages[next_village % villages.size()].substr(0, villages[0].size() - 3) + "新村";
      ++next_village;
    }
    int n_in_zone = 0;
    for (const auto& b : blocks) {
      Grid g;
      g.zone = static_cast<int>(zidx);
      g.zone_id = z.id;
      g.ci0 = b[0];
      g.cj0 = b[1];
      g.ni = b[2];
      g.nj = b[3];
      g.ring = block_ring(c, g.ci0, g.cj0, g.ni, g.nj);
      ++n_in_zone;
      if (cells) {
        // Each station walks through the road list from its own starting point.
        auto& used = roads_used[static_cast<std::size_t>(z.station)];
        g.street = kRoads[static_cast<std::size_t>(z.station * 7 + used++) % kRoads.size()];
        g.name = st.township + g.street + "社区第" + std::to_string(n_in_zone) + "网格";
      } else {
        g.street = village;
        g.name = st.township + village + "第" + std::to_string(n_in_zone) + "网格";
      }
      const int index = static_cast<int>(c.grids.size());
      g.id = "G" + number_text(index + 1, 4);
      g.worker_name = person_name(r, surname(r), r.chance(0.4));
      g.worker_phone = mobile(staff_phone++);
      for (int cj = g.cj0; cj < g.cj0 + g.nj; ++cj)
        for (int ci = g.ci0; ci < g.ci0 + g.ni; ++ci)
          c.cell_grid[static_cast<std::size_t>(cj * c.lattice_nx + ci)] = index;
      c.grids.push_back(std::move(g));
    }
  }
}

/// A random point well inside grid g (inside one of its convex cells).
Pt point_in_grid(const County& c, const Grid& g, Rng& r, double margin) {
  const int ci = g.ci0 + r.uniform(0, g.ni - 1), cj = g.cj0 + r.uniform(0, g.nj - 1);
  return round6(bilinear(c.cell_quad(ci, cj), r.real(margin, 1 - margin), r.real(margin, 1 - margin)));
}

void build_addresses(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kAddressStream);
  // Addresses per grid by weight: the county seat is dense, villages are sparse.
  std::vector<double> w(c.grids.size());
  double total = 0;
  for (std::size_t g = 0; g < c.grids.size(); ++g) {
    const std::string& t = c.zones[static_cast<std::size_t>(c.grids[g].zone)].area_type;
    w[g] = (t == "urban" ? 5.0 : t == "suburban" ? 2.0 : 1.5) * r.real(0.6, 1.4);
    total += w[g];
  }
  std::vector<int> count(c.grids.size());
  long assigned = 0;
  for (std::size_t g = 0; g < c.grids.size(); ++g) {
    count[g] = static_cast<int>(std::floor(p.addresses * w[g] / total));
    assigned += count[g];
  }
  for (std::size_t g = 0; assigned < p.addresses; g = (g + 1) % c.grids.size(), ++assigned) ++count[g];

  std::map<std::string, int> next_number;  // township+street → next house number
  int next_estate = 0;
  c.addresses.reserve(static_cast<std::size_t>(p.addresses));
  auto add = [&](int grid, std::string text, std::vector<std::string> aliases, Pt pt) {
    Address a;
    a.id = "A" + number_text(static_cast<long>(c.addresses.size() + 1), 6);
    a.text = std::move(text);
    a.aliases = std::move(aliases);
    a.grid = grid;
    a.point = pt;
    c.addresses.push_back(std::move(a));
  };
  for (std::size_t gi = 0; gi < c.grids.size(); ++gi) {
    const Grid& g = c.grids[gi];
    const Zone& z = c.zones[static_cast<std::size_t>(g.zone)];
    const Station& st = c.stations[static_cast<std::size_t>(z.station)];
    const std::string prefix = "云和县" + st.township;
    int& number = next_number[st.township + g.street];
    int left = count[gi];
    const int grid = static_cast<int>(gi);
    if (z.area_type == "rural") {
      while (left-- > 0) {
        number += r.uniform(1, 2);
        const std::string no = std::to_string(number) + "号";
        std::vector<std::string> aliases;
        if (r.chance(0.25)) aliases.push_back(g.street + no);  // the village form, without the township
        add(grid, prefix + g.street + no, std::move(aliases), point_in_grid(c, g, r, 0.06));
      }
      continue;
    }
    const bool urban = z.area_type == "urban";
    while (left > 0) {
      // One building complex (urban) or house (suburban) under one house number.
      number += r.uniform(1, 3);
      const std::string no = g.street + std::to_string(number) + "号";
      const int ci = g.ci0 + r.uniform(0, g.ni - 1), cj = g.cj0 + r.uniform(0, g.nj - 1);
      const auto quad = c.cell_quad(ci, cj);
      const double s0 = r.real(0.15, 0.85), t0 = r.real(0.15, 0.85);
      auto near = [&] { return round6(bilinear(quad, s0 + r.real(-0.04, 0.04), t0 + r.real(-0.04, 0.04))); };
      if (!urban) {
        const int n = std::min(left, r.uniform(1, 6));
        for (int f = 1; f <= n; ++f) {
          add(grid, n == 1 ? prefix + no : prefix + no + std::to_string(f * 100 + 1) + "室", {}, near());
        }
        left -= n;
        continue;
      }
      const int n = std::min(left, r.uniform(20, 120));
      std::string estate;
      if (r.chance(0.3)) {
        const int e = next_estate++;
        const int combos = static_cast<int>(kEstateStems.size() * kEstateSuffixes.size());
        estate = kEstateStems[static_cast<std::size_t>(e % static_cast<int>(kEstateStems.size()))] +
                 kEstateSuffixes[static_cast<std::size_t>((e / static_cast<int>(kEstateStems.size())) %
                                                          static_cast<int>(kEstateSuffixes.size()))] +
                 kPhasePrefix[static_cast<std::size_t>((e / combos) % static_cast<int>(kPhasePrefix.size()))];
        if (e >= combos * static_cast<int>(kPhasePrefix.size())) estate += std::to_string(e);
      }
      const int units = r.uniform(1, 3), floors = r.uniform(6, 18);
      int made = 0;
      for (int b = 1; made < n; ++b) {
        for (int u = 1; u <= units && made < n; ++u) {
          for (int f = 1; f <= floors && made < n; ++f) {
            for (int d = 1; d <= 2 && made < n; ++d, ++made) {
              const std::string room = std::to_string(b) + "幢" + std::to_string(u) + "单元" +
                                       std::to_string(f * 100 + d) + "室";
              std::vector<std::string> aliases;
              if (!estate.empty()) aliases.push_back(estate + room);
              add(grid, prefix + no + room, std::move(aliases), near());
            }
          }
        }
      }
      left -= n;
    }
  }
}

void build_households(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kHouseholdStream);
  const std::size_t na = c.addresses.size();
  c.household.assign(na, 0);
  c.elderly_alone.assign(na, false);
  // About 3% of the residents are elderly people living alone: one per such address.
  const double p_alone = std::min(0.5, 0.03 * p.persons / static_cast<double>(na));
  long alone = 0;
  for (std::size_t a = 0; a < na; ++a) {
    if (r.chance(p_alone)) {
      c.elderly_alone[a] = true;
      c.household[a] = 1;
      ++alone;
    }
  }
  const double mean = static_cast<double>(p.persons - alone) / static_cast<double>(na - static_cast<std::size_t>(alone));
  const int max_size = static_cast<int>(std::ceil(2 * mean)) + 2;
  long sum = alone;
  for (std::size_t a = 0; a < na; ++a) {
    if (c.elderly_alone[a]) continue;
    const int size = 1 + static_cast<int>(std::floor(r.real() * (2 * mean - 1)));
    c.household[a] = static_cast<std::uint8_t>(std::clamp(size, 1, max_size));
    sum += c.household[a];
  }
  // Make the total exact by nudging random families up or down by one.
  while (sum != p.persons) {
    const auto a = static_cast<std::size_t>(r.uniform(0, static_cast<int>(na) - 1));
    if (c.elderly_alone[a]) continue;
    if (sum < p.persons && c.household[a] < max_size) {
      ++c.household[a];
      ++sum;
    } else if (sum > p.persons && c.household[a] > 1) {
      --c.household[a];
      --sum;
    }
  }
}

void build_cameras(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kCameraStream);
  for (int n = 0; n < p.cameras; ++n) {
    Camera cam;
    cam.id = "C" + number_text(n + 1, 5);
    std::string street;
    if (r.chance(0.75)) {
      // By a building: on its road, a few tens of metres away.
      const Address& a = c.addresses[static_cast<std::size_t>(r.uniform(0, static_cast<int>(c.addresses.size()) - 1))];
      street = c.grids[static_cast<std::size_t>(a.grid)].street;
      cam.point = round6(clamp_to(c, offset_m(a.point, r.real(10, 40), r.real(0, 360))));
    } else {
      // At a crossing: a lattice vertex.
      const int i = r.uniform(1, c.lattice_nx - 1), j = r.uniform(1, c.lattice_ny - 1);
      street = c.grids[static_cast<std::size_t>(c.cell_grid[static_cast<std::size_t>(j * c.lattice_nx + i)])].street;
      cam.point = round6(clamp_to(c, offset_m(c.vertex(i, j), r.real(0, 15), r.real(0, 360))));
      street += "路口";
    }
    cam.dome = r.chance(0.25);
    if (cam.dome) {
      cam.fov_deg = 360;
    } else {
      cam.bearing_deg = std::round(r.real(0, 359.9) * 10) / 10;
      cam.fov_deg = r.uniform(60, 120);
    }
    cam.range_m = r.uniform(50, 200);
    cam.online = !r.chance(0.05);
    cam.name = street + (cam.dome ? "球机" : "枪机") + std::to_string(n + 1);
    cam.stream_url = "rtsp://video.local/yunhe/" + cam.id;
    c.cameras.push_back(std::move(cam));
  }
}

void build_units(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kUnitStream);
  // Zones of each station by area type, to place units where they work.
  std::vector<std::vector<int>> zones_of(c.stations.size()), urbanish_of(c.stations.size());
  std::vector<int> urban_zones, suburban_zones;
  for (std::size_t z = 0; z < c.zones.size(); ++z) {
    const auto s = static_cast<std::size_t>(c.zones[z].station);
    zones_of[s].push_back(static_cast<int>(z));
    if (c.zones[z].area_type != "rural") urbanish_of[s].push_back(static_cast<int>(z));
    if (c.zones[z].area_type == "urban") urban_zones.push_back(static_cast<int>(z));
    if (c.zones[z].area_type == "suburban") suburban_zones.push_back(static_cast<int>(z));
  }
  if (suburban_zones.empty()) suburban_zones = urban_zones;
  std::vector<std::map<std::string, int>> serial(c.stations.size());
  auto point_in_zone = [&](int z) {
    const Zone& zone = c.zones[static_cast<std::size_t>(z)];
    const int k = c.params.cells_per_zone;
    return round6(bilinear(c.cell_quad(zone.zi * k + r.uniform(0, k - 1), zone.zj * k + r.uniform(0, k - 1)),
                           r.real(0.1, 0.9), r.real(0.1, 0.9)));
  };
  auto status = [&](double available) {
    const double x = r.real();
    if (x < available) return "available";
    if (x < available + (1 - available) * 0.6) return "busy";
    if (x < available + (1 - available) * 0.85) return "off_duty";
    return "out_of_service";
  };
  auto add = [&](const char* kind, const char* id_prefix, int n, int zone, const std::string& sign_word,
                 double available) {
    const Zone& z = c.zones[static_cast<std::size_t>(zone)];
    const auto s = static_cast<std::size_t>(z.station);
    Unit u;
    u.id = std::string(id_prefix) + number_text(n, 3);
    u.kind = kind;
    u.station_id = z.station_id;
    const int no = ++serial[s][kind];
    u.call_sign = c.stations[s].short_name + sign_word + number_text(no, 2);
    u.status = status(available);
    u.point = point_in_zone(zone);
    c.units.push_back(std::move(u));
  };
  const int ns = static_cast<int>(c.stations.size());
  for (int n = 1; n <= p.patrol_cars; ++n) {
    const auto s = static_cast<std::size_t>((n - 1) % ns);
    add("patrol_car", "CAR", n, r.one_of(zones_of[s]), "巡", 0.8);
  }
  for (int n = 1; n <= p.kiosks; ++n) add("kiosk", "KSK", n, r.one_of(urban_zones), "岗亭", 0.9);
  for (int n = 1; n <= p.ptus; ++n) add("ptu", "PTU", n, r.one_of(suburban_zones), "PTU", 0.9);
  for (int n = 1; n <= p.officers; ++n) {
    const auto s = static_cast<std::size_t>((n - 1) % ns);
    add("officer", "OFC", n, r.one_of(urbanish_of[s].empty() ? zones_of[s] : urbanish_of[s]), "步巡", 0.8);
  }
  for (int n = 1; n <= p.drones; ++n) {
    // The first drone flies from the county seat, the others from rural stations.
    const auto s = static_cast<std::size_t>(n == 1 ? 0 : (ns - n + 1) % ns);
    add("drone", "UAV", n, r.one_of(zones_of[s]), "无人机", 0.9);
  }
}

void build_markers(County& c) {
  const Params& p = c.params;
  Rng r(c.seed, kMarkerStream);
  for (int n = 0; n < p.markers; ++n) {
    Marker m;
    m.id = "YH-" + number_text(n + 1, 4);
    if (n % 2 == 0) {
      // Every other pillar stands in view of a camera, within 50 m of it.
      m.camera = r.uniform(0, static_cast<int>(c.cameras.size()) - 1);
      const Camera& cam = c.cameras[static_cast<std::size_t>(m.camera)];
      m.point = round6(offset_m(cam.point, r.real(5, 40), r.real(0, 360)));
      m.description = "一键报警柱（" + cam.name + "旁）";
    } else {
      const Address& a = c.addresses[static_cast<std::size_t>(r.uniform(0, static_cast<int>(c.addresses.size()) - 1))];
      m.point = round6(clamp_to(c, offset_m(a.point, r.real(10, 60), r.real(0, 360))));
      const Grid& g = c.grids[static_cast<std::size_t>(a.grid)];
      m.description = std::string(r.chance(0.5) ? "一键报警柱" : "定位标牌") + "（" + g.street + "）";
    }
    c.markers.push_back(std::move(m));
  }
}

}  // namespace

County make_county(std::uint64_t seed, Scale scale) {
  County c;
  c.seed = seed;
  c.params = params_for(scale);
  build_lattice(c);
  build_stations_and_zones(c);
  build_grids(c);
  build_addresses(c);
  build_households(c);
  build_cameras(c);
  build_units(c);
  build_markers(c);
  return c;
}

void for_each_person(const County& c, const std::function<void(const Person&)>& fn) {
  using namespace std::chrono;
  Rng r(c.seed, kPersonStream);
  const long n_persons = c.params.persons;
  long alone = 0, beyond_two = 0;
  for (std::size_t a = 0; a < c.household.size(); ++a) {
    if (c.elderly_alone[a]) {
      ++alone;
    } else {
      beyond_two += std::max(0, c.household[a] - 2);
    }
  }
  // Minors are the third and later members of families: ~15% of everyone. Floating residents
  // are whole renting households: ~10% of everyone.
  const double p_minor = beyond_two > 0 ? std::min(0.95, 0.15 * n_persons / static_cast<double>(beyond_two)) : 0;
  const double p_floating = std::min(1.0, 0.10 * n_persons / static_cast<double>(n_persons - alone));
  const sys_days ref{kRefDate};
  std::unordered_map<std::uint64_t, int> serials;
  std::uint64_t phone_k = 0;
  long id = 0;
  Person person;
  for (std::size_t a = 0; a < c.household.size(); ++a) {
    const bool is_alone = c.elderly_alone[a];
    const bool floating = !is_alone && r.chance(p_floating);
    const std::size_t region =
        floating ? static_cast<std::size_t>(r.uniform(0, static_cast<int>(kFloatingRegions.size()) - 1)) + 1 : 0;
    const std::string family = surname(r);
    int head_age = 0;
    bool head_male = true;
    for (int m = 0; m < c.household[a]; ++m) {
      int age;
      bool male;
      if (is_alone) {
        age = r.uniform(68, 95);
        male = r.chance(0.4);
      } else if (m == 0) {
        age = head_age = r.uniform(floating ? 20 : 25, floating ? 55 : 70);
        male = head_male = r.chance(0.6);
      } else if (m == 1) {
        age = std::clamp(head_age + r.uniform(-5, 5), 18, 90);
        male = !head_male;
      } else if (r.chance(p_minor)) {
        age = r.uniform(0, 17);
        male = r.chance(0.52);
      } else if (r.chance(0.3)) {
        age = r.uniform(60, 92);
        male = r.chance(0.45);
      } else {
        age = r.uniform(18, 40);
        male = r.chance(0.5);
      }
      // Born `age` years and some days before the reference date.
      const sys_days birth = ref - days(static_cast<long>(age) * 365 + age / 4 + r.uniform(1, 360));
      const year_month_day ymd{birth};
      // A minor until the 18th birthday.
      const auto adult_y = static_cast<int>(ymd.year()) + 18;
      const auto m_d = static_cast<unsigned>(ymd.month()) * 100 + static_cast<unsigned>(ymd.day());
      const int ref_y = static_cast<int>(kRefDate.year());
      const auto ref_md = static_cast<unsigned>(kRefDate.month()) * 100 + static_cast<unsigned>(kRefDate.day());
      const bool minor = adult_y > ref_y || (adult_y == ref_y && m_d > ref_md);
      const int yy = static_cast<int>(ymd.year()), mm = static_cast<int>(static_cast<unsigned>(ymd.month())),
                dd = static_cast<int>(static_cast<unsigned>(ymd.day()));
      // Serial numbers per region, birth date and sex: odd for men, even for women.
      const std::uint64_t key = (static_cast<std::uint64_t>(region) << 40) |
                                (static_cast<std::uint64_t>(birth.time_since_epoch().count() + 100000) << 1) |
                                (male ? 1 : 0);
      int& k = serials[key];
      const int base = static_cast<int>(mix64(key) % 300);
      const int seq = ((base + k++) * 2 + (male ? 1 : 2)) % 1000;
      char first17[24];
      std::snprintf(first17, sizeof first17, "%s%04d%02d%02d%03d",
                    (region == 0 ? kLocalRegion : kFloatingRegions[region - 1]).c_str(), yy, mm, dd, seq);

      person.id = "P" + number_text(++id, 7);
      person.name = person_name(r, m < 2 || !r.chance(0.1) ? (m == 1 ? surname(r) : family) : surname(r), male);
      person.id_number = first17;
      person.id_number += id_check_char(first17);
      person.address = static_cast<int>(a);
      person.phones.clear();
      const double p_phone = age < 12 ? 0 : age < 18 ? 0.5 : age >= 70 ? 0.7 : 0.97;
      if (r.chance(p_phone)) {
        person.phones.push_back(mobile(phone_k++));
        if (age >= 18 && r.chance(0.06)) person.phones.push_back(mobile(phone_k++));
      }
      person.flags.clear();
      if (is_alone) person.flags.push_back(kFlags[0]);
      if (age >= 18 && r.chance(0.006)) person.flags.push_back(kFlags[1]);
      if (age >= 18 && r.chance(male ? 0.006 : 0.0012)) person.flags.push_back(kFlags[2]);
      if (floating) person.flags.push_back(kFlags[3]);
      if (minor) person.flags.push_back(kFlags[4]);
      if (r.chance(age >= 65 ? 0.05 : 0.015)) person.flags.push_back(kFlags[5]);
      fn(person);
    }
  }
}

WriteResult write_county(const County& c, const std::string& dir) {
  WriteResult res;
  const std::string d = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  {
    FeatureFile f(d + "stations.geojson");
    for (const auto& s : c.stations) {
      std::string& o = f.begin();
      append_point_geometry(o, s.point);
      o += "\"properties\":{";
      prop(o, "id", s.id, true);
      prop(o, "name", s.name);
      prop(o, "phone", s.phone);
      o += '}';
      f.end();
    }
    res.stations = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "zones.geojson");
    for (const auto& z : c.zones) {
      std::string& o = f.begin();
      append_polygon_geometry(o, z.ring);
      o += "\"properties\":{";
      prop(o, "id", z.id, true);
      prop(o, "name", z.name);
      prop(o, "station_id", z.station_id);
      prop(o, "area_type", z.area_type);
      prop(o, "officer_name", z.officer_name);
      prop(o, "officer_phone", z.officer_phone);
      o += '}';
      f.end();
    }
    res.zones = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "grids.geojson");
    for (const auto& g : c.grids) {
      std::string& o = f.begin();
      append_polygon_geometry(o, g.ring);
      o += "\"properties\":{";
      prop(o, "id", g.id, true);
      prop(o, "name", g.name);
      prop(o, "zone_id", g.zone_id);
      prop(o, "worker_name", g.worker_name);
      prop(o, "worker_phone", g.worker_phone);
      o += '}';
      f.end();
    }
    res.grids = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "addresses.geojson");
    for (const auto& a : c.addresses) {
      std::string& o = f.begin();
      append_point_geometry(o, a.point);
      o += "\"properties\":{";
      prop(o, "id", a.id, true);
      prop(o, "text", a.text);
      o += ",\"aliases\":[";
      for (std::size_t i = 0; i < a.aliases.size(); ++i) {
        if (i) o += ',';
        append_json_string(o, a.aliases[i]);
      }
      o += "]}";
      f.end();
    }
    res.addresses = f.count();
    res.bytes += f.close();
  }
  // Residents for the replay's demo alerts: an even spread of those with a phone.
  std::string sample_residents;
  {
    FeatureFile f(d + "persons.geojson");
    const long stride = std::max(1L, static_cast<long>(c.params.persons) / 2000);
    long seen = 0, sampled = 0;
    for_each_person(c, [&](const Person& p) {
      std::string& o = f.begin();
      o += "\"geometry\":null,\"properties\":{";
      prop(o, "id", p.id, true);
      prop(o, "name", p.name);
      prop(o, "id_number", p.id_number);
      // One number as a string, two as an array; none: no "phone" member.
      if (p.phones.size() == 1) {
        prop(o, "phone", p.phones[0]);
      } else if (p.phones.size() > 1) {
        o += ",\"phone\":[";
        for (std::size_t i = 0; i < p.phones.size(); ++i) {
          if (i) o += ',';
          append_json_string(o, p.phones[i]);
        }
        o += ']';
      }
      const Address& a = c.addresses[static_cast<std::size_t>(p.address)];
      prop(o, "address_id", a.id);
      o += ",\"flags\":[";
      for (std::size_t i = 0; i < p.flags.size(); ++i) {
        if (i) o += ',';
        append_json_string(o, p.flags[i]);
        for (std::size_t k = 0; k < std::size(kFlags); ++k)
          if (p.flags[i] == kFlags[k]) ++res.flags[k];
      }
      o += "]}";
      f.end();
      if (!p.phones.empty() && seen++ % stride == 0) {
        std::string& s = sample_residents;
        s += sampled++ ? ",\n" : "\n";
        s += '{';
        prop(s, "id", p.id, true);
        prop(s, "name", p.name);
        prop(s, "id_number", p.id_number);
        s += ",\"phones\":[";
        for (std::size_t i = 0; i < p.phones.size(); ++i) {
          if (i) s += ',';
          append_json_string(s, p.phones[i]);
        }
        s += ']';
        prop(s, "address_id", a.id);
        s += ",\"lon\":";
        append_number(s, a.point.lon, 6);
        s += ",\"lat\":";
        append_number(s, a.point.lat, 6);
        s += '}';
      }
    });
    res.persons = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "cameras.geojson");
    for (const auto& cam : c.cameras) {
      std::string& o = f.begin();
      append_point_geometry(o, cam.point);
      o += "\"properties\":{";
      prop(o, "id", cam.id, true);
      prop(o, "name", cam.name);
      if (!cam.dome) {
        o += ",\"bearing_deg\":";
        append_number(o, cam.bearing_deg, 1);
      }
      o += ",\"fov_deg\":";
      append_number(o, cam.fov_deg, 0);
      o += ",\"range_m\":";
      append_number(o, cam.range_m, 0);
      prop(o, "stream_url", cam.stream_url);
      o += cam.online ? ",\"online\":true}" : ",\"online\":false}";
      f.end();
    }
    res.cameras = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "units.geojson");
    for (const auto& u : c.units) {
      std::string& o = f.begin();
      append_point_geometry(o, u.point);
      o += "\"properties\":{";
      prop(o, "id", u.id, true);
      prop(o, "call_sign", u.call_sign);
      prop(o, "kind", u.kind);
      prop(o, "station_id", u.station_id);
      prop(o, "status", u.status);
      o += '}';
      f.end();
    }
    res.units = f.count();
    res.bytes += f.close();
  }
  {
    FeatureFile f(d + "markers.geojson");
    for (const auto& m : c.markers) {
      std::string& o = f.begin();
      append_point_geometry(o, m.point);
      o += "\"properties\":{";
      prop(o, "id", m.id, true);
      prop(o, "description", m.description);
      if (m.camera >= 0) prop(o, "camera_id", c.cameras[static_cast<std::size_t>(m.camera)].id);
      o += '}';
      f.end();
    }
    res.markers = f.count();
    res.bytes += f.close();
  }

  // samples.json: what xiaonao-replay needs to make alerts that fuse, without reading the
  // big files: a spread of addresses (with their aliases), every marker, some residents.
  {
    std::string s = "{\"addresses\":[";
    const std::size_t stride = std::max<std::size_t>(1, c.addresses.size() / 2000);
    bool first = true;
    for (std::size_t i = 0; i < c.addresses.size(); i += stride) {
      const Address& a = c.addresses[i];
      s += first ? "\n{" : ",\n{";
      first = false;
      prop(s, "id", a.id, true);
      prop(s, "text", a.text);
      s += ",\"aliases\":[";
      for (std::size_t k = 0; k < a.aliases.size(); ++k) {
        if (k) s += ',';
        append_json_string(s, a.aliases[k]);
      }
      s += "],\"lon\":";
      append_number(s, a.point.lon, 6);
      s += ",\"lat\":";
      append_number(s, a.point.lat, 6);
      s += '}';
    }
    s += "\n],\"markers\":[";
    for (std::size_t i = 0; i < c.markers.size(); ++i) {
      const Marker& m = c.markers[i];
      s += i ? ",\n{" : "\n{";
      prop(s, "id", m.id, true);
      if (m.camera >= 0) prop(s, "camera_id", c.cameras[static_cast<std::size_t>(m.camera)].id);
      s += ",\"lon\":";
      append_number(s, m.point.lon, 6);
      s += ",\"lat\":";
      append_number(s, m.point.lat, 6);
      s += '}';
    }
    s += "\n],\"residents\":[" + sample_residents + "\n]}\n";
    write_text_file(d + "samples.json", s);
    res.bytes += static_cast<long>(s.size());
  }

  // county.json last: its presence says the directory is complete.
  {
    std::string s = "{";
    s += "\"generator\":\"xiaonao-county\",\"format\":1,\"seed\":" + std::to_string(c.seed);
    prop(s, "scale", scale_name(c.params.scale));
    s += ",\"counts\":{";
    const std::pair<const char*, long> counts[] = {
        {"stations", res.stations}, {"zones", res.zones},     {"grids", res.grids},
        {"addresses", res.addresses}, {"persons", res.persons}, {"cameras", res.cameras},
        {"units", res.units},       {"markers", res.markers}};
    for (std::size_t i = 0; i < std::size(counts); ++i) {
      if (i) s += ',';
      s += "\"" + std::string(counts[i].first) + "\":" + std::to_string(counts[i].second);
    }
    s += "},\"flags\":{";
    for (std::size_t i = 0; i < std::size(kFlags); ++i) {
      if (i) s += ',';
      s += "\"" + std::string(kFlags[i]) + "\":" + std::to_string(res.flags[i]);
    }
    s += "},\"bbox\":[";
    append_number(s, c.bbox_min.lon, 6);
    s += ',';
    append_number(s, c.bbox_min.lat, 6);
    s += ',';
    append_number(s, c.bbox_max.lon, 6);
    s += ',';
    append_number(s, c.bbox_max.lat, 6);
    s += "],\"centre\":[";
    append_number(s, c.centre.lon, 6);
    s += ',';
    append_number(s, c.centre.lat, 6);
    s += "],\"load_order\":[\"stations\",\"zones\",\"grids\",\"addresses\",\"persons\",\"cameras\",\"units\","
         "\"markers\"]}\n";
    write_text_file(d + "county.json", s);
  }
  return res;
}

}  // namespace xiaonao::county
