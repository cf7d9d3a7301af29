#include "xiaonao/service/metrics.hpp"

#include <cstdio>

namespace xiaonao::service {
namespace {
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
// One histogram in the exposition format: its buckets (upper `bounds`), sum and count, with
// `labels` (a `name="value"` list, or empty) on each line.
template <std::size_t N>
void append_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const std::array<double, N>& bounds, const std::array<std::uint64_t, N>& counts,
                      std::uint64_t count, double sum) {
  const std::string pre = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i < N; ++i)
    out += name + "_bucket{" + pre + "le=\"" + num(bounds[i]) + "\"} " + std::to_string(counts[i]) + "\n";
  out += name + "_bucket{" + pre + "le=\"+Inf\"} " + std::to_string(count) + "\n";
  const std::string own = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + own + " " + num(sum) + "\n";
  out += name + "_count" + own + " " + std::to_string(count) + "\n";
}
}  // namespace

void Metrics::Histogram::add(double seconds) {
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (seconds <= buckets[i]) ++counts[i];
  }
  ++count;
  sum += seconds;
}

void Metrics::observe_request(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lk(mu_);
  ++state_.requests[{std::string(route), std::string(method), status}];
  state_.latency[std::string(route)].add(seconds);
}

void Metrics::observe_fusion(std::string_view stage, double seconds) {
  std::lock_guard lk(mu_);
  state_.fusion[std::string(stage)].add(seconds);
}

void Metrics::observe_feed_delivery(double seconds) {
  std::lock_guard lk(mu_);
  state_.feed_delivery.add(seconds);
}

void Metrics::observe_deadline_missed(std::string_view kind, double lag_seconds) {
  std::lock_guard lk(mu_);
  ++state_.missed[std::string(kind)];
  for (std::size_t i = 0; i < lag_buckets.size(); ++i) {
    if (lag_seconds <= lag_buckets[i]) ++state_.lag_counts[i];
  }
  ++state_.lag_count;
  state_.lag_sum += lag_seconds;
}

void Metrics::add_sampled(std::string name, std::string type, std::string help, std::function<double()> read) {
  std::lock_guard lk(mu_);
  state_.sampled.push_back({std::move(name), std::move(type), std::move(help), std::move(read)});
}

std::string Metrics::render() const {
  const State st = [this] {
    std::lock_guard lk(mu_);
    return state_;
  }();
  std::string out;
  out.reserve(16384);
  out += "# HELP xiaonao_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE xiaonao_http_requests_total counter\n";
  for (const auto& [key, n] : st.requests) {
    const auto& [route, method, status] = key;
    out += "xiaonao_http_requests_total{route=\"" + route + "\",method=\"" + method + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP xiaonao_http_request_duration_seconds Time from a whole request read to its response queued.\n";
  out += "# TYPE xiaonao_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : st.latency)
    append_histogram(out, "xiaonao_http_request_duration_seconds", "route=\"" + route + "\"", buckets, h.counts, h.count,
                     h.sum);
  if (!st.fusion.empty()) {
    out += "# HELP xiaonao_fusion_seconds Fusion time by stage: intake (locate, owner, merge; per batch), parts (cameras, units, household, history inside the intake transaction; per batch), full (locate to fused result, per alert), after_commit (the fusion worker, per incident).\n";
    out += "# TYPE xiaonao_fusion_seconds histogram\n";
  }
  for (const auto& [stage, h] : st.fusion)
    append_histogram(out, "xiaonao_fusion_seconds", "stage=\"" + stage + "\"", buckets, h.counts, h.count, h.sum);
  out += "# HELP xiaonao_feed_delivery_seconds From an event's release to this instance's feed (right after its commit here, or its read from the table for another instance's) to the end of the socket write that carried it to a subscriber; one per write with live frames, for its oldest.\n";
  out += "# TYPE xiaonao_feed_delivery_seconds histogram\n";
  append_histogram(out, "xiaonao_feed_delivery_seconds", "", buckets, st.feed_delivery.counts,
                   st.feed_delivery.count, st.feed_delivery.sum);
  // Always present, so a dashboard finds them before the first miss.
  out += "# HELP xiaonao_deadlines_missed_total Missed deadlines this instance announced, by deadline kind.\n";
  out += "# TYPE xiaonao_deadlines_missed_total counter\n";
  for (const auto& [kind, n] : st.missed)
    out += "xiaonao_deadlines_missed_total{kind=\"" + kind + "\"} " + std::to_string(n) + "\n";
  out += "# HELP xiaonao_escalation_lag_seconds From a missed deadline's due time to its deadline.missed event on the feed.\n";
  out += "# TYPE xiaonao_escalation_lag_seconds histogram\n";
  append_histogram(out, "xiaonao_escalation_lag_seconds", "", lag_buckets, st.lag_counts, st.lag_count, st.lag_sum);
  for (const auto& s : st.sampled) {
    out += "# HELP " + s.name + " " + s.help + "\n# TYPE " + s.name + " " + s.type + "\n";
    out += s.name + " " + num(s.read()) + "\n";
  }
  return out;
}

}  // namespace xiaonao::service
