#include "xiaonao/log/log.hpp"

#include <pthread.h>

#include <spdlog/sinks/stdout_sinks.h>

namespace xiaonao::log {
namespace {
bool g_json = false;

// Text values are written bare when they are simple words, quoted otherwise, so a line stays
// greppable (`rid=ab12`) and unambiguous (`message="two words"`).
void append_text_value(std::string& out, const nlohmann::json& v) {
  if (!v.is_string()) {
    out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  const auto& s = v.get_ref<const std::string&>();
  bool bare = !s.empty();
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=') { bare = false; break; }
  }
  if (bare) out += s;
  else out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

void init(const std::string& level, bool json) {
  g_json = json;
  auto logger = spdlog::stderr_logger_mt("xiaonao");
  logger->set_level(spdlog::level::from_str(level));
  if (json) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void name_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

void write(spdlog::level::level_enum lvl, std::string_view event, Fields fields) {
  std::string line;
  line.reserve(128);
  if (g_json) {
    line += "\"event\":";
    line += nlohmann::json(event).dump();
    for (const auto& [k, v] : fields) {
      line += ',';
      line += nlohmann::json(k).dump();
      line += ':';
      line += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  } else {
    line += event;
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      append_text_value(line, v);
    }
  }
  spdlog::default_logger_raw()->log(lvl, line);
}

}  // namespace xiaonao::log
