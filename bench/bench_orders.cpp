// xiaonao-bench-orders: order events against alert intake, in one run, on one server
// (bench/orders.sh; docs/PERFORMANCE.md, "Orders"). Not a timed test.
//
//   xiaonao-bench-orders --url http://127.0.0.1:PORT --units U0,U1,... [--duration 10] [--warmup 2]
//
// One closed-loop client thread per unit (each its own keep-alive connection), two phases:
//   alerts   each thread posts alerts (source 110, a fresh source_ref, a location) as fast as
//            they are answered;
//   orders   each thread opens one incident, then loops: POST /incidents/{id}/orders for its
//            unit, and the order's four steps ack, en_route, on_scene, complete (each a
//            POST /orders/{id}/events; complete frees the unit for the next round).
// Reported per phase over the measured window (after the warm-up): requests/s and latency
// (median, p99) of alert POSTs, of order events, and of order issues; and the ratios
// order event / alert. Credentials: XIAONAO_API_KEY (or --api-key): alerts:write, orders:write.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/client/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::vector<std::string> units;
  double duration = 10;
  double warmup = 2;
  std::string key;
  double lon = 119.905, lat = 28.455;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "xiaonao-bench-orders: " << why
            << "\nusage: xiaonao-bench-orders --url http://HOST:PORT --units U0,U1 [--duration S] [--warmup S]"
               " [--api-key KEY] [--lon X --lat Y]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  if (const char* k = std::getenv("XIAONAO_API_KEY")) o.key = k;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
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
      const auto list = next();
      for (std::size_t s = 0; s <= list.size();) {
        const auto e = std::min(list.find(',', s), list.size());
        if (e > s) o.units.push_back(list.substr(s, e - s));
        s = e + 1;
      }
    } else if (a == "--duration") {
      o.duration = std::stod(next());
    } else if (a == "--warmup") {
      o.warmup = std::stod(next());
    } else if (a == "--api-key") {
      o.key = next();
    } else if (a == "--lon") {
      o.lon = std::stod(next());
    } else if (a == "--lat") {
      o.lat = std::stod(next());
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.port == 0) usage("--url is required");
  if (o.units.empty()) usage("--units is required");
  if (o.key.empty()) usage("set XIAONAO_API_KEY or --api-key");
  return o;
}

// Latencies (ms) of one kind of request inside the measured window.
struct Series {
  std::vector<double> ms;
  void add(double v) { ms.push_back(v); }
  double pct(double p) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(i, ms.size() - 1)];
  }
};

struct Phase {
  std::mutex mu;
  Series alerts, events, issues;
  std::atomic<long> errors{0};
  void merge(Series& into, const Series& from) {
    std::lock_guard lk(mu);
    into.ms.insert(into.ms.end(), from.ms.begin(), from.ms.end());
  }
};

std::string now_rfc3339() {
  const auto t = std::chrono::system_clock::now();
  const auto s = std::chrono::system_clock::to_time_t(t);
  char buf[64];
  std::tm tm{};
  gmtime_r(&s, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json alert(const Options& o, const std::string& ref) {
  return {{"source", "110"},
          {"source_ref", ref},
          {"received_at", now_rfc3339()},
          {"category", "theft"},
          {"caller", {{"phone", "13857801234"}}},
          {"location", {{"lon", o.lon}, {"lat", o.lat}}},
          {"description", "bench"}};
}

// Runs `body(client, measuring)` in a loop on every thread until the phase ends.
template <class F>
void run_phase(const Options& o, F body) {
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto stop = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < o.units.size(); ++t) {
    threads.emplace_back([&, t] {
      xiaonao::client::HttpClient http(o.host, o.port);
      http.set_header("Authorization", "Bearer " + o.key);
      body(http, t, measure_from, stop);
    });
  }
  for (auto& th : threads) th.join();
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  const auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

  // Phase 1: alerts.
  Phase alerts;
  run_phase(o, [&](xiaonao::client::HttpClient& http, std::size_t t, Clock::time_point from, Clock::time_point stop) {
    Series mine;
    for (long n = 0; Clock::now() < stop; ++n) {
      const auto body = alert(o, "bo-" + run_id + "-" + std::to_string(t) + "-" + std::to_string(n)).dump();
      const auto t0 = Clock::now();
      const auto r = http.request("POST", "/api/v1/alerts", body);
      if (r.status != 201) {
        ++alerts.errors;
        continue;
      }
      if (t0 >= from) mine.add(ms_since(t0));
    }
    alerts.merge(alerts.alerts, mine);
  });

  // Phase 2: orders and their steps, one unit per thread.
  Phase orders;
  run_phase(o, [&](xiaonao::client::HttpClient& http, std::size_t t, Clock::time_point from, Clock::time_point stop) {
    Series ev, is;
    const auto opened = http.request("POST", "/api/v1/alerts", alert(o, "bo-inc-" + run_id + "-" + std::to_string(t)).dump());
    if (opened.status != 201) {
      std::cerr << "cannot open the incident: " << opened.status << " " << opened.body << "\n";
      ++orders.errors;
      return;
    }
    const std::string incident = json::parse(opened.body)["incident_id"];
    const auto order_body = json{{"unit_ids", {o.units[t]}}, {"instruction", "bench"}, {"kind", "respond"}}.dump();
    while (Clock::now() < stop) {
      auto t0 = Clock::now();
      const auto r = http.request("POST", "/api/v1/incidents/" + incident + "/orders", order_body);
      if (r.status != 201) {
        if (++orders.errors < 5) std::cerr << "order: " << r.status << " " << r.body << "\n";
        continue;
      }
      if (t0 >= from) is.add(ms_since(t0));
      const std::string id = json::parse(r.body)["orders"][0]["id"];
      for (const char* type : {"ack", "en_route", "on_scene", "complete"}) {
        const auto step = json{{"type", type}}.dump();
        t0 = Clock::now();
        const auto e = http.request("POST", "/api/v1/orders/" + id + "/events", step);
        if (e.status != 200) {
          if (++orders.errors < 5) std::cerr << "event " << type << ": " << e.status << " " << e.body << "\n";
          break;
        }
        if (t0 >= from) ev.add(ms_since(t0));
      }
    }
    orders.merge(orders.events, ev);
    orders.merge(orders.issues, is);
  });

  const double win = o.duration;
  const double a_rate = static_cast<double>(alerts.alerts.ms.size()) / win;
  const double e_rate = static_cast<double>(orders.events.ms.size()) / win;
  const double a50 = alerts.alerts.pct(0.5), a99 = alerts.alerts.pct(0.99);
  const double e50 = orders.events.pct(0.5), e99 = orders.events.pct(0.99);
  const double i50 = orders.issues.pct(0.5), i99 = orders.issues.pct(0.99);
  std::printf("clients %zu, %.0f s measured per phase\n", o.units.size(), win);
  std::printf("alerts        %8.1f /s   median %6.2f ms   p99 %6.2f ms   errors %ld\n", a_rate, a50, a99,
              alerts.errors.load());
  std::printf("order events  %8.1f /s   median %6.2f ms   p99 %6.2f ms   errors %ld\n", e_rate, e50, e99,
              orders.errors.load());
  std::printf("order issues  %8.1f /s   median %6.2f ms   p99 %6.2f ms\n",
              static_cast<double>(orders.issues.ms.size()) / win, i50, i99);
  std::printf("ratio order event / alert: median %.2f, p99 %.2f, throughput %.2f (alert/event)\n",
              a50 > 0 ? e50 / a50 : 0, a99 > 0 ? e99 / a99 : 0, e_rate > 0 ? a_rate / e_rate : 0);
  std::printf("{\"clients\":%zu,\"alerts_per_s\":%.1f,\"alert_p50_ms\":%.3f,\"alert_p99_ms\":%.3f,"
              "\"events_per_s\":%.1f,\"event_p50_ms\":%.3f,\"event_p99_ms\":%.3f,\"issue_p50_ms\":%.3f,"
              "\"issue_p99_ms\":%.3f,\"errors\":%ld}\n",
              o.units.size(), a_rate, a50, a99, e_rate, e50, e99, i50, i99,
              alerts.errors.load() + orders.errors.load());
  return alerts.errors.load() + orders.errors.load() > 0 ? 1 : 0;
}
