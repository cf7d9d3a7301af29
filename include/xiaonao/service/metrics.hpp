#pragma once
/// Prometheus metrics: request counters and latency histograms by route, plus gauges and
/// counters read from their owners at scrape time.
#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace xiaonao::service {

class Metrics {
 public:
  /// Upper bounds (seconds) of the latency histogram buckets.
  /// Fine below 10 ms, where the speed targets are (bench/fusion.sh reads percentiles off them).
  static constexpr std::array<double, 20> buckets{0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025,
                                                  0.003,   0.004,  0.005,   0.0075, 0.01, 0.015, 0.025,
                                                  0.05,    0.1,    0.25,    0.5,    1.0,  2.5};

  /// Records one finished request. `route` is the route pattern, not the raw path.
  void observe_request(std::string_view route, std::string_view method, int status, double seconds);

  /// Records one fusion timing: `stage` is "intake" (locate + owner + merge, per batch),
  /// "parts" (cameras, units, household, history in the intake transaction, per batch), "full"
  /// (locate to fused result, per alert) or "after_commit" (the fusion worker, per incident).
  void observe_fusion(std::string_view stage, double seconds);

  /// Upper bounds (seconds) of the escalation lag histogram: the target is 1 s; a restart after
  /// downtime announces deadlines minutes or hours late.
  static constexpr std::array<double, 14> lag_buckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75,
                                                      1.0,  2.5,   5.0,  30,  300, 3600, 86400};

  /// Records one missed deadline announced by this instance: `kind` is the deadline kind,
  /// `lag_seconds` the time from its due_at to the announcement's publication.
  void observe_deadline_missed(std::string_view kind, double lag_seconds);

  /// Records one feed write that carried live frames: from the release of its oldest live frame
  /// to this instance's feed (FeedHub::offer, right after the commit) to the end of the write
  /// to the subscriber's socket. Replayed frames are not counted.
  void observe_feed_delivery(double seconds);

  /// A value read at scrape time: `type` is "gauge" or "counter".
  void add_sampled(std::string name, std::string type, std::string help, std::function<double()> read);

  /// The text exposition format.
  std::string render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, buckets.size()> counts{};
    std::uint64_t count{0};
    double sum{0};
    void add(double seconds);
  };
  struct Sampled {
    std::string name, type, help;
    std::function<double()> read;
  };
  // Everything mu_ guards. render() copies it under the lock and writes the text after, so
  // that a scrape holds up the requests recording themselves only for the copy, and reads the
  // sampled values (each under its owner's lock) without holding mu_.
  struct State {
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests;
    std::map<std::string, Histogram> latency;
    std::map<std::string, Histogram> fusion;
    Histogram feed_delivery;
    std::map<std::string, std::uint64_t> missed;
    std::array<std::uint64_t, lag_buckets.size()> lag_counts{};
    std::uint64_t lag_count{0};
    double lag_sum{0};
    std::vector<Sampled> sampled;
  };
  mutable std::mutex mu_;
  State state_;
};

}  // namespace xiaonao::service
