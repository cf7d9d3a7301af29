#pragma once
/// Writing JSON text directly into a string, without building a `nlohmann::json` tree first.
/// The intake path writes several small JSON texts per alert (the batch parameter, two event
/// payloads, the response); building a tree for each cost more than the database work.
///
/// Output is compact and byte-identical to `nlohmann::json::dump()` of the same values for
/// strings, integers, booleans and null (so keys written in sorted order give the same text as
/// a dumped `nlohmann::json` object). Doubles are written as the shortest text that reads back
/// as the same double.
#include <cstdint>
#include <string>
#include <string_view>

namespace xiaonao::domain {

/// Appends `s` as a JSON string literal (quotes included). `"` and `\` are escaped, control
/// characters below U+0020 become `\b \f \n \r \t` or `\u00xx`; every other byte, UTF-8
/// sequences included, passes through unchanged. `s` must be valid UTF-8 (validated input).
void append_json_string(std::string& out, std::string_view s);

/// Appends a finite double as a JSON number: the shortest round-trip form, with ".0" added
/// when that form would read back as an integer (as nlohmann does). Non-finite values, which
/// JSON cannot hold, are written as null.
void append_json_double(std::string& out, double d);

/// Appends an integer as a JSON number.
void append_json_int(std::string& out, std::int64_t v);

/// A minimal streaming writer over a string: it places the commas and the colons. Nesting is
/// limited to kMaxDepth levels (more is a programming error and is not checked in release).
class JsonWriter {
 public:
  static constexpr int kMaxDepth = 8;

  /// Appends to `out` (which is not cleared).
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next member's name (inside an object).
  JsonWriter& key(std::string_view k);

  JsonWriter& string(std::string_view s);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& number(double d);
  JsonWriter& boolean(bool b);
  JsonWriter& null();
  /// An already serialized JSON value, inserted as is.
  JsonWriter& raw(std::string_view json);

  /// `key(k)` then the value, or null when `v` is empty.
  template <class Optional>
  JsonWriter& optional_string(std::string_view k, const Optional& v) {
    key(k);
    return v ? string(*v) : null();
  }

 private:
  void before_value();

  std::string& out_;
  int depth_{0};
  bool first_[kMaxDepth + 1]{true};
  bool after_key_{false};
};

}  // namespace xiaonao::domain
