#pragma once
/// Incident identity and paging helpers that do not touch the database.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain {

/// The human-readable incident number: "XN" + local date (yyyymmdd) + "-" + a zero-padded
/// number from a database sequence that is never reset, so numbers are never reused.
std::string format_incident_number(TimePoint at, std::int64_t serial, int utc_offset_minutes);

/// True for a canonical lowercase UUID string (8-4-4-4-12 hex).
bool is_uuid(std::string_view s);

/// A random (version 4) UUID.
std::string new_uuid();

/// Position in a listing ordered by (received_at desc, id desc).
struct PageCursor {
  TimePoint received_at{};
  std::string id;
};

/// Opaque cursor text (URL-safe) for a position, and back. Returns nullopt for a bad cursor.
std::string encode_cursor(const PageCursor& c);
std::optional<PageCursor> decode_cursor(std::string_view text);

}  // namespace xiaonao::domain
