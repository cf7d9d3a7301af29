// xiaonao-replay: posts a realistic stream of alerts to a Xiaonao server.
//
//   xiaonao-replay --url http://127.0.0.1:8080 [--rate 2] [--history 0] [--count N] [--seed S]
//                  [--county DIR] [--quiet] [--dry-run] [--api-key KEY]
//   xiaonao-replay --url http://127.0.0.1:8080 --watch [--since N]
//
// First posts --history back-dated alerts spread over the past 30 days (as fast as the server
// answers: the demo dataset), then live alerts at --rate per second on an absolute schedule,
// until --count live alerts were posted or SIGINT/SIGTERM. Content is deterministic for a seed:
// sources, categories, Chinese descriptions, callers and places around Yunhe county (云和县,
// Lishui, Zhejiang). `source_ref` is `<source>-<seed>-<n>`, so a retry after a 5xx or a lost
// connection is idempotent, and replaying the same seed again writes nothing new.
//
// With --county DIR (a directory written by xiaonao-county), places and people come from that
// county instead (its small samples.json; the big files are not read), so that every alert can
// be fused: positions next to standard addresses, address texts (exact, by alias, or with a
// typo), alarm-pillar marker codes, fraud warnings about a real resident (phone or identity
// number), callers who live in the county (some alerts carry nothing but the caller's phone),
// and about 8% repeat calls about an earlier alert's event (same category, within 80 m and a
// few minutes: the duplicate merge).
//
// Credentials: an integrator key with alerts:write (docs/security.md), from the environment
// variable XIAONAO_API_KEY (preferred: it does not show in `ps`) or --api-key, sent as
// `Authorization: Bearer`. A 401 or 403 stops the tool with exit code 3: every later alert
// would be refused the same way. --watch prints the live feed instead (one JSON frame per
// line); it needs feed:read, e.g. a county commander's access token in XIAONAO_API_KEY.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numbers>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/client/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;
using nlohmann::json;

std::atomic<bool> g_stop{false};
bool g_dry_run = false;
/// Where progress goes: stdout, or stderr when stdout carries --dry-run's JSON lines.
FILE* g_log = stdout;
extern "C" void on_signal(int) { g_stop.store(true); }

// --- command line ------------------------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  double rate = 2.0;
  long history = 0;
  long count = -1;  // live alerts; -1 = until stopped
  std::uint64_t seed = 0;
  bool seed_given = false;
  bool quiet = false;
  bool dry_run = false;
  std::string api_key;  // or an access token: sent as Authorization: Bearer
  bool watch = false;
  long long since = -1;  // --watch: replay from this seq; -1 = live only
  std::string county;    // a directory written by xiaonao-county: alerts that fuse with it
  double unit_reports = -1;  // seconds between a county unit's position reports; -1: 30 with --county
  std::optional<xiaonao::client::TlsTrust> tls;  // https://: whom to trust (--ca FILE, else the system's CAs)
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::cerr << "xiaonao-replay: " << msg << "\n\n";
  std::cerr << "usage: xiaonao-replay --url http://HOST:PORT [--rate R] [--history N] [--count N]\n"
               "                      [--seed S] [--county DIR [--unit-reports S]] [--quiet] [--dry-run]\n"
               "                      [--api-key KEY] [--ca FILE]\n"
               "       xiaonao-replay --url http://HOST:PORT --watch [--since N]\n"
               "  --rate R      live alerts per second (fractional allowed), default 2\n"
               "  --history N   first post N back-dated alerts over the past 30 days, default 0\n"
               "  --count N     stop after N live alerts (0: history only), default unlimited\n"
               "  --seed S      deterministic content and source_refs, default: from the clock\n"
               "  --county DIR  draw places, markers and people from the demo county that\n"
               "                xiaonao-county wrote into DIR (its samples.json), so that alerts\n"
               "                fuse: exact positions, standard addresses (some by alias, some\n"
               "                misspelt), marker codes, fraud subjects and callers who live there,\n"
               "                and repeat calls about one event (duplicates to merge)\n"
               "  --unit-reports S  with --county: every S seconds each unit of the county\n"
               "                reports where it is (POST /api/v1/units/positions; patrol cars,\n"
               "                officers and drones move about their start, kiosks and PTU\n"
               "                points stay), so fusion keeps finding fresh units; default 30,\n"
               "                0: none. Needs the scope units:write too\n"
               "  --quiet       no line per alert, only the summaries\n"
               "  --dry-run     print the alert bodies (JSON lines) instead of posting them\n"
               "  --api-key KEY the credential sent as Authorization: Bearer (an integrator key\n"
               "                with alerts:write (and units:write for the unit reports), or for\n"
               "                --watch a token with feed:read);\n"
               "                default: the environment variable XIAONAO_API_KEY, which is\n"
               "                better (command lines are visible to other users in ps)\n"
               "  --ca FILE     with an https:// URL: trust the CA certificates (PEM) in FILE\n"
               "                instead of the system's\n"
               "  --watch       print the live feed (/ws/feed), one JSON frame per line, until\n"
               "                Ctrl-C; posts nothing\n"
               "  --since N     with --watch: first replay the events after seq N\n"
               "exit codes: 0 ok, 1 some alerts rejected or lost, 2 usage, 3 credentials refused\n";
  std::exit(2);
}

/// Parses "http[s]://host:port[/]" into host, port and whether to speak TLS.
void parse_url(const std::string& url, Options& o) {
  std::string why;
  const auto e = xiaonao::client::parse_http_url(url, why);
  if (!e) usage(why.c_str());
  o.host = e->host;
  o.port = e->port;
  if (e->tls) o.tls = xiaonao::client::TlsTrust{};
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::string ca_file;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--url") {
        parse_url(value(), o);
        have_url = true;
      } else if (a == "--rate") {
        o.rate = std::stod(value());
        if (!(o.rate > 0) || !std::isfinite(o.rate)) usage("--rate must be > 0");
      } else if (a == "--history") {
        o.history = std::stol(value());
        if (o.history < 0) usage("--history must be >= 0");
      } else if (a == "--count") {
        o.count = std::stol(value());
        if (o.count < 0) usage("--count must be >= 0");
      } else if (a == "--seed") {
        o.seed = std::stoull(value());
        o.seed_given = true;
      } else if (a == "--county") {
        o.county = value();
      } else if (a == "--unit-reports") {
        o.unit_reports = std::stod(value());
        if (!(o.unit_reports >= 0) || !std::isfinite(o.unit_reports)) usage("--unit-reports must be >= 0");
      } else if (a == "--quiet") {
        o.quiet = true;
      } else if (a == "--dry-run") {
        o.dry_run = true;
      } else if (a == "--api-key") {
        o.api_key = value();
      } else if (a == "--ca") {
        ca_file = value();
      } else if (a == "--watch") {
        o.watch = true;
      } else if (a == "--since") {
        o.since = std::stoll(value());
        if (o.since < 0) usage("--since must be >= 0");
      } else if (a == "-h" || a == "--help") {
        usage();
      } else {
        usage(("unknown argument " + a).c_str());
      }
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  if (!have_url) usage("--url is required");
  if (o.since >= 0 && !o.watch) usage("--since goes with --watch");
  if (!ca_file.empty() && !o.tls) usage("--ca goes with an https:// URL");
  if (o.tls) o.tls->ca_file = ca_file;
  if (o.unit_reports >= 0 && o.county.empty()) usage("--unit-reports goes with --county");
  if (o.unit_reports < 0) o.unit_reports = o.county.empty() ? 0 : 30;
  if (o.api_key.empty()) {
    if (const char* env = std::getenv("XIAONAO_API_KEY")) o.api_key = env;
  }
  if (!o.seed_given) {
    o.seed = static_cast<std::uint64_t>(
                 std::chrono::duration_cast<std::chrono::seconds>(SysClock::now().time_since_epoch())
                     .count()) %
             1000000;
  }
  return o;
}

// --- time --------------------------------------------------------------------------------------

/// RFC 3339 in China time (+08:00), millisecond precision: how a 110 platform would send it.
std::string rfc3339_cst(SysClock::time_point t) {
  using namespace std::chrono;
  auto local = floor<milliseconds>(t) + hours(8);
  auto day = floor<days>(local);
  year_month_day ymd{day};
  hh_mm_ss hms{local - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ld+08:00",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                static_cast<long>(hms.subseconds().count()));
  return buf;
}

std::string wall_clock_now() {
  auto t = SysClock::to_time_t(SysClock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// --- the generator -----------------------------------------------------------------------------


// --- the demo county ---------------------------------------------------------------------------

/// What --county reads from the county's samples.json: a spread of standard addresses (with
/// aliases), every alarm-pillar marker, and residents with phones and identity numbers.
struct CountySample {
  struct Address {
    std::string id, text;
    std::vector<std::string> aliases;
    double lon = 0, lat = 0;
  };
  struct Marker {
    std::string id;
    double lon = 0, lat = 0;
  };
  struct Resident {
    std::string name, id_number;
    std::vector<std::string> phones;
    double lon = 0, lat = 0;
  };
  std::vector<Address> addresses;
  std::vector<std::size_t> with_alias;  // indices of the addresses that have an alias
  std::vector<Marker> markers;
  std::vector<Resident> residents;
  std::string summary;  // "full county, seed 1"
};

/// Reads DIR/county.json and DIR/samples.json; exits with a message when they are missing or
/// malformed (run xiaonao-county first).
CountySample load_county(const std::string& dir) {
  auto read = [&](const std::string& name) {
    const std::string path = dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "xiaonao-replay: cannot read %s (generate the county with xiaonao-county --out %s)\n",
                   path.c_str(), dir.c_str());
      std::exit(2);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      return json::parse(ss.str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "xiaonao-replay: %s is not valid JSON: %s\n", path.c_str(), e.what());
      std::exit(2);
    }
  };
  CountySample c;
  try {
    const json meta = read("county.json");
    c.summary = meta.at("scale").get<std::string>() + " county, seed " + std::to_string(meta.at("seed").get<long long>());
    const json s = read("samples.json");
    for (const auto& a : s.at("addresses")) {
      c.addresses.push_back({a.at("id").get<std::string>(), a.at("text").get<std::string>(),
                             a.value("aliases", std::vector<std::string>{}), a.at("lon").get<double>(),
                             a.at("lat").get<double>()});
    }
    for (const auto& m : s.at("markers"))
      c.markers.push_back({m.at("id").get<std::string>(), m.at("lon").get<double>(), m.at("lat").get<double>()});
    for (const auto& r : s.at("residents")) {
      c.residents.push_back({r.at("name").get<std::string>(), r.at("id_number").get<std::string>(),
                             r.at("phones").get<std::vector<std::string>>(), r.at("lon").get<double>(),
                             r.at("lat").get<double>()});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonao-replay: %s/samples.json or county.json lacks a field: %s\n", dir.c_str(), e.what());
    std::exit(2);
  }
  for (std::size_t i = 0; i < c.addresses.size(); ++i)
    if (!c.addresses[i].aliases.empty()) c.with_alias.push_back(i);
  if (c.addresses.empty() || c.markers.empty() || c.residents.empty()) {
    std::fprintf(stderr, "xiaonao-replay: %s/samples.json has no addresses, markers or residents\n", dir.c_str());
    std::exit(2);
  }
  return c;
}

/// The code points of a UTF-8 text (the texts come from our own generator: valid UTF-8).
std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

struct Weighted {
  const char* value;
  double weight;
};

/// Alert content for Yunhe county. Deterministic for a seed.
class Generator {
 public:
  explicit Generator(std::uint64_t seed)
      : rng_(seed * 0x9E3779B97F4A7C15ULL + 1), time_rng_(seed * 0xD1B54A32D192ED03ULL + 7) {}

  /// Places and people come from this county from now on (--county).
  void use_county(const CountySample* c) { county_ = c; }

  /// One alert body. `n` numbers the alert within this seed; `received_at` is when the sender
  /// took it.
  json make(std::uint64_t seed, long n, SysClock::time_point received_at) {
    static const std::vector<Weighted> kSources = {
        {"110", 62}, {"12345", 14}, {"alarm_pillar", 5}, {"fraud_warning", 7},
        {"video_ai", 5}, {"drone", 2}, {"walk_in", 5}};
    std::string source = pick(kSources);
    std::string category = category_for(source);
    // With a county, some calls are about an event someone reported a moment ago: same
    // category, same place, a few minutes later (the duplicate merge joins them).
    std::optional<Recent> repeat;
    if (county_ && source != "fraud_warning" && !recent_.empty() && chance(0.08)) {
      repeat = recent_[static_cast<std::size_t>(uniform(0, static_cast<int>(recent_.size()) - 1))];
      category = repeat->category;
      received_at = std::min(received_at, repeat->at + std::chrono::seconds(uniform(20, 400)));
    }

    json a;
    a["source"] = source;
    a["source_ref"] = source + "-" + std::to_string(seed) + "-" + std::to_string(n);
    a["received_at"] = rfc3339_cst(received_at);
    a["category"] = category;
    if (category == "fire" || category == "robbery" || category == "suicide_risk") {
      if (chance(0.5)) a["priority"] = 1;
    } else if (chance(0.05)) {
      a["priority"] = uniform(2, 4);
    }

    // Machines have no caller; everyone else mostly does.
    if (source != "video_ai" && source != "drone" && source != "fraud_warning" &&
        (source != "alarm_pillar" || chance(0.5)) && chance(0.92)) {
      json caller;
      if (county_ && chance(0.3)) {
        // A resident of the county calls: fusion can find where they live.
        const auto& r = one_of(county_->residents);
        caller["phone"] = one_of(r.phones);
        if (chance(0.8)) caller["name"] = r.name;
      } else {
        caller["phone"] = mobile();
        if (chance(0.8)) caller["name"] = person_name();
      }
      a["caller"] = caller;
    }

    if (county_) {
      county_where(a, source, repeat);
      if (a.contains("location") || a.contains("address") || a.contains("marker")) {
        Recent r{category, received_at, json::object()};
        for (const char* k : {"location", "address", "marker"})
          if (a.contains(k)) r.where[k] = a[k];
        recent_.push_back(std::move(r));
        if (recent_.size() > 8) recent_.erase(recent_.begin());
      }
      a["description"] = description(source, category);
      return a;
    }

    // Where: pillars know their own place and marker; the anti-fraud centre knows the person
    // at risk; the hotline often has only an address; the rest mostly a position.
    if (source == "alarm_pillar") {
      int pillar = uniform(1, 48);
      char marker[32];
      std::snprintf(marker, sizeof marker, "YH-%s-%04d", kPillarAreas[pillar % 6], pillar);
      a["marker"] = marker;
      a["location"] = pillar_position(pillar);
    } else if (source == "fraud_warning") {
      a["subject"] = json{{"phone", mobile()}};
      if (chance(0.6)) a["address"] = address();
    } else if (source == "12345" || source == "walk_in") {
      if (chance(0.7)) a["address"] = address();
      if (!a.contains("address") || chance(0.3)) a["location"] = position();
    } else {
      a["location"] = position();
      if (chance(0.2)) a["address"] = address();
    }

    a["description"] = description(source, category);
    return a;
  }

  /// A back-dated instant in the last 30 days, weighted by hour of day (quiet before dawn,
  /// busy in the evening).
  SysClock::time_point history_time(SysClock::time_point now) {
    static const double kHour[24] = {3, 2, 1.5, 1, 1, 1, 1.5, 3, 5, 6, 6, 6,
                                     6, 5, 5, 6, 6, 7, 8, 9, 9, 8, 6, 4};
    // Its own random stream, so that the content of alert n does not depend on --history.
    std::discrete_distribution<int> hour(std::begin(kHour), std::end(kHour));
    using namespace std::chrono;
    auto time_uniform = [&](int lo, int hi) {
      return std::uniform_int_distribution<int>(lo, hi)(time_rng_);
    };
    int day_back = time_uniform(0, 29);
    // Midnight China time of that day, then the hour and a random minute/second.
    auto cst_now = floor<seconds>(now) + hours(8);
    auto midnight = floor<days>(cst_now) - days(day_back) - hours(8);
    SysClock::time_point t = midnight + hours(hour(time_rng_)) + seconds(time_uniform(0, 3599));
    if (t >= now) t = now - seconds(time_uniform(60, 7200));
    return t;
  }

  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

 private:
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
  }
  std::string pick(const std::vector<Weighted>& v) {
    std::vector<double> w;
    w.reserve(v.size());
    for (const auto& x : v) w.push_back(x.weight);
    std::discrete_distribution<std::size_t> d(w.begin(), w.end());
    return v[d(rng_)].value;
  }

  std::string category_for(const std::string& source) {
    // Weights per source, roughly as a county station sees them: disputes, noise, traffic,
    // theft and help requests dominate; robbery is rare.
    static const std::vector<Weighted> k110 = {
        {"dispute", 18}, {"traffic_accident", 14}, {"theft", 12}, {"help", 12},
        {"noise", 10},   {"fraud", 8},             {"medical", 5}, {"assault", 5},
        {"lost_property", 4}, {"other", 4},         {"burglary", 3}, {"missing_person", 2},
        {"fire", 2},     {"gambling", 1.5},         {"suicide_risk", 1}, {"robbery", 0.3}};
    static const std::vector<Weighted> k12345 = {
        {"noise", 30}, {"dispute", 25}, {"help", 15}, {"other", 20}, {"lost_property", 5},
        {"gambling", 3}, {"fraud", 2}};
    static const std::vector<Weighted> kPillar = {
        {"help", 35}, {"dispute", 20}, {"assault", 10}, {"medical", 15}, {"theft", 10},
        {"missing_person", 5}, {"robbery", 1}, {"other", 4}};
    static const std::vector<Weighted> kVideo = {
        {"traffic_accident", 40}, {"assault", 15}, {"dispute", 15}, {"fire", 10},
        {"theft", 10}, {"gambling", 5}, {"other", 5}};
    static const std::vector<Weighted> kDrone = {
        {"missing_person", 30}, {"fire", 30}, {"traffic_accident", 20}, {"gambling", 10},
        {"other", 10}};
    static const std::vector<Weighted> kWalkIn = {
        {"lost_property", 25}, {"fraud", 20}, {"theft", 20}, {"dispute", 15}, {"help", 10},
        {"burglary", 5}, {"other", 5}};
    if (source == "fraud_warning") return "fraud";
    if (source == "12345") return pick(k12345);
    if (source == "alarm_pillar") return pick(kPillar);
    if (source == "video_ai") return pick(kVideo);
    if (source == "drone") return pick(kDrone);
    if (source == "walk_in") return pick(kWalkIn);
    return pick(k110);
  }

  std::string mobile() {
    static const std::vector<std::string> kPrefix = {
        "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151",
        "152", "153", "155", "156", "157", "158", "159", "166", "177", "180", "181", "182",
        "183", "185", "186", "187", "188", "189", "198", "199"};
    char tail[16];
    std::snprintf(tail, sizeof tail, "%08d", uniform(0, 99999999));
    return one_of(kPrefix) + tail;
  }

  std::string person_name() {
    static const std::vector<std::string> kSurname = {
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
        "胡", "郭", "何", "林", "罗", "郑", "梁", "谢", "叶", "潘", "蓝", "雷", "钟", "柳",
        "季", "毛", "项", "金", "程", "余", "蒋", "沈", "应", "汤", "卢", "吕"};
    static const std::vector<std::string> kGiven = {
        "芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛",
        "明", "超", "秀英", "桂英", "建华", "建国", "志强", "海燕", "晓东", "国平", "小红",
        "春花", "丽萍", "雪梅", "永福", "金华", "德明", "玉兰", "文斌", "俊杰", "子豪", "欣怡",
        "浩然", "雨涵", "思远", "一鸣", "美玲", "新民", "卫东", "红霞"};
    return one_of(kSurname) + one_of(kGiven);
  }

  static constexpr double kCentreLon = 119.5725;
  static constexpr double kCentreLat = 28.1160;
  static constexpr const char* kPillarAreas[6] = {"ZZ", "FY", "YH", "BL", "FH", "JS"};

  /// A point within ~15 km of the county seat: most near town, some in the villages.
  json position() {
    double km_lat = 111.0, km_lon = 111.0 * std::cos(kCentreLat * std::numbers::pi / 180.0);
    double dx, dy;
    if (chance(0.65)) {
      std::normal_distribution<double> n(0.0, 1.6);  // the town, sigma 1.6 km
      dx = std::clamp(n(rng_), -15.0, 15.0);
      dy = std::clamp(n(rng_), -15.0, 15.0);
    } else {
      double r = 15.0 * std::sqrt(real(0.0, 1.0));
      double th = real(0.0, 2 * std::numbers::pi);
      dx = r * std::cos(th);
      dy = r * std::sin(th);
    }
    return json{{"lon", round6(kCentreLon + dx / km_lon)}, {"lat", round6(kCentreLat + dy / km_lat)}};
  }

  /// Pillars stand at fixed places: derived from the pillar number, not from the stream.
  static json pillar_position(int pillar) {
    std::mt19937_64 r(static_cast<std::uint64_t>(pillar) * 7919);
    std::uniform_real_distribution<double> d(-0.06, 0.06);
    double lon = kCentreLon + d(r);
    double lat = kCentreLat + d(r) * 0.8;
    return json{{"lon", round6(lon)}, {"lat", round6(lat)}};
  }

  static double round6(double v) { return std::round(v * 1e6) / 1e6; }

  std::string address() {
    static const std::vector<std::string> kTownStreets = {"浮云街道", "元和街道", "白龙山街道",
                                                          "凤凰山街道"};
    static const std::vector<std::string> kRoads = {"解放街", "中山路", "环城西路", "环城北路",
                                                    "凤凰山路", "云和大道", "新建路", "人民路",
                                                    "木玩路", "白龙路"};
    static const std::vector<std::string> kTownships = {
        "凤凰山街道", "白龙山街道", "崇头镇", "紧水滩镇", "石塘镇", "雾溪畲族乡", "安溪畲族乡",
        "赤石乡"};
    static const std::vector<std::string> kVillages = {
        "贵溪村", "坪垟岗村", "梅源村", "黄水碓村", "沙铺村", "局村", "长汀村", "规溪村",
        "下湾村", "叶垟村", "大坪村", "上坪村", "朱村", "石浦村"};
    static const std::vector<std::string> kEstates = {"木玩城小区", "金水湾小区", "江滨花园",
                                                      "凤凰新村", "白龙新苑", "云和人家"};
    std::string base = "浙江省丽水市云和县";
    double r = real(0.0, 1.0);
    if (r < 0.45) {
      return base + one_of(kTownStreets) + one_of(kRoads) + std::to_string(uniform(1, 260)) + "号";
    }
    if (r < 0.65) {
      return base + one_of(kTownStreets) + one_of(kEstates) + std::to_string(uniform(1, 30)) +
             "幢" + std::to_string(uniform(1, 3)) + "单元" + std::to_string(uniform(1, 18)) +
             std::to_string(uniform(0, 1)) + std::to_string(uniform(1, 4)) + "室";
    }
    return base + one_of(kTownships) + one_of(kVillages) + std::to_string(uniform(1, 120)) + "号";
  }

  std::string place() {
    static const std::vector<std::string> kPlaces = {
        "解放街菜市场", "汽车站", "云和中学门口", "人民医院", "仙宫湖景区", "梯田景区停车场",
        "木玩城", "城东超市", "滨江公园", "环城西路路口", "云和大道红绿灯", "新华书店",
        "农贸市场", "小区楼下"};
    return one_of(kPlaces);
  }

  std::string amount() {
    static const std::vector<int> kAmounts = {500, 1200, 2000, 3800, 5000, 8000, 12000, 20000,
                                              36000, 50000};
    return std::to_string(one_of(kAmounts));
  }

  /// Fills {place}, {amount}, {age}, {n} in a template.
  std::string fill(std::string t) {
    auto replace_all = [&](const std::string& key, auto make) {
      for (auto pos = t.find(key); pos != std::string::npos; pos = t.find(key, pos)) {
        std::string v = make();
        t.replace(pos, key.size(), v);
        pos += v.size();
      }
    };
    replace_all("{place}", [&] { return place(); });
    replace_all("{amount}", [&] { return amount(); });
    replace_all("{age}", [&] { return std::to_string(uniform(68, 91)); });
    replace_all("{kid}", [&] { return std::to_string(uniform(6, 14)); });
    replace_all("{n}", [&] { return std::to_string(uniform(2, 9)); });
    return t;
  }

  std::string description(const std::string& source, const std::string& category) {
    if (source == "fraud_warning") {
      static const std::vector<std::string> k = {
          "反诈中心预警：该号码机主疑似正在遭受刷单返利诈骗，请立即上门劝阻",
          "反诈中心预警：机主与境外诈骗号码通话超过10分钟，疑似冒充公检法诈骗",
          "反诈中心预警：机主下载了可疑投资理财APP，可能即将转账",
          "反诈中心预警：机主收到刷单信息并已添加对方好友，请尽快劝阻",
          "反诈中心预警：疑似冒充客服退款诈骗，机主正在操作网银"};
      return one_of(k);
    }
    if (source == "video_ai") {
      static const std::map<std::string, std::vector<std::string>> k = {
          {"traffic_accident", {"视频AI识别：{place}附近两车碰撞，车辆停在路中", "视频AI识别：路口电动车倒地，骑车人未起身"}},
          {"assault", {"视频AI识别：{place}有多人推搡打斗", "视频AI识别：疑似有人持械追打"}},
          {"dispute", {"视频AI识别：{place}人员聚集，疑似发生争吵"}},
          {"fire", {"视频AI识别：画面出现明火和浓烟", "视频AI识别：山坡出现烟雾，疑似山火"}},
          {"theft", {"视频AI识别：有人在停车场逐一拉动车门", "视频AI识别：疑似有人撬电动车锁"}},
          {"gambling", {"视频AI识别：夜间多人聚集在出租屋，进出频繁"}},
          {"other", {"视频AI识别：有人翻越护栏", "视频AI识别：可疑人员长时间徘徊"}}};
      auto it = k.find(category);
      if (it != k.end()) return fill(one_of(it->second));
    }
    if (source == "drone") {
      static const std::map<std::string, std::vector<std::string>> k = {
          {"missing_person", {"无人机搜寻：在山林区域发现疑似走失老人", "无人机巡查发现河边有人独自徘徊"}},
          {"fire", {"无人机巡查发现山林起火，火势正在蔓延", "无人机巡查发现农田焚烧秸秆，烟雾较大"}},
          {"traffic_accident", {"无人机巡查发现山路有车辆侧翻"}},
          {"gambling", {"无人机巡查发现山上搭棚聚集多人，疑似赌博"}},
          {"other", {"无人机巡查发现仙宫湖有人违规下水游泳"}}};
      auto it = k.find(category);
      if (it != k.end()) return fill(one_of(it->second));
    }
    static const std::map<std::string, std::vector<std::string>> k = {
        {"fraud", {"收到刷单信息，对方要求先垫付{amount}元", "收到刷单信息，正准备转账",
                   "接到自称公安局的电话，称其涉嫌洗钱，要求转账到安全账户",
                   "网购退款被骗，对方发来链接要求填写银行卡信息，已被转走{amount}元",
                   "冒充领导微信要求转账{amount}元，已转账后发现被骗",
                   "投资理财平台无法提现，已投入{amount}元", "网上贷款被要求先交保证金{amount}元"}},
        {"theft", {"电动车被盗", "停在{place}的电动车被盗", "手机在{place}被偷",
                   "店内收银台现金被盗约{amount}元", "晾晒在阳台的衣物被盗", "停在路边的车内财物被盗"}},
        {"burglary", {"家中被盗，门锁被撬，丢失现金约{amount}元", "回家发现窗户被撬，金饰丢失",
                      "商铺夜间被撬门入室，丢失香烟若干", "独居老人家中积蓄被盗"}},
        {"robbery", {"在{place}附近被人抢走手提包", "被两名男子拦路抢走手机",
                     "骑电动车时被人从后面抢走挎包"}},
        {"assault", {"在{place}与人发生口角后被打伤", "酒后斗殴，有人头部流血",
                     "被人持棍殴打，对方已离开", "烧烤店内有人打架"}},
        {"gambling", {"村里有人聚众赌博", "某棋牌室疑似赌博，人员较多", "山上有人设赌场，进出车辆很多",
                      "出租屋内有人打牌赌钱"}},
        {"dispute", {"邻居因电梯噪音发生纠纷", "因停车位与邻居发生争执", "顾客与店主因退货发生纠纷",
                     "家庭纠纷，夫妻吵架", "工地讨薪纠纷，{n}名工人聚集", "因宅基地边界与邻居发生争执",
                     "出租车司机与乘客因车费发生争执", "邻居因楼道堆放杂物发生争吵"}},
        {"noise", {"楼上深夜装修噪音扰民", "广场舞音响声音太大", "KTV噪音扰民",
                   "邻居深夜聚会喧哗", "工地夜间施工噪音很大", "楼下餐馆排风扇噪音扰民"}},
        {"traffic_accident", {"两车追尾，无人员受伤", "电动车与小轿车相撞，一人受伤",
                              "{place}发生交通事故，车辆侧翻", "货车刮擦路边停放车辆后驶离",
                              "行人被电动车撞倒，腿部受伤"}},
        {"fire", {"民房起火，冒出浓烟", "山林起火", "电动车充电时起火", "厨房油锅起火",
                  "{place}附近垃圾堆着火"}},
        {"medical", {"老人在家中晕倒", "路边有人倒地不起", "醉酒人员躺在路边",
                     "{place}有人突发疾病"}},
        {"missing_person", {"老人走失，{age}岁，有阿尔茨海默症", "孩子放学未回家，{kid}岁",
                            "家人外出多日联系不上", "老人走失，{age}岁，最后出现在{place}"}},
        {"lost_property", {"钱包遗失在出租车上", "身份证丢失", "手机遗落在{place}",
                           "在{place}捡到一个背包，内有现金", "行李箱遗落在汽车站"}},
        {"suicide_risk", {"有人站在桥上情绪激动", "家人发来轻生信息，联系不上",
                          "朋友称不想活了，现在{place}附近", "有人在仙宫湖边徘徊，情绪低落"}},
        {"help", {"被锁在门外，求助开锁", "车辆陷入沟中求助", "老人行动不便求助送医",
                  "小孩被困电梯", "迷路求助", "醉酒人员求助送回家"}},
        {"other", {"路灯损坏，夜间很黑", "发现可疑人员在小区徘徊", "流浪狗咬人",
                   "小区供水中断", "有人在路边乱摆摊占道", "反映{place}附近窨井盖缺失"}}};
    auto it = k.find(category);
    if (it == k.end()) return "其他警情";
    std::string d = fill(one_of(it->second));
    if (source == "12345") d = "12345转来：" + d;
    if (source == "alarm_pillar") d = "一键报警柱呼叫：" + d;
    if (source == "walk_in") d = "群众来所报警：" + d;
    return d;
  }


  /// An earlier alert's category, time and place, for repeat calls.
  struct Recent {
    std::string category;
    SysClock::time_point at;
    json where;
  };

  /// Where, with --county: every alert names something fusion can find.
  void county_where(json& a, const std::string& source, const std::optional<Recent>& repeat) {
    const CountySample& c = *county_;
    if (repeat) {
      // Another caller about the same event: a position a few tens of metres off, or the same
      // address text or marker as the first call.
      if (repeat->where.contains("location")) {
        const auto& l = repeat->where["location"];
        a["location"] = near(l["lon"].get<double>(), l["lat"].get<double>(), 80);
      } else {
        for (const char* k : {"address", "marker"})
          if (repeat->where.contains(k)) a[k] = repeat->where[k];
      }
      return;
    }
    if (source == "alarm_pillar") {
      a["marker"] = one_of(c.markers).id;  // the pillar knows only its own code
      return;
    }
    if (source == "fraud_warning") {
      // The anti-fraud centre names the person at risk by phone or by identity number.
      const auto& r = one_of(c.residents);
      if (chance(0.65)) {
        a["subject"] = json{{"phone", one_of(r.phones)}};
      } else {
        a["subject"] = json{{"id_number", r.id_number}};
      }
      return;
    }
    const auto& addr = one_of(c.addresses);
    const double x = real(0.0, 1.0);
    if (source == "12345" || source == "walk_in") {
      if (x < 0.75) {
        a["address"] = address_text(addr);
      } else {
        a["location"] = near(addr.lon, addr.lat, 40);
      }
      return;
    }
    if (source == "110") {
      if (x < 0.55) {
        a["location"] = near(addr.lon, addr.lat, 40);
      } else if (x < 0.80) {
        a["address"] = address_text(addr);
      } else if (x < 0.90) {
        a["location"] = near(addr.lon, addr.lat, 40);
        a["address"] = addr.text;
      } else if (a.contains("caller")) {
        // Nothing but the caller's number, and the caller lives here: located by phone.
        const auto& r = one_of(c.residents);
        a["caller"]["phone"] = one_of(r.phones);
        a["caller"]["name"] = r.name;
      } else {
        a["location"] = near(addr.lon, addr.lat, 40);
      }
      return;
    }
    a["location"] = near(addr.lon, addr.lat, 60);  // video AI and drones know the position
  }

  /// A standard address as a caller gives it: exact (half), an alias (a quarter; of another
  /// address when this one has none), or with one character dropped or two swapped (for the
  /// fuzzy match).
  std::string address_text(const CountySample::Address& addr) {
    const double x = real(0.0, 1.0);
    if (x < 0.5) return addr.text;
    if (x < 0.75) {
      if (!addr.aliases.empty()) return one_of(addr.aliases);
      if (!county_->with_alias.empty()) return one_of(county_->addresses[one_of(county_->with_alias)].aliases);
      return addr.text;
    }
    auto chars = utf8_chars(addr.text);
    // Never touch the "云和县" prefix; pick among the Chinese characters after it.
    std::vector<std::size_t> cjk;
    for (std::size_t i = 3; i < chars.size(); ++i)
      if (chars[i].size() > 1) cjk.push_back(i);
    if (cjk.size() < 3) return addr.text;
    const std::size_t i = one_of(cjk);
    if (chance(0.5) || i + 1 >= chars.size()) {
      chars.erase(chars.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      std::swap(chars[i], chars[i + 1]);
    }
    std::string out;
    for (const auto& ch : chars) out += ch;
    return out;
  }

  /// A position within `metres` of (lon, lat).
  json near(double lon, double lat, double metres) {
    const double r = metres * std::sqrt(real(0.0, 1.0)), th = real(0.0, 2 * std::numbers::pi);
    const double dlat = r * std::cos(th) / 111320.0;
    const double dlon = r * std::sin(th) / (111320.0 * std::cos(lat * std::numbers::pi / 180.0));
    return json{{"lon", round6(lon + dlon)}, {"lat", round6(lat + dlat)}};
  }

  const CountySample* county_ = nullptr;
  std::vector<Recent> recent_;

  std::mt19937_64 rng_;
  std::mt19937_64 time_rng_;
};

// --- posting -----------------------------------------------------------------------------------

struct Stats {
  long posted = 0;      // alerts finished (any final outcome)
  long created = 0;     // 201
  long duplicate = 0;   // 200 (already stored)
  long rejected = 0;    // 4xx
  long failed = 0;      // gave up after retries
  long retries = 0;     // 5xx or I/O errors retried
  double latency_ms_sum = 0;
};

/// The `message` of an error body, or the start of the body when it is not one.
std::string error_message(const std::string& body) {
  try {
    return json::parse(body).at("error").at("message").get<std::string>();
  } catch (const std::exception&) {
    return body.substr(0, 200);
  }
}

/// A 401 or 403 ends the run: the credential is missing, wrong, revoked or lacks a scope or a
/// source, and every later request would be refused the same way.
[[noreturn]] void credentials_refused(int status, const std::string& message, const char* needs) {
  std::fflush(g_log);
  if (status == 401) {
    std::fprintf(stderr,
                 "xiaonao-replay: 401 unauthorized: the server did not accept the credentials (%s).\n"
                 "  Set XIAONAO_API_KEY (or --api-key) to a live credential with %s.\n",
                 message.c_str(), needs);
  } else {
    std::fprintf(stderr,
                 "xiaonao-replay: 403 forbidden: the credentials are valid but do not allow this (%s).\n"
                 "  Use one with %s.\n",
                 message.c_str(), needs);
  }
  std::exit(3);
}

/// Posts one alert; retries 5xx, 429 and I/O errors with the same body (same source_ref) and
/// exponential backoff (or the server's Retry-After). Returns the final status (0 when it gave
/// up). Exits on 401 and 403.
int post_alert(xiaonao::client::HttpClient& http, const json& alert, Stats& st, bool quiet,
               const char* phase, long n) {
  std::string body = alert.dump();
  if (g_dry_run) {
    std::fputs((body + "\n").c_str(), stdout);
    ++st.posted;
    ++st.created;
    return 201;
  }
  auto backoff = std::chrono::milliseconds(100);
  const int kMaxAttempts = 12;  // about a minute of backoff in all
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    auto t0 = Clock::now();
    std::string error;
    int status = 0;
    std::string number;
    std::chrono::milliseconds retry_after{0};
    try {
      auto res = http.request("POST", "/api/v1/alerts", body);
      status = res.status;
      if (status == 401 || status == 403) {
        credentials_refused(status, error_message(res.body),
                            "the scope alerts:write and this alert's source in its sources (or '*')");
      }
      if (status == 429) {
        if (auto it = res.headers.find("retry-after"); it != res.headers.end())
          retry_after = std::chrono::seconds(std::clamp(std::atol(it->second.c_str()), 1L, 60L));
      }
      if (status == 200 || status == 201) {
        try {
          number = res.json().value("incident_number", "");
        } catch (const std::exception&) {
          number = "?";
        }
      } else {
        error = res.body.substr(0, 200);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (status == 200 || status == 201 || (status >= 400 && status < 500 && status != 429)) {
      ++st.posted;
      st.latency_ms_sum += ms;
      if (status == 201) ++st.created;
      else if (status == 200) ++st.duplicate;
      else ++st.rejected;
      if (!quiet || (status >= 400)) {
        std::fprintf(g_log, "%s %s #%ld %d %s %s %s %.1fms%s%s\n", wall_clock_now().c_str(), phase, n,
                    status, number.empty() ? "-" : number.c_str(),
                    alert["source"].get<std::string>().c_str(),
                    alert["category"].get<std::string>().c_str(), ms,
                    status == 200 ? " (duplicate)" : "",
                    error.empty() ? "" : (" " + error).c_str());
        std::fflush(g_log);
      }
      return status;
    }
    // 5xx, 429 or a connection problem: the same source_ref makes the retry safe.
    ++st.retries;
    std::fprintf(g_log, "%s %s #%ld retry %d/%d after %s\n", wall_clock_now().c_str(), phase, n, attempt,
                kMaxAttempts,
                status ? ("HTTP " + std::to_string(status) + " " + error).c_str() : error.c_str());
    std::fflush(g_log);
    if (g_stop.load()) break;
    std::this_thread::sleep_for(std::max(backoff, retry_after));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
  }
  ++st.failed;
  ++st.posted;
  std::fprintf(g_log, "%s %s #%ld %s\n", wall_clock_now().c_str(), phase, n,
               g_stop.load() ? "not stored: stopped while retrying" : "gave up");
  std::fflush(g_log);
  return 0;
}

void print_summary(const char* what, const Stats& st, double seconds) {
  std::fprintf(g_log, "%s [%s] posted=%ld created=%ld duplicate=%ld rejected=%ld failed=%ld retries=%ld "
              "rate=%.2f/s mean=%.1fms\n",
              wall_clock_now().c_str(), what, st.posted, st.created, st.duplicate, st.rejected,
              st.failed, st.retries, seconds > 0 ? static_cast<double>(st.posted) / seconds : 0.0,
              st.posted ? st.latency_ms_sum / static_cast<double>(st.posted) : 0.0);
  std::fflush(g_log);
}

/// --watch: prints feed frames, one per line, until SIGINT/SIGTERM or the server closes the feed.
// --- unit positions ----------------------------------------------------------------------------

/// A unit of the county as its GPS would report it: patrol cars, officers on foot and drones
/// wander about where they started (turning a little each report, turning home when more than
/// 3 km away); kiosks and PTU staging points report where they stand.
struct SimUnit {
  std::string id;
  double home_lon = 0, home_lat = 0, lon = 0, lat = 0;
  double top_speed = 0;  // m/s
  double heading = 0;    // degrees clockwise from north
};

/// The units in DIR/units.geojson (empty, with a note, when there is none).
std::vector<SimUnit> load_units(const std::string& dir, std::mt19937_64& rng) {
  std::vector<SimUnit> out;
  std::ifstream in(dir + "/units.geojson", std::ios::binary);
  if (!in) {
    std::fprintf(g_log, "xiaonao-replay: no %s/units.geojson: no unit reports\n", dir.c_str());
    return out;
  }
  try {
    const json fc = json::parse(in);
    for (const auto& f : fc.at("features")) {
      const auto& p = f.at("properties");
      const auto& c = f.at("geometry").at("coordinates");
      const std::string kind = p.value("kind", "");
      SimUnit u;
      u.id = p.at("id").get<std::string>();
      u.home_lon = u.lon = c.at(0).get<double>();
      u.home_lat = u.lat = c.at(1).get<double>();
      u.top_speed = kind == "patrol_car" ? 12.0 : kind == "drone" ? 15.0 : kind == "officer" ? 1.5 : 0.0;
      u.heading = std::uniform_real_distribution<double>(0, 360)(rng);
      out.push_back(std::move(u));
    }
  } catch (const std::exception& e) {
    std::fprintf(g_log, "xiaonao-replay: %s/units.geojson unreadable (%s): no unit reports\n", dir.c_str(), e.what());
    out.clear();
  }
  return out;
}

/// Moves each unit by `seconds` of its wandering; metres to degrees on the local tangent plane.
void wander(std::vector<SimUnit>& units, double seconds, std::mt19937_64& rng) {
  constexpr double kMetresPerDegree = 111320.0;
  constexpr double kRad = std::numbers::pi / 180.0;
  for (auto& u : units) {
    if (u.top_speed <= 0) continue;
    const double coslat = std::cos(u.lat * kRad);
    const double east = (u.lon - u.home_lon) * kMetresPerDegree * coslat;
    const double north = (u.lat - u.home_lat) * kMetresPerDegree;
    if (std::hypot(east, north) > 3000) {
      u.heading = std::fmod(std::atan2(-east, -north) / kRad + 360.0, 360.0);  // back home
    } else {
      u.heading = std::fmod(u.heading + std::uniform_real_distribution<double>(-40, 40)(rng) + 360.0, 360.0);
    }
    const double d = std::uniform_real_distribution<double>(0, u.top_speed)(rng) * seconds;
    u.lat += d * std::cos(u.heading * kRad) / kMetresPerDegree;
    u.lon += d * std::sin(u.heading * kRad) / (kMetresPerDegree * coslat);
  }
}

/// Every `every` seconds until stopped, all units report at once through the batch route
/// (1,000 at most a request). A refused credential ends the reports with a message (the
/// alerts go on); any other failure is counted and the next round tries again.
void report_units(const Options& o, std::vector<SimUnit> units) {
  xiaonao::client::HttpClient http(o.host, o.port, std::chrono::seconds(10), o.tls);
  if (!o.api_key.empty()) http.set_header("Authorization", "Bearer " + o.api_key);
  std::mt19937_64 rng(o.seed ^ 0x756e697473ull);
  long rounds = 0, moved = 0, failed = 0;
  auto next = Clock::now();
  while (!g_stop.load()) {
    const auto at = rfc3339_cst(SysClock::now());
    for (std::size_t from = 0; from < units.size() && !g_stop.load(); from += 1000) {
      json body{{"positions", json::array()}};
      for (std::size_t i = from; i < std::min(units.size(), from + 1000); ++i) {
        const auto& u = units[i];
        body["positions"].push_back({{"unit_id", u.id},
                                     {"lon", std::round(u.lon * 1e6) / 1e6},
                                     {"lat", std::round(u.lat * 1e6) / 1e6},
                                     {"at", at},
                                     {"heading", std::floor(u.heading)}});
      }
      try {
        const auto res = http.post_json("/api/v1/units/positions", body);
        if (res.status == 401 || res.status == 403) {
          std::fprintf(g_log, "xiaonao-replay: unit reports refused (%d: %s); they need the scope units:write. "
                              "Alerts go on.\n", res.status, error_message(res.body).c_str());
          std::fflush(g_log);
          return;
        }
        if (res.status == 200) {
          moved += json::parse(res.body).value("moved", 0L);
        } else {
          ++failed;
        }
      } catch (const std::exception&) {
        ++failed;
      }
    }
    if (++rounds % 20 == 1 && !o.quiet) {
      std::fprintf(g_log, "%s unit reports: %ld rounds of %zu units, %ld positions moved, %ld requests failed\n",
                   wall_clock_now().c_str(), rounds, units.size(), moved, failed);
      std::fflush(g_log);
    }
    next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.unit_reports));
    while (!g_stop.load() && Clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    wander(units, o.unit_reports, rng);
  }
}

int watch_feed(const Options& o) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!o.api_key.empty()) headers.emplace_back("Authorization", "Bearer " + o.api_key);
  std::string target = "/ws/feed";
  if (o.since >= 0) target += "?since=" + std::to_string(o.since);
  std::unique_ptr<xiaonao::client::WsClient> ws;
  try {
    ws = std::make_unique<xiaonao::client::WsClient>(o.host, o.port, target, std::chrono::seconds(10),
                                                      headers, o.tls);
  } catch (const std::exception& e) {
    // The client reports a refused upgrade as "...: HTTP <status> <body>".
    const std::string what = e.what();
    for (int status : {401, 403}) {
      const std::string mark = "HTTP " + std::to_string(status);
      if (auto pos = what.find(mark); pos != std::string::npos) {
        credentials_refused(status, error_message(what.substr(pos + mark.size() + 1)),
                            "the permission feed:read (the access token of a duty officer, station "
                            "chief or county commander, or a key with feed:read)");
      }
    }
    std::fprintf(stderr, "xiaonao-replay: %s\n", what.c_str());
    return 1;
  }
  std::fprintf(stderr, "xiaonao-replay: watching %s://%s:%u%s (Ctrl-C stops)\n", o.tls ? "wss" : "ws", o.host.c_str(),
               o.port, target.c_str());
  while (!g_stop.load()) {
    if (auto msg = ws->read(std::chrono::milliseconds(200))) {
      std::fputs(msg->c_str(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    } else if (ws->closed()) {
      std::fprintf(stderr, "xiaonao-replay: the server closed the feed (close code %d); resume with --since "
                           "<last seq>\n", ws->close_code());
      return 1;
    }
  }
  ws->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  g_dry_run = opt.dry_run;
  if (g_dry_run) g_log = stderr;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  if (opt.watch) return watch_feed(opt);
  try {
    // The trusted certificates are read here, before any thread needs them (a bad --ca).
    xiaonao::client::HttpClient check(opt.host, opt.port, std::chrono::seconds(1), opt.tls);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonao-replay: %s\n", e.what());
    return 2;
  }
  if (opt.api_key.empty() && !g_dry_run) {
    std::fprintf(stderr, "xiaonao-replay: warning: no credentials (XIAONAO_API_KEY or --api-key); the "
                         "server will answer 401\n");
  }

  std::fprintf(g_log, "xiaonao-replay: url=%s://%s:%u rate=%g/s history=%ld count=%s seed=%llu\n",
              opt.tls ? "https" : "http", opt.host.c_str(), opt.port, opt.rate, opt.history,
              opt.count < 0 ? "unlimited" : std::to_string(opt.count).c_str(),
              static_cast<unsigned long long>(opt.seed));
  std::fflush(g_log);

  std::optional<CountySample> county;
  if (!opt.county.empty()) {
    county = load_county(opt.county);
    std::fprintf(g_log, "xiaonao-replay: places and people from the %s in %s (%zu addresses, %zu markers, "
                        "%zu residents sampled)\n",
                 county->summary.c_str(), opt.county.c_str(), county->addresses.size(), county->markers.size(),
                 county->residents.size());
    std::fflush(g_log);
  }

  // The county's units report their positions on a thread of their own while the alerts go.
  std::thread unit_thread;
  if (county && opt.unit_reports > 0 && !g_dry_run) {
    std::mt19937_64 rng(opt.seed);
    auto units = load_units(opt.county, rng);
    if (!units.empty()) {
      std::fprintf(g_log, "xiaonao-replay: %zu units report their positions every %g s\n", units.size(),
                   opt.unit_reports);
      std::fflush(g_log);
      unit_thread = std::thread(report_units, std::cref(opt), std::move(units));
    }
  }
  struct JoinAtExit {
    std::thread& t;
    ~JoinAtExit() {
      g_stop.store(true);
      if (t.joinable()) t.join();
    }
  } join_at_exit{unit_thread};

  xiaonao::client::HttpClient http(opt.host, opt.port, std::chrono::seconds(10), opt.tls);
  if (!opt.api_key.empty()) http.set_header("Authorization", "Bearer " + opt.api_key);
  Generator gen(opt.seed);
  if (county) gen.use_county(&*county);
  long n = 0;
  int exit_code = 0;

  // The demo dataset: back-dated alerts, oldest first, as fast as the server takes them.
  if (opt.history > 0) {
    auto now = SysClock::now();
    std::vector<SysClock::time_point> times;
    times.reserve(static_cast<std::size_t>(opt.history));
    for (long i = 0; i < opt.history; ++i) times.push_back(gen.history_time(now));
    std::sort(times.begin(), times.end());
    Stats st;
    auto t0 = Clock::now();
    auto next_summary = t0 + std::chrono::seconds(10);
    for (long i = 0; i < opt.history && !g_stop.load(); ++i) {
      json a = gen.make(opt.seed, ++n, times[static_cast<std::size_t>(i)]);
      post_alert(http, a, st, opt.quiet, "history", n);
      if (Clock::now() >= next_summary) {
        print_summary("history", st, std::chrono::duration<double>(Clock::now() - t0).count());
        next_summary += std::chrono::seconds(10);
      }
    }
    print_summary("history done", st, std::chrono::duration<double>(Clock::now() - t0).count());
    if (st.failed > 0 || st.rejected > 0) exit_code = 1;
  }

  // Live: alert k is due at start + k/rate, whatever the previous ones took (no drift).
  if (opt.count != 0 && !g_stop.load()) {
    Stats st;
    auto start = Clock::now();
    auto next_summary = start + std::chrono::seconds(10);
    Stats last_window;
    auto last_window_t = start;
    for (long k = 0; (opt.count < 0 || k < opt.count) && !g_stop.load(); ++k) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(k) / opt.rate));
      // Sleep in short steps so that a signal stops us promptly.
      while (!g_stop.load() && Clock::now() < due) {
        auto left = due - Clock::now();
        std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(200)));
      }
      if (g_stop.load()) break;
      // The sender took the call a moment before it reached us.
      auto received = SysClock::now() - std::chrono::milliseconds(gen.uniform(0, 3000));
      json a = gen.make(opt.seed, ++n, received);
      post_alert(http, a, st, opt.quiet, "live", n);
      if (Clock::now() >= next_summary) {
        Stats w = st;
        w.posted -= last_window.posted;
        w.created -= last_window.created;
        w.duplicate -= last_window.duplicate;
        w.rejected -= last_window.rejected;
        w.failed -= last_window.failed;
        w.retries -= last_window.retries;
        w.latency_ms_sum -= last_window.latency_ms_sum;
        print_summary("last 10s", w,
                      std::chrono::duration<double>(Clock::now() - last_window_t).count());
        last_window = st;
        last_window_t = Clock::now();
        next_summary += std::chrono::seconds(10);
      }
    }
    print_summary("live total", st, std::chrono::duration<double>(Clock::now() - start).count());
    if (st.failed > 0 || st.rejected > 0) exit_code = 1;
  }
  return exit_code;
}
