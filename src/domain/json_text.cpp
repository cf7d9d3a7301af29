#include "xiaonao/domain/json_text.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "xiaonao/domain/normalize.hpp"

namespace xiaonao::domain {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Bytes that cannot appear raw inside a JSON string: control characters, '"' and '\'.
constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the current run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0F]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_json_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  // 32 bytes hold every shortest double; ec cannot be set.
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  // "3" would read back as an integer; nlohmann writes "3.0", and so do we.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
  (void)ec;
}

void append_json_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(end - buf));
  (void)ec;
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    if (!first_[depth_]) out_ += ',';
    first_[depth_] = false;
  }
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  first_[++depth_] = true;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  first_[++depth_] = true;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (!first_[depth_]) out_ += ',';
  first_[depth_] = false;
  append_json_string(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  before_value();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t v) {
  before_value();
  append_json_int(out_, v);
  return *this;
}

JsonWriter& JsonWriter::number(double d) {
  before_value();
  append_json_double(out_, d);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

// ---- JsonCursor -----------------------------------------------------------------------------

namespace {

constexpr bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether a JSON number's magnitude is below 1 (its first significant digit after the point):
// of a number out of a double's range, whether it is too small rather than too large.
bool below_one(std::string_view n) {
  std::size_t i = n.empty() || n[0] != '-' ? 0 : 1;
  std::int64_t place = 0;  // the power of ten of the first significant digit, plus one
  bool seen = false, point = false;
  for (; i < n.size() && n[i] != 'e' && n[i] != 'E'; ++i) {
    if (n[i] == '.') {
      point = true;
    } else if (n[i] != '0' || seen) {
      seen = true;
      if (!point) ++place;
    } else if (point) {
      --place;
    }
  }
  if (!seen) return true;  // zero in any spelling
  std::int64_t exp = 0;
  bool negative = false;
  if (i < n.size()) {
    ++i;
    if (i < n.size() && (n[i] == '-' || n[i] == '+')) negative = n[i++] == '-';
    for (; i < n.size() && exp < 100000000; ++i) exp = exp * 10 + (n[i] - '0');
  }
  return place + (negative ? -exp : exp) <= 0;
}

// Nesting that skip() follows at most (the rows fusion reads nest three deep).
constexpr std::size_t kSkipDepth = 64;

}  // namespace

void JsonCursor::fail(const char* what) const {
  throw std::invalid_argument(std::string("JSON text: ") + what + " at byte " + std::to_string(i_));
}

char JsonCursor::peek() {
  while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  return i_ < s_.size() ? s_[i_] : '\0';
}

void JsonCursor::expect(char c) {
  if (peek() != c || i_ >= s_.size()) fail("unexpected byte");
  ++i_;
}

void JsonCursor::expect_word(std::string_view w) {
  if (s_.substr(i_, w.size()) != w) fail("unexpected word");
  i_ += w.size();
}

void JsonCursor::begin_array() {
  expect('[');
  first_.push_back(true);
}

bool JsonCursor::more() {
  if (first_.empty()) fail("not inside an array");
  const char c = peek();
  if (c == ']') {
    ++i_;
    first_.pop_back();
    return false;
  }
  if (first_.back()) {
    first_.back() = false;
    return true;
  }
  expect(',');
  return true;
}

std::string JsonCursor::string() {
  expect('"');
  std::string out;
  std::size_t run = i_;
  while (true) {
    if (i_ >= s_.size()) fail("unterminated string");
    const char c = s_[i_];
    if (c == '"') break;
    if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
    if (c != '\\') {
      ++i_;
      continue;
    }
    out.append(s_.data() + run, i_ - run);
    if (++i_ >= s_.size()) fail("unterminated escape");
    const char e = s_[i_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        const auto hex4 = [this]() {
          if (i_ + 4 > s_.size()) fail("short \\u escape");
          std::uint32_t v = 0;
          for (int k = 0; k < 4; ++k) {
            const int h = hex_value(s_[i_++]);
            if (h < 0) fail("bad \\u escape");
            v = v * 16 + static_cast<std::uint32_t>(h);
          }
          return v;
        };
        std::uint32_t cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.substr(i_, 2) != "\\u") fail("lone surrogate");
          i_ += 2;
          const auto low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("lone surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("lone surrogate");
        }
        append_utf8(out, static_cast<char32_t>(cp));
        break;
      }
      default: fail("bad escape");
    }
    run = i_;
  }
  out.append(s_.data() + run, i_ - run);
  ++i_;  // the closing quote
  return out;
}

std::optional<std::string> JsonCursor::string_or_null() {
  if (null()) return std::nullopt;
  return string();
}

double JsonCursor::number() {
  peek();
  const char* begin = s_.data() + i_;
  const char* end = s_.data() + s_.size();
  // JSON has no leading '+', no bare '.', no inf or nan: from_chars would take some of them.
  const char* digit = begin < end && *begin == '-' ? begin + 1 : begin;
  if (digit == end || *digit < '0' || *digit > '9') fail("expected a number");
  double v = 0;
  const auto [stop, ec] = std::from_chars(begin, end, v);
  if (ec == std::errc::result_out_of_range && below_one(std::string_view(begin, static_cast<std::size_t>(stop - begin)))) {
    v = *begin == '-' ? -0.0 : 0.0;  // too small for a double (1e-400): zero, as strtod rounds it
  } else if (ec != std::errc()) {
    fail("bad number");  // too large for a double (1e400), or no number at all
  }
  i_ += static_cast<std::size_t>(stop - begin);
  return v;
}

std::int64_t JsonCursor::integer() {
  peek();
  const char* begin = s_.data() + i_;
  const char* end = s_.data() + s_.size();
  std::int64_t v = 0;
  const auto [stop, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc()) fail("expected an integer");
  if (stop < end && (*stop == '.' || *stop == 'e' || *stop == 'E')) fail("expected an integer");
  i_ += static_cast<std::size_t>(stop - begin);
  return v;
}

bool JsonCursor::boolean() {
  const char c = peek();
  if (c == 't') {
    expect_word("true");
    return true;
  }
  if (c == 'f') {
    expect_word("false");
    return false;
  }
  fail("expected true or false");
}

bool JsonCursor::null() {
  if (peek() != 'n') return false;
  expect_word("null");
  return true;
}

std::vector<std::string> JsonCursor::strings() {
  std::vector<std::string> out;
  if (null()) return out;
  begin_array();
  while (more()) out.push_back(string());
  return out;
}

void JsonCursor::skip() {
  std::vector<char> open;  // the closing bracket of each array or object being read
  const auto member_name = [this]() {
    string();
    expect(':');
  };
  while (true) {
    const char c = peek();
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++i_;
      if (peek() == close) {
        ++i_;
      } else {
        if (open.size() >= kSkipDepth) fail("nested too deep");
        open.push_back(close);
        if (close == '}') member_name();
        continue;
      }
    } else if (c == '"') {
      string();
    } else if (c == 't' || c == 'f') {
      boolean();
    } else if (c == 'n') {
      expect_word("null");
    } else {
      number();
    }
    // After a value: a comma goes on with the innermost array or object, its bracket ends it.
    while (true) {
      if (open.empty()) return;
      const char n = peek();
      if (n == ',') {
        ++i_;
        if (open.back() == '}') member_name();
        break;
      }
      if (n != open.back()) fail("expected a comma or a closing bracket");
      ++i_;
      open.pop_back();
    }
  }
}

bool JsonCursor::at_end() { return peek() == '\0' && i_ >= s_.size(); }

JsonCursor& JsonRow::next() {
  if (!c_.more()) throw std::invalid_argument("JSON text: a row is too short");
  return c_;
}

void JsonRow::end() {
  if (c_.more()) throw std::invalid_argument("JSON text: a row is too long");
}

}  // namespace xiaonao::domain
