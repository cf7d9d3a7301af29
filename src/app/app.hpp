#pragma once
// The composition root: builds every component in order and runs the server.
#include <string>
#include <vector>

#include "xiaonao/config/config.hpp"

namespace xiaonao::app {

/// Serves until SIGTERM/SIGINT, then shuts down gracefully. Returns the process exit code.
int serve(const config::Config& cfg, const std::string& port_file);

/// Applies pending migrations and returns the process exit code.
int migrate(const config::Config& cfg);

/// The admin CLI: `user ...`, `apikey ...`, `audit verify` (argv without the program name).
int admin(const config::Config& cfg, const std::vector<std::string>& argv);

/// `import --kind KIND FILE [--replace]`: a GeoJSON FeatureCollection of one reference kind,
/// streamed through COPY in one transaction (src/app/import.cpp). Exit 2 on an invalid file.
int import_command(const config::Config& cfg, const std::string& kind, const std::string& path, bool replace);

}  // namespace xiaonao::app
