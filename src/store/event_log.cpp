#include "xiaonao/store/event_log.hpp"

#include <memory>

#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::store {

// The last seq is also kept in the session's `xiaonao.appended` setting (it outlives the
// commit), so that the intake writer can send COMMIT with the append and read the seq after it
// in the same round trip.
const char* const append_events_sql = R"sql(
WITH s AS (
  UPDATE feed_seq SET last = last + $2 RETURNING last
), ev AS (
  INSERT INTO events (seq, type, at, incident_id, category, station_id, data)
  SELECT s.last - $2 + e.ord, e.type, $3::timestamptz, e.incident_id, e.category, e.station_id, e.data
  FROM json_to_recordset($1::json)
       AS e(ord int, type text, incident_id uuid, category text, station_id text, data json), s
)
SELECT last, pg_notify('xiaonao_feed', last::text), set_config('xiaonao.appended', last::text, false) FROM s
)sql";

std::string events_param(const std::vector<NewEvent>& events) {
  std::string out;
  domain::JsonWriter w(out);
  w.begin_array();
  std::int64_t ord = 0;
  for (const auto& e : events) {
    w.begin_object();
    w.key("ord").integer(++ord);
    w.key("type").string(e.type);
    w.key("incident_id");
    e.incident_id.empty() ? w.null() : w.string(e.incident_id);
    w.key("category");
    e.category.empty() ? w.null() : w.string(e.category);
    w.key("station_id");
    e.station_id.empty() ? w.null() : w.string(e.station_id);
    w.key("data").raw(e.data);
    w.end_object();
  }
  w.end_array();
  return out;
}

std::int64_t append_events(pqxx::work& w, const std::vector<NewEvent>& events, const std::string& at) {
  if (events.empty()) return 0;
  return w.exec_params1(append_events_sql, events_param(events), static_cast<std::int64_t>(events.size()), at)[0]
      .as<std::int64_t>();
}

std::vector<domain::Frame> event_frames(const std::vector<NewEvent>& events, std::int64_t last, const std::string& at) {
  std::vector<domain::Frame> frames;
  frames.reserve(events.size());
  auto seq = last - static_cast<std::int64_t>(events.size());
  for (const auto& e : events) {
    ++seq;
    frames.push_back(domain::Frame{seq, e.category, e.station_id, feed_frame(seq, e.type, at, e.data)});
  }
  return frames;
}

}  // namespace xiaonao::store
