#include "xiaonao/config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace xiaonao::config {
namespace {

using domain::ErrorKind;
using Env = std::map<std::string, std::string>;
using nlohmann::json;

// A config file in a fresh temporary directory, removed with the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    dir_ = std::filesystem::temp_directory_path() /
           ("xiaonao-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "xiaonao.json").string();
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }
  std::string dir() const { return dir_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string path_;
};

void expect_error(const domain::Result<Config>& r, const std::string& field,
                  const std::string& message_part) {
  ASSERT_FALSE(r.ok()) << "accepted; expected an error on " << field;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_field);
  EXPECT_EQ(r.error().field, field) << r.error().message;
  EXPECT_NE(r.error().message.find(message_part), std::string::npos)
      << "message '" << r.error().message << "' lacks '" << message_part << "'";
}

// --- defaults and the example file -------------------------------------------------------

TEST(ConfigDefaults, AreTheDocumentedValues) {
  const auto r = load("", {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.listen_host(), "127.0.0.1");
  EXPECT_EQ(c.listen_port(), 8080);
  EXPECT_EQ(c.io_threads, 2);
  EXPECT_EQ(c.utc_offset_minutes, 480);
  EXPECT_EQ(c.http.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(c.http.max_json_depth, 16u);
  EXPECT_EQ(c.feed.send_queue_max, 8192u);
  EXPECT_EQ(c.db.conninfo, "dbname=xiaonao");
  EXPECT_EQ(c.db.pool_size, 4);
  EXPECT_TRUE(c.db.migrate_on_start);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_FALSE(c.log.json);
}

TEST(ConfigDefaults, EmptyObjectGivesDefaults) {
  const auto r = from_json_text("{}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_json(*r), to_json(Config{}));
}

TEST(ConfigExample, LoadsAndHoldsExactlyTheDefaults) {
  const auto r = load(XIAONAO_EXAMPLE_CONFIG, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(to_json(*r), to_json(Config{}));
  // Every key appears in the example file, so an operator can see all of them in one place.
  std::ifstream in(XIAONAO_EXAMPLE_CONFIG);
  const json file = json::parse(in);
  EXPECT_EQ(file, to_json(Config{}));
}

// --- the file ----------------------------------------------------------------------------

TEST(ConfigFile, OverridesDefaults) {
  TempFile f(R"({"listen": "0.0.0.0:0", "io_threads": 4,
                 "http": {"max_body_bytes": 2048, "pipeline_limit": 1},
                 "feed": {"send_queue_max": 100},
                 "db": {"conninfo": "host=/tmp port=5433 dbname=x", "pool_size": 8, "migrate_on_start": false},
                 "log": {"level": "debug", "json": true}})");
  const auto r = load(f.path(), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->listen_host(), "0.0.0.0");
  EXPECT_EQ(r->listen_port(), 0);
  EXPECT_EQ(r->io_threads, 4);
  EXPECT_EQ(r->http.max_body_bytes, 2048u);
  EXPECT_EQ(r->http.pipeline_limit, 1);
  EXPECT_EQ(r->http.idle_timeout_ms, 60000);  // untouched keys keep their defaults
  EXPECT_EQ(r->feed.send_queue_max, 100u);
  EXPECT_EQ(r->db.conninfo, "host=/tmp port=5433 dbname=x");
  EXPECT_EQ(r->db.pool_size, 8);
  EXPECT_FALSE(r->db.migrate_on_start);
  EXPECT_EQ(r->log.level, "debug");
  EXPECT_TRUE(r->log.json);
}

TEST(ConfigFile, UnreadablePathIsAnErrorNamingThePath) {
  const std::string missing = "/nonexistent/xiaonao/config.json";
  const auto r = load(missing, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(missing), std::string::npos) << r.error().message;
}

TEST(ConfigFile, DirectoryIsAnErrorNamingThePath) {
  TempFile f("{}");
  const auto r = load(f.dir(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(f.dir()), std::string::npos) << r.error().message;
}

TEST(ConfigFile, InvalidJsonIsAnErrorNamingTheFile) {
  TempFile f(R"({"listen": "127.0.0.1:1",})");
  const auto r = load(f.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(f.path()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos) << r.error().message;
}

TEST(ConfigFile, ErrorsInsideTheFileNameFileAndKey) {
  TempFile f(R"({"db": {"pool_size": 0}})");
  const auto r = load(f.path(), {});
  expect_error(r, "db.pool_size", f.path());
}

TEST(ConfigFile, TopLevelMustBeAnObject) {
  const auto r = from_json_text("[1, 2]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "");
  EXPECT_EQ(from_json_text("").ok(), false);
}

// --- unknown keys and wrong types --------------------------------------------------------

TEST(ConfigKeys, UnknownKeyIsNamedWithItsPath) {
  expect_error(from_json_text(R"({"feed": {"sned_queue_max": 10}})"), "feed.sned_queue_max",
               "feed.sned_queue_max: unknown key");
}

TEST(ConfigKeys, UnknownKeySuggestsTheNearestKnownOne) {
  expect_error(from_json_text(R"({"feed": {"sned_queue_max": 10}})"), "feed.sned_queue_max",
               "did you mean feed.send_queue_max?");
  expect_error(from_json_text(R"({"lisen": "127.0.0.1:1"})"), "lisen", "did you mean listen?");
}

TEST(ConfigKeys, UnknownTopLevelKeyAndSection) {
  expect_error(from_json_text(R"({"metrics": {}})"), "metrics", "unknown key");
  expect_error(from_json_text(R"({"db": {"password": "x"}})"), "db.password", "unknown key");
  // A member name used at the wrong level is unknown there.
  expect_error(from_json_text(R"({"pool_size": 4})"), "pool_size", "unknown key");
}

TEST(ConfigKeys, SectionMustBeAnObject) {
  expect_error(from_json_text(R"({"db": "dbname=x"})"), "db", "must be an object");
}

TEST(ConfigKeys, IntegersRefuseOtherTypes) {
  for (const char* v : {"\"4\"", "4.0", "4.5", "true", "null", "[4]"}) {
    expect_error(from_json_text(std::string(R"({"db": {"pool_size": )") + v + "}}"), "db.pool_size",
                 "must be an integer in [1, 64]");
  }
}

TEST(ConfigKeys, BooleansRefuseOtherTypes) {
  expect_error(from_json_text(R"({"log": {"json": 1}})"), "log.json", "true or false");
  expect_error(from_json_text(R"({"db": {"migrate_on_start": "yes"}})"), "db.migrate_on_start",
               "true or false");
}

TEST(ConfigKeys, StringsRefuseOtherTypes) {
  expect_error(from_json_text(R"({"listen": 8080})"), "listen", "must be a string");
  expect_error(from_json_text(R"({"db": {"conninfo": null}})"), "db.conninfo", "must be a string");
}

// --- ranges ------------------------------------------------------------------------------

struct RangeCase {
  const char* path;
  long long min;
  long long max;
};

class ConfigRange : public ::testing::TestWithParam<RangeCase> {};

std::string set_key(const std::string& path, const std::string& value) {
  const auto dot = path.find('.');
  if (dot == std::string::npos) return "{\"" + path + "\": " + value + "}";
  return "{\"" + path.substr(0, dot) + "\": {\"" + path.substr(dot + 1) + "\": " + value + "}}";
}

TEST_P(ConfigRange, BoundsAreInclusiveAndNamedInTheError) {
  const auto& c = GetParam();
  const std::string range = "[" + std::to_string(c.min) + ", " + std::to_string(c.max) + "]";
  EXPECT_TRUE(from_json_text(set_key(c.path, std::to_string(c.min))).ok()) << c.path;
  EXPECT_TRUE(from_json_text(set_key(c.path, std::to_string(c.max))).ok()) << c.path;
  expect_error(from_json_text(set_key(c.path, std::to_string(c.min - 1))), c.path, range);
  expect_error(from_json_text(set_key(c.path, std::to_string(c.max + 1))), c.path, range);
  expect_error(from_json_text(set_key(c.path, "18446744073709551615")), c.path, range);
  expect_error(from_json_text(set_key(c.path, "-9223372036854775808")), c.path, range);
}

INSTANTIATE_TEST_SUITE_P(
    AllIntegerKeys, ConfigRange,
    ::testing::Values(RangeCase{"io_threads", 1, 64}, RangeCase{"shutdown_grace_ms", 0, 600000},
                      RangeCase{"utc_offset_minutes", -720, 840},
                      RangeCase{"http.max_header_bytes", 1024, 1048576},
                      RangeCase{"http.max_body_bytes", 1024, 67108864},
                      RangeCase{"http.read_timeout_ms", 100, 600000},
                      RangeCase{"http.idle_timeout_ms", 100, 3600000},
                      RangeCase{"http.pipeline_limit", 1, 1024},
                      RangeCase{"http.max_json_depth", 2, 256},
                      RangeCase{"feed.send_queue_max", 1, 1000000},
                      RangeCase{"feed.ring_size", 1, 16777216},
                      RangeCase{"feed.ping_interval_ms", 100, 600000},
                      RangeCase{"feed.replay_page", 1, 100000},
                      RangeCase{"feed.slow_close_grace_ms", 0, 60000},
                      RangeCase{"feed.poll_interval_ms", 10, 600000},
                      RangeCase{"db.pool_size", 1, 64}, RangeCase{"db.queue_limit", 1, 1000000},
                      RangeCase{"db.writer_threads", 1, 16}, RangeCase{"db.batch_max", 1, 10000},
                      RangeCase{"db.statement_timeout_ms", 0, 3600000}),
    [](const auto& info) {
      std::string name = info.param.path;
      for (auto& ch : name) if (ch == '.') ch = '_';
      return name;
    });

TEST(ConfigLogLevel, AcceptsTheFiveLevels) {
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    const auto r = from_json_text(std::string(R"({"log": {"level": ")") + level + "\"}}");
    ASSERT_TRUE(r.ok()) << level;
    EXPECT_EQ(r->log.level, level);
  }
  expect_error(from_json_text(R"({"log": {"level": "verbose"}})"), "log.level",
               "trace, debug, info, warn, error");
  expect_error(from_json_text(R"({"log": {"level": "INFO"}})"), "log.level", "one of");
}

// --- listen ------------------------------------------------------------------------------

TEST(ConfigListen, SplitsHostAndPort) {
  struct Case {
    const char* listen;
    const char* host;
    unsigned short port;
  };
  for (const Case& c : {Case{"127.0.0.1:0", "127.0.0.1", 0}, Case{"0.0.0.0:65535", "0.0.0.0", 65535},
                        Case{"localhost:8080", "localhost", 8080}, Case{"[::1]:9000", "::1", 9000},
                        Case{"[::]:0", "::", 0}}) {
    const auto r = from_json_text(std::string(R"({"listen": ")") + c.listen + "\"}");
    ASSERT_TRUE(r.ok()) << c.listen << ": " << r.error().message;
    EXPECT_EQ(r->listen_host(), c.host) << c.listen;
    EXPECT_EQ(r->listen_port(), c.port) << c.listen;
  }
}

TEST(ConfigListen, RefusesBadValues) {
  for (const char* bad : {"8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80a", "127.0.0.1:+80", "::1:8080", "[::1:8080", "[]:80",
                          "host name:80", "127.0.0.1:999999", ""}) {
    expect_error(from_json_text(std::string(R"({"listen": ")") + bad + "\"}"), "listen",
                 "host:port");
  }
}

// --- environment -------------------------------------------------------------------------

TEST(ConfigEnv, DbAndListenOverrideTheFile) {
  TempFile f(R"({"listen": "127.0.0.1:8080", "db": {"conninfo": "dbname=file"}})");
  const auto r = load(f.path(), Env{{"XIAONAO_DB", "host=/run/pg dbname=env"},
                                    {"XIAONAO_LISTEN", "0.0.0.0:0"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->db.conninfo, "host=/run/pg dbname=env");
  EXPECT_EQ(r->listen_port(), 0);
  EXPECT_EQ(r->listen_host(), "0.0.0.0");
}

TEST(ConfigEnv, EveryKeyHasAGenericVariable) {
  const auto r = load("", Env{{"XIAONAO_FEED_SEND_QUEUE_MAX", "64"},
                              {"XIAONAO_DB_POOL_SIZE", "12"},
                              {"XIAONAO_LOG_LEVEL", "warn"},
                              {"XIAONAO_LOG_JSON", "1"},
                              {"XIAONAO_DB_MIGRATE_ON_START", "false"},
                              {"XIAONAO_HTTP_MAX_BODY_BYTES", "4096"},
                              {"XIAONAO_UTC_OFFSET_MINUTES", "-300"},
                              {"XIAONAO_DB_CONNINFO", "dbname=generic"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->feed.send_queue_max, 64u);
  EXPECT_EQ(r->db.pool_size, 12);
  EXPECT_EQ(r->log.level, "warn");
  EXPECT_TRUE(r->log.json);
  EXPECT_FALSE(r->db.migrate_on_start);
  EXPECT_EQ(r->http.max_body_bytes, 4096u);
  EXPECT_EQ(r->utc_offset_minutes, -300);
  EXPECT_EQ(r->db.conninfo, "dbname=generic");
}

// --- TLS: certificate and key come together ------------------------------------------------

TEST(ConfigTls, NeitherMeansPlainHttp) {
  const auto r = load("", {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->http.tls());
  EXPECT_EQ(r->http.hsts_max_age_s, 31536000);
}

TEST(ConfigTls, BothMeanTls) {
  const auto r = load("", Env{{"XIAONAO_HTTP_TLS_CERT", "/etc/xiaonao/cert.pem"},
                              {"XIAONAO_HTTP_TLS_KEY", "/etc/xiaonao/key.pem"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->http.tls());
  EXPECT_EQ(r->http.tls_cert, "/etc/xiaonao/cert.pem");
  EXPECT_EQ(r->http.tls_key, "/etc/xiaonao/key.pem");
}

TEST(ConfigTls, CertWithoutKeyNamesTheKey) {
  expect_error(load("", Env{{"XIAONAO_HTTP_TLS_CERT", "/etc/xiaonao/cert.pem"}}), "http.tls_key",
               "http.tls_key: must be set when http.tls_cert is");
  expect_error(from_json_text(R"({"http": {"tls_cert": "c.pem"}})"), "http.tls_key", "both for TLS");
}

TEST(ConfigTls, KeyWithoutCertNamesTheCert) {
  expect_error(load("", Env{{"XIAONAO_HTTP_TLS_KEY", "/etc/xiaonao/key.pem"}}), "http.tls_cert",
               "http.tls_cert: must be set when http.tls_key is");
}

TEST(ConfigTls, FileAndEnvironmentMayEachGiveOne) {
  TempFile f(R"({"http": {"tls_cert": "/etc/xiaonao/cert.pem"}})");
  const auto r = load(f.path(), Env{{"XIAONAO_HTTP_TLS_KEY", "/etc/xiaonao/key.pem"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->http.tls());
  // The file alone is half a set-up.
  expect_error(load(f.path(), {}), "http.tls_key", "must be set");
}

TEST(ConfigEnv, ShortDbAliasWinsOverTheGenericName) {
  const auto r = load("", Env{{"XIAONAO_DB_CONNINFO", "dbname=generic"}, {"XIAONAO_DB", "dbname=alias"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->db.conninfo, "dbname=alias");
}

TEST(ConfigEnv, BooleansAccept1And0TrueAndFalse) {
  for (const auto& [text, value] : std::map<std::string, bool>{
           {"1", true}, {"0", false}, {"true", true}, {"false", false}, {"TRUE", true}, {"False", false}}) {
    const auto r = load("", Env{{"XIAONAO_LOG_JSON", text}});
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(r->log.json, value) << text;
  }
  for (const char* bad : {"yes", "2", "", " 1", "on"}) {
    expect_error(load("", Env{{"XIAONAO_LOG_JSON", bad}}), "log.json", "XIAONAO_LOG_JSON");
  }
}

TEST(ConfigEnv, BadValueNamesTheVariable) {
  expect_error(load("", Env{{"XIAONAO_DB_POOL_SIZE", "lots"}}), "db.pool_size", "XIAONAO_DB_POOL_SIZE");
  expect_error(load("", Env{{"XIAONAO_DB_POOL_SIZE", "65"}}), "db.pool_size", "[1, 64]");
  expect_error(load("", Env{{"XIAONAO_DB_POOL_SIZE", "4 "}}), "db.pool_size", "XIAONAO_DB_POOL_SIZE");
  expect_error(load("", Env{{"XIAONAO_DB_POOL_SIZE", ""}}), "db.pool_size", "XIAONAO_DB_POOL_SIZE");
  expect_error(load("", Env{{"XIAONAO_DB_POOL_SIZE", "99999999999999999999"}}), "db.pool_size",
               "XIAONAO_DB_POOL_SIZE");
  expect_error(load("", Env{{"XIAONAO_LISTEN", "localhost"}}), "listen", "XIAONAO_LISTEN");
  expect_error(load("", Env{{"XIAONAO_LOG_LEVEL", "loud"}}), "log.level", "XIAONAO_LOG_LEVEL");
}

TEST(ConfigEnv, ConninfoIsNotEchoedInErrors) {
  // Nothing rejects a conninfo from the environment today, but a password must never be echoed:
  // check that a bad value of another key next to it does not leak it either.
  const auto r = load("", Env{{"XIAONAO_DB", "password=hunter2"}, {"XIAONAO_IO_THREADS", "0"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos);
}

TEST(ConfigEnv, AppliesAfterTheFileAndStillValidates) {
  TempFile f(R"({"db": {"pool_size": 2}})");
  const auto r = load(f.path(), Env{{"XIAONAO_DB_POOL_SIZE", "6"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->db.pool_size, 6);
}

TEST(ConfigEnv, UnknownVariablesAreReportedNotFatal) {
  const Env env{{"XIAONAO_DB", "dbname=x"}, {"XIAONAO_FEED_SNED_QUEUE_MAX", "1"}, {"XIAONAO_LISTEN", "127.0.0.1:0"},
                {"XIAONAO_PORT_FILE", "/tmp/p"}, {"XIAONAO_API_KEY", "xnk_tools_only"}};
  EXPECT_TRUE(load("", env).ok());
  EXPECT_EQ(unknown_env(env), (std::vector<std::string>{"XIAONAO_FEED_SNED_QUEUE_MAX", "XIAONAO_PORT_FILE"}));
}

TEST(ConfigEnv, ProcessEnvCollectsOnlyXiaonaoVariables) {
  ::setenv("XIAONAO_UNIT_TEST_MARKER", "a=b", 1);
  ::setenv("NOT_XIAONAO_UNIT_TEST", "1", 1);
  const auto env = process_env();
  ::unsetenv("XIAONAO_UNIT_TEST_MARKER");
  ::unsetenv("NOT_XIAONAO_UNIT_TEST");
  ASSERT_EQ(env.count("XIAONAO_UNIT_TEST_MARKER"), 1u);
  EXPECT_EQ(env.at("XIAONAO_UNIT_TEST_MARKER"), "a=b");  // only the first '=' separates
  EXPECT_EQ(env.count("NOT_XIAONAO_UNIT_TEST"), 0u);
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("XIAONAO_", 0), 0u) << name;
}

TEST(ConfigToJson, MirrorsTheFileLayout) {
  Config c;
  c.db.pool_size = 9;
  c.log.json = true;
  const json j = to_json(c);
  EXPECT_EQ(j["db"]["pool_size"], 9);
  EXPECT_EQ(j["log"]["json"], true);
  EXPECT_EQ(j["listen"], "127.0.0.1:8080");
  // Feeding it back gives the same config.
  const auto back = from_json_text(j.dump());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
}

}  // namespace
}  // namespace xiaonao::config
