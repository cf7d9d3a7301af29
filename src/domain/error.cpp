#include "xiaonao/domain/error.hpp"

namespace xiaonao::domain {

const char* error_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::malformed_json: return "malformed_json";
    case ErrorKind::missing_field: return "missing_field";
    case ErrorKind::invalid_field: return "invalid_field";
    case ErrorKind::unknown_category: return "unknown_category";
    case ErrorKind::unsupported_media_type: return "unsupported_media_type";
    case ErrorKind::payload_too_large: return "payload_too_large";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::method_not_allowed: return "method_not_allowed";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::too_many_requests: return "too_many_requests";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::internal: return "internal";
  }
  // Only reachable through a cast of a value outside the enum: report it as a bug.
  return "internal";
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return 400;
    case ErrorKind::malformed_json: return 400;
    case ErrorKind::missing_field: return 422;
    case ErrorKind::invalid_field: return 422;
    case ErrorKind::unknown_category: return 422;
    case ErrorKind::unsupported_media_type: return 415;
    case ErrorKind::payload_too_large: return 413;
    case ErrorKind::unauthorized: return 401;
    case ErrorKind::forbidden: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::method_not_allowed: return 405;
    case ErrorKind::conflict: return 409;
    case ErrorKind::too_many_requests: return 429;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

}  // namespace xiaonao::domain
