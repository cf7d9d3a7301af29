#pragma once
/// The integration-test harness: a fresh PostgreSQL database per test, xiaonaod as a child
/// process bound to 127.0.0.1:0, direct SQL for assertions, feed and raw-HTTP helpers.
///
/// Every test needs XIAONAO_TEST_DB, a libpq keyword/value conninfo to a maintenance database
/// (normally `postgres`) of a cluster where the user may create databases and extensions;
/// scripts/test.sh sets it. Without it every test is skipped.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "xiaonao/client/client.hpp"

namespace xiaonao::itest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
/// Environment variables as name/value pairs, applied in order.
using Env = std::vector<std::pair<std::string, std::string>>;

/// The xiaonaod binary under test (set by CMake).
const char* server_path();
/// The repository's sql/ folder (set by CMake), to count the migrations this build knows.
const char* sql_dir();

/// XIAONAO_TEST_DB, or nullopt when it is unset or empty.
std::optional<std::string> test_db_conninfo();

/// Parses a keyword/value libpq conninfo (`host=/x port=5432 dbname='a b'`) in order.
/// Throws std::invalid_argument on a URI or on bad syntax.
std::vector<std::pair<std::string, std::string>> parse_conninfo(std::string_view text);
/// `conninfo` with its dbname replaced (or added).
std::string conninfo_with_dbname(std::string_view conninfo, std::string_view dbname);

/// A database cloned from `xn_template` (PostGIS + pg_trgm, created once per cluster under an
/// advisory lock so that parallel test processes do not race), dropped WITH (FORCE) on
/// destruction.
class TestDatabase {
 public:
  explicit TestDatabase(std::string maintenance_conninfo);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// The database's name (xn_<random>).
  const std::string& name() const { return name_; }
  /// A conninfo for this database.
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string maintenance_;
  std::string name_;
  std::string conninfo_;
};

/// One connection for assertions; each call runs in its own implicit transaction.
/// Not thread-safe: use it from the test's main thread.
class Sql {
 public:
  explicit Sql(const std::string& conninfo) : conn_(conninfo) {}

  /// Runs a statement with $n parameters.
  template <class... Args>
  pqxx::result exec(const std::string& query, Args&&... args) {
    pqxx::nontransaction tx(conn_);
    return tx.exec_params(query, std::forward<Args>(args)...);
  }
  /// The first column of the first row as an integer (0 when there is no row or it is NULL).
  template <class... Args>
  std::int64_t scalar(const std::string& query, Args&&... args) {
    const auto r = exec(query, std::forward<Args>(args)...);
    if (r.empty() || r[0][0].is_null()) return 0;
    return r[0][0].template as<std::int64_t>();
  }
  /// Row counts of the tables intake writes to.
  struct Counts {
    std::int64_t alerts = 0;
    std::int64_t incidents = 0;
    std::int64_t events = 0;
    bool operator==(const Counts&) const = default;
  };
  Counts counts();
  /// The highest event seq (0 when none).
  std::int64_t max_seq() { return scalar("SELECT coalesce(max(seq), 0) FROM events"); }
  /// "" when the events table's seqs are exactly 1..max; else what is wrong.
  std::string seq_table_problem();

 private:
  pqxx::connection conn_;
};

/// A child process with its own environment (the parent's minus every XIAONAO_* variable, plus
/// `env`, where a later entry for a name replaces an earlier one), stdout and stderr appended
/// to files. SIGKILLed and reaped on destruction if running;
/// also SIGKILLed by the kernel if the test process dies.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const Env& env,
          const std::filesystem::path& stdout_path, const std::filesystem::path& stderr_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  /// True while the process has not exited (reaps it if it has).
  bool running();
  /// Sends a signal (no-op once reaped).
  void signal(int sig);
  /// Waits for the exit up to `timeout`. Returns the exit code, or -N when killed by signal N;
  /// nullopt when it is still running at the deadline.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  /// The exit result once reaped.
  std::optional<int> exit_result() const { return exit_; }

 private:
  pid_t pid_{-1};
  std::optional<int> exit_;
};

/// A whole file's bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

/// Runs a command to completion (SIGKILL at the deadline). Returns the exit result (as
/// Process::wait_for; -1000 on a timeout), stdout and stderr.
struct RunResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};
RunResult run_command(const std::vector<std::string>& argv, const Env& env,
                      const std::filesystem::path& dir, std::chrono::milliseconds timeout = 60s);

/// How a Server is started.
struct ServerOptions {
  Env env;                        ///< extra environment, applied after the defaults (can override)
  std::vector<std::string> args;  ///< extra command-line arguments
  bool wait_ready = true;         ///< wait for /readyz 200 (false: /healthz 200 is enough)
  std::string tls_ca;             ///< not empty: the server speaks TLS; probe it over TLS trusting this CA file
};

/// xiaonaod under test: `--port-file`, XIAONAO_DB, XIAONAO_LISTEN=127.0.0.1:0.
class Server {
 public:
  Server(std::string db_conninfo, std::filesystem::path dir, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Spawns the process and waits until it serves (throws with the log tail on failure).
  void start();
  /// Spawns the process without waiting.
  void spawn();
  /// Waits for the port file and /readyz (or /healthz) == 200; throws after `deadline`.
  void wait_started(std::chrono::milliseconds deadline = 30s);
  /// The bound port read from the port file (valid after wait_started).
  unsigned short port() const { return port_; }
  pid_t pid() const;
  bool running();
  /// Sends `sig` without waiting.
  void signal(int sig);
  /// Sends `sig` and reaps the process.
  void kill(int sig = SIGKILL);
  /// Waits for the exit; see Process::wait_for.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// SIGTERM, then waits up to `deadline` for the exit. Returns the exit code (or -signal);
  /// on a timeout the process is SIGKILLed and -1000 is returned.
  int terminate(std::chrono::milliseconds deadline = 30s);
  /// Kills the process if it runs and starts it again on the same database (new port).
  void restart();

  const std::filesystem::path& log_path() const { return log_path_; }
  const std::filesystem::path& port_file() const { return port_file_; }
  /// The whole log, and its last `max_bytes`.
  std::string log() const;
  std::string log_tail(std::size_t max_bytes = 12000) const;

 private:
  std::string db_conninfo_;
  std::filesystem::path dir_;
  ServerOptions options_;
  int id_;
  std::filesystem::path log_path_;
  std::filesystem::path port_file_;
  std::unique_ptr<Process> process_;
  unsigned short port_{0};
};

/// The base fixture: skips without XIAONAO_TEST_DB, gives each test a fresh database and a
/// temporary directory, owns the servers it starts, prints their logs when the test failed.
/// The password of the users tests create with add_user.
inline constexpr const char* kTestPassword = "demo-Passw0rd";

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Constructs and starts a server on this test's database.
  Server& start_server(ServerOptions options = {});
  /// Constructs a server without starting it.
  Server& add_server(ServerOptions options = {});
  /// Assertions connection to this test's database.
  Sql& sql();
  const std::string& db_conninfo() const { return db_->conninfo(); }
  const std::string& database_name() const { return db_->name(); }
  /// Closes the assertions connection (the next sql() opens a new one).
  void reset_sql() { sql_.reset(); }
  /// Another fresh database owned by this test (dropped in TearDown).
  TestDatabase& extra_database();
  const std::filesystem::path& dir() const { return dir_; }

  /// Creates a user with the CLI, the way operators do (`station` empty: none).
  void add_user(const std::string& number, const std::string& roles, const std::string& station,
                const std::string& password = kTestPassword);
  /// Logs in; returns the whole answer (fails the test unless 200).
  static json login(unsigned short port, const std::string& number, const std::string& password = kTestPassword);
  /// Logs in; returns the access token ("" after a failed login, which fails the test).
  static std::string access_token(unsigned short port, const std::string& number,
                                  const std::string& password = kTestPassword);
  /// A request with `token` as the bearer credential (empty: no credentials at all).
  static client::Response as(unsigned short port, const std::string& token, const std::string& method,
                             const std::string& target, const std::string& body = {});

 private:
  std::filesystem::path dir_;
  std::unique_ptr<TestDatabase> db_;
  std::vector<std::unique_ptr<TestDatabase>> extra_dbs_;
  std::unique_ptr<Sql> sql_;
  std::vector<std::unique_ptr<Server>> servers_;
};

/// Waits until `pred()` holds, checking every `step`; false at the deadline (a failure guard,
/// not a synchronization point).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step = 20ms);

// ---- credentials --------------------------------------------------------------------------------

/// GET /api/v1/incidents/{id}`query` until the after-commit fusion stage has run (`fused_at`
/// set; a failure guard of 20 s), and returns that view (a test failure when it never is).
json wait_fused_view(client::HttpClient& http, const std::string& id, const std::string& query = "");
/// The running test's integrator key (every key scope, any source), made by `xiaonaod apikey
/// create` in SetUp; empty before.
std::string test_api_key();
/// The headers that carry test_api_key().
std::vector<std::pair<std::string, std::string>> auth_headers();

/// An HttpClient on 127.0.0.1:`port` that sends the test's key with every request.
class ApiClient : public client::HttpClient {
 public:
  explicit ApiClient(unsigned short port, std::chrono::milliseconds timeout = 30s);
};

// ---- reference geometry -----------------------------------------------------------------------

/// WKT of the axis-aligned square lon0..lon1 × lat0..lat1 as a MULTIPOLYGON (zones, grids).
std::string square(double lon0, double lat0, double lon1, double lat1);
/// EWKT of a WGS 84 point (stations, addresses, cameras, units).
std::string point(double lon, double lat);

// ---- alerts -----------------------------------------------------------------------------------

/// A source_ref no other alert in any test process uses.
std::string unique_ref(std::string_view tag = "it");
/// The current time as RFC 3339 UTC.
std::string now_rfc3339();
/// A valid alert (source 110, a unique source_ref, caller, location, address, description).
json make_alert(std::string_view category = "theft");
/// True for a canonical lowercase UUID.
bool is_uuid(const std::string& s);
/// POSTs `alert` and returns the response; throws std::runtime_error on I/O failure.
client::Response post_alert(client::HttpClient& http, const json& alert);

/// The `error` object of an error response, or null json when the body has none.
json error_of(const client::Response& r);

// ---- the feed ---------------------------------------------------------------------------------

/// One feed frame.
struct FeedEvent {
  std::int64_t seq{0};
  std::string type;
  std::string at;
  json data;
  std::string text;  ///< the frame as received
};

/// Parses a frame; on failure returns nullopt and says why in `error`.
std::optional<FeedEvent> parse_feed_frame(const std::string& text, std::string& error);

/// A feed subscriber that records every frame it reads.
class FeedReader {
 public:
  /// Connects to /ws/feed with `query` ("since=0", "" for none) and `headers` (default: the
  /// test's key). Throws when refused.
  FeedReader(unsigned short port, const std::string& query);
  FeedReader(unsigned short port, const std::string& query, const std::vector<std::pair<std::string, std::string>>& headers);

  /// Reads until `done()` holds, the connection closes or the deadline passes; returns done().
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds deadline);
  /// Reads until a frame with seq >= `seq` arrived.
  bool read_through(std::int64_t seq, std::chrono::milliseconds deadline = 60s);
  /// Reads until at least `n` frames arrived in total.
  bool read_count(std::size_t n, std::chrono::milliseconds deadline = 60s);
  /// Reads until the server closes the connection.
  bool read_until_closed(std::chrono::milliseconds deadline = 60s);

  const std::vector<FeedEvent>& events() const { return events_; }
  /// Frames that were not valid feed frames (each with the reason).
  const std::vector<std::string>& errors() const { return errors_; }
  std::int64_t last_seq() const { return events_.empty() ? 0 : events_.back().seq; }
  client::WsClient& ws() { return *ws_; }
  bool closed() const { return ws_->closed(); }
  int close_code() const { return ws_->close_code(); }

 private:
  /// Reads one frame (waiting up to `wait`); false when none arrived.
  bool read_one(std::chrono::milliseconds wait);

  std::unique_ptr<client::WsClient> ws_;
  std::vector<FeedEvent> events_;
  std::vector<std::string> errors_;
};

/// "" when the seqs of `events` are exactly first, first+1, ...; else the first problem.
std::string seq_problem(const std::vector<FeedEvent>& events, std::int64_t first);
/// The seqs of `events`.
std::vector<std::int64_t> seqs_of(const std::vector<FeedEvent>& events);
/// The alert ids of the alert.received frames.
std::vector<std::string> received_alert_ids(const std::vector<FeedEvent>& events);

// ---- raw HTTP ---------------------------------------------------------------------------------

/// One response read off a raw socket. Header names are lowercased.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// A plain TCP connection to 127.0.0.1:port, for what HttpClient hides (connection reuse,
/// pipelining, oversized headers, requests already sent when a signal arrives).
class RawConnection {
 public:
  explicit RawConnection(unsigned short port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Writes all bytes; false when the peer closed or reset the connection.
  bool send(std::string_view bytes);
  /// Reads one response; nullopt when the connection closed (or failed) before a whole
  /// response arrived. Throws std::runtime_error after `timeout`.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = 30s);
  /// True when the peer has closed the connection (EOF or reset) within `timeout`.
  bool peer_closed_within(std::chrono::milliseconds timeout);

 private:
  int fd_{-1};
  std::string buf_;
};

/// An HTTP/1.1 request as bytes (keep-alive; Content-Length when there is a body).
std::string raw_request(std::string_view method, std::string_view target,
                        std::string_view body = {}, std::string_view content_type = {},
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

// ---- TLS --------------------------------------------------------------------------------------

/// Writes a self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1, EC P-256, one
/// day) and its key into `dir` with the openssl command-line tool; returns {cert, key}.
std::pair<std::filesystem::path, std::filesystem::path> make_self_signed(const std::filesystem::path& dir,
                                                                         const std::string& name = "server");

/// One HTTPS request on a fresh connection to 127.0.0.1:`port`, verifying the server's
/// certificate against `ca_file` and the address 127.0.0.1. Throws on I/O, TLS or time-out.
client::Response tls_request(unsigned short port, const std::string& ca_file, const std::string& method,
                             const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             const std::string& body = {}, std::chrono::milliseconds timeout = 10s);

// ---- metrics ----------------------------------------------------------------------------------

/// The sum of every sample of `name` (any labels) in Prometheus text; nullopt when absent.
std::optional<double> metric_value(const std::string& text, std::string_view name);

}  // namespace xiaonao::itest
