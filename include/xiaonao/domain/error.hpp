#pragma once
/// Errors that cross layers: one kind per outcome an API client can act on.
#include <string>
#include <utility>
#include <variant>

namespace xiaonao::domain {

/// What went wrong, independent of transport; http maps each kind to one status.
enum class ErrorKind {
  bad_request,             ///< malformed request line, query or path parameter (400)
  malformed_json,          ///< the body is not JSON, or nests too deep (400)
  missing_field,           ///< a required field is absent (422)
  invalid_field,           ///< a field is present but wrong (422)
  unknown_category,        ///< category code not in the categories table (422)
  unsupported_media_type,  ///< Content-Type is not application/json (415)
  payload_too_large,       ///< body over the limit (413)
  unauthorized,            ///< no credentials, or invalid or expired ones (401)
  forbidden,               ///< valid credentials without the permission (403)
  not_found,               ///< no such resource or route (404)
  method_not_allowed,      ///< route exists, method does not (405)
  conflict,                ///< state forbids the change (409)
  too_many_requests,       ///< a rate limit or the login throttle (429)
  unavailable,             ///< overloaded or database down (503)
  internal,                ///< a bug or an unexpected database error (500)
};

/// One error with the offending field (dotted path, empty when none).
struct Error {
  ErrorKind kind{ErrorKind::internal};
  std::string message;
  std::string field;
  std::string state{};  ///< conflict (409): the current state that forbids the change (empty: none)
};

/// The stable machine-readable code written to `error.code`.
const char* error_code(ErrorKind kind);
/// The HTTP status for a kind: the one table from error kinds to statuses.
int http_status(ErrorKind kind);

/// A value or an error; a minimal stand-in for C++23 std::expected.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}    // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace xiaonao::domain
