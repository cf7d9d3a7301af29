#pragma once
/// The alert as integrators send it (POST /api/v1/alerts), validated into a value type.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "xiaonao/domain/error.hpp"
#include "xiaonao/domain/time.hpp"

namespace xiaonao::domain {

/// A WGS84 position.
struct GeoPoint {
  double lon{0};
  double lat{0};
};

/// Who called, as far as the sender knows.
struct Caller {
  std::optional<std::string> phone;
  std::optional<std::string> name;
};

/// The person at risk (fraud warnings): at least one of the two.
struct Subject {
  std::optional<std::string> phone;
  std::optional<std::string> id_number;
};

/// A validated incoming alert. Category existence is checked by the service, not here.
struct AlertInput {
  std::string source;
  std::string source_ref;
  TimePoint received_at{};
  std::string category;
  std::optional<int> priority;
  std::optional<Caller> caller;
  std::optional<GeoPoint> location;
  std::optional<std::string> address;
  std::optional<std::string> marker;
  std::optional<Subject> subject;
  std::optional<std::string> description;
  /// Who sent it ("key:<id>", "user:<id>"): set by the server from the credentials, never
  /// read from the body.
  std::string submitted_by;
};

/// Limits applied while validating; defaults suit the public contract.
struct AlertLimits {
  std::size_t max_depth = 16;
  std::size_t max_description = 4000;
  std::size_t max_address = 300;
};

/// Parses and validates a request body. Errors name the field as a dotted path
/// ("location.lat", "caller.phone"); malformed JSON or nesting deeper than limits.max_depth is
/// ErrorKind::malformed_json; a body that is JSON but not an object is invalid_field with an
/// empty field. A JSON null counts as an absent field (so a null required field is missing).
/// Lengths are in Unicode code points; text may not contain U+0000 or control characters
/// (description and address may contain tab, CR and LF).
Result<AlertInput> parse_alert(std::string_view body, const AlertLimits& limits = {});

/// Validates an already parsed JSON value (used by parse_alert and by batch imports).
Result<AlertInput> alert_from_json(const nlohmann::json& j, const AlertLimits& limits = {});

/// The alert back as JSON, in the contract's field names (for events and the one-screen view).
nlohmann::json to_json(const AlertInput& a);

}  // namespace xiaonao::domain
