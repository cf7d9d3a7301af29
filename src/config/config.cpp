#include "xiaonao/config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <variant>

#include <nlohmann/json.hpp>

extern char** environ;

namespace xiaonao::config {

namespace {

using nlohmann::json;
using domain::Error;
using domain::ErrorKind;

/// Where a key's value lives inside a Config.
using Ref = std::variant<int*, std::size_t*, bool*, std::string*>;

/// One configuration key: its dotted path, where it is stored, its range (integers) or
/// check (strings). The table below is the single list of keys: JSON, environment, to_json.
struct KeySpec {
  std::string_view path;
  Ref (*ref)(Config&);
  std::int64_t min = 0;
  std::int64_t max = 0;
  /// For strings: returns what is wrong with a value, or nullopt when it is fine.
  std::optional<std::string> (*check)(const std::string&) = nullptr;
};

/// host:port with a port in 0..65535; an IPv6 host goes in brackets ("[::1]:8080").
std::optional<std::pair<std::string, unsigned short>> split_listen(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  const std::string_view port = s.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // a bare IPv6 address: which colon starts the port?
  }
  for (const char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == '\0') {
      return std::nullopt;
    }
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) return std::nullopt;
  return std::pair{std::string(host), static_cast<unsigned short>(value)};
}

std::optional<std::string> check_listen(const std::string& s) {
  if (split_listen(s)) return std::nullopt;
  return "must be host:port with a port in [0, 65535] (IPv6 as [addr]:port)";
}

std::optional<std::string> check_level(const std::string& s) {
  static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find(std::begin(levels), std::end(levels), s) != std::end(levels)) return std::nullopt;
  return "must be one of trace, debug, info, warn, error";
}

std::optional<std::string> check_conninfo(const std::string& s) {
  if (s.find('\0') == std::string::npos) return std::nullopt;
  return "must not contain a NUL character";
}

std::optional<std::string> check_role(const std::string& s) {
  if (s.size() <= 63 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '_';
      }) && (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))))
    return std::nullopt;
  return "must be empty or a lowercase SQL identifier (a-z, 0-9, _)";
}

// "https://console.example:8443,http://10.0.0.5": scheme, host, optional port; no paths.
std::optional<std::string> check_origins(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string_view o(s.data() + i, j - i);
    const bool scheme = o.starts_with("http://") || o.starts_with("https://");
    const auto rest = o.substr(o.find("//") == std::string_view::npos ? 0 : o.find("//") + 2);
    const bool clean = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    });
    if (!scheme || !clean) return "must be a comma-separated list of origins like https://host:port";
    i = j + 1;
  }
  return std::nullopt;
}

std::optional<std::string> check_path(const std::string& s) {
  if (s.find('\0') == std::string::npos) return std::nullopt;
  return "must be a file path without NUL characters";
}

std::optional<std::string> check_sources(const std::string& s) {
  for (const char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == ',';
    if (!ok) return "must be a comma-separated list of alert sources (lowercase letters, digits, _ and -)";
  }
  return std::nullopt;
}

// An internal tile server's URL template. It goes into the console page's
// Content-Security-Policy, so only plain URL characters pass: no quotes, spaces or ';'.
std::optional<std::string> check_tile_url(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const bool scheme = s.starts_with("http://") || s.starts_with("https://");
  const bool clean = s.size() <= 512 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("-._~:/?#[]@!$&()*+,=%{}").find(static_cast<char>(c)) != std::string_view::npos;
  });
  const auto host_end = s.find('/', s.find("//") + 2);
  const bool host = host_end != std::string::npos && host_end > s.find("//") + 2 &&
                    s.substr(0, host_end).find_first_of("{}?#@") == std::string::npos;
  if (scheme && clean && host && s.find("{z}") != std::string::npos && s.find("{x}") != std::string::npos &&
      s.find("{y}") != std::string::npos)
    return std::nullopt;
  return "must be empty or an http(s) URL template with {z}, {x} and {y} and no spaces, quotes or ';'";
}

constexpr std::int64_t kMiB = 1024 * 1024;

// Ranges: wide enough for any sane deployment, narrow enough to catch unit mix-ups
// (seconds written as milliseconds, a byte count that overflows).
const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = {
      {"listen", [](Config& c) -> Ref { return &c.listen; }, 0, 0, check_listen},
      {"io_threads", [](Config& c) -> Ref { return &c.io_threads; }, 1, 64},
      {"shutdown_grace_ms", [](Config& c) -> Ref { return &c.shutdown_grace_ms; }, 0, 600000},
      {"utc_offset_minutes", [](Config& c) -> Ref { return &c.utc_offset_minutes; }, -720, 840},
      {"http.max_header_bytes", [](Config& c) -> Ref { return &c.http.max_header_bytes; }, 1024,
       kMiB},
      {"http.max_body_bytes", [](Config& c) -> Ref { return &c.http.max_body_bytes; }, 1024,
       64 * kMiB},
      {"http.read_timeout_ms", [](Config& c) -> Ref { return &c.http.read_timeout_ms; }, 100,
       600000},
      {"http.idle_timeout_ms", [](Config& c) -> Ref { return &c.http.idle_timeout_ms; }, 100,
       3600000},
      {"http.pipeline_limit", [](Config& c) -> Ref { return &c.http.pipeline_limit; }, 1, 1024},
      {"http.max_json_depth", [](Config& c) -> Ref { return &c.http.max_json_depth; }, 2, 256},
      {"http.tls_cert", [](Config& c) -> Ref { return &c.http.tls_cert; }, 0, 0, check_path},
      {"http.tls_key", [](Config& c) -> Ref { return &c.http.tls_key; }, 0, 0, check_path},
      {"http.hsts_max_age_s", [](Config& c) -> Ref { return &c.http.hsts_max_age_s; }, 0, 63072000},
      {"feed.send_queue_max", [](Config& c) -> Ref { return &c.feed.send_queue_max; }, 1,
       1000000},
      {"feed.ring_size", [](Config& c) -> Ref { return &c.feed.ring_size; }, 1, 16 * kMiB},
      {"feed.ping_interval_ms", [](Config& c) -> Ref { return &c.feed.ping_interval_ms; }, 100,
       600000},
      {"feed.replay_page", [](Config& c) -> Ref { return &c.feed.replay_page; }, 1, 100000},
      {"feed.slow_close_grace_ms", [](Config& c) -> Ref { return &c.feed.slow_close_grace_ms; },
       0, 60000},
      {"feed.poll_interval_ms", [](Config& c) -> Ref { return &c.feed.poll_interval_ms; }, 10,
       600000},
      {"feed.local_wait_ms", [](Config& c) -> Ref { return &c.feed.local_wait_ms; }, 0, 600000},
      {"db.conninfo", [](Config& c) -> Ref { return &c.db.conninfo; }, 0, 0, check_conninfo},
      {"db.pool_size", [](Config& c) -> Ref { return &c.db.pool_size; }, 1, 64},
      {"db.queue_limit", [](Config& c) -> Ref { return &c.db.queue_limit; }, 1, 1000000},
      {"db.writer_threads", [](Config& c) -> Ref { return &c.db.writer_threads; }, 1, 16},
      {"db.writer_overflow_ms", [](Config& c) -> Ref { return &c.db.writer_overflow_ms; }, 0, 60000},
      {"db.batch_max", [](Config& c) -> Ref { return &c.db.batch_max; }, 1, 10000},
      {"db.batch_gather_ms", [](Config& c) -> Ref { return &c.db.batch_gather_ms; }, 0, 1000},
      {"db.statement_timeout_ms", [](Config& c) -> Ref { return &c.db.statement_timeout_ms; }, 0,
       3600000},
      {"db.migrate_on_start", [](Config& c) -> Ref { return &c.db.migrate_on_start; }},
      {"db.app_role", [](Config& c) -> Ref { return &c.db.app_role; }, 0, 0, check_role},
      {"security.access_ttl_s", [](Config& c) -> Ref { return &c.security.access_ttl_s; }, 1, 86400},
      {"security.refresh_ttl_s", [](Config& c) -> Ref { return &c.security.refresh_ttl_s; }, 60, 30 * 86400},
      {"security.credential_cache_ms", [](Config& c) -> Ref { return &c.security.credential_cache_ms; }, 0,
       600000},
      {"security.rate_per_principal", [](Config& c) -> Ref { return &c.security.rate_per_principal; }, 1,
       1000000},
      {"security.burst_per_principal", [](Config& c) -> Ref { return &c.security.burst_per_principal; }, 1,
       1000000},
      {"security.rate_per_address", [](Config& c) -> Ref { return &c.security.rate_per_address; }, 1, 1000000},
      {"security.burst_per_address", [](Config& c) -> Ref { return &c.security.burst_per_address; }, 1,
       1000000},
      {"security.login_max_failures", [](Config& c) -> Ref { return &c.security.login_max_failures; }, 1, 1000},
      {"security.login_window_s", [](Config& c) -> Ref { return &c.security.login_window_s; }, 1, 86400},
      {"security.password_min_length", [](Config& c) -> Ref { return &c.security.password_min_length; }, 8,
       128},
      {"security.argon2_memory_kib", [](Config& c) -> Ref { return &c.security.argon2_memory_kib; }, 8192,
       1048576},
      {"security.argon2_ops", [](Config& c) -> Ref { return &c.security.argon2_ops; }, 1, 10},
      {"security.open_metrics", [](Config& c) -> Ref { return &c.security.open_metrics; }},
      {"security.cors_origins", [](Config& c) -> Ref { return &c.security.cors_origins; }, 0, 0, check_origins},
      {"units.writer_threads", [](Config& c) -> Ref { return &c.units.writer_threads; }, 1, 16},
      {"units.batch_max", [](Config& c) -> Ref { return &c.units.batch_max; }, 1, 10000},
      {"units.queue_limit", [](Config& c) -> Ref { return &c.units.queue_limit; }, 1000, 10000000},
      {"units.track_retention_days", [](Config& c) -> Ref { return &c.units.track_retention_days; }, 1, 3650},
      {"units.prune_interval_s", [](Config& c) -> Ref { return &c.units.prune_interval_s; }, 1, 86400},
      {"units.track_max_hours", [](Config& c) -> Ref { return &c.units.track_max_hours; }, 1, 744},
      {"units.track_max_points", [](Config& c) -> Ref { return &c.units.track_max_points; }, 10, 1000000},
      {"units.map_max_area_km2", [](Config& c) -> Ref { return &c.units.map_max_area_km2; }, 1, 1000000},
      {"units.map_layer_cap", [](Config& c) -> Ref { return &c.units.map_layer_cap; }, 1, 100000},
      {"fusion.after_commit", [](Config& c) -> Ref { return &c.fusion.after_commit; }},
      {"fusion.in_transaction", [](Config& c) -> Ref { return &c.fusion.in_transaction; }},
      {"fusion.reference_in_memory", [](Config& c) -> Ref { return &c.fusion.reference_in_memory; }},
      {"fusion.sweep_interval_s", [](Config& c) -> Ref { return &c.fusion.sweep_interval_s; }, 0, 86400},
      {"fusion.cameras_max", [](Config& c) -> Ref { return &c.fusion.cameras_max; }, 1, 100},
      {"fusion.camera_radius_m", [](Config& c) -> Ref { return &c.fusion.camera_radius_m; }, 1, 10000},
      {"fusion.units_max", [](Config& c) -> Ref { return &c.fusion.units_max; }, 1, 100},
      {"fusion.unit_max_age_s", [](Config& c) -> Ref { return &c.fusion.unit_max_age_s; }, 1, 86400},
      {"fusion.nearest_zone_m", [](Config& c) -> Ref { return &c.fusion.nearest_zone_m; }, 0, 100000},
      {"fusion.history_radius_m", [](Config& c) -> Ref { return &c.fusion.history_radius_m; }, 0, 10000},
      {"fusion.history_days", [](Config& c) -> Ref { return &c.fusion.history_days; }, 0, 3650},
      {"fusion.history_max", [](Config& c) -> Ref { return &c.fusion.history_max; }, 1, 500},
      {"fusion.household_max", [](Config& c) -> Ref { return &c.fusion.household_max; }, 1, 1000},
      {"fusion.merge_radius_m", [](Config& c) -> Ref { return &c.fusion.merge_radius_m; }, 0, 10000},
      {"fusion.merge_window_s", [](Config& c) -> Ref { return &c.fusion.merge_window_s; }, 0, 86400},
      {"fusion.address_min_score_pct", [](Config& c) -> Ref { return &c.fusion.address_min_score_pct; }, 0, 100},
      {"fusion.address_sure_score_pct", [](Config& c) -> Ref { return &c.fusion.address_sure_score_pct; }, 0, 100},
      {"reference.max_body_bytes", [](Config& c) -> Ref { return &c.reference.max_body_bytes; }, 1024,
       1024 * kMiB},
      {"deadlines.acknowledge_p1_s", [](Config& c) -> Ref { return &c.deadlines.acknowledge_s[0]; }, 5, 86400},
      {"deadlines.acknowledge_p2_s", [](Config& c) -> Ref { return &c.deadlines.acknowledge_s[1]; }, 5, 86400},
      {"deadlines.acknowledge_p3_s", [](Config& c) -> Ref { return &c.deadlines.acknowledge_s[2]; }, 5, 86400},
      {"deadlines.acknowledge_p4_s", [](Config& c) -> Ref { return &c.deadlines.acknowledge_s[3]; }, 5, 86400},
      {"deadlines.arrive_urban_s", [](Config& c) -> Ref { return &c.deadlines.arrive_s[0]; }, 30, 86400},
      {"deadlines.arrive_suburban_s", [](Config& c) -> Ref { return &c.deadlines.arrive_s[1]; }, 30, 86400},
      {"deadlines.arrive_rural_s", [](Config& c) -> Ref { return &c.deadlines.arrive_s[2]; }, 30, 86400},
      {"deadlines.arrive_p1_pct", [](Config& c) -> Ref { return &c.deadlines.arrive_pct[0]; }, 10, 1000},
      {"deadlines.arrive_p2_pct", [](Config& c) -> Ref { return &c.deadlines.arrive_pct[1]; }, 10, 1000},
      {"deadlines.arrive_p3_pct", [](Config& c) -> Ref { return &c.deadlines.arrive_pct[2]; }, 10, 1000},
      {"deadlines.arrive_p4_pct", [](Config& c) -> Ref { return &c.deadlines.arrive_pct[3]; }, 10, 1000},
      {"deadlines.feedback_s", [](Config& c) -> Ref { return &c.deadlines.feedback_s; }, 60, 30 * 86400},
      {"deadlines.support_accept_s", [](Config& c) -> Ref { return &c.deadlines.support_accept_s; }, 5, 86400},
      {"deadlines.support_answer_s", [](Config& c) -> Ref { return &c.deadlines.support_answer_s; }, 5, 7 * 86400},
      {"deadlines.diversion_accept_s", [](Config& c) -> Ref { return &c.deadlines.diversion_accept_s; }, 5,
       7 * 86400},
      {"deadlines.diversion_done_s", [](Config& c) -> Ref { return &c.deadlines.diversion_done_s; }, 60,
       30 * 86400},
      {"loop.auto_assess_sources", [](Config& c) -> Ref { return &c.loop.auto_assess_sources; }, 0, 0,
       check_sources},
      {"loop.escalation_scan_ms", [](Config& c) -> Ref { return &c.loop.escalation_scan_ms; }, 10, 60000},
      {"loop.escalation_batch", [](Config& c) -> Ref { return &c.loop.escalation_batch; }, 1, 100000},
      {"loop.order_writer_threads", [](Config& c) -> Ref { return &c.loop.order_writer_threads; }, 0, 16},
      {"loop.order_batch_max", [](Config& c) -> Ref { return &c.loop.order_batch_max; }, 1, 1000},
      {"loop.order_batch_gather_ms", [](Config& c) -> Ref { return &c.loop.order_batch_gather_ms; }, 0, 1000},
      {"log.level", [](Config& c) -> Ref { return &c.log.level; }, 0, 0, check_level},
      {"log.json", [](Config& c) -> Ref { return &c.log.json; }},
      {"console.web_root", [](Config& c) -> Ref { return &c.console.web_root; }, 0, 0, check_path},
      {"console.tile_url", [](Config& c) -> Ref { return &c.console.tile_url; }, 0, 0, check_tile_url},
  };
  return specs;
}

constexpr std::string_view kSections[] = {"http",  "feed",      "db",   "security", "reference", "units",
                                          "fusion", "deadlines", "loop", "log",      "console"};

bool is_section(std::string_view name) {
  return std::find(std::begin(kSections), std::end(kSections), name) != std::end(kSections);
}

const KeySpec* find_spec(std::string_view path) {
  for (const auto& s : key_specs()) {
    if (s.path == path) return &s;
  }
  return nullptr;
}

std::string env_name(std::string_view path) {
  std::string name = "XIAONAO_";
  for (const char c : path) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

Error error(std::string field, std::string message) {
  return Error{ErrorKind::invalid_field, std::move(message), std::move(field)};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

Error unknown_key(const std::string& path) {
  std::string message = path + ": unknown key";
  // A near miss is almost always a typo: say which key was meant.
  const KeySpec* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& s : key_specs()) {
    const std::size_t d = edit_distance(path, s.path);
    if (d < best_distance) {
      best = &s;
      best_distance = d;
    }
  }
  if (best != nullptr) message += " (did you mean " + std::string(best->path) + "?)";
  return error(path, std::move(message));
}

std::string range_rule(const KeySpec& spec) {
  return "must be an integer in [" + std::to_string(spec.min) + ", " + std::to_string(spec.max) +
         "]";
}

/// Stores an integer after its range check; the caller phrases the error.
bool store_integer(const KeySpec& spec, Config& c, std::int64_t v) {
  if (v < spec.min || v > spec.max) return false;
  const Ref ref = spec.ref(c);
  if (auto* p = std::get_if<int*>(&ref)) {
    **p = static_cast<int>(v);
  } else if (auto* p = std::get_if<std::size_t*>(&ref)) {
    **p = static_cast<std::size_t>(v);
  } else {
    return false;
  }
  return true;
}

/// Applies one JSON value to its key; nullopt when accepted.
std::optional<Error> apply_json(const KeySpec& spec, const json& v, Config& c) {
  const std::string path(spec.path);
  const Ref ref = spec.ref(c);
  if (auto* s = std::get_if<std::string*>(&ref)) {
    if (!v.is_string()) return error(path, path + ": must be a string");
    const auto& text = v.get_ref<const std::string&>();
    if (spec.check != nullptr) {
      if (auto problem = spec.check(text)) return error(path, path + ": " + *problem);
    }
    **s = text;
    return std::nullopt;
  }
  if (auto* b = std::get_if<bool*>(&ref)) {
    if (!v.is_boolean()) return error(path, path + ": must be true or false");
    **b = v.get<bool>();
    return std::nullopt;
  }
  // Integers: 4.0, "4" and true are refused, so a type mix-up is caught rather than guessed.
  const std::string rule = path + ": " + range_rule(spec);
  if (!v.is_number_integer()) return error(path, rule + " (got " + v.dump() + ")");
  std::int64_t value = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(spec.max)) return error(path, rule + " (got " + v.dump() + ")");
    value = static_cast<std::int64_t>(u);
  } else {
    value = v.get<std::int64_t>();
  }
  if (!store_integer(spec, c, value)) return error(path, rule + " (got " + v.dump() + ")");
  return std::nullopt;
}

std::optional<Error> apply_object(const json& obj, const std::string& prefix, Config& c) {
  for (const auto& [key, value] : obj.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (prefix.empty() && is_section(key)) {
      if (!value.is_object()) return error(path, path + ": must be an object");
      if (auto e = apply_object(value, path, c)) return e;
      continue;
    }
    const KeySpec* spec = find_spec(path);
    if (spec == nullptr) return unknown_key(path);
    if (auto e = apply_json(*spec, value, c)) return e;
  }
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

/// Applies one environment variable's text to its key; nullopt when accepted.
std::optional<Error> apply_env(const KeySpec& spec, const std::string& var,
                               const std::string& text, Config& c) {
  const std::string path(spec.path);
  const Ref ref = spec.ref(c);
  if (auto* s = std::get_if<std::string*>(&ref)) {
    // The value is not echoed: XIAONAO_DB may carry a password.
    if (spec.check != nullptr) {
      if (auto problem = spec.check(text)) return error(path, var + " (" + path + "): " + *problem);
    }
    **s = text;
    return std::nullopt;
  }
  if (auto* b = std::get_if<bool*>(&ref)) {
    const std::string t = lower(text);
    if (t == "1" || t == "true") {
      **b = true;
    } else if (t == "0" || t == "false") {
      **b = false;
    } else {
      return error(path, var + " (" + path + "): must be 1, 0, true or false (got \"" + text +
                             "\")");
    }
    return std::nullopt;
  }
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || !store_integer(spec, c, value)) {
    return error(path, var + " (" + path + "): " + range_rule(spec) + " (got \"" + text + "\")");
  }
  return std::nullopt;
}

std::optional<Error> apply_environment(const std::map<std::string, std::string>& env,
                                       Config& c) {
  for (const auto& spec : key_specs()) {
    const std::string var = env_name(spec.path);
    if (const auto it = env.find(var); it != env.end()) {
      if (auto e = apply_env(spec, var, it->second, c)) return e;
    }
  }
  // The short alias is applied last so that it wins over XIAONAO_DB_CONNINFO.
  if (const auto it = env.find("XIAONAO_DB"); it != env.end()) {
    if (auto e = apply_env(*find_spec("db.conninfo"), "XIAONAO_DB", it->second, c)) return e;
  }
  // XIAONAO_WEB_ROOT: the short name scripts and tests use for console.web_root; it wins too.
  if (const auto it = env.find("XIAONAO_WEB_ROOT"); it != env.end()) {
    if (auto e = apply_env(*find_spec("console.web_root"), "XIAONAO_WEB_ROOT", it->second, c)) return e;
  }
  return std::nullopt;
}

/// Rules between keys, checked once every layer is applied.
std::optional<Error> check_combinations(const Config& c) {
  // A certificate without its key (or the reverse) is a half-done TLS set-up: never fall back
  // to plain HTTP silently.
  if (c.http.tls_cert.empty() != c.http.tls_key.empty()) {
    const std::string missing = c.http.tls_cert.empty() ? "http.tls_cert" : "http.tls_key";
    const std::string given = c.http.tls_cert.empty() ? "http.tls_key" : "http.tls_cert";
    return error(missing, missing + ": must be set when " + given + " is (both for TLS, neither for plain HTTP)");
  }
  return std::nullopt;
}

}  // namespace

std::string Config::listen_host() const {
  if (auto hp = split_listen(listen)) return hp->first;
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

unsigned short Config::listen_port() const {
  if (auto hp = split_listen(listen)) return hp->second;
  return 0;
}

namespace {
// The file layer alone: rules between keys wait until the environment is applied too
// (a certificate in the file, its key from a variable).
domain::Result<Config> parse_file_text(std::string_view text) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return error("", std::string("config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return error("", "config must be a JSON object");
  Config c;
  if (auto e = apply_object(j, "", c)) return *e;
  return c;
}
}  // namespace

domain::Result<Config> from_json_text(std::string_view text) {
  auto c = parse_file_text(text);
  if (!c) return c;
  if (auto e = check_combinations(*c)) return *e;
  return c;
}

domain::Result<Config> load(const std::string& path,
                            const std::map<std::string, std::string>& env) {
  Config c;
  if (!path.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return error("", "cannot read config file " + path + ": it is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return error("", "cannot read config file " + path + ": " + std::strerror(errno));
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return error("", "cannot read config file " + path);
    auto parsed = parse_file_text(text);
    if (!parsed) {
      Error e = parsed.error();
      e.message = path + ": " + e.message;
      return e;
    }
    c = std::move(*parsed);
  }
  if (auto e = apply_environment(env, c)) return *e;
  if (auto e = check_combinations(c)) return *e;
  return c;
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> out;
  constexpr std::string_view prefix = "XIAONAO_";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.substr(0, prefix.size()) != prefix) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

std::vector<std::string> unknown_env(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& entry : env) {
    // A named variable, not a structured binding: clang 14 cannot capture those in lambdas.
    const std::string& name = entry.first;
    // XIAONAO_API_KEY belongs to the tools (replay, bench), not to the server.
    if (name.rfind("XIAONAO_", 0) != 0 || name == "XIAONAO_DB" || name == "XIAONAO_API_KEY" ||
        name == "XIAONAO_WEB_ROOT")
      continue;
    const bool known = std::any_of(key_specs().begin(), key_specs().end(),
                                   [&](const KeySpec& s) { return env_name(s.path) == name; });
    if (!known) out.push_back(name);
  }
  return out;
}

json to_json(const Config& config) {
  Config c = config;  // the key table hands out mutable pointers; read through a copy
  json out = json::object();
  for (const auto& spec : key_specs()) {
    json value;
    std::visit([&](auto* p) { value = *p; }, spec.ref(c));
    const auto dot = spec.path.find('.');
    if (dot == std::string_view::npos) {
      out[std::string(spec.path)] = std::move(value);
    } else {
      out[std::string(spec.path.substr(0, dot))][std::string(spec.path.substr(dot + 1))] =
          std::move(value);
    }
  }
  return out;
}

}  // namespace xiaonao::config
