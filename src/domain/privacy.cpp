#include "xiaonao/domain/privacy.hpp"

namespace xiaonao::domain {
namespace {
// Length in bytes of the UTF-8 sequence starting with `lead` (1 for a stray continuation byte,
// so that malformed input still advances and is masked).
std::size_t utf8_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}
}  // namespace

std::string mask_number(std::string_view s) {
  if (s.size() < 8) return std::string(s.size(), '*');
  std::string out(s.substr(0, 3));
  out.append(s.size() - 7, '*');
  out.append(s.substr(s.size() - 4));
  return out;
}

std::string mask_name(std::string_view s) {
  if (s.empty()) return {};
  const auto first = std::min(utf8_len(static_cast<unsigned char>(s[0])), s.size());
  std::string out(s.substr(0, first));
  for (std::size_t i = first; i < s.size(); i += utf8_len(static_cast<unsigned char>(s[i]))) {
    if (s[i] == ' ') {
      out += ' ';
      continue;
    }
    out += '*';
  }
  return out;
}

namespace {
// The household block of the view: residents with name, id_number and phones.
void mask_household(nlohmann::json& view, bool unmask, std::vector<std::string>& people) {
  const auto it = view.find("household");
  if (it == view.end() || !it->is_array()) return;
  for (auto& p : *it) {
    if (!p.is_object()) continue;
    people.push_back("person:" + p.value("person_id", std::string()));
    if (unmask) continue;
    if (auto n = p.find("name"); n != p.end() && n->is_string()) *n = mask_name(n->get_ref<const std::string&>());
    if (auto n = p.find("id_number"); n != p.end() && n->is_string())
      *n = mask_number(n->get_ref<const std::string&>());
    if (auto ph = p.find("phones"); ph != p.end() && ph->is_array()) {
      for (auto& v : *ph) {
        if (v.is_string()) v = mask_number(v.get_ref<const std::string&>());
      }
    }
  }
}
}  // namespace

std::vector<std::string> mask_people(nlohmann::json& view, bool unmask) {
  std::vector<std::string> people;
  mask_household(view, unmask, people);
  const auto it = view.find("alerts");
  if (it == view.end() || !it->is_array()) return people;
  for (auto& alert : *it) {
    const auto id = alert.value("id", std::string());
    for (const char* role : {"caller", "subject"}) {
      auto p = alert.find(role);
      if (p == alert.end() || !p->is_object()) continue;
      people.push_back("alert:" + id + "/" + role);
      if (unmask) continue;
      for (auto& [field, value] : p->items()) {
        if (!value.is_string()) continue;
        const auto& s = value.get_ref<const std::string&>();
        value = field == "name" ? mask_name(s) : mask_number(s);
      }
    }
  }
  return people;
}

}  // namespace xiaonao::domain
