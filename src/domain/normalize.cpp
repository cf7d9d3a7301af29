#include "xiaonao/domain/normalize.hpp"

#include <array>
#include <cstdint>

namespace xiaonao::domain {
namespace {

// Decodes one UTF-8 code point at `i`; returns false (and skips one byte) on invalid input.
bool next_code_point(std::string_view s, std::size_t& i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return false;
  }
  cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms and surrogates are invalid.
  static constexpr std::array<char32_t, 5> min_of{0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_of[static_cast<std::size_t>(len)] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    return false;
  }
  i += static_cast<std::size_t>(len);
  return true;
}

bool is_dropped(char32_t cp) {
  if (cp <= 0x20 || cp == 0x7F) return true;  // controls and space
  if (cp < 0x80) {
    // ASCII punctuation: everything printable that is not a letter or a digit.
    return !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'));
  }
  switch (cp) {
    case 0x3000:  // ideographic space
    case 0x3001:  // 、
    case 0x3002:  // 。
    case 0xFF0C:  // ，
    case 0xFF1B:  // ；
    case 0xFF1A:  // ：
    case 0xFF08:  // （
    case 0xFF09:  // ）
    case 0x3010:  // 【
    case 0x3011:  // 】
    case 0x300A:  // 《
    case 0x300B:  // 》
    case 0x2014:  // —
    case 0x2013:  // –
    case 0x00B7:  // ·
    case 0x201C:  // “
    case 0x201D:  // ”
    case 0x2018:  // ‘
    case 0x2019:  // ’
    case 0x00A0:  // no-break space
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string normalize_address(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!next_code_point(text, i, cp)) continue;
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // full-width ASCII → ASCII
    if (is_dropped(cp)) continue;
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    append_utf8(out, cp);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string normalize_phone(std::string_view text) {
  std::string digits;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!next_code_point(text, i, cp)) continue;
    if (cp >= 0xFF10 && cp <= 0xFF19) cp -= 0xFEE0;  // full-width digits
    if (cp >= '0' && cp <= '9') digits += static_cast<char>(cp);
  }
  for (std::string_view prefix : {"0086", "86"}) {
    if (digits.size() == 11 + prefix.size() && digits.compare(0, prefix.size(), prefix) == 0 &&
        digits[prefix.size()] == '1') {
      return digits.substr(prefix.size());
    }
  }
  return digits;
}

}  // namespace xiaonao::domain
