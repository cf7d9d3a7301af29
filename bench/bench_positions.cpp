// xiaonao-bench-positions: the unit position benchmark (docs/PERFORMANCE.md, "Unit positions").
//
//   xiaonao-bench-positions --url http://127.0.0.1:PORT --units N [--clients 32] [--duration 20]
//                           [--warmup 2] [--batch 0] [--prefix U] [--json] [--label NAME]
//
// C client threads, each with one keep-alive connection, post position reports closed loop
// (each thread sends its next report when the previous answer arrived) for units
// PREFIX000000 .. PREFIX(N-1), moving every unit forward in time, for warmup + duration
// seconds. --batch K > 0: each request is one POST /api/v1/units/positions with K reports;
// otherwise POST /api/v1/units/{id}/position. Prints updates/s (reports committed per second
// in the measured window), requests/s and request latency p50/p99; --json adds one JSON line.
// Credentials: XIAONAO_API_KEY (a key with units:write).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xiaonao/client/client.hpp"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int units = 1000;
  int clients = 32;
  int duration = 20;
  int warmup = 2;
  int batch = 0;
  std::string prefix = "U";
  bool json = false;
  std::string label = "positions";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "xiaonao-bench-positions: " << why
            << "\nusage: xiaonao-bench-positions --url http://HOST:PORT --units N [--clients C] [--duration S]"
               " [--warmup S] [--batch K] [--prefix P] [--json] [--label NAME]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") {
      const auto u = next();
      const auto p = u.rfind(':');
      if (u.rfind("http://", 0) != 0 || p == std::string::npos || p < 7) usage("--url must be http://HOST:PORT");
      o.host = u.substr(7, p - 7);
      o.port = static_cast<unsigned short>(std::stoi(u.substr(p + 1)));
    } else if (a == "--units") {
      o.units = std::stoi(next());
    } else if (a == "--clients") {
      o.clients = std::stoi(next());
    } else if (a == "--duration") {
      o.duration = std::stoi(next());
    } else if (a == "--warmup") {
      o.warmup = std::stoi(next());
    } else if (a == "--batch") {
      o.batch = std::stoi(next());
    } else if (a == "--prefix") {
      o.prefix = next();
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--label") {
      o.label = next();
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.port == 0) usage("--url is required");
  if (o.units < 1 || o.clients < 1 || o.duration < 1 || o.warmup < 0 || o.batch < 0 || o.batch > 1000)
    usage("bad numbers");
  return o;
}

std::string unit_name(const Options& o, int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06d", i);
  return o.prefix + buf;
}

// Report times: the start of the run plus a per-report microsecond counter, so that every
// report of a unit is newer than the one before (and than earlier runs') and moves it.
const std::time_t g_base = std::time(nullptr);
std::string at_text(std::int64_t micros) {
  const std::time_t base = g_base + micros / 1000000;
  std::tm tm{};
  gmtime_r(&base, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1000000));
  return buf;
}

std::string report(const Options& o, int unit, std::int64_t micros, std::mt19937_64& rng, bool with_id) {
  std::uniform_real_distribution<double> d(-0.05, 0.05);
  char buf[256];
  std::snprintf(buf, sizeof buf, R"(%s"lon":%.6f,"lat":%.6f,"at":"%s","speed":%.1f,"heading":%.1f})",
                with_id ? ("{\"unit_id\":\"" + unit_name(o, unit) + "\",").c_str() : "{", 119.9 + d(rng),
                28.45 + d(rng), at_text(micros).c_str(), 8.0 + d(rng) * 100, 180.0 + d(rng) * 3000);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  const char* key = std::getenv("XIAONAO_API_KEY");
  if (key == nullptr || *key == 0) usage("XIAONAO_API_KEY is not set");
  const std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", std::string("Bearer ") + key}};

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::seconds(o.warmup);
  const auto stop_at = measure_from + std::chrono::seconds(o.duration);
  std::atomic<std::int64_t> clock_us{0};
  std::atomic<long> failures{0};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(o.clients));
  std::vector<long> reports(static_cast<std::size_t>(o.clients), 0);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(c) * 7919 + 1);
      std::uniform_int_distribution<int> pick(0, o.units - 1);
      xiaonao::client::HttpClient http(o.host, o.port);
      for (;;) {
        const auto t0 = Clock::now();
        if (t0 >= stop_at) break;
        std::string target, body;
        int n = 1;
        if (o.batch > 0) {
          n = o.batch;
          target = "/api/v1/units/positions";
          body = "{\"positions\":[";
          for (int i = 0; i < n; ++i) {
            if (i) body += ',';
            body += report(o, pick(rng), clock_us.fetch_add(1), rng, true);
          }
          body += "]}";
        } else {
          const int u = pick(rng);
          target = "/api/v1/units/" + unit_name(o, u) + "/position";
          body = report(o, u, clock_us.fetch_add(1), rng, false);
        }
        int status = 0;
        try {
          status = http.request("POST", target, body, "application/json", headers).status;
        } catch (const std::exception&) {
          failures.fetch_add(1);
          continue;
        }
        const auto t1 = Clock::now();
        const bool ok = o.batch > 0 ? status == 200 : status == 204;
        if (!ok) failures.fetch_add(1);
        if (t0 >= measure_from && t1 <= stop_at && ok) {
          latencies[static_cast<std::size_t>(c)].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          reports[static_cast<std::size_t>(c)] += n;
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  std::vector<double> all;
  long total = 0;
  for (std::size_t c = 0; c < latencies.size(); ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    total += reports[c];
  }
  std::sort(all.begin(), all.end());
  const auto pct = [&](double p) {
    if (all.empty()) return 0.0;
    return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  const double ups = static_cast<double>(total) / o.duration;
  const double rps = static_cast<double>(all.size()) / o.duration;
  std::printf("%s: %d clients, %s, %d units, %d s: %.0f updates/s (%.0f requests/s), latency p50 %.2f ms, "
              "p99 %.2f ms, failures %ld\n",
              o.label.c_str(), o.clients, o.batch > 0 ? ("batch of " + std::to_string(o.batch)).c_str() : "single",
              o.units, o.duration, ups, rps, pct(0.5), pct(0.99), failures.load());
  if (o.json) {
    std::printf("{\"label\":\"%s\",\"clients\":%d,\"batch\":%d,\"units\":%d,\"duration\":%d,\"updates_per_s\":%.1f,"
                "\"requests_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"failures\":%ld}\n",
                o.label.c_str(), o.clients, o.batch, o.units, o.duration, ups, rps, pct(0.5), pct(0.99),
                failures.load());
  }
  return failures.load() > 0 ? 1 : 0;
}
