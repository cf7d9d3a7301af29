#include "app.hpp"

#include "xiaonao/domain/query.hpp"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <pqxx/pqxx>

#include "xiaonao/http/server.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/service/categories.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/service/metrics.hpp"
#include "xiaonao/store/alert_writer.hpp"
#include "xiaonao/store/auth_store.hpp"
#include "xiaonao/store/order_writer.hpp"
#include "xiaonao/store/fusion.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/escalation.hpp"
#include "xiaonao/store/migrations.hpp"
#include "xiaonao/store/notify_listener.hpp"
#include "xiaonao/store/readers.hpp"
#include "xiaonao/store/reference_cache.hpp"

namespace xiaonao::app {
namespace {

namespace net = boost::asio;

// Writes the port to a temporary file and renames it, so a reader never sees half a number.
void write_port_file(const std::string& path, unsigned short port) {
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << '\n';
    if (!out) throw std::runtime_error("cannot write port file " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

// The database may still be starting (the demo, a container restart): retry for a while.
int migrate_with_retry(const std::string& conninfo) {
  for (int attempt = 1;; ++attempt) {
    try {
      return store::apply_migrations(conninfo);
    } catch (const pqxx::broken_connection& e) {
      if (attempt >= 20) throw;
      log::warn("db.not_reachable", {{"attempt", attempt}, {"error", e.what()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

}  // namespace

int migrate(const config::Config& cfg) {
  try {
    const int n = migrate_with_retry(cfg.db.conninfo);
    log::info("db.migrations_done", {{"applied", n}, {"version", store::latest_migration_version()}});
    return 0;
  } catch (const std::exception& e) {
    log::error("db.migrate_failed", {{"error", e.what()}});
    return 1;
  }
}

int serve(const config::Config& cfg, const std::string& port_file) {
  // Declared first so it is destroyed last: handlers still queued in it own sessions.
  net::io_context ioc{cfg.io_threads};

  // 0. TLS first: a wrong certificate path should stop start-up before any database work.
  std::shared_ptr<net::ssl::context> tls;
  if (cfg.http.tls()) {
    try {
      tls = http::make_tls_context(cfg.http);
    } catch (const std::exception& e) {
      log::error("server.tls_failed", {{"error", e.what()}});
      return 1;
    }
  }

  // 1. Schema and the state the feed starts from.
  std::int64_t last_seq = 0;
  service::CategoryCache categories;
  try {
    if (cfg.db.migrate_on_start) migrate_with_retry(cfg.db.conninfo);
    // As the connecting user: the application role is set below, after this check.
    auto c = store::open_connection(cfg.db.conninfo, cfg.db.statement_timeout_ms);
    if (store::schema_version(*c) < store::latest_migration_version()) {
      log::error("server.schema_behind", {{"need", store::latest_migration_version()}});
      return 1;
    }
    categories.replace(store::load_categories(*c));
    last_seq = store::last_seq(*c);
  } catch (const std::exception& e) {
    log::error("server.start_failed", {{"error", e.what()}});
    return 1;
  }

  // The server's connections act as the application role from here on (docs/security.md).
  store::set_app_role(cfg.db.app_role);

  // 2. The feed hub: orders frames and fans them out to subscribers.
  service::FeedHub hub(cfg.feed.ring_size, last_seq);
  service::Metrics metrics;

  // Intake and order batches between their start and their frames' offer to the hub: the
  // listener waits for them before reading a notified seq back from the table
  // (store/commits_in_flight.hpp).
  store::CommitsInFlight in_flight;

  // 3. Reader pool for queries and replay; intake writers that batch alerts into commits.
  store::DbPool pool(cfg.db.conninfo, cfg.db.pool_size, static_cast<std::size_t>(cfg.db.queue_limit),
                     cfg.db.statement_timeout_ms);
  store::AlertWriterOptions wopt;
  wopt.conninfo = cfg.db.conninfo;
  wopt.threads = cfg.db.writer_threads;
  wopt.overflow_ms = cfg.db.writer_overflow_ms;
  wopt.batch_max = static_cast<std::size_t>(cfg.db.batch_max);
  wopt.gather_ms = cfg.db.batch_gather_ms;
  wopt.queue_limit = static_cast<std::size_t>(cfg.db.queue_limit) * 4;
  wopt.statement_timeout_ms = cfg.db.statement_timeout_ms;
  wopt.utc_offset_minutes = cfg.utc_offset_minutes;
  // Fusion: locate, owner and merge run inside the intake transaction, and so (by default,
  // fusion.in_transaction) do cameras, units, household and history; the fusion worker fuses
  // relocated and split incidents, what the sweep finds, and intake's incidents when that part
  // runs after the commit or failed (docs/architecture.md, "Fusion").
  store::FusionWorker fusion(
      cfg.db.conninfo, cfg.db.statement_timeout_ms, store::fusion_options(cfg.fusion),
      [&hub](std::vector<domain::Frame> frames) { hub.offer(std::move(frames)); },
      [&metrics](double s) { metrics.observe_fusion("after_commit", s); },
      cfg.fusion.after_commit ? cfg.fusion.sweep_interval_s : 0);
  const auto lo = store::locate_options(cfg.fusion);
  wopt.nearest_zone_m = lo.nearest_zone_m;
  wopt.address_min_score = lo.address_min_score;
  wopt.address_sure_score = lo.address_sure_score;
  wopt.merge_radius_m = cfg.fusion.merge_radius_m;
  wopt.merge_window_s = cfg.fusion.merge_window_s;
  for (auto src : domain::split_list(cfg.loop.auto_assess_sources))
    if (!src.empty()) wopt.auto_assess_sources.emplace_back(src);
  if (cfg.fusion.after_commit) {
    if (cfg.fusion.in_transaction) wopt.fuse = store::fusion_options(cfg.fusion);
    wopt.after_commit = [&fusion](std::vector<std::string> ids) { fusion.enqueue(std::move(ids)); };
  }
  wopt.observe_fusion = [&metrics](std::string_view stage, double s) { metrics.observe_fusion(stage, s); };
  // Zones, grids, addresses, cameras and markers in memory for intake's fusion, reloaded when
  // their version moves (a NOTIFY below, or a batch that found its copy behind the tables).
  store::ReferenceCache reference(cfg.db.conninfo);
  if (cfg.fusion.reference_in_memory) {
    reference.start();
    wopt.reference = &reference;
  }
  wopt.in_flight = &in_flight;
  store::AlertWriter writer(wopt, [&hub](std::vector<domain::Frame> frames) { hub.offer(std::move(frames)); });

  // Position writers: unit position reports batched into shared commits (telemetry, no feed
  // events), and the track retention task.
  store::PositionWriterOptions popt;
  popt.conninfo = cfg.db.conninfo;
  popt.threads = cfg.units.writer_threads;
  popt.batch_max = static_cast<std::size_t>(cfg.units.batch_max);
  popt.queue_limit = static_cast<std::size_t>(cfg.units.queue_limit);
  popt.statement_timeout_ms = cfg.db.statement_timeout_ms;
  popt.retention_days = cfg.units.track_retention_days;
  popt.prune_interval = std::chrono::seconds(cfg.units.prune_interval_s);
  store::PositionWriter positions(popt);

  // Order writers: the order steps of concurrent requests share one transaction and one commit
  // (docs/architecture.md, "### Orders"); loop.order_writer_threads 0 runs them on the pool.
  store::OrderWriterOptions oopt;
  oopt.conninfo = cfg.db.conninfo;
  oopt.threads = cfg.loop.order_writer_threads;
  oopt.batch_max = static_cast<std::size_t>(cfg.loop.order_batch_max);
  oopt.queue_limit = static_cast<std::size_t>(cfg.db.queue_limit);
  oopt.statement_timeout_ms = cfg.db.statement_timeout_ms;
  oopt.gather_ms = cfg.loop.order_batch_gather_ms;
  oopt.policy = cfg.deadlines;
  oopt.utc_offset_minutes = cfg.utc_offset_minutes;
  oopt.in_flight = &in_flight;
  store::OrderWriter order_writer(oopt, [&hub](std::vector<domain::Frame> frames) { hub.offer(std::move(frames)); });

  // 4. LISTEN/NOTIFY: brings in what other instances commit, and fills any gap.
  store::NotifyListener listener(
      cfg.db.conninfo, cfg.feed.poll_interval_ms, [&hub] { return hub.last_released(); },
      [&hub](std::vector<domain::Frame> frames) { hub.offer(std::move(frames)); }, &in_flight,
      cfg.feed.local_wait_ms);
  // Checked credentials, dropped whenever any instance revokes something.
  service::CredentialCache credentials(std::chrono::milliseconds(cfg.security.credential_cache_ms));
  service::AbuseGuard guard(cfg.security);
  // Set once the server exists; a notification before that has no feed to close.
  std::atomic<http::Server*> edge{nullptr};
  listener.on_change(store::kAuthChannel, [&credentials, &edge] {
    credentials.clear();
    if (auto* s = edge.load()) s->recheck_credentials();
  });
  // The categories, reloaded on a pool connection whenever any session changes the table.
  listener.on_change(store::categories_channel, [&pool, &categories] {
    pool.submit([&categories](pqxx::connection* c) {
      if (!c) return;
      try {
        categories.replace(store::load_categories(*c));
        log::info("categories.reloaded", {{"count", categories.all()->size()}});
      } catch (const std::exception& e) {
        log::warn("categories.reload_failed", {{"error", e.what()}});
      }
    });
  });
  if (cfg.fusion.reference_in_memory)
    listener.on_change(store::reference_channel, [&reference] { reference.request_reload(); });
  listener.start();

  // 4b. Escalation: announces each missed deadline once across all instances (rows and their
  // fired_at live in the database; docs/architecture.md, "Deadlines and escalation").
  store::EscalationOptions eopt;
  eopt.conninfo = cfg.db.conninfo;
  eopt.statement_timeout_ms = cfg.db.statement_timeout_ms;
  eopt.scan_ms = cfg.loop.escalation_scan_ms;
  eopt.batch = cfg.loop.escalation_batch;
  store::EscalationScheduler escalation(
      eopt, [&hub](std::vector<domain::Frame> frames) { hub.offer(std::move(frames)); },
      [&metrics](const std::string& kind, double lag_s) { metrics.observe_deadline_missed(kind, lag_s); });
  escalation.start();

  metrics.add_sampled("xiaonao_db_queue_depth", "gauge", "Database jobs waiting for a connection (reads and intake).",
                      [&] { return static_cast<double>(pool.queue_depth() + writer.queue_depth()); });
  // Intake batching: batch_alerts / batches is the mean batch size; seconds / batches the
  // mean transaction time (BEGIN to COMMIT, including the wait for the feed_seq lock).
  metrics.add_sampled("xiaonao_intake_batches_total", "counter", "Committed intake transactions.",
                      [&] { return static_cast<double>(writer.stats().batches); });
  metrics.add_sampled("xiaonao_intake_batch_alerts_total", "counter", "Alerts carried by committed intake transactions.",
                      [&] { return static_cast<double>(writer.stats().alerts); });
  metrics.add_sampled("xiaonao_intake_transaction_seconds_total", "counter",
                      "Seconds spent in intake transactions, BEGIN to COMMIT.", [&] { return writer.stats().seconds; });
  // Fusion in the intake transaction: the incidents whose parts came with the merge look-up
  // (one round trip for both) and those that needed the parts statement after it.
  metrics.add_sampled("xiaonao_fusion_parts_guessed_total", "counter",
                      "Incidents fused at intake whose parts came with the merge look-up.",
                      [&] { return static_cast<double>(writer.stats().parts_guessed); });
  metrics.add_sampled("xiaonao_intake_batch_retries_total", "counter",
                      "Intake batches run again after a deadlock, serialization failure or lost connection.",
                      [&] { return static_cast<double>(writer.stats().retries); });
  metrics.add_sampled("xiaonao_fusion_parts_rerun_total", "counter",
                      "Incidents fused at intake whose parts needed a statement after the merge look-up.",
                      [&] { return static_cast<double>(writer.stats().parts_rerun); });
  // The feed's reads of the events table: other instances' commits, gaps, the poll (not this
  // instance's own batches, which the writers hand to the hub).
  metrics.add_sampled("xiaonao_feed_table_reads_total", "counter",
                      "Reads of the events table by the notify listener (after a NOTIFY or on the poll).",
                      [&] { return static_cast<double>(listener.table_reads()); });
  // Order batching: steps / batches is the mean batch size.
  metrics.add_sampled("xiaonao_order_batches_total", "counter", "Committed order-writer transactions.",
                      [&] { return static_cast<double>(order_writer.stats().batches); });
  metrics.add_sampled("xiaonao_order_batch_steps_total", "counter",
                      "Order steps (refused ones included) carried by committed order-writer transactions.",
                      [&] { return static_cast<double>(order_writer.stats().steps); });
  metrics.add_sampled("xiaonao_order_transaction_seconds_total", "counter",
                      "Seconds spent in order-writer transactions, BEGIN to COMMIT.",
                      [&] { return order_writer.stats().seconds; });
  metrics.add_sampled("xiaonao_order_batch_retries_total", "counter",
                      "Order-writer batches run again after a deadlock, serialization failure or lost connection.",
                      [&] { return static_cast<double>(order_writer.stats().retries); });
  metrics.add_sampled("xiaonao_order_queue_depth", "gauge", "Order steps waiting for an order writer.",
                      [&] { return static_cast<double>(order_writer.queue_depth()); });
  metrics.add_sampled("xiaonao_unit_position_batches_total", "counter", "Committed position-report transactions.",
                      [&] { return static_cast<double>(positions.stats().batches); });
  metrics.add_sampled("xiaonao_unit_positions_total", "counter", "Position reports carried by committed transactions.",
                      [&] { return static_cast<double>(positions.stats().reports); });
  metrics.add_sampled("xiaonao_unit_position_queue_depth", "gauge", "Position reports waiting for a writer.",
                      [&] { return static_cast<double>(positions.queue_depth()); });
  metrics.add_sampled("xiaonao_unit_positions_pruned_total", "counter", "Track points deleted by the retention task.",
                      [&] { return static_cast<double>(positions.stats().pruned); });
  metrics.add_sampled("xiaonao_reference_reloads_total", "counter",
                      "Pictures of the reference data loaded into memory (start-up and every change).",
                      [&] { return static_cast<double>(reference.reloads()); });
  metrics.add_sampled("xiaonao_reference_stale_batches_total", "counter",
                      "Intake batches that found the reference data in memory behind the tables and read the tables.",
                      [&] { return static_cast<double>(reference.stale_reads()); });
  metrics.add_sampled("xiaonao_feed_subscribers", "gauge", "Open feed WebSocket subscriptions.",
                      [&] { return static_cast<double>(hub.subscriber_count()); });
  metrics.add_sampled("xiaonao_feed_events_published_total", "counter", "Feed events released to subscribers.",
                      [&] { return static_cast<double>(hub.published_total()); });
  metrics.add_sampled("xiaonao_feed_last_seq", "gauge", "Highest seq released on this instance's feed.",
                      [&] { return static_cast<double>(hub.last_released()); });

  // 5. The network edge.
  // Argon2id (logins, new passwords) runs here, never on a database connection (two at once:
  // each takes security.argon2_memory_kib).
  net::thread_pool hashing(2);
  http::Server server(ioc, http::Context{cfg, pool, writer, hub, metrics, categories, credentials, guard, &positions,
                                          cfg.loop.order_writer_threads > 0 ? &order_writer : nullptr, &hashing,
                                          cfg.fusion.reference_in_memory ? &reference : nullptr},
                      tls);
  edge = &server;
  unsigned short port = 0;
  try {
    port = server.listen(cfg.listen_host(), cfg.listen_port());
    if (!port_file.empty()) write_port_file(port_file, port);
  } catch (const std::exception& e) {
    log::error("server.listen_failed", {{"listen", cfg.listen}, {"error", e.what()}});
    escalation.stop();
    listener.stop();
    positions.stop();
    order_writer.stop();
    writer.stop();
    pool.stop();
    return 1;
  }
  log::info("server.listening",
            {{"host", cfg.listen_host()}, {"port", port}, {"tls", cfg.http.tls()}, {"last_seq", last_seq}});

  // 6. Graceful shutdown: stop accepting, close feeds with "going away", let in-flight
  // requests finish, and give up after the grace period.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer drain(ioc);
  std::chrono::steady_clock::time_point deadline;
  std::function<void()> poll_drain = [&] {
    if (server.active_sessions() == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (server.active_sessions() != 0) log::warn("server.shutdown_timeout", {{"sessions", server.active_sessions()}});
      ioc.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](boost::system::error_code) { poll_drain(); });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::info("server.signal", {{"signal", sig}});
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.shutdown_grace_ms);
    server.begin_shutdown();
    poll_drain();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < cfg.io_threads; ++i)
    threads.emplace_back([&ioc, i] {
      log::name_thread("xn-io-" + std::to_string(i));
      ioc.run();
    });
  ioc.run();
  for (auto& t : threads) t.join();

  hashing.join();  // logins in flight finish their check (their answers go nowhere now)
  escalation.stop();
  listener.stop();
  positions.stop();
  order_writer.stop();
  writer.stop();
  fusion.stop();
  pool.stop();
  log::info("server.stopped", {});
  return 0;
}

}  // namespace xiaonao::app
