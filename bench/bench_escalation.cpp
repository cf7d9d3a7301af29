// xiaonao-bench-escalation: a feed client that measures how late missed deadlines are
// announced (docs/PERFORMANCE.md, "Deadlines and escalation"; driven by bench/escalation.sh).
//
// Connects to /ws/feed (live, no replay), prints "ready" on stdout once subscribed, then reads
// until it has seen --expect deadline.missed frames (or --timeout passes). For each it takes
// the lag from the deadline's due_at to the frame's arrival here (the client, the server and
// PostgreSQL share one clock on one machine) and prints one JSON line: count, median, p99 and
// max lag in ms, and the server's own late_s (due_at to the announcing transaction) for
// comparison. Credentials: XIAONAO_API_KEY (a key with feed:read), sent as Authorization: Bearer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xiaonao/client/client.hpp"
#include "xiaonao/domain/time.hpp"

namespace {

using nlohmann::json;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int usage() {
  std::cerr << "usage: xiaonao-bench-escalation --url http://HOST:PORT --expect N [--timeout S]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  long expect = 0;
  int timeout_s = 120;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--url" && i + 1 < argc) url = argv[++i];
    else if (a == "--expect" && i + 1 < argc) expect = std::atol(argv[++i]);
    else if (a == "--timeout" && i + 1 < argc) timeout_s = std::atoi(argv[++i]);
    else return usage();
  }
  std::string why;
  const auto ep = xiaonao::client::parse_http_url(url, why);
  if (!ep || ep->tls || expect <= 0) return usage();  // plain ws:// only
  std::vector<std::pair<std::string, std::string>> headers;
  if (const char* key = std::getenv("XIAONAO_API_KEY")) headers.emplace_back("Authorization", std::string("Bearer ") + key);

  xiaonao::client::WsClient ws(ep->host, ep->port, "/ws/feed", std::chrono::seconds(10), headers);
  std::cout << "ready" << std::endl;

  std::vector<double> lag_ms, late_ms;
  std::set<std::int64_t> ids;
  long duplicates = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (static_cast<long>(ids.size()) < expect && std::chrono::steady_clock::now() < until && !ws.closed()) {
    const auto text = ws.read(std::chrono::milliseconds(500));
    if (!text) continue;
    const auto arrived = xiaonao::domain::now_utc();
    const auto frame = json::parse(*text, nullptr, false);
    if (frame.is_discarded() || frame.value("type", "") != "deadline.missed") continue;
    const auto& d = frame["data"];
    if (!ids.insert(d.value("deadline_id", std::int64_t{0})).second) {
      ++duplicates;
      continue;
    }
    const auto due = xiaonao::domain::parse_rfc3339(d.value("due_at", ""));
    if (!due) continue;
    lag_ms.push_back(std::chrono::duration<double, std::milli>(arrived - *due).count());
    late_ms.push_back(d.value("late_s", 0.0) * 1000.0);
  }
  const json out = {{"expected", expect},
                    {"announced", ids.size()},
                    {"duplicates", duplicates},
                    {"lag_p50_ms", percentile(lag_ms, 0.5)},
                    {"lag_p99_ms", percentile(lag_ms, 0.99)},
                    {"lag_max_ms", lag_ms.empty() ? 0.0 : *std::max_element(lag_ms.begin(), lag_ms.end())},
                    {"late_p50_ms", percentile(late_ms, 0.5)},
                    {"late_p99_ms", percentile(late_ms, 0.99)},
                    {"late_max_ms", late_ms.empty() ? 0.0 : *std::max_element(late_ms.begin(), late_ms.end())}};
  std::cout << out.dump() << std::endl;
  return static_cast<long>(ids.size()) == expect && duplicates == 0 ? 0 : 1;
}
