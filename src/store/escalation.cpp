#include "xiaonao/store/escalation.hpp"
#include "sql_time.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "xiaonao/domain/time.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/event_log.hpp"
#include "xiaonao/store/loop.hpp"

namespace xiaonao::store {
namespace {

using nlohmann::json;


// The order a deadline is about, when it is about one (subject ids of orders are their uuids;
// anything else never reaches the cast).
#define XN_ORDER_JOIN                                                                          \
  " LEFT JOIN orders o ON o.id = CASE WHEN d.subject_kind = 'order' AND d.subject_id ~ "       \
  "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN d.subject_id::uuid END"

// The database's clock decides what is due, stamps fired_at and measures late_s: one clock for
// every instance, whatever their own clocks say.
const char* const kNowSql = "SELECT " XN_TS("clock_timestamp()");

// Lock, stamp and read back in one statement. SKIP LOCKED leaves rows that another instance is
// announcing (or a step is meeting) to that transaction; under READ COMMITTED a row another
// instance announced after our snapshot is re-checked after the lock and drops out
// (fired_at IS NULL no longer holds), so no row is ever announced twice.
const char* const kFireSql =
    "WITH due AS ("
    "  SELECT id FROM deadlines"
    "  WHERE met_at IS NULL AND fired_at IS NULL AND due_at <= $3::timestamptz"
    "  ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED"
    "), fired AS ("
    "  UPDATE deadlines x SET fired_at = $3::timestamptz, fired_by = $2,"
    "         late_s = extract(epoch FROM $3::timestamptz - x.due_at)"
    "  FROM due WHERE x.id = due.id"
    "  RETURNING x.*"
    ")"
    " SELECT d.id, d.incident_id::text, coalesce(d.station_id, ''), d.subject_kind, d.subject_id, d.kind,"
    "        " XN_TS("d.due_at") ", d.late_s, coalesce(i.number, ''), coalesce(i.category, ''),"
    "        coalesce(o.unit_id, ''), coalesce(o.number, ''), o.id IS NOT NULL"
    " FROM fired d LEFT JOIN incidents i ON i.id = d.incident_id" XN_ORDER_JOIN
    " ORDER BY d.due_at, d.id";

const char* const kNextSql =
    "SELECT extract(epoch FROM min(due_at) - clock_timestamp())::float8 FROM deadlines"
    " WHERE met_at IS NULL AND fired_at IS NULL";

const char* const kListSql =
    "SELECT d.id, d.incident_id::text, coalesce(i.number, ''), coalesce(d.station_id, ''), d.subject_kind,"
    "       d.subject_id, coalesce(o.unit_id, ''), coalesce(o.number, ''), o.id IS NOT NULL, d.kind,"
    "       " XN_TS("d.due_at") ", " XN_TS("d.fired_at") ", coalesce(d.fired_by, ''), coalesce(d.late_s, 0),"
    "       " XN_TS("d.met_at")
    " FROM deadlines d LEFT JOIN incidents i ON i.id = d.incident_id" XN_ORDER_JOIN
    " WHERE d.fired_at IS NOT NULL AND NOT $6::bool"
    "   AND ($1::bool IS NULL OR (d.met_at IS NULL) = $1::bool)"
    "   AND ($2::text IS NULL OR d.station_id = $2)"
    "   AND ($3::timestamptz IS NULL OR d.fired_at >= $3::timestamptz)"
    "   AND ($4::text IS NULL OR d.station_id = $4 OR i.station_id = $4 OR EXISTS ("
    "        SELECT 1 FROM incident_shares s WHERE s.incident_id = d.incident_id AND s.station_id = $4))"
    " ORDER BY d.fired_at DESC, d.id DESC LIMIT $5";

double round_ms(double s) { return std::round(s * 1000.0) / 1000.0; }

std::string default_instance_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "host") + ":" + std::to_string(static_cast<long>(getpid()));
}

// Wakes the scheduler when any instance adds deadlines.
class Wake final : public pqxx::notification_receiver {
 public:
  explicit Wake(pqxx::connection_base& c) : notification_receiver(c, kDeadlineChannel) {}
  void operator()(const std::string&, int) override {}
};

}  // namespace

EscalationRound fire_due_deadlines(pqxx::connection& c, int batch, const std::string& instance_id) {
  EscalationRound out;
  // Prepared on the connection (once; preparing again with the same text is a no-op): sent as
  // text, the fire statement was planned on every round, about 0.6 ms of planning each.
  c.prepare("xn_deadlines_now", kNowSql);
  c.prepare("xn_deadlines_fire", kFireSql);
  pqxx::work w(c);
  const auto at = w.exec_prepared1("xn_deadlines_now")[0].as<std::string>();
  const auto rows = w.exec_prepared("xn_deadlines_fire", batch, instance_id, at);
  if (rows.empty()) {
    w.commit();
    return out;
  }
  std::vector<NewEvent> events;
  events.reserve(rows.size());
  out.missed.reserve(rows.size());
  for (const auto& r : rows) {
    MissedDeadline m{r[0].as<std::int64_t>(), r[5].as<std::string>(), r[7].is_null() ? 0.0 : r[7].as<double>()};
    json data = {{"deadline_id", m.id},
                 {"subject_kind", r[3].as<std::string>()},
                 {"subject_id", r[4].as<std::string>()},
                 {"incident_id", r[1].as<std::string>()},
                 {"incident_number", r[8].as<std::string>()},
                 {"station_id", r[2].as<std::string>().empty() ? json(nullptr) : json(r[2].as<std::string>())},
                 {"kind", m.kind},
                 {"due_at", r[6].as<std::string>()},
                 {"late_s", round_ms(m.late_s)}};
    if (r[12].as<bool>()) {
      data["order_id"] = r[4].as<std::string>();
      data["order_number"] = r[11].as<std::string>();
      data["unit_id"] = r[10].as<std::string>();
    }
    // Replace rather than throw on bad UTF-8 in a subject id: one odd row must not stall every round.
    events.push_back({"deadline.missed", r[1].as<std::string>(), r[9].as<std::string>(), r[2].as<std::string>(),
                      data.dump(-1, ' ', false, json::error_handler_t::replace)});
    out.missed.push_back(std::move(m));
  }
  // The fired_at stamps and their events commit together: a crash before the commit leaves the
  // rows unannounced for the next round, a commit publishes both.
  const auto last = append_events(w, events, at);
  w.commit();
  out.frames = event_frames(events, last, at);
  return out;
}

std::optional<double> next_deadline_in(pqxx::connection& c) {
  pqxx::read_transaction t(c);
  const auto r = t.exec1(kNextSql);
  if (r[0].is_null()) return std::nullopt;
  return r[0].as<double>();
}

json list_escalations(pqxx::connection& c, const domain::escalation::Query& q, const std::string& visible_station,
                      bool nobody) {
  const std::string open = q.open ? (*q.open ? "true" : "false") : "";
  const std::string since = q.since ? domain::format_rfc3339(*q.since) : "";
  pqxx::read_transaction t(c);
  const auto rows = t.exec_params(kListSql, open.empty() ? nullptr : open.c_str(),
                                  q.station_id.empty() ? nullptr : q.station_id.c_str(),
                                  since.empty() ? nullptr : since.c_str(),
                                  visible_station.empty() ? nullptr : visible_station.c_str(), q.limit, nobody);
  json items = json::array();
  for (const auto& r : rows) {
    const auto station = r[3].as<std::string>();
    json item = {{"id", r[0].as<std::int64_t>()},
                 {"incident_id", r[1].as<std::string>()},
                 {"incident_number", r[2].as<std::string>()},
                 {"station_id", station.empty() ? json(nullptr) : json(station)},
                 {"subject_kind", r[4].as<std::string>()},
                 {"subject_id", r[5].as<std::string>()},
                 {"order_id", nullptr},
                 {"order_number", nullptr},
                 {"unit_id", nullptr},
                 {"kind", r[9].as<std::string>()},
                 {"due_at", r[10].as<std::string>()},
                 {"fired_at", r[11].as<std::string>()},
                 {"fired_by", r[12].as<std::string>()},
                 {"late_s", round_ms(r[13].as<double>())},
                 {"met_at", r[14].is_null() ? json(nullptr) : json(r[14].as<std::string>())},
                 {"open", r[14].is_null()}};
    if (r[8].as<bool>()) {
      item["order_id"] = r[5].as<std::string>();
      item["order_number"] = r[7].as<std::string>();
      item["unit_id"] = r[6].as<std::string>();
    }
    items.push_back(std::move(item));
  }
  return json{{"items", std::move(items)}};
}

EscalationScheduler::EscalationScheduler(EscalationOptions options, FrameSink sink, Observe observe)
    : options_(std::move(options)), sink_(std::move(sink)), observe_(std::move(observe)) {
  if (options_.instance_id.empty()) options_.instance_id = default_instance_id();
  options_.batch = std::max(options_.batch, 1);
  options_.scan_ms = std::max(options_.scan_ms, 1);
}

EscalationScheduler::~EscalationScheduler() { stop(); }

void EscalationScheduler::start() {
  thread_ = std::thread([this] {
    log::name_thread("xn-escalation");
    run();
  });
}

void EscalationScheduler::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EscalationScheduler::run() {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Wake> wake;
  int backoff_ms = 100;
  // Sleeps in short slices so stop() is honoured quickly.
  const auto pause = [this](int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!stopping_ && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  while (!stopping_) {
    try {
      if (!conn) {
        conn = open_connection(options_.conninfo, options_.statement_timeout_ms);
        // LISTEN before the first round: a deadline added after the round's look is announced
        // by a NOTIFY we are already listening for.
        wake = std::make_unique<Wake>(*conn);
        log::info("escalation.connected", {{"instance", options_.instance_id}});
      }
      // Announce everything that is due, a batch per transaction.
      bool fired_any = false;
      for (;;) {
        const auto started = Clock::now();
        auto round = fire_due_deadlines(*conn, options_.batch, options_.instance_id);
        if (round.missed.empty()) break;
        fired_any = true;
        if (!round.frames.empty()) sink_(std::move(round.frames));
        // Lag: late when the round read the clock, plus the round's own time to publication.
        const double spent = std::chrono::duration<double>(Clock::now() - started).count();
        fired_ += round.missed.size();
        for (const auto& m : round.missed) {
          if (observe_) observe_(m.kind, m.late_s + spent);
          log::warn("deadline.missed", {{"deadline_id", m.id}, {"kind", m.kind}, {"late_s", round_ms(m.late_s)}});
        }
        if (round.missed.size() < static_cast<std::size_t>(options_.batch) || stopping_) break;
      }
      backoff_ms = 100;
      const int wait = domain::escalation::wait_ms(next_deadline_in(*conn), fired_any, options_.scan_ms);
      // Sleep until the next due time, a NOTIFY from add_deadlines, or scan_ms.
      const auto until = Clock::now() + std::chrono::milliseconds(wait);
      while (!stopping_) {
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now()).count();
        if (left <= 0) break;
        const long slice = static_cast<long>(std::min<long long>(left, 200000));
        if (conn->await_notification(slice / 1000000, slice % 1000000) > 0) break;
      }
    } catch (const std::exception& e) {
      log::warn("escalation.error", {{"error", e.what()}, {"retry_ms", backoff_ms}});
      // Any failure: start again on a fresh connection (a broken one may still look open).
      wake.reset();
      conn.reset();
      pause(backoff_ms);
      backoff_ms = std::min(backoff_ms * 2, 5000);
    }
  }
  wake.reset();
}

}  // namespace xiaonao::store
