#include "xiaonao/domain/incident.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <random>

#include "xiaonao/domain/json_text.hpp"

namespace xiaonao::domain {

namespace {

using namespace std::chrono;

constexpr char kHex[] = "0123456789abcdef";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// URL-safe base64 (RFC 4648 section 5) without padding.
std::string b64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint8_t>(in[i]) << 16) |
                            (static_cast<std::uint8_t>(in[i + 1]) << 8) |
                            static_cast<std::uint8_t>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t v =
        (static_cast<std::uint8_t>(in[i]) << 16) | (static_cast<std::uint8_t>(in[i + 1]) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict decoding: only the URL-safe alphabet, no padding, and unused trailing bits must be
// zero, so every cursor has exactly one spelling.
std::optional<std::string> b64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const int v = b64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::mt19937_64& uuid_engine() {
  // One engine per thread: no lock on the hot path, and each seeded from the OS.
  thread_local std::mt19937_64 engine = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  return engine;
}

// Cursor times are limited to the years RFC 3339 can write (0000..9999).
constexpr std::int64_t kMinCursorUs =
    duration_cast<microseconds>(sys_days{year{0} / January / 1}.time_since_epoch()).count();
constexpr std::int64_t kMaxCursorUs =
    duration_cast<microseconds>(sys_days{year{10000} / January / 1}.time_since_epoch()).count() - 1;

}  // namespace

std::string format_incident_number(TimePoint at, std::int64_t serial, int utc_offset_minutes) {
  // The date is the station's calendar day, not UTC's: at 07:00 in China it is still
  // yesterday in UTC.
  const auto local = at + minutes{utc_offset_minutes};
  const year_month_day ymd{floor<days>(local)};
  char buf[64];
  std::snprintf(buf, sizeof buf, "XN%04d%02u%02u-%06lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(serial));
  return buf;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!is_lower_hex(s[i])) {
      return false;
    }
  }
  return true;
}

std::string new_uuid(TimePoint now) {
  auto& engine = uuid_engine();
  std::array<std::uint8_t, 16> b{};
  // RFC 9562 version 7: 48 bits of Unix milliseconds, then 74 random bits. Ids made later sort
  // later, so a B-tree on them grows at its right edge, as on a serial, instead of touching a
  // random leaf for every row (docs/architecture.md, "Schema").
  const auto ms = static_cast<std::uint64_t>(duration_cast<milliseconds>(now.time_since_epoch()).count());
  const std::uint64_t hi = (ms << 16) | (engine() & 0xFFFF);
  const std::uint64_t lo = engine();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x70);  // version 7
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

std::string encode_cursor(const PageCursor& c) {
  return b64url_encode(std::to_string(c.received_at.time_since_epoch().count()) + "|" + c.id);
}

std::optional<PageCursor> decode_cursor(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto raw = b64url_decode(text);
  if (!raw) return std::nullopt;
  const auto bar = raw->find('|');
  if (bar == std::string::npos || bar == 0) return std::nullopt;
  const char* first = raw->data();
  const char* last = raw->data() + bar;
  std::int64_t us = 0;
  // from_chars accepts a leading '-' and nothing else: no '+', no spaces, no hex.
  const auto [ptr, ec] = std::from_chars(first, last, us);
  if (ec != std::errc{} || ptr != last) return std::nullopt;
  if (us < kMinCursorUs || us > kMaxCursorUs) return std::nullopt;
  const std::string_view id = std::string_view(*raw).substr(bar + 1);
  if (!is_uuid(id)) return std::nullopt;
  PageCursor c{TimePoint{microseconds{us}}, std::string(id)};
  // One spelling per position: "007|..." or "-0|..." decode but are not what we hand out.
  if (encode_cursor(c) != text) return std::nullopt;
  return c;
}

namespace {

void location_value(JsonWriter& w, const std::optional<GeoPoint>& p) {
  if (!p) {
    w.null();
    return;
  }
  w.begin_object().key("lat").number(p->lat).key("lon").number(p->lon).end_object();
}

}  // namespace

// Keys are written in sorted order: the texts are exactly what nlohmann::json::dump() gave
// for the same objects before, so stored events and frames did not change shape.
std::string incident_opened_data(const AlertInput& a, const OpenedIncident& ids) {
  std::string out;
  out.reserve(320 + (a.address ? a.address->size() : 0) + (a.description ? a.description->size() : 0));
  JsonWriter w(out);
  w.begin_object();
  w.optional_string("address", a.address);
  w.key("alert_count").integer(1);
  w.key("category").string(a.category);
  w.key("created_at").string(ids.created_at);
  w.optional_string("description", a.description);
  w.key("id").string(ids.incident_id);
  w.key("location");
  location_value(w, ids.location != nullptr ? std::optional<GeoPoint>(*ids.location) : a.location);
  w.key("number").string(ids.number);
  w.key("priority").integer(a.priority.value_or(4));
  w.key("received_at").string(ids.received_at);
  w.key("station_id");
  if (ids.station_id.empty()) {
    w.null();
  } else {
    w.string(ids.station_id);
  }
  w.key("status").string(ids.assessed ? "assessed" : "received");
  w.key("updated_at").string(ids.created_at);
  w.end_object();
  return out;
}

std::string incident_auto_assessed_data(const AlertInput& a, const OpenedIncident& ids) {
  std::string out;
  out.reserve(320);
  JsonWriter w(out);
  w.begin_object();
  w.key("actor").string("system:auto_assess");
  w.key("at").string(ids.created_at);
  w.key("category").string(a.category);
  w.key("event").string("assess");
  w.key("from").string("received");
  w.key("id").string(ids.incident_id);
  w.key("number").string(ids.number);
  w.key("priority").integer(a.priority.value_or(4));
  w.key("reason").string("source " + a.source + " is assessed by its sender (loop.auto_assess_sources)");
  w.key("to").string("assessed");
  w.end_object();
  return out;
}

std::string alert_received_data(const AlertInput& a, const OpenedIncident& ids) {
  std::string out;
  out.reserve(320 + (a.address ? a.address->size() : 0) + (a.description ? a.description->size() : 0));
  JsonWriter w(out);
  w.begin_object();
  w.optional_string("address", a.address);
  w.key("alert_id").string(ids.alert_id);
  w.key("category").string(a.category);
  w.optional_string("description", a.description);
  w.key("incident_id").string(ids.incident_id);
  w.key("incident_number").string(ids.number);
  w.key("location");
  location_value(w, a.location);
  w.key("merged").boolean(ids.merged);
  w.key("priority").integer(a.priority.value_or(4));
  w.key("received_at").string(ids.received_at);
  w.key("source").string(a.source);
  w.end_object();
  return out;
}

std::string alert_answer_json(std::string_view alert_id, std::string_view incident_id,
                              std::string_view incident_number, bool merged, bool created) {
  std::string out;
  out.reserve(160);
  JsonWriter w(out);
  w.begin_object();
  w.key("alert_id").string(alert_id);
  w.key("created").boolean(created);
  w.key("incident_id").string(incident_id);
  w.key("incident_number").string(incident_number);
  w.key("merged").boolean(merged);
  w.end_object();
  return out;
}

}  // namespace xiaonao::domain
