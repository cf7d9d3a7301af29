#pragma once
/// Normal forms of the texts that reference data and alerts are matched on. The importer stores
/// these forms and fusion compares them, so both sides must use exactly these functions.
#include <string>
#include <string_view>

namespace xiaonao::domain {

/// An address text in the form the exact and alias matches compare: full-width ASCII
/// (ＡＢ１２) made half-width, ASCII letters lowercased, and white space (also U+3000) and
/// punctuation (ASCII and the CJK marks ，。、；：（）【】《》—·“”‘’) removed. Invalid UTF-8
/// bytes are dropped.
std::string normalize_address(std::string_view text);

/// Appends code point `cp` to `out` as UTF-8 (a valid code point: the caller decoded it).
void append_utf8(std::string& out, char32_t cp);

/// A phone number as stored and compared: its digits only, without a leading +86 / 0086 / 86
/// country code in front of an 11-digit mobile number. Empty when it has no digit.
std::string normalize_phone(std::string_view text);

}  // namespace xiaonao::domain
