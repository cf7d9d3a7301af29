#include "xiaonao/domain/escalation.hpp"

#include <algorithm>
#include <cmath>

#include "xiaonao/domain/units.hpp"

namespace xiaonao::domain::escalation {

int wait_ms(std::optional<double> next_due_s, bool fired_any, int scan_ms, int busy_retry_ms) {
  scan_ms = std::max(scan_ms, 1);
  if (!next_due_s || std::isnan(*next_due_s)) return scan_ms;
  if (*next_due_s <= 0) {
    // Due now: a full batch left more behind (go again at once); otherwise another
    // transaction holds it, and looking again at once would only spin.
    return fired_any ? 0 : std::min(busy_retry_ms, scan_ms);
  }
  // Wake at the due time (rounded up to the next millisecond, so the round finds it due).
  const double ms = std::ceil(*next_due_s * 1000.0);
  return ms >= scan_ms ? scan_ms : std::max(1, static_cast<int>(ms));
}

Result<Query> parse_query(std::optional<std::string_view> station_id, std::optional<std::string_view> open,
                          std::optional<std::string_view> since, std::optional<std::string_view> limit) {
  Query q;
  if (station_id) {
    if (!is_reference_id(*station_id))
      return Error{ErrorKind::bad_request, "station_id must be a station id", "station_id"};
    q.station_id = std::string(*station_id);
  }
  if (open) {
    if (*open == "true") q.open = true;
    else if (*open == "false") q.open = false;
    else return Error{ErrorKind::bad_request, "open must be true or false", "open"};
  }
  if (since) {
    const auto t = parse_rfc3339(*since);
    if (!t) return Error{ErrorKind::bad_request, "since must be an RFC 3339 time", "since"};
    q.since = *t;
  }
  if (limit) {
    const auto& s = *limit;
    const bool digits = !s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string_view::npos;
    const int n = digits ? std::stoi(std::string(s)) : 0;
    if (n < 1 || n > 500) return Error{ErrorKind::bad_request, "limit must be an integer from 1 to 500", "limit"};
    q.limit = n;
  }
  return q;
}

}  // namespace xiaonao::domain::escalation
