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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// Reading JSON text of a shape known in advance, value by value, without building a tree: the
/// rows that fusion's statements return as `json_agg` arrays (a `nlohmann::json` tree for each
/// cost more than ranking them). Any JSON text is read correctly; text that is not JSON, or not
/// of the kind asked for, throws `std::invalid_argument` and reads nothing past the end.
class JsonCursor {
 public:
  explicit JsonCursor(std::string_view text) : s_(text) {}

  /// Enters an array ('[').
  void begin_array();
  /// Inside an array: true when another element follows (its comma read), false when the
  /// array ends (its ']' read).
  bool more();
  /// A string, unescaped (\uXXXX, surrogate pairs included, as UTF-8).
  std::string string();
  /// null (read, and nullopt) or a string.
  std::optional<std::string> string_or_null();
  double number();
  std::int64_t integer();
  bool boolean();
  /// Reads a null when one is next; false (nothing read) otherwise.
  bool null();
  /// An array of strings; null reads as empty.
  std::vector<std::string> strings();
  /// Reads one value of any kind.
  void skip();
  /// Whether nothing but whitespace is left.
  bool at_end();

 private:
  char peek();  ///< the next byte after whitespace ('\0' at the end)
  void expect(char c);
  void expect_word(std::string_view w);
  [[noreturn]] void fail(const char* what) const;

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<bool> first_;  ///< per open array: no element read yet
};

/// One row of an array of arrays (`json_agg` of `json_build_array`), read element by element.
class JsonRow {
 public:
  /// Enters the row: the cursor must be at its '['.
  explicit JsonRow(JsonCursor& c) : c_(c) { c_.begin_array(); }
  /// The cursor at the row's next element; throws std::invalid_argument when the row has ended.
  JsonCursor& next();
  /// Ends the row; throws std::invalid_argument when elements are left.
  void end();

 private:
  JsonCursor& c_;
};

/// Calls `read(row)` for each row of `text`, an array of arrays; `read` takes every element of
/// the row. Empty text (SQL null) has no rows.
template <class Read>
void each_json_row(std::string_view text, Read read) {
  if (text.empty()) return;
  JsonCursor c(text);
  c.begin_array();
  while (c.more()) {
    JsonRow row(c);
    read(row);
    row.end();
  }
}

}  // namespace xiaonao::domain
