#pragma once
/// The server's typed configuration: every key has a default, a check and a line of docs.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/loop.hpp"

namespace xiaonao::config {

/// HTTP listener limits.
struct Http {
  std::size_t max_header_bytes = 16 * 1024;  ///< request line + headers; over it: 431
  std::size_t max_body_bytes = 1024 * 1024;  ///< request body; over it: 413
  int read_timeout_ms = 15000;    ///< a request must arrive whole within this once it starts
  int idle_timeout_ms = 60000;    ///< a keep-alive connection with no request is closed after this
  int pipeline_limit = 16;        ///< requests read ahead of their responses on one connection
  std::size_t max_json_depth = 16;  ///< nesting of arrays/objects accepted in a JSON body
  std::string tls_cert;           ///< PEM certificate chain file; with tls_key: HTTPS; both empty: plain HTTP
  std::string tls_key;            ///< PEM private key file of tls_cert
  int hsts_max_age_s = 31536000;  ///< Strict-Transport-Security max-age sent when TLS is on
  /// Whether the listener speaks TLS (both files given; load() refuses one without the other).
  bool tls() const { return !tls_cert.empty(); }
};

/// The live WebSocket feed.
struct Feed {
  std::size_t send_queue_max = 8192;  ///< frames queued for one subscriber before it is cut off
  std::size_t ring_size = 65536;      ///< recent frames kept in memory to join replay and live
  int ping_interval_ms = 20000;       ///< ping period; a peer silent for 2 periods is closed
  int replay_page = 1000;             ///< events read from the database per replay step
  int slow_close_grace_ms = 5000;     ///< how long a cut-off subscriber gets to take the close frame
  int poll_interval_ms = 1000;        ///< safety poll of the event table when no NOTIFY arrives
  int local_wait_ms = 250;            ///< a notified seq waits this long for our own batches before it is read
};

/// Database access.
struct Db {
  std::string conninfo = "dbname=xiaonao";  ///< libpq connection string (env XIAONAO_DB)
  int pool_size = 4;             ///< reader connections (queries for HTTP and replay)
  int queue_limit = 2000;        ///< jobs waiting for a connection before 503
  int writer_threads = 2;        ///< intake writers, each batching concurrent alerts into one commit
  int writer_overflow_ms = 20;   ///< writers after the first take a batch only while the first has been on its own this long (0: any writer, any time)
  int batch_max = 256;           ///< alerts per intake transaction at most
  int batch_gather_ms = 0;       ///< an intake writer waits this long for more alerts after the first (0: never)
  int statement_timeout_ms = 5000;  ///< PostgreSQL statement_timeout for every connection
  bool migrate_on_start = true;  ///< apply pending migrations at start-up
  std::string app_role = "xiaonao_app";  ///< role every server connection switches to (SET ROLE); empty: none
};

/// Identity, sessions and abuse limits (docs/security.md).
struct Security {
  int access_ttl_s = 900;            ///< life of an access token from login or refresh
  int refresh_ttl_s = 43200;         ///< life of a refresh token (one shift)
  int credential_cache_ms = 30000;   ///< how long a checked token or key is trusted without the database
  int rate_per_principal = 5000;     ///< requests/s per user or key (token bucket refill)
  int burst_per_principal = 10000;   ///< bucket size per user or key
  int rate_per_address = 20;         ///< requests/s per client address without valid credentials
  int burst_per_address = 60;        ///< bucket size per address
  int login_max_failures = 5;        ///< failed logins per account or address before a pause
  int login_window_s = 900;          ///< the pause and the window failures are counted in
  int password_min_length = 10;      ///< shortest password accepted for a user
  int argon2_memory_kib = 65536;     ///< Argon2id memory cost of new password hashes
  int argon2_ops = 2;                ///< Argon2id passes of new password hashes
  bool open_metrics = false;         ///< serve /metrics without credentials (scraper on a closed network)
  std::string cors_origins;          ///< comma-separated origins allowed cross-origin; empty: none
};

/// Live unit data and the map.
struct Units {
  int writer_threads = 2;          ///< position writers, each batching concurrent reports into one commit
  int batch_max = 1000;            ///< position reports per transaction at most
  int queue_limit = 50000;         ///< position reports waiting for a writer before 503
  int track_retention_days = 30;   ///< unit_positions older than this are deleted (in small batches)
  int prune_interval_s = 300;      ///< how often the retention task runs
  int track_max_hours = 24;        ///< longest from..to span of one track query
  int track_max_points = 10000;    ///< most points one track query returns
  int map_max_area_km2 = 2500;     ///< largest bbox of one map query
  int map_layer_cap = 2000;        ///< features per map layer at most (then truncated: true)
};

/// Fusion at intake (docs/architecture.md, "Fusion").
struct Fusion {
  bool after_commit = true;       ///< fuse cameras/units/household/history for every incident intake opens or joins
  bool in_transaction = true;     ///< ... inside the alert's transaction (false: on the worker, after the commit)
  int sweep_interval_s = 30;      ///< look for open incidents left unfused this often (0: never)
  bool reference_in_memory = true;  ///< zones, grids, addresses, cameras, markers held in memory for intake
  int cameras_max = 8;            ///< cameras offered per incident
  int camera_radius_m = 300;      ///< cameras searched within this distance
  int units_max = 5;              ///< available units offered per incident
  int unit_max_age_s = 600;       ///< a unit position older than this is left out (and counted)
  int nearest_zone_m = 500;       ///< off every zone polygon: the nearest zone within this, flagged
  int history_radius_m = 100;     ///< earlier incidents within this distance are history
  int history_days = 365;         ///< history looks back this far
  int history_max = 20;           ///< history entries kept per incident
  int household_max = 50;         ///< residents listed per address
  int merge_radius_m = 200;       ///< an alert this close to an open incident may join it
  int merge_window_s = 600;       ///< ... when received within this many seconds of it
  int address_min_score_pct = 30;   ///< a fuzzy address match below this similarity is not used
  int address_sure_score_pct = 60;  ///< at or above (and 10 points ahead of the next) it is sure
};

/// Reference data (the county's stations, zones, addresses, persons ...).
struct Reference {
  std::size_t max_body_bytes = 64 * 1024 * 1024;  ///< body of PUT /api/v1/reference/{kind}; over it: 413
};

/// The closed loop (docs/architecture.md, "The closed loop").
struct Loop {
  /// Alerts from these sources (comma-separated) open their incident already assessed: their
  /// category, priority and place come from a trusted system (an anti-fraud centre, a pillar).
  std::string auto_assess_sources = "fraud_warning,alarm_pillar";
  int escalation_scan_ms = 250;   ///< the scheduler wakes at least this often (and at the next due time)
  int escalation_batch = 500;     ///< deadlines announced per transaction
  int order_writer_threads = 1;   ///< order writers batching concurrent order steps (0: each step on the reader pool)
  int order_batch_max = 64;       ///< order steps per transaction at most
  int order_batch_gather_ms = 0;  ///< an order writer waits this long for more steps after the first (0: never)
};

/// Logging.
struct Log {
  std::string level = "info";  ///< trace|debug|info|warn|error (env XIAONAO_LOG_LEVEL)
  bool json = false;           ///< JSON lines instead of text (env XIAONAO_LOG_JSON=1)
};

/// The station console (the browser app served at /).
struct Console {
  std::string web_root;  ///< directory of the built console; empty: `web` beside the executable (env XIAONAO_WEB_ROOT too)
  std::string tile_url;  ///< optional internal tile server, "https://host/{z}/{x}/{y}.png"; empty: GeoJSON base map only
};

/// Everything xiaonaod reads at start-up.
struct Config {
  std::string listen = "127.0.0.1:8080";  ///< host:port, port 0 = any free port (env XIAONAO_LISTEN)
  int io_threads = 2;                     ///< threads running network I/O
  int shutdown_grace_ms = 10000;          ///< in-flight work gets this long after SIGTERM
  int utc_offset_minutes = 480;           ///< local time for incident numbers (China: +08:00)
  Http http;
  Feed feed;
  Db db;
  Security security;
  Units units;
  Fusion fusion;
  Reference reference;
  domain::loop::DeadlinePolicy deadlines;  ///< deadline per step, priority and area type
  Loop loop;
  Log log;
  Console console;

  /// The host part of `listen`, without IPv6 brackets ("::1" for "[::1]:8080").
  std::string listen_host() const;
  /// The port part of `listen` (0 = any free port; also 0 if `listen` was never validated).
  unsigned short listen_port() const;
};

/// Loads a config: defaults, then the JSON file (if path is not empty), then environment
/// overrides from `env`. Unknown keys and out-of-range values are errors naming the key.
/// Every key has a variable: XIAONAO_ + its path upper-cased with '.' as '_'
/// (XIAONAO_FEED_SEND_QUEUE_MAX); XIAONAO_DB is a short alias of XIAONAO_DB_CONNINFO and wins.
domain::Result<Config> load(const std::string& path, const std::map<std::string, std::string>& env);

/// Validates a JSON object onto a Config (used by load; exposed for tests).
domain::Result<Config> from_json_text(std::string_view text);

/// Reads the XIAONAO_* variables of this process into a map for load().
std::map<std::string, std::string> process_env();

/// The XIAONAO_* names in `env` that match no key (likely typos); load() ignores them because
/// scripts may set XIAONAO_* variables of their own, so the caller should log a warning.
std::vector<std::string> unknown_env(const std::map<std::string, std::string>& env);

/// Every key with its value, in the file's layout (what the example file holds for Config{}).
/// db.conninfo is included verbatim and may hold a password: mask it before logging.
nlohmann::json to_json(const Config& c);

}  // namespace xiaonao::config
