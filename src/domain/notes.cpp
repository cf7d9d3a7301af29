#include "xiaonao/domain/notes.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace xiaonao::domain::notes {
namespace {

using nlohmann::json;

Error invalid(const char* field, const std::string& what) {
  return Error{ErrorKind::invalid_field, std::string(field) + " " + what, field};
}

std::string kinds_text() {
  std::string out;
  for (const auto k : kKinds) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

Result<NoteInput> parse_note(const json& body) {
  NoteInput in;
  const auto t = body.find("text");
  if (t == body.end() || t->is_null()) return Error{ErrorKind::missing_field, "text is required", "text"};
  if (!t->is_string()) return invalid("text", "must be a string");
  in.text = t->get<std::string>();
  // nlohmann has checked the UTF-8; count code points and refuse control characters other
  // than tab, CR and LF (a note may have several lines).
  std::size_t points = 0;
  bool blank = true;
  for (const char ch : in.text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return invalid("text", "must not contain control characters");
    if ((c & 0xC0) != 0x80) ++points;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') blank = false;
  }
  if (blank) return invalid("text", "must not be empty");
  if (points > kMaxText) return invalid("text", "is longer than " + std::to_string(kMaxText) + " characters");

  const auto k = body.find("kind");
  if (k != body.end() && !k->is_null()) {
    if (!k->is_string() || std::find(kKinds.begin(), kKinds.end(), k->get<std::string>()) == kKinds.end())
      return invalid("kind", "must be one of: " + kinds_text());
    in.kind = k->get<std::string>();
  }
  return in;
}

bool accepts_note(loop::IncidentState s) {
  return s != loop::IncidentState::closed && s != loop::IncidentState::cancelled &&
         s != loop::IncidentState::count_;
}

}  // namespace xiaonao::domain::notes
