#pragma once
/// Masking of personal data: what every role sees unless it may unmask (and the look-up is audited).
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace xiaonao::domain {

/// A phone or id number: the first 3 and last 4 characters kept, the rest '*'
/// ("13812345678" → "138****5678", an 18-digit id → "330***********1234"). Values shorter
/// than 8 characters are masked whole.
std::string mask_number(std::string_view s);

/// A name: the first character (UTF-8 code point) kept, every further one '*' ("张三" → "张*").
std::string mask_name(std::string_view s);

/// The people in a one-screen incident view ({"alerts": [{"id", "caller": {phone, name},
/// "subject": {phone, id_number}}], "household": [{"person_id", name, id_number, phones}]}):
/// masks their name, phones and id number in place unless `unmask`, and returns who they are
/// as "person:<id>" (household), "alert:<id>/caller" or "alert:<id>/subject" (for the audit
/// row an unmasked view writes).
std::vector<std::string> mask_people(nlohmann::json& view, bool unmask);

}  // namespace xiaonao::domain
