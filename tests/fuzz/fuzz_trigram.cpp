// libFuzzer harness for the fuzzy address match (an alert's address text reaches it, after
// domain::normalize_address): pg_trgm's trigrams of any bytes, raw and normalised, under the
// ASCII rules and C.UTF-8's, must be sorted, unique and three bytes each; a text is fully
// similar to itself; the index's best matches over a few fixed addresses must be at most the
// limit, at or above the floor, best first, and the same as scoring every address.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/normalize.hpp"
#include "xiaonao/domain/trigram.hpp"

using namespace xiaonao::domain;

namespace {

const std::vector<std::string>& addresses() {
  static const std::vector<std::string> a{"云和县浮云街道解放街58号", "云和县浮云街道解放街85号",
                                          "云和县城关镇人民路12号3幢", "云和县朱村乡梅垟村63号",
                                          "Zhongshan Rd 12", "中山路12号院"};
  return a;
}

void check(std::string_view text, const trigram::CharRules& rules, const trigram::Index& index) {
  const auto t = trigram::trigrams(text, rules);
  if (!std::is_sorted(t.begin(), t.end()) || std::adjacent_find(t.begin(), t.end()) != t.end()) std::abort();
  for (const auto c : t)
    if (c > 0xFFFFFFu) std::abort();
  if (!t.empty() && trigram::similarity(t, t) != 1.0f) std::abort();
  const auto best = index.best(text, 3, 0.2);
  if (best.size() > 3) std::abort();
  std::vector<trigram::Match> all;
  for (std::size_t i = 0; i < addresses().size(); ++i) {
    const float s = trigram::similarity(t, trigram::trigrams(addresses()[i], rules));
    if (static_cast<double>(s) >= 0.2) all.push_back({i, s});
  }
  std::sort(all.begin(), all.end(), [](const trigram::Match& a, const trigram::Match& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  });
  if (all.size() > 3) all.resize(3);
  if (all.size() != best.size()) std::abort();
  for (std::size_t k = 0; k < all.size(); ++k)
    if (all[k].index != best[k].index || all[k].score != best[k].score) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto utf8 = trigram::CharRules::of_locale("C.UTF-8").value_or(trigram::CharRules::ascii());
  static const auto ascii = trigram::CharRules::ascii();
  static const trigram::Index* indexes[2] = {nullptr, nullptr};
  if (!indexes[0]) {
    for (int k = 0; k < 2; ++k) {
      auto* index = new trigram::Index(k == 0 ? utf8 : ascii);
      for (const auto& a : addresses()) index->add(a);
      index->build();
      indexes[k] = index;
    }
  }
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto norm = normalize_address(raw);
  for (const auto text : {raw, std::string_view(norm)}) {
    check(text, utf8, *indexes[0]);
    check(text, ascii, *indexes[1]);
  }
  return 0;
}
