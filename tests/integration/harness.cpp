#include "harness.hpp"

#include <cstdio>
#include <mutex>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "xiaonao/domain/time.hpp"

extern char** environ;

namespace xiaonao::itest {

namespace {
// The running test's key (SetUp writes it before any client thread starts).
std::mutex g_key_mu;
std::string g_key;
}  // namespace

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          (static_cast<std::uint64_t>(::getpid()) << 32)};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(digits[rng() % 16]);
  return out;
}

/// Quotes a conninfo value when it needs it.
std::string conn_quote(const std::string& v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\') plain = false;
  }
  if (plain) return v;
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

/// Runs one statement outside a transaction block (CREATE/DROP DATABASE need that).
void exec_outside_tx(pqxx::connection& c, const std::string& statement) {
  pqxx::nontransaction tx(c);
  tx.exec(statement);
}

/// Key of the advisory lock that serializes template creation across test processes.
constexpr std::int64_t kTemplateLock = 0x58494e54;  // "XINT"
constexpr const char* kTemplate = "xn_template";
constexpr const char* kTemplateBuild = "xn_template_build";

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* server_path() { return XIAONAOD_PATH; }
const char* sql_dir() { return XIAONAO_SQL_DIR; }

std::optional<std::string> test_db_conninfo() {
  const char* v = std::getenv("XIAONAO_TEST_DB");
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::vector<std::pair<std::string, std::string>> parse_conninfo(std::string_view text) {
  if (text.starts_with("postgres://") || text.starts_with("postgresql://")) {
    throw std::invalid_argument("XIAONAO_TEST_DB must be a keyword=value conninfo, not a URI");
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  while (true) {
    skip_ws();
    if (i >= text.size()) break;
    std::string key;
    while (i < text.size() && text[i] != '=' && !std::isspace(static_cast<unsigned char>(text[i]))) {
      key.push_back(text[i++]);
    }
    skip_ws();
    if (key.empty() || i >= text.size() || text[i] != '=') {
      throw std::invalid_argument("bad conninfo near '" + key + "'");
    }
    ++i;
    skip_ws();
    std::string value;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '\\' && i < text.size()) {
          value.push_back(text[i++]);
        } else if (c == '\'') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) throw std::invalid_argument("unterminated quote in conninfo");
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
        char c = text[i++];
        if (c == '\\' && i < text.size()) c = text[i++];
        value.push_back(c);
      }
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string conninfo_with_dbname(std::string_view conninfo, std::string_view dbname) {
  auto kv = parse_conninfo(conninfo);
  bool replaced = false;
  for (auto& [k, v] : kv) {
    if (k == "dbname") {
      v = std::string(dbname);
      replaced = true;
    }
  }
  if (!replaced) kv.emplace_back("dbname", std::string(dbname));
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out.push_back(' ');
    out += k + "=" + conn_quote(v);
  }
  return out;
}

// ---- TestDatabase -----------------------------------------------------------------------------

TestDatabase::TestDatabase(std::string maintenance_conninfo)
    : maintenance_(std::move(maintenance_conninfo)) {
  pqxx::connection c(maintenance_);
  exec_outside_tx(c, "SET client_min_messages = warning");
  // Session-level lock: held across the statements below, released explicitly (or when the
  // connection closes, should anything throw).
  exec_outside_tx(c, "SELECT pg_advisory_lock(" + std::to_string(kTemplateLock) + ")");
  bool exists = false;
  {
    pqxx::nontransaction tx(c);
    exists = !tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", kTemplate).empty();
  }
  {
    if (!exists) {
      // Built under another name and renamed when complete, so that a test process killed
      // half-way never leaves a template without its extensions.
      exec_outside_tx(c, std::string("DROP DATABASE IF EXISTS ") + kTemplateBuild + " WITH (FORCE)");
      exec_outside_tx(c, std::string("CREATE DATABASE ") + kTemplateBuild);
      {
        pqxx::connection t(conninfo_with_dbname(maintenance_, kTemplateBuild));
        exec_outside_tx(t, "SET client_min_messages = warning");
        exec_outside_tx(t, "CREATE EXTENSION IF NOT EXISTS postgis");
        exec_outside_tx(t, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
      }
      exec_outside_tx(c, std::string("ALTER DATABASE ") + kTemplateBuild + " RENAME TO " + kTemplate);
    }
  }
  name_ = "xn_" + std::to_string(::getpid()) + "_" + random_hex(10);
  exec_outside_tx(c, "CREATE DATABASE " + name_ + " TEMPLATE " + kTemplate);
  exec_outside_tx(c, "SELECT pg_advisory_unlock(" + std::to_string(kTemplateLock) + ")");
  conninfo_ = conninfo_with_dbname(maintenance_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(maintenance_);
    exec_outside_tx(c, "SET client_min_messages = warning");
    exec_outside_tx(c, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "[harness] could not drop database " << name_ << ": " << e.what() << "\n";
  }
}

// ---- Sql --------------------------------------------------------------------------------------

Sql::Counts Sql::counts() {
  const auto r = exec(
      "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM incidents), "
      "(SELECT count(*) FROM events)");
  return Counts{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>(), r[0][2].as<std::int64_t>()};
}

std::string Sql::seq_table_problem() {
  const auto r = exec(
      "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0) "
      "FROM events");
  const auto n = r[0][0].as<std::int64_t>();
  const auto distinct = r[0][1].as<std::int64_t>();
  const auto lo = r[0][2].as<std::int64_t>();
  const auto hi = r[0][3].as<std::int64_t>();
  if (n == 0) return "";
  if (n != distinct || lo != 1 || hi != n) {
    std::ostringstream s;
    s << "events table seqs are not exactly 1..max: count=" << n << " distinct=" << distinct
      << " min=" << lo << " max=" << hi;
    const auto gaps = exec(
        "SELECT s FROM generate_series(1::bigint, $1::bigint) s "
        "WHERE NOT EXISTS (SELECT 1 FROM events WHERE seq = s) ORDER BY s LIMIT 10",
        hi);
    if (!gaps.empty()) {
      s << "; missing:";
      for (const auto& row : gaps) s << " " << row[0].c_str();
    }
    return s.str();
  }
  return "";
}

// ---- Process ----------------------------------------------------------------------------------

Process::Process(const std::vector<std::string>& argv, const Env& env,
                 const fs::path& stdout_path, const fs::path& stderr_path) {
  if (argv.empty()) throw std::invalid_argument("Process: empty argv");
  // Everything the child needs is prepared before fork: after it, in a multithreaded parent,
  // only async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("XIAONAO_")) continue;  // the test's own settings never leak in
    env_strings.emplace_back(kv);
  }
  // A later entry for the same name replaces an earlier one (getenv would see the first).
  for (const auto& [k, v] : env) {
    std::erase_if(env_strings, [&k](const std::string& kv) { return kv.starts_with(k + "="); });
    env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  const std::string out_path = stdout_path.string();
  const std::string err_path = stderr_path.string();
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The child dies with the test process rather than lingering on a port.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = out_path == err_path ? out : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Sockets of the test process (feed clients, libpq) must not stay open in the child, or a
    // connection the test closes would stay open through it.
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    }
    // Default signal dispositions and an empty mask for the server.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
}

Process::~Process() {
  if (!exit_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool Process::running() {
  if (exit_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (!exit_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return exit_;
}

RunResult run_command(const std::vector<std::string>& argv, const Env& env, const fs::path& dir,
                      std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const int n = ++counter;
  const fs::path out = dir / ("cmd-" + std::to_string(n) + ".out");
  const fs::path err = dir / ("cmd-" + std::to_string(n) + ".err");
  RunResult result;
  {
    Process p(argv, env, out, err);
    auto code = p.wait_for(timeout);
    if (!code) {
      p.signal(SIGKILL);
      p.wait_for(10s);
      result.exit_code = -1000;
    } else {
      result.exit_code = *code;
    }
  }
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

// ---- Server -----------------------------------------------------------------------------------

namespace {
std::atomic<int> g_server_ids{0};
}

Server::Server(std::string db_conninfo, fs::path dir, ServerOptions options)
    : db_conninfo_(std::move(db_conninfo)),
      dir_(std::move(dir)),
      options_(std::move(options)),
      id_(++g_server_ids),
      log_path_(dir_ / ("xiaonaod-" + std::to_string(id_) + ".log")),
      port_file_(dir_ / ("xiaonaod-" + std::to_string(id_) + ".port")) {}

Server::~Server() {
  if (process_ && process_->running()) process_->signal(SIGKILL);
  process_.reset();
}

void Server::spawn() {
  if (process_ && process_->running()) throw std::logic_error("Server::spawn: already running");
  std::error_code ec;
  fs::remove(port_file_, ec);
  port_ = 0;
  {
    std::ofstream log(log_path_, std::ios::app);
    log << "==== [harness] starting " << server_path() << " ====\n";
  }
  std::vector<std::string> argv = {server_path(), "--port-file", port_file_.string()};
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  // Every test client comes from 127.0.0.1: the per-address limit would throttle the tests
  // themselves, so it is wide open unless a test sets its own.
  Env env = {{"XIAONAO_DB", db_conninfo_},
             {"XIAONAO_LISTEN", "127.0.0.1:0"},
             {"XIAONAO_SECURITY_RATE_PER_ADDRESS", "1000000"},
             {"XIAONAO_SECURITY_BURST_PER_ADDRESS", "1000000"},
             // make_alert sends every alert from one spot with one category, which duplicate merge
             // would fold into one incident, and the after-commit fusion stage adds
             // `incident.fused` events at its own pace: the intake, feed and durability tests
             // count incidents and frames exactly, so both are off unless a test turns them on
             // (test_fusion.cpp does).
             {"XIAONAO_FUSION_MERGE_RADIUS_M", "0"},
             {"XIAONAO_FUSION_AFTER_COMMIT", "false"}};
  env.insert(env.end(), options_.env.begin(), options_.env.end());
  process_ = std::make_unique<Process>(argv, env, log_path_, log_path_);
}

void Server::wait_started(std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  const std::string probe = options_.wait_ready ? "/readyz" : "/healthz";
  std::string last_problem = "no port file yet";
  while (Clock::now() < until) {
    if (!process_->running()) {
      throw std::runtime_error("xiaonaod exited with " + std::to_string(*process_->exit_result()) +
                               " before it served; log tail:\n" + log_tail());
    }
    const std::string text = read_file(port_file_);
    unsigned long port = 0;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    // The port counts once the file holds a whole line (or digits and nothing else).
    if (digits > 0 && digits <= 5) port = std::stoul(text.substr(0, digits));
    if (port > 0 && port <= 65535) {
      try {
        client::Response r;
        if (options_.tls_ca.empty()) {
          client::HttpClient http("127.0.0.1", static_cast<unsigned short>(port), 2s);
          r = http.get(probe);
        } else {
          r = tls_request(static_cast<unsigned short>(port), options_.tls_ca, "GET", probe, {}, {}, 2s);
        }
        if (r.status == 200) {
          port_ = static_cast<unsigned short>(port);
          return;
        }
        last_problem = probe + " answered " + std::to_string(r.status) + " " + r.body;
      } catch (const std::exception& e) {
        last_problem = probe + ": " + e.what();
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("xiaonaod did not serve within " + std::to_string(deadline.count()) +
                           " ms (" + last_problem + "); log tail:\n" + log_tail());
}

void Server::start() {
  spawn();
  wait_started();
}

pid_t Server::pid() const { return process_ ? process_->pid() : -1; }

bool Server::running() { return process_ && process_->running(); }

void Server::signal(int sig) {
  if (process_) process_->signal(sig);
}

void Server::kill(int sig) {
  if (!process_) return;
  process_->signal(sig);
  if (!process_->wait_for(30s)) {
    process_->signal(SIGKILL);
    process_->wait_for(30s);
  }
}

std::optional<int> Server::wait_exit(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  return process_->wait_for(timeout);
}

int Server::terminate(std::chrono::milliseconds deadline) {
  if (!process_) return -1000;
  process_->signal(SIGTERM);
  auto code = process_->wait_for(deadline);
  if (code) return *code;
  process_->signal(SIGKILL);
  process_->wait_for(30s);
  return -1000;
}

void Server::restart() {
  if (running()) kill(SIGKILL);
  start();
}

std::string Server::log() const { return read_file(log_path_); }

std::string Server::log_tail(std::size_t max_bytes) const {
  std::string all = log();
  if (all.size() <= max_bytes) return all;
  return "...\n" + all.substr(all.size() - max_bytes);
}

// ---- IntegrationTest --------------------------------------------------------------------------

void IntegrationTest::SetUp() {
  const auto base = test_db_conninfo();
  if (!base) {
    GTEST_SKIP() << "XIAONAO_TEST_DB is not set: integration tests need a PostgreSQL + PostGIS "
                    "cluster (scripts/test.sh starts one and sets it)";
  }
  std::string tmpl = (fs::temp_directory_path() / "xiaonao-itest-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    FAIL() << "mkdtemp: " << std::strerror(errno);
  }
  dir_ = tmpl;
  db_ = std::make_unique<TestDatabase>(*base);
  // Every API call needs credentials: one integrator key per test, made the way operators do.
  const auto r = run_command({server_path(), "apikey", "create", "--name", "itest", "--sources", "*", "--scopes",
                              "alerts:write,incidents:read,feed:read,metrics:read,categories:read,"
                              "reference:write,units:write,map:read"},
                             {{"XIAONAO_DB", db_->conninfo()}}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::lock_guard lk(g_key_mu);
  g_key = r.out.substr(0, r.out.find('\n'));
}

void IntegrationTest::add_user(const std::string& number, const std::string& roles, const std::string& station,
                               const std::string& password) {
  std::vector<std::string> argv = {server_path(), "user", "add", "--police-number", number, "--name", "测试" + number,
                                   "--roles", roles, "--password", password};
  if (!station.empty()) {
    argv.push_back("--station");
    argv.push_back(station);
  }
  const auto r = run_command(argv, {{"XIAONAO_DB", db_conninfo()}}, dir());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

json IntegrationTest::login(unsigned short port, const std::string& number, const std::string& password) {
  client::HttpClient http("127.0.0.1", port);
  auto r = http.post_json("/api/v1/auth/login", {{"police_number", number}, {"password", password}});
  EXPECT_EQ(r.status, 200) << number << ": " << r.body;
  return r.status == 200 ? r.json() : json::object();
}

std::string IntegrationTest::access_token(unsigned short port, const std::string& number, const std::string& password) {
  return login(port, number, password).value("access_token", "");
}

client::Response IntegrationTest::as(unsigned short port, const std::string& token, const std::string& method,
                                     const std::string& target, const std::string& body) {
  client::HttpClient http("127.0.0.1", port);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return http.request(method, target, body, "application/json", headers);
}

void IntegrationTest::TearDown() {
  const bool failed = HasFailure();
  if (failed) {
    for (const auto& s : servers_) {
      std::cerr << "---- log of " << s->log_path().string() << " (tail) ----\n"
                << s->log_tail() << "\n---- end of log ----\n";
    }
  }
  servers_.clear();  // SIGKILLs whatever still runs
  sql_.reset();
  extra_dbs_.clear();
  db_.reset();
  if (!dir_.empty()) {
    if (failed) {
      std::cerr << "[harness] kept " << dir_.string() << " for inspection\n";
    } else {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
}

Server& IntegrationTest::add_server(ServerOptions options) {
  servers_.push_back(std::make_unique<Server>(db_->conninfo(), dir_, std::move(options)));
  return *servers_.back();
}

Server& IntegrationTest::start_server(ServerOptions options) {
  Server& s = add_server(std::move(options));
  s.start();
  return s;
}

Sql& IntegrationTest::sql() {
  if (!sql_) sql_ = std::make_unique<Sql>(db_->conninfo());
  return *sql_;
}

TestDatabase& IntegrationTest::extra_database() {
  extra_dbs_.push_back(std::make_unique<TestDatabase>(*test_db_conninfo()));
  return *extra_dbs_.back();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
  const auto until = Clock::now() + deadline;
  while (true) {
    if (pred()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(step);
  }
}

// ---- alerts -----------------------------------------------------------------------------------

std::string square(double lon0, double lat0, double lon1, double lat1) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "MULTIPOLYGON(((%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f)))", lon0, lat0,
                lon1, lat0, lon1, lat1, lon0, lat1, lon0, lat0);
  return buf;
}

std::string point(double lon, double lat) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "SRID=4326;POINT(%.8f %.8f)", lon, lat);
  return buf;
}

std::string unique_ref(std::string_view tag) {
  static std::atomic<std::uint64_t> counter{0};
  return std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) +
         "-" + random_hex(8);
}

std::string now_rfc3339() { return domain::format_rfc3339(domain::now_utc()); }

json make_alert(std::string_view category) {
  return json{
      {"source", "110"},
      {"source_ref", unique_ref("it")},
      {"received_at", now_rfc3339()},
      {"category", std::string(category)},
      {"caller", {{"phone", "13857801234"}, {"name", "李芳"}}},
      {"location", {{"lon", 119.5701}, {"lat", 28.1174}}},
      {"address", "丽水市莲都区中山街1号"},
      {"description", "收到刷单信息，正准备转账"},
  };
}

bool is_uuid(const std::string& s) {
  static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return std::regex_match(s, re);
}

json wait_fused_view(client::HttpClient& http, const std::string& id, const std::string& query) {
  json view;
  const bool ok = wait_until(
      [&] {
        auto r = http.get("/api/v1/incidents/" + id + query);
        if (r.status != 200) return false;
        view = r.json();
        return view["fused_at"].is_string();
      },
      20s);
  EXPECT_TRUE(ok) << "incident " << id << " was not fused: " << view.dump();
  return view;
}

client::Response post_alert(client::HttpClient& http, const json& alert) {
  return http.post_json("/api/v1/alerts", alert);
}

json error_of(const client::Response& r) {
  try {
    json j = r.json();
    if (j.is_object() && j.contains("error") && j["error"].is_object()) return j["error"];
  } catch (const std::exception&) {
  }
  return json();
}

// ---- the feed ---------------------------------------------------------------------------------

std::optional<FeedEvent> parse_feed_frame(const std::string& text, std::string& error) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    error = std::string("not JSON: ") + e.what() + ": " + text.substr(0, 200);
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "not an object: " + text.substr(0, 200);
    return std::nullopt;
  }
  if (!j.contains("seq") || !j["seq"].is_number_integer()) {
    error = "no integer seq: " + text.substr(0, 200);
    return std::nullopt;
  }
  if (!j.contains("type") || !j["type"].is_string() || j["type"].get<std::string>().empty()) {
    error = "no type: " + text.substr(0, 200);
    return std::nullopt;
  }
  if (!j.contains("at") || !j["at"].is_string() ||
      !domain::parse_rfc3339(j["at"].get<std::string>())) {
    error = "no RFC 3339 at: " + text.substr(0, 200);
    return std::nullopt;
  }
  if (!j.contains("data") || !j["data"].is_object()) {
    error = "no data object: " + text.substr(0, 200);
    return std::nullopt;
  }
  FeedEvent e;
  e.seq = j["seq"].get<std::int64_t>();
  e.type = j["type"].get<std::string>();
  e.at = j["at"].get<std::string>();
  e.data = std::move(j["data"]);
  e.text = text;
  return e;
}

FeedReader::FeedReader(unsigned short port, const std::string& query) : FeedReader(port, query, auth_headers()) {}

FeedReader::FeedReader(unsigned short port, const std::string& query,
                       const std::vector<std::pair<std::string, std::string>>& headers)
    : ws_(std::make_unique<client::WsClient>("127.0.0.1", port, query.empty() ? "/ws/feed" : "/ws/feed?" + query,
                                             std::chrono::seconds(10), headers)) {}

std::string test_api_key() {
  std::lock_guard lk(g_key_mu);
  return g_key;
}

std::vector<std::pair<std::string, std::string>> auth_headers() { return {{"Authorization", "Bearer " + test_api_key()}}; }

ApiClient::ApiClient(unsigned short port, std::chrono::milliseconds timeout) : client::HttpClient("127.0.0.1", port, timeout) {
  set_header("Authorization", "Bearer " + test_api_key());
}

bool FeedReader::read_one(std::chrono::milliseconds wait) {
  auto text = ws_->read(wait);
  if (!text) return false;
  std::string error;
  if (auto e = parse_feed_frame(*text, error)) {
    events_.push_back(std::move(*e));
  } else {
    errors_.push_back(error);
  }
  return true;
}

bool FeedReader::read_until(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (!done()) {
    if (ws_->closed()) return false;
    const auto now = Clock::now();
    if (now >= until) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    read_one(std::min<std::chrono::milliseconds>(left, 500ms));
  }
  return true;
}

bool FeedReader::read_through(std::int64_t seq, std::chrono::milliseconds deadline) {
  return read_until([&] { return last_seq() >= seq; }, deadline);
}

bool FeedReader::read_count(std::size_t n, std::chrono::milliseconds deadline) {
  return read_until([&] { return events_.size() + errors_.size() >= n; }, deadline);
}

bool FeedReader::read_until_closed(std::chrono::milliseconds deadline) {
  read_until([] { return false; }, deadline);
  return ws_->closed();
}

std::string seq_problem(const std::vector<FeedEvent>& events, std::int64_t first) {
  std::int64_t want = first;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].seq != want) {
      std::ostringstream s;
      s << "frame #" << i << " has seq " << events[i].seq << ", expected " << want
        << (events[i].seq < want ? " (duplicate or out of order)" : " (gap)");
      return s.str();
    }
    ++want;
  }
  return "";
}

std::vector<std::int64_t> seqs_of(const std::vector<FeedEvent>& events) {
  std::vector<std::int64_t> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<std::string> received_alert_ids(const std::vector<FeedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.type == "alert.received" && e.data.contains("alert_id") && e.data["alert_id"].is_string()) {
      out.push_back(e.data["alert_id"].get<std::string>());
    }
  }
  return out;
}

// ---- raw HTTP ---------------------------------------------------------------------------------

RawConnection::RawConnection(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(e));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  bool eof = false;
  // Reads more into buf_; false on EOF or error.
  auto fill = [&]() -> bool {
    while (true) {
      const auto now = Clock::now();
      if (now >= until) throw std::runtime_error("raw HTTP read timed out");
      pollfd p{fd_, POLLIN, 0};
      const int ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1;
      int r = ::poll(&p, 1, ms);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char tmp[16384];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
        return false;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
  };
  std::size_t head_end;
  while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  RawResponse res;
  const std::string head = buf_.substr(0, head_end);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  {
    // "HTTP/1.1 431 Request Header Fields Too Large"
    const auto sp = line.find(' ');
    if (sp == std::string::npos || line.size() < sp + 4) {
      throw std::runtime_error("bad status line: " + line);
    }
    res.status = std::stoi(line.substr(sp + 1, 3));
  }
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    res.headers[lower(line.substr(0, colon))] = value;
  }
  buf_.erase(0, head_end + 4);
  if (auto it = res.headers.find("content-length"); it != res.headers.end()) {
    const std::size_t len = std::stoul(it->second);
    while (buf_.size() < len) {
      if (!fill()) return std::nullopt;
    }
    res.body = buf_.substr(0, len);
    buf_.erase(0, len);
  } else if (res.status != 204 && res.status != 304 && res.status >= 200) {
    // No length: the body runs to the end of the connection.
    while (fill()) {
    }
    (void)eof;
    res.body = std::move(buf_);
    buf_.clear();
  }
  return res;
}

bool RawConnection::peer_closed_within(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 50);
    if (r <= 0) continue;
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  return false;
}

std::string raw_request(std::string_view method, std::string_view target, std::string_view body,
                        std::string_view content_type,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string r;
  r += std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  r += "Host: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + std::string(content_type) + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

// ---- metrics ----------------------------------------------------------------------------------

std::optional<double> metric_value(const std::string& text, std::string_view name) {
  std::istringstream in(text);
  std::string line;
  std::optional<double> sum;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!line.starts_with(name)) continue;
    if (line.size() == name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    // The value is the first token after the name and its labels.
    std::size_t pos = name.size();
    if (next == '{') {
      pos = line.find('}', pos);
      if (pos == std::string::npos) continue;
      ++pos;
    }
    std::istringstream rest(line.substr(pos));
    std::string value;
    rest >> value;
    try {
      sum = sum.value_or(0) + std::stod(value);
    } catch (const std::exception&) {
    }
  }
  return sum;
}

}  // namespace xiaonao::itest

// ---- TLS --------------------------------------------------------------------------------------

namespace xiaonao::itest {

namespace {
// run_command execs a path, not a name: look the tool up in PATH.
std::string in_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t i = 0;
  while (i <= dirs.size()) {
    auto j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(i, j - i)) / tool;
    if (!candidate.parent_path().empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    i = j + 1;
  }
  throw std::runtime_error(tool + " is not installed (scripts/setup.sh installs it)");
}
}  // namespace

std::pair<fs::path, fs::path> make_self_signed(const fs::path& dir, const std::string& name) {
  const fs::path cert = dir / (name + "-cert.pem");
  const fs::path key = dir / (name + "-key.pem");
  // EC keys: generating RSA 2048 costs about a second on a busy machine, P-256 nothing.
  auto r = run_command({in_path("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                       {}, dir);
  if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.err);
  return {cert, key};
}

client::Response tls_request(unsigned short port, const std::string& ca_file, const std::string& method,
                             const std::string& target, const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& body, std::chrono::milliseconds timeout) {
  client::HttpClient http("127.0.0.1", port, timeout, client::TlsTrust{ca_file});
  return http.request(method, target, body, "application/json", headers);
}

}  // namespace xiaonao::itest
