// xiaonaod: the Xiaonao dispatch server.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app.hpp"
#include "xiaonao/config/config.hpp"
#include "xiaonao/log/log.hpp"

namespace {

constexpr const char* usage =
    "usage: xiaonaod [serve] [--config PATH] [--port-file PATH]\n"
    "       xiaonaod migrate [--config PATH]\n"
    "       xiaonaod user add --police-number N --name NAME [--station ID] --roles R1,R2\n"
    "                         (--password-stdin | --password P)\n"
    "       xiaonaod user passwd N (--password-stdin | --password P)\n"
    "       xiaonaod user disable N | user enable N | user list\n"
    "       xiaonaod apikey create --name NAME --sources S1,S2|'*' [--scopes alerts:write,...]\n"
    "       xiaonaod apikey revoke ID | apikey list\n"
    "       xiaonaod audit verify\n"
    "       xiaonaod import --kind KIND FILE [--replace]\n"
    "\n"
    "  serve      run the server (default)\n"
    "  migrate    apply pending database migrations and exit\n"
    "  user, apikey, audit  administration on the database (docs/security.md); every change is audited\n"
    "  import     load a GeoJSON FeatureCollection of one reference kind (stations, zones, grids,\n"
    "             addresses, persons, cameras, units, markers) in one transaction; --replace deletes\n"
    "             the rows of that kind not in the file (docs/operations.md)\n"
    "  --config   JSON config file (see config/xiaonao.example.json)\n"
    "  --port-file  write the bound port here once listening\n"
    "Environment: XIAONAO_DB (libpq connection string), XIAONAO_LISTEN (host:port, port 0 = any),\n"
    "and XIAONAO_<SECTION>_<KEY> for any key, e.g. XIAONAO_LOG_JSON=1 (docs/configuration.md).\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = "serve", config_path, port_file;
  std::vector<std::string> admin_args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i == 1 && (a == "user" || a == "apikey" || a == "audit" || a == "import")) command = "admin";
    if (command == "admin") {
      if (a == "--config" && i + 1 < argc) {
        config_path = argv[++i];
      } else {
        admin_args.push_back(a);
      }
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if ((a == "--config" || a == "--port-file") && i + 1 < argc) {
      (a == "--config" ? config_path : port_file) = argv[++i];
    } else if (i == 1 && (a == "serve" || a == "migrate")) {
      command = a;
    } else {
      std::fprintf(stderr, "xiaonaod: unexpected argument '%s'\n%s", a.c_str(), usage);
      return 2;
    }
  }
  const auto env = xiaonao::config::process_env();
  auto cfg = xiaonao::config::load(config_path, env);
  if (!cfg) {
    const auto& e = cfg.error();
    std::fprintf(stderr, "xiaonaod: bad configuration: %s%s%s\n", e.field.empty() ? "" : e.field.c_str(),
                 e.field.empty() ? "" : ": ", e.message.c_str());
    return 2;
  }
  xiaonao::log::init(cfg->log.level, cfg->log.json);
  // A misspelt variable would otherwise be silently ignored.
  for (const auto& name : xiaonao::config::unknown_env(env)) {
    xiaonao::log::warn("config.unknown_env", {{"variable", name}});
  }
  if (command == "migrate") return xiaonao::app::migrate(*cfg);
  if (command == "admin") return xiaonao::app::admin(*cfg, admin_args);
  return xiaonao::app::serve(*cfg, port_file);
}
