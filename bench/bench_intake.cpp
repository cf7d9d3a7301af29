// xiaonao-bench: a load generator for alert intake and the live feed (not a timed test).
//
//   xiaonao-bench --url http://127.0.0.1:PORT [--clients 8] [--subscribers 4] [--duration 10]
//                 [--warmup 2] [--rate 0] [--json] [--timeline] [--label NAME]
//   xiaonao-bench --url ... --idle-subscribers 1000 --server-pid PID [--hold 5] [--json]
//
// Load mode: N posting threads, each with its own keep-alive HttpClient, post alerts for
// warmup + duration seconds, closed loop (--rate 0: each thread posts as soon as its previous
// answer arrived) or on an absolute schedule totalling --rate alerts/s. M WebSocket subscribers
// on /ws/feed read live (asynchronously, all on --sub-threads threads, so that the load
// generator's own scheduling does not dominate the delay it measures). Reported over the
// measured window (after the warm-up):
//   - alerts/s: 201 answers received in the window / window length;
//   - POST latency: send to answer; in rate mode also from the scheduled send time (what a
//     sender would see if the server fell behind: no coordinated omission);
//   - commit-to-feed delay: from receiving the 201 (the commit happened just before it) to a
//     subscriber receiving the alert.received frame with that alert_id, on one steady_clock;
//     a frame that arrives before its 201 counts as 0 (and is counted);
//   - feed order: every subscriber's seq must be strictly increasing with no gaps, and every
//     subscriber must have seen every measured alert.
// Idle mode: opens K subscribers that only answer pings, and reports the server's VmRSS
// (from /proc/PID/status) before and after.
// Credentials: XIAONAO_API_KEY (or --api-key), a key with alerts:write and feed:read, sent as
// `Authorization: Bearer` by every poster and subscriber.
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "xiaonao/client/client.hpp"
#include "xiaonao/domain/ws_frame.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// --- options -----------------------------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  int clients = 8;
  int subscribers = 0;
  double duration = 10;
  double warmup = 2;
  double rate = 0;   // total alerts/s; 0 = closed loop
  double drain = 5;  // max seconds to wait for the feed to deliver the last alerts
  int duplicates_pct = 5;  // repeat calls: the previous alert's place and category (merged)
  bool json_out = false;
  bool timeline = false;  // POST latency second by second
  std::string label;
  int idle_subscribers = 0;
  int server_pid = 0;
  double hold = 5;
  int sub_threads = 2;  // 0: a blocking WsClient thread per subscriber
  std::string api_key;  // sent as Authorization: Bearer
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::cerr << "xiaonao-bench: " << msg << "\n\n";
  std::cerr
      << "usage: xiaonao-bench --url http://HOST:PORT [options]\n"
         "load mode:\n"
         "  --clients N           concurrent posting threads, one keep-alive connection each (8)\n"
         "  --subscribers M       live /ws/feed subscribers (0)\n"
         "  --duration S          measured seconds (10)\n"
         "  --warmup S            seconds of load before measuring (2)\n"
         "  --rate R              total alerts/s on an absolute schedule; 0 = closed loop (0)\n"
         "  --duplicates PCT      percent of alerts that repeat the client's previous call (same\n"
         "                        place and category: merged by the server) (5)\n"
         "  --drain S             max seconds to wait for the feed after posting stops (5)\n"
         "  --sub-threads T       threads reading all subscribers asynchronously (2); 0 = one\n"
         "                        thread with a blocking WsClient per subscriber\n"
         "idle mode:\n"
         "  --idle-subscribers K  open K feed connections that sit idle; report server memory\n"
         "  --server-pid PID      the server process, to read VmRSS from /proc/PID/status\n"
         "  --hold S              seconds to hold the idle connections before measuring (5)\n"
         "output:\n"
         "  --json                also print one JSON line with the results\n"
         "  --timeline            also print the POST latency of each second of the window\n"
         "  --label NAME          a name for the scenario, echoed in the output\n"
         "credentials:\n"
         "  --api-key KEY         key with alerts:write and feed:read (default: the environment\n"
         "                        variable XIAONAO_API_KEY, which keeps it out of ps)\n";
  std::exit(2);
}

void parse_url(const std::string& url, Options& o) {
  std::string why;
  const auto e = xiaonao::client::parse_http_url(url, why);
  if (!e) usage(why.c_str());
  if (e->tls) usage("the load generator speaks plain HTTP only: use an http:// URL");
  o.host = e->host;
  o.port = e->port;
}

Options parse_args(int argc, char** argv) {
  Options o;
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
      } else if (a == "--clients") {
        o.clients = std::stoi(value());
      } else if (a == "--subscribers") {
        o.subscribers = std::stoi(value());
      } else if (a == "--duration") {
        o.duration = std::stod(value());
      } else if (a == "--warmup") {
        o.warmup = std::stod(value());
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else if (a == "--duplicates") {
        o.duplicates_pct = std::stoi(value());
        if (o.duplicates_pct < 0 || o.duplicates_pct > 100) usage("--duplicates must be 0..100");
      } else if (a == "--drain") {
        o.drain = std::stod(value());
      } else if (a == "--timeline") {
        o.timeline = true;
      } else if (a == "--json") {
        o.json_out = true;
      } else if (a == "--label") {
        o.label = value();
      } else if (a == "--idle-subscribers") {
        o.idle_subscribers = std::stoi(value());
      } else if (a == "--server-pid") {
        o.server_pid = std::stoi(value());
      } else if (a == "--sub-threads") {
        o.sub_threads = std::stoi(value());
        if (o.sub_threads < 0) usage("--sub-threads must be >= 0");
      } else if (a == "--hold") {
        o.hold = std::stod(value());
      } else if (a == "--api-key") {
        o.api_key = value();
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
  if (o.api_key.empty()) {
    if (const char* env = std::getenv("XIAONAO_API_KEY")) o.api_key = env;
  }
  if (o.clients < 1 && o.idle_subscribers == 0) usage("--clients must be >= 1");
  if (o.subscribers < 0 || o.idle_subscribers < 0) usage("counts must be >= 0");
  if (!(o.duration > 0) || o.warmup < 0 || o.rate < 0 || o.drain < 0 || o.hold < 0)
    usage("durations and rate must be positive");
  return o;
}

// --- small helpers -----------------------------------------------------------------------------

/// The headers every request and handshake carries.
std::vector<std::pair<std::string, std::string>> auth_headers(const Options& o) {
  if (o.api_key.empty()) return {};
  return {{"Authorization", "Bearer " + o.api_key}};
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string rfc3339_utc_now() {
  using namespace std::chrono;
  auto t = floor<microseconds>(system_clock::now());
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                static_cast<long>(hms.subseconds().count()));
  return buf;
}

/// Nearest-rank percentile of a sorted vector (0 when empty).
template <class T>
double percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]);
}

/// The server's resident memory in KiB, or -1.
long read_rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

/// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

/// Allows as many sockets as the hard limit permits (1,000 idle subscribers need it).
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// --- reading feed frames cheaply ---------------------------------------------------------------

/// What the benchmark needs from a feed frame. Views point into the frame text.
struct FrameInfo {
  long long seq = -1;
  std::string_view type;
  std::string_view alert_id;
};

/// The frames whose data.alert_id the benchmark times.
bool is_alert_frame(std::string_view type) { return type == "alert.received" || type == "alert.merged"; }

/// Finds the top-level "seq" and "type" and data.alert_id in one pass without building a DOM:
/// with 100 subscribers at 1,000 alerts/s a full parse of every frame would cost more CPU than
/// the server spends producing them, on a machine the server shares.
bool scan_frame(std::string_view s, FrameInfo& out) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  int depth = 0;
  int data_depth = -1;        // depth of the "data" object while inside it
  bool data_next = false;     // the value about to start is top-level "data"
  auto skip_ws = [&] {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  };
  // Returns the string starting at s[i] == '"', leaves i after the closing quote.
  auto read_string = [&]() -> std::optional<std::string_view> {
    std::size_t start = ++i;
    while (i < n && s[i] != '"') {
      if (s[i] == '\\') ++i;
      ++i;
    }
    if (i >= n) return std::nullopt;
    std::string_view v = s.substr(start, i - start);
    ++i;
    return v;
  };
  while (i < n) {
    char c = s[i];
    if (c == '"') {
      auto str = read_string();
      if (!str) return false;
      skip_ws();
      if (i < n && s[i] == ':') {
        ++i;
        skip_ws();
        std::string_view key = *str;
        if (depth == 1 && key == "seq") {
          const auto [end, ec] = std::from_chars(s.data() + i, s.data() + n, out.seq);
          if (ec != std::errc()) return false;
          i = static_cast<std::size_t>(end - s.data());
        } else if (depth == 1 && key == "type" && i < n && s[i] == '"') {
          auto v = read_string();
          if (!v) return false;
          out.type = *v;
        } else if (depth == 1 && key == "data") {
          data_next = true;
        } else if (depth == 2 && data_depth == 2 && key == "alert_id" && i < n && s[i] == '"') {
          auto v = read_string();
          if (!v) return false;
          out.alert_id = *v;
        }
        // Done as soon as nothing more is needed: the rest of the frame (most of it) is not read.
        if (out.seq >= 0 && !out.type.empty() && (!out.alert_id.empty() || !is_alert_frame(out.type))) return true;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
      if (data_next && c == '{' && depth == 2) data_depth = 2;
      data_next = false;
    } else if (c == '}' || c == ']') {
      if (depth == data_depth) data_depth = -1;
      --depth;
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != ',') {
      data_next = false;
    }
    ++i;
  }
  return out.seq >= 0;
}

// --- shared state between posters and subscribers ----------------------------------------------

/// alert_id (hashed) -> when its 201 arrived. Sharded so posters and subscribers rarely meet.
class ResponseTimes {
 public:
  struct Entry {
    std::int64_t at_ns;
    bool measured;
  };
  void put(std::string_view alert_id, Entry e) {
    auto h = hash(alert_id);
    auto& sh = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.map.emplace(h, e);
  }
  std::optional<Entry> get(std::uint64_t h) {
    auto& sh = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.map.find(h);
    if (it == sh.map.end()) return std::nullopt;
    return it->second;
  }
  static std::uint64_t hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

 private:
  static constexpr std::size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::uint64_t, Entry> map;
  };
  Shard shards_[kShards];
};

struct PosterResult {
  std::vector<std::uint32_t> latency_us;        // send -> answer, measured requests
  std::vector<std::uint32_t> sched_latency_us;  // scheduled send -> answer (rate mode)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> by_second;  // (second of the window, latency) with --timeline
  long ok_in_window = 0;                        // 201s whose answer arrived in the window
  long ok_measured = 0;                         // 201s for requests sent in the window
  long ok_total = 0;
  long merged = 0;  // 201s that joined an open incident
  long http_4xx = 0, http_5xx = 0, http_other = 0, io_errors = 0;
  std::int64_t max_latency_us = 0;
  std::string first_error;
};

struct SubscriberResult {
  std::vector<std::uint32_t> delay_us;
  long frames = 0;
  long matched = 0;              // measured alerts seen
  long early = 0;                // frames that arrived before the 201 did
  long unmatched = 0;            // alert frames not posted by this run (or lost answers)
  long order_violations = 0;
  std::string first_violation;
  int close_code = 0;
  bool closed = false;
  std::string error;
  std::vector<std::pair<std::uint64_t, std::int64_t>> pending;  // (hash, t) seen before 201
};

struct Shared {
  Options opt;
  ResponseTimes times;
  std::string run_id;
  std::int64_t start_ns = 0, measure_ns = 0, end_ns = 0;
  std::atomic<bool> stop_posting{false};
  std::atomic<bool> stop_reading{false};
  std::vector<std::unique_ptr<std::atomic<long>>> sub_alert_frames;  // per subscriber
  std::atomic<long> posted_ok{0};
};

const char* kCategories[] = {"dispute", "noise", "traffic_accident", "theft", "help", "fraud",
                             "medical", "assault", "lost_property", "other"};
const char* kDescriptions[] = {"邻居因电梯噪音发生纠纷", "楼上深夜装修噪音扰民", "两车追尾，无人员受伤",
                               "电动车被盗", "被锁在门外，求助开锁", "收到刷单信息，正准备转账",
                               "老人在家中晕倒", "酒后斗殴，有人受伤", "钱包遗失在出租车上",
                               "路灯损坏，夜间很黑"};

/// Where a client's previous alert was, for the repeat calls.
struct Recent {
  bool have = false;
  double lon = 0, lat = 0;
  int category = 0;
};

/// One alert of about the size of a real one (~350 bytes), unique source_ref per run.
/// Positions are spread uniformly over a 10° × 10° box, so that two independent alerts are
/// rarely within the duplicate-merge radius (200 m) of each other, as in a real county where
/// a few percent of calls repeat an incident already called in; `duplicates_pct` of the alerts
/// are such repeat calls: the client's previous position (within ~20 m) and category, which
/// the server merges into the open incident (alert.merged).
std::string make_alert(const std::string& run_id, int client, long i, std::mt19937_64& rng, Recent& recent,
                       int duplicates_pct) {
  std::uniform_int_distribution<int> cat(0, 9);
  std::uniform_real_distribution<double> d(-5.0, 5.0);
  std::uniform_real_distribution<double> near(-0.0002, 0.0002);
  std::uniform_int_distribution<int> pct(0, 99);
  const bool repeat = recent.have && pct(rng) < duplicates_pct;
  if (repeat) {
    recent.lon += near(rng);
    recent.lat += near(rng);
  } else {
    recent = Recent{true, 119.5725 + d(rng), 28.1160 + d(rng), cat(rng)};
  }
  const int c = recent.category;
  char phone[16];
  std::snprintf(phone, sizeof phone, "138%08d", static_cast<int>(rng() % 100000000));
  json a{{"source", "bench"},
         {"source_ref", run_id + "-" + std::to_string(client) + "-" + std::to_string(i)},
         {"received_at", rfc3339_utc_now()},
         {"category", kCategories[c]},
         {"caller", {{"phone", phone}, {"name", "王芳"}}},
         {"location", {{"lon", recent.lon}, {"lat", recent.lat}}},
         {"address", "浙江省丽水市云和县浮云街道解放街58号"},
         {"description", kDescriptions[c]}};
  return a.dump();
}

void poster(Shared& sh, int id, PosterResult& r) {
  const auto& o = sh.opt;
  // Seeded by the run too: a client of the next run must not send the same places again
  // (they would merge into this run's incidents, still open).
  std::mt19937_64 rng(std::hash<std::string>{}(sh.run_id) ^ (static_cast<std::uint64_t>(id) * 7919 + 17));
  std::optional<xiaonao::client::HttpClient> http;
  try {
    http.emplace(o.host, o.port, std::chrono::seconds(10));
    if (!o.api_key.empty()) http->set_header("Authorization", "Bearer " + o.api_key);
  } catch (const std::exception& e) {
    r.first_error = e.what();
    ++r.io_errors;
    return;
  }
  r.latency_us.reserve(1 << 16);
  Recent recent;
  for (long i = 0; !sh.stop_posting.load(std::memory_order_relaxed); ++i) {
    std::int64_t due = 0;
    if (o.rate > 0) {
      // Slot i*clients + id of one global absolute schedule: no drift, clients interleaved.
      double slot = static_cast<double>(i) * o.clients + id;
      due = sh.start_ns + static_cast<std::int64_t>(slot / o.rate * 1e9);
      if (due >= sh.end_ns) break;
      std::int64_t wait = due - now_ns();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
    std::string body = make_alert(sh.run_id, id, i, rng, recent, o.duplicates_pct);
    std::int64_t t0 = now_ns();
    if (t0 >= sh.end_ns) break;
    int status = 0;
    std::string alert_id;
    try {
      auto res = http->request("POST", "/api/v1/alerts", body);
      status = res.status;
      if (status == 201) {
        const auto answer = res.json();
        alert_id = answer.at("alert_id").get<std::string>();
        if (answer.value("merged", false)) ++r.merged;
      } else if (status == 401 || status == 403) {
        // Every later request would be refused the same way: stop this poster.
        ++r.http_4xx;
        if (r.first_error.empty())
          r.first_error = (status == 401 ? "HTTP 401 unauthorized (set XIAONAO_API_KEY to a live key) "
                                         : "HTTP 403 forbidden (the key needs alerts:write) ") +
                          res.body.substr(0, 200);
        break;
      } else if (r.first_error.empty()) {
        r.first_error = "HTTP " + std::to_string(status) + " " + res.body.substr(0, 200);
      }
    } catch (const std::exception& e) {
      ++r.io_errors;
      if (r.first_error.empty()) r.first_error = e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    std::int64_t t1 = now_ns();
    bool measured = t0 >= sh.measure_ns;
    if (status == 201) {
      sh.times.put(alert_id, {t1, measured});
      ++r.ok_total;
      sh.posted_ok.fetch_add(1, std::memory_order_relaxed);
      if (t1 >= sh.measure_ns && t1 < sh.end_ns) ++r.ok_in_window;
      if (measured) {
        ++r.ok_measured;
        auto us = static_cast<std::uint32_t>((t1 - t0) / 1000);
        r.latency_us.push_back(us);
        if (o.timeline) r.by_second.emplace_back(static_cast<std::uint32_t>((t0 - sh.measure_ns) / 1000000000), us);
        r.max_latency_us = std::max<std::int64_t>(r.max_latency_us, us);
        if (o.rate > 0) r.sched_latency_us.push_back(static_cast<std::uint32_t>((t1 - due) / 1000));
      }
    } else if (status >= 400 && status < 500) {
      ++r.http_4xx;
    } else if (status >= 500) {
      ++r.http_5xx;
    } else {
      ++r.http_other;
    }
  }
}

/// Checks one feed frame and records its delay. Called by one subscriber's reader only.
void on_frame(Shared& sh, int id, std::string_view msg, std::int64_t t, SubscriberResult& r,
              long long& last_seq) {
  ++r.frames;
  FrameInfo f;
  if (!scan_frame(msg, f)) {
    ++r.order_violations;
    if (r.first_violation.empty())
      r.first_violation = "unparsable frame: " + std::string(msg.substr(0, 120));
    return;
  }
  if (last_seq >= 0 && f.seq != last_seq + 1) {
    ++r.order_violations;
    if (r.first_violation.empty())
      r.first_violation = "seq " + std::to_string(f.seq) + " after " + std::to_string(last_seq);
  }
  last_seq = f.seq;
  // An alert that joined an open incident (duplicate merge, issue 4) is announced as
  // alert.merged instead: it is delivered all the same.
  if (!is_alert_frame(f.type) || f.alert_id.empty()) return;
  sh.sub_alert_frames[static_cast<std::size_t>(id)]->fetch_add(1, std::memory_order_relaxed);
  auto h = ResponseTimes::hash(f.alert_id);
  if (auto e = sh.times.get(h)) {
    if (e->measured) {
      ++r.matched;
      r.delay_us.push_back(
          static_cast<std::uint32_t>(std::max<std::int64_t>(0, t - e->at_ns) / 1000));
    }
  } else {
    // The frame beat the 201 to us (or belongs to someone else's alert): settle it at the end.
    r.pending.emplace_back(h, t);
  }
}

/// --sub-threads 0: one thread per subscriber, each with a blocking WsClient.
void blocking_subscriber(Shared& sh, int id, xiaonao::client::WsClient& ws, SubscriberResult& r) {
  long long last_seq = -1;
  while (!sh.stop_reading.load(std::memory_order_relaxed)) {
    auto msg = ws.read(std::chrono::milliseconds(100));
    if (!msg) {
      if (ws.closed()) {
        r.closed = true;
        r.close_code = ws.close_code();
        break;
      }
      continue;
    }
    on_frame(sh, id, *msg, now_ns(), r, last_seq);
  }
}

/// The default: all subscribers share a few threads running one io_context. With 100
/// subscribers a thread each would spend more CPU switching between them than reading, on a
/// machine the server shares, and the measured feed delay would be ours rather than its.
/// They speak WebSocket by hand (a raw socket and domain::ws's parser in its client-side mode):
/// one read takes every frame that has arrived, where Beast's websocket stream completes (and
/// posts) once per message, which at 200,000 frames/s cost this process most of a core.
class AsyncSubscribers {
 public:
  AsyncSubscribers(Shared& sh, std::vector<SubscriberResult>& results)
      : sh_(sh), results_(results) {}
  ~AsyncSubscribers() {
    if (!threads_.empty()) stop();
  }
  AsyncSubscribers(const AsyncSubscribers&) = delete;
  AsyncSubscribers& operator=(const AsyncSubscribers&) = delete;

  /// Connects `count` subscribers (blocking, before any load starts); returns how many.
  int connect(int count) {
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(sh_.opt.host, std::to_string(sh_.opt.port));
    const std::string request = "GET /ws/feed HTTP/1.1\r\nHost: " + sh_.opt.host + ":" +
                                std::to_string(sh_.opt.port) +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n" +
                                (sh_.opt.api_key.empty() ? std::string() : "Authorization: Bearer " + sh_.opt.api_key + "\r\n") +
                                "\r\n";
    for (int i = 0; i < count; ++i) {
      auto sub = std::make_unique<Sub>(asio::make_strand(ioc_));
      sub->id = i;
      asio::connect(sub->sock, endpoints);
      sub->sock.set_option(tcp::no_delay(true));
      asio::write(sub->sock, asio::buffer(request));
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos) {
        const auto n = sub->sock.read_some(asio::buffer(sub->buf));
        head.append(sub->buf.data(), n);
      }
      const auto end = head.find("\r\n\r\n") + 4;
      if (head.rfind("HTTP/1.1 101", 0) != 0) {
        const bool auth = head.rfind("HTTP/1.1 401", 0) == 0 || head.rfind("HTTP/1.1 403", 0) == 0;
        throw std::runtime_error("feed handshake refused: " + head.substr(0, head.find('\r')) +
                                 (auth ? " (set XIAONAO_API_KEY to a live key with feed:read)" : ""));
      }
      sub->early = head.substr(end);
      subs_.push_back(std::move(sub));
    }
    return count;
  }

  /// Subscribers connected so far.
  int size() const { return static_cast<int>(subs_.size()); }

  /// Starts reading on `threads` threads.
  void start(int threads) {
    for (auto& sub : subs_) {
      asio::dispatch(sub->sock.get_executor(), [this, s = sub.get()] {
        if (!s->early.empty() && !on_bytes(s, s->early)) return;
        do_read(s);
      });
    }
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  /// Stops reading; pending reads are abandoned (the results stay in `results`).
  void stop() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    for (auto& sub : subs_) {
      boost::system::error_code ec;
      sub->sock.shutdown(tcp::socket::shutdown_both, ec);
      sub->sock.close(ec);
    }
  }

 private:
  using Parser = xiaonao::domain::ws::FrameParser;
  using Opcode = xiaonao::domain::ws::Opcode;

  struct Sub {
    explicit Sub(asio::strand<asio::io_context::executor_type> ex) : sock(ex) {}
    tcp::socket sock;
    std::array<char, 64 * 1024> buf;
    std::string early;  // bytes that arrived with the 101
    Parser parser{16 * 1024 * 1024, Parser::Sender::server};
    std::string out;      // control frames (pongs, our close reply) being written
    std::string pending;  // control frames waiting for that write
    long long last_seq = -1;
    int id = 0;
  };

  void do_read(Sub* s) {
    s->sock.async_read_some(asio::buffer(s->buf), [this, s](const boost::system::error_code& ec, std::size_t n) {
      auto& r = results_[static_cast<std::size_t>(s->id)];
      if (ec) {
        if (!r.closed) {
          r.closed = true;
          r.error = ec.message();
        }
        return;
      }
      if (on_bytes(s, std::string_view(s->buf.data(), n))) do_read(s);
    });
  }

  // Handles what arrived; false once the connection is over. Frames are read where they lie
  // in the read buffer (FrameParser's sink form): nothing is allocated per frame.
  bool on_bytes(Sub* s, std::string_view bytes) {
    struct Sink final : Parser::EventSink {
      AsyncSubscribers& self;
      Sub* s;
      SubscriberResult& r;
      std::int64_t t;
      bool over = false;
      Sink(AsyncSubscribers& a, Sub* sub, SubscriberResult& res, std::int64_t at) : self(a), s(sub), r(res), t(at) {}
      void on_event(const Parser::EventView& ev) override {
        if (over) return;
        if (ev.op == Opcode::text) {
          on_frame(self.sh_, s->id, ev.payload, t, r, s->last_seq);
        } else if (ev.op == Opcode::ping) {
          self.send_control(s, Opcode::ping, ev.payload);
        } else if (ev.op == Opcode::close) {
          r.closed = true;
          r.close_code = ev.code;
          self.send_control(s, Opcode::close, {});
          over = true;
        }
      }
    } sink(*this, s, results_[static_cast<std::size_t>(s->id)], now_ns());
    const auto error = s->parser.feed(bytes, sink);
    if (sink.over) return false;
    if (error) {
      sink.r.closed = true;
      sink.r.error = "bad frame from the server (" + std::to_string(error) + ")";
      return false;
    }
    return true;
  }

  // Queues a masked pong (for a ping) or close; one write in flight.
  void send_control(Sub* s, Opcode asked, std::string_view payload) {
    namespace wsf = xiaonao::domain::ws;
    std::string frame;
    const auto op = asked == Opcode::ping ? Opcode::pong : Opcode::close;
    wsf::append_header(frame, op, payload.size());
    frame[1] = static_cast<char>(frame[1] | 0x80);  // masked, with a zero key: payload unchanged
    frame.append(4, '\0');
    frame.append(payload);
    s->pending += frame;
    flush(s);
  }

  void flush(Sub* s) {
    if (!s->out.empty() || s->pending.empty()) return;
    s->out.swap(s->pending);
    asio::async_write(s->sock, asio::buffer(s->out), [this, s](const boost::system::error_code& ec, std::size_t) {
      s->out.clear();
      if (!ec) flush(s);
    });
  }

  Shared& sh_;
  std::vector<SubscriberResult>& results_;
  asio::io_context ioc_;
  std::vector<std::unique_ptr<Sub>> subs_;
  std::vector<std::thread> threads_;
};

std::string fmt_ms(double us) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", us / 1000.0);
  return b;
}

// --- load mode ---------------------------------------------------------------------------------

int run_load(const Options& o) {
  Shared sh;
  sh.opt = o;
  {
    std::random_device rd;
    char id[32];
    std::snprintf(id, sizeof id, "b%08x%04x", static_cast<unsigned>(rd()),
                  static_cast<unsigned>(now_ns() & 0xffff));
    sh.run_id = id;
  }
  std::printf("xiaonao-bench%s%s: url=http://%s:%u clients=%d subscribers=%d %s warmup=%gs "
              "duration=%gs run=%s\n",
              o.label.empty() ? "" : " ", o.label.c_str(), o.host.c_str(), o.port, o.clients,
              o.subscribers,
              o.rate > 0 ? ("rate=" + std::to_string(static_cast<long>(o.rate)) + "/s").c_str()
                         : "closed-loop",
              o.warmup, o.duration, sh.run_id.c_str());
  std::fflush(stdout);

  // Subscribers connect first: the feed starts live, so they must be there before the load.
  std::vector<SubscriberResult> sub_results(static_cast<std::size_t>(o.subscribers));
  for (int i = 0; i < o.subscribers; ++i)
    sh.sub_alert_frames.push_back(std::make_unique<std::atomic<long>>(0));
  std::vector<std::unique_ptr<xiaonao::client::WsClient>> ws;
  std::vector<std::thread> sub_threads;
  AsyncSubscribers async_subs(sh, sub_results);
  if (o.sub_threads > 0) {
    async_subs.connect(o.subscribers);
    async_subs.start(o.subscribers > 0 ? o.sub_threads : 0);
  } else {
    for (int i = 0; i < o.subscribers; ++i)
      ws.push_back(std::make_unique<xiaonao::client::WsClient>(o.host, o.port, "/ws/feed",
                                                               std::chrono::seconds(10), auth_headers(o)));
    for (int i = 0; i < o.subscribers; ++i) {
      sub_threads.emplace_back(blocking_subscriber, std::ref(sh), i,
                               std::ref(*ws[static_cast<std::size_t>(i)]),
                               std::ref(sub_results[static_cast<std::size_t>(i)]));
    }
  }

  sh.start_ns = now_ns() + 20'000'000;  // let the threads start
  double cpu_start = own_cpu_seconds();
  auto wall_start = Clock::now();
  sh.measure_ns = sh.start_ns + static_cast<std::int64_t>(o.warmup * 1e9);
  sh.end_ns = sh.measure_ns + static_cast<std::int64_t>(o.duration * 1e9);
  // The window's first second on the wall clock (UTC), for lining the timeline up with server
  // and PostgreSQL logs.
  const auto measure_wall = std::chrono::system_clock::to_time_t(
      std::chrono::system_clock::now() + std::chrono::nanoseconds(sh.measure_ns - now_ns()));
  std::vector<PosterResult> post_results(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> post_threads;
  for (int i = 0; i < o.clients; ++i) {
    post_threads.emplace_back([&, i] {
      std::int64_t wait = sh.start_ns - now_ns();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      poster(sh, i, post_results[static_cast<std::size_t>(i)]);
    });
  }
  // Stop posting at the end of the window.
  while (now_ns() < sh.end_ns) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  sh.stop_posting = true;
  for (auto& t : post_threads) t.join();

  // Let the feed catch up: until every subscriber has seen as many alert frames as we posted.
  long posted = sh.posted_ok.load();
  auto drain_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(o.drain));
  while (Clock::now() < drain_deadline && o.subscribers > 0) {
    bool all = true;
    for (int i = 0; i < o.subscribers; ++i) {
      if (sh.sub_alert_frames[static_cast<std::size_t>(i)]->load() < posted) all = false;
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sh.stop_reading = true;
  for (auto& t : sub_threads) t.join();
  async_subs.stop();
  for (auto& w : ws) {
    try {
      if (!w->closed()) w->close();
    } catch (const std::exception&) {
    }
  }

  // The load generator shares the machine with the server: say how much of it we took.
  double cpu_used = own_cpu_seconds() - cpu_start;
  double wall_used = std::chrono::duration<double>(Clock::now() - wall_start).count();
  double cpu_share = wall_used > 0 ? cpu_used / wall_used : 0;

  // Posting results.
  PosterResult all;
  for (auto& r : post_results) {
    all.latency_us.insert(all.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
    all.by_second.insert(all.by_second.end(), r.by_second.begin(), r.by_second.end());
    all.sched_latency_us.insert(all.sched_latency_us.end(), r.sched_latency_us.begin(),
                                r.sched_latency_us.end());
    all.ok_in_window += r.ok_in_window;
    all.ok_measured += r.ok_measured;
    all.ok_total += r.ok_total;
    all.merged += r.merged;
    all.http_4xx += r.http_4xx;
    all.http_5xx += r.http_5xx;
    all.http_other += r.http_other;
    all.io_errors += r.io_errors;
    all.max_latency_us = std::max(all.max_latency_us, r.max_latency_us);
    if (all.first_error.empty()) all.first_error = r.first_error;
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  std::sort(all.sched_latency_us.begin(), all.sched_latency_us.end());
  long errors = all.http_4xx + all.http_5xx + all.http_other + all.io_errors;
  double rate = static_cast<double>(all.ok_in_window) / o.duration;

  // Feed results: settle the frames that beat their 201, then pool the delays.
  std::vector<std::uint32_t> delays;
  long early = 0, unmatched = 0, violations = 0, incomplete = 0, closed_early = 0, frames = 0;
  std::string first_violation, close_note;
  for (std::size_t i = 0; i < sub_results.size(); ++i) {
    auto& r = sub_results[i];
    for (auto [h, t] : r.pending) {
      auto e = sh.times.get(h);
      if (!e) {
        ++r.unmatched;
        continue;
      }
      if (!e->measured) continue;
      ++r.matched;
      ++r.early;
      (void)t;
      r.delay_us.push_back(0);
    }
    delays.insert(delays.end(), r.delay_us.begin(), r.delay_us.end());
    early += r.early;
    unmatched += r.unmatched;
    violations += r.order_violations;
    frames += r.frames;
    if (first_violation.empty() && !r.first_violation.empty())
      first_violation = "subscriber " + std::to_string(i) + ": " + r.first_violation;
    if (r.matched < all.ok_measured) ++incomplete;
    if (r.closed) {
      ++closed_early;
      if (close_note.empty()) close_note = "close code " + std::to_string(r.close_code);
    }
  }
  std::sort(delays.begin(), delays.end());

  std::printf("  %-22s %ld in %.1f s = %.1f alerts/s (%ld of %ld merged into an open incident)\n",
              "alerts (201)", all.ok_in_window, o.duration, rate, all.merged, all.ok_total);
  std::printf("  %-22s %ld (4xx %ld, 5xx %ld, other %ld, io %ld)%s%s\n", "errors", errors,
              all.http_4xx, all.http_5xx, all.http_other, all.io_errors,
              all.first_error.empty() ? "" : "; first: ", all.first_error.c_str());
  std::printf("  %-22s p50 %s ms  p99 %s ms  max %s ms  (n=%zu)\n", "POST latency",
              fmt_ms(percentile(all.latency_us, 50)).c_str(),
              fmt_ms(percentile(all.latency_us, 99)).c_str(),
              fmt_ms(static_cast<double>(all.max_latency_us)).c_str(), all.latency_us.size());
  if (o.timeline) {
    // Which seconds the tail comes from: a steady tail, or a few stalls.
    std::sort(all.by_second.begin(), all.by_second.end());
    for (std::size_t i = 0; i < all.by_second.size();) {
      const auto sec = all.by_second[i].first;
      std::vector<std::uint32_t> in;
      for (; i < all.by_second.size() && all.by_second[i].first == sec; ++i) in.push_back(all.by_second[i].second);
      const std::time_t at = measure_wall + static_cast<std::time_t>(sec);
      std::tm utc{};
      gmtime_r(&at, &utc);
      char clock[16];
      std::strftime(clock, sizeof clock, "%H:%M:%S", &utc);
      std::printf("  second %3u  %s  n %5zu  p50 %7s ms  p99 %7s ms  max %7s ms\n", sec, clock, in.size(),
                  fmt_ms(percentile(in, 50)).c_str(), fmt_ms(percentile(in, 99)).c_str(),
                  fmt_ms(static_cast<double>(in.back())).c_str());
    }
  }
  if (o.rate > 0) {
    std::printf("  %-22s p50 %s ms  p99 %s ms  (from the scheduled send time)\n",
                "POST latency (sched)", fmt_ms(percentile(all.sched_latency_us, 50)).c_str(),
                fmt_ms(percentile(all.sched_latency_us, 99)).c_str());
  }
  if (o.subscribers > 0) {
    std::printf("  %-22s p50 %s ms  p99 %s ms  max %s ms  (n=%zu, %ld before the 201)\n",
                "commit-to-feed", fmt_ms(percentile(delays, 50)).c_str(),
                fmt_ms(percentile(delays, 99)).c_str(),
                fmt_ms(delays.empty() ? 0.0 : static_cast<double>(delays.back())).c_str(),
                delays.size(), early);
    if (violations == 0) {
      std::printf("feed order: OK (%d subscribers, %ld frames, seq strictly increasing, no gaps)\n",
                  o.subscribers, frames);
    } else {
      std::printf("feed order: VIOLATION (%ld): %s\n", violations, first_violation.c_str());
    }
    if (incomplete == 0) {
      std::printf("feed complete: OK (every subscriber saw all %ld measured alerts)\n",
                  all.ok_measured);
    } else {
      std::printf("feed complete: MISSING (%ld of %d subscribers missed alerts%s%s)\n", incomplete,
                  o.subscribers, close_note.empty() ? "" : "; ", close_note.c_str());
    }
  }
  std::printf("  %-22s %.2f cores on average (%.1f CPU s in %.1f s)\n", "load generator CPU",
              cpu_share, cpu_used, wall_used);
  if (o.json_out) {
    json j{{"label", o.label},
           {"bench_cpu_cores", std::round(cpu_share * 100) / 100},
           {"clients", o.clients},
           {"subscribers", o.subscribers},
           {"rate_target", o.rate},
           {"warmup_s", o.warmup},
           {"duration_s", o.duration},
           {"alerts", all.ok_in_window},
           {"alerts_per_s", std::round(rate * 10) / 10},
           {"merged", all.merged},
           {"errors", errors},
           {"post_p50_ms", percentile(all.latency_us, 50) / 1000.0},
           {"post_p99_ms", percentile(all.latency_us, 99) / 1000.0},
           {"post_max_ms", static_cast<double>(all.max_latency_us) / 1000.0},
           {"feed_p50_ms", percentile(delays, 50) / 1000.0},
           {"feed_p99_ms", percentile(delays, 99) / 1000.0},
           {"feed_max_ms", delays.empty() ? 0.0 : static_cast<double>(delays.back()) / 1000.0},
           {"feed_samples", delays.size()},
           {"feed_order_ok", violations == 0},
           {"feed_complete", incomplete == 0},
           {"feed_closed_subscribers", closed_early}};
    if (o.rate > 0) {
      j["post_sched_p50_ms"] = percentile(all.sched_latency_us, 50) / 1000.0;
      j["post_sched_p99_ms"] = percentile(all.sched_latency_us, 99) / 1000.0;
    }
    std::printf("%s\n", j.dump().c_str());
  }
  std::fflush(stdout);
  bool ok = errors == 0 && violations == 0 && incomplete == 0 && all.ok_in_window > 0;
  return ok ? 0 : 1;
}

// --- idle mode ---------------------------------------------------------------------------------

int run_idle(const Options& o) {
  std::printf("xiaonao-bench%s%s: url=http://%s:%u idle-subscribers=%d server-pid=%d hold=%gs\n",
              o.label.empty() ? "" : " ", o.label.c_str(), o.host.c_str(), o.port,
              o.idle_subscribers, o.server_pid, o.hold);
  std::fflush(stdout);
  long before = read_rss_kib(o.server_pid);
  // One io_context for all of them: one descriptor per connection, and reads stay posted so
  // that server pings are answered.
  Shared sh;
  sh.opt = o;
  std::vector<SubscriberResult> results(static_cast<std::size_t>(o.idle_subscribers));
  for (int i = 0; i < o.idle_subscribers; ++i)
    sh.sub_alert_frames.push_back(std::make_unique<std::atomic<long>>(0));
  AsyncSubscribers subs(sh, results);
  std::string error;
  auto t0 = Clock::now();
  int connected = 0;
  try {
    connected = subs.connect(o.idle_subscribers);
  } catch (const std::exception& e) {
    error = e.what();
    connected = subs.size();
  }
  results.resize(static_cast<std::size_t>(connected));
  double connect_s = std::chrono::duration<double>(Clock::now() - t0).count();
  subs.start(1);
  long peak = read_rss_kib(o.server_pid);
  auto hold_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.hold));
  while (Clock::now() < hold_end) {
    peak = std::max(peak, read_rss_kib(o.server_pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  long after = read_rss_kib(o.server_pid);
  peak = std::max(peak, after);
  subs.stop();
  long open = 0;
  for (auto& r : results) open += r.closed ? 0 : 1;

  auto mib = [](long kib) { return kib < 0 ? -1.0 : static_cast<double>(kib) / 1024.0; };
  std::printf("  %-22s %ld of %d still open after %.1f s (connected in %.2f s)%s%s\n",
              "idle subscribers", open, o.idle_subscribers, o.hold, connect_s,
              error.empty() ? "" : "; error: ", error.c_str());
  if (o.server_pid > 0) {
    std::printf("  %-22s before %.1f MiB, with subscribers %.1f MiB (peak %.1f), delta %.1f MiB, "
                "%.1f KiB per subscriber\n",
                "server RSS", mib(before), mib(after), mib(peak), mib(after - before),
                open > 0 ? static_cast<double>(after - before) / static_cast<double>(open) : 0.0);
  }
  if (o.json_out) {
    json j{{"label", o.label},
           {"idle_subscribers", o.idle_subscribers},
           {"open", open},
           {"rss_before_mib", std::round(mib(before) * 10) / 10},
           {"rss_after_mib", std::round(mib(after) * 10) / 10},
           {"rss_peak_mib", std::round(mib(peak) * 10) / 10},
           {"rss_delta_mib", std::round(mib(after - before) * 10) / 10}};
    std::printf("%s\n", j.dump().c_str());
  }
  std::fflush(stdout);
  return (open == o.idle_subscribers && error.empty()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  try {
    if (o.idle_subscribers > 0) return run_idle(o);
    return run_load(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonao-bench: %s\n", e.what());
    return 1;
  }
}
