// docs/configuration.md is what operators read: its key table must match the code exactly.
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "xiaonao/config/config.hpp"

namespace xiaonao::config {
namespace {

using nlohmann::json;

struct Row {
  std::string key, env, default_value, allowed;
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') return s.substr(1, s.size() - 2);
  return s;
}

std::vector<Row> doc_rows() {
  std::ifstream in(XIAONAO_CONFIG_DOC);
  EXPECT_TRUE(in.good()) << XIAONAO_CONFIG_DOC;
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(trim(cell));
    if (cells.size() < 5) continue;
    rows.push_back({unquote(cells[0]), cells[1], unquote(cells[2]), cells[3]});
  }
  return rows;
}

std::map<std::string, json> flat_defaults() {
  std::map<std::string, json> out;
  const json all = to_json(Config{});  // named: items() of a temporary would dangle
  for (const auto& [k, v] : all.items()) {
    if (v.is_object()) {
      for (const auto& [m, mv] : v.items()) out[k + "." + m] = mv;
    } else {
      out[k] = v;
    }
  }
  return out;
}

std::string with_key(const std::string& path, const std::string& value) {
  const auto dot = path.find('.');
  if (dot == std::string::npos) return "{\"" + path + "\": " + value + "}";
  return "{\"" + path.substr(0, dot) + "\": {\"" + path.substr(dot + 1) + "\": " + value + "}}";
}

// "1–64" or "−720–840" (typographic dash and minus, as written for people).
bool parse_range(std::string text, long long& lo, long long& hi) {
  const std::string minus = "\xe2\x88\x92", dash = "\xe2\x80\x93";
  for (auto p = text.find(minus); p != std::string::npos; p = text.find(minus)) text.replace(p, minus.size(), "-");
  const auto d = text.find(dash);
  if (d == std::string::npos) return false;
  try {
    std::size_t used = 0;
    lo = std::stoll(text.substr(0, d), &used);
    if (used != d) return false;
    const std::string rest = text.substr(d + dash.size());
    hi = std::stoll(rest, &used);
    return used == rest.size();
  } catch (const std::exception&) {
    return false;
  }
}

TEST(ConfigDoc, TableListsEveryKeyOnce) {
  const auto defaults = flat_defaults();
  std::set<std::string> documented;
  for (const auto& row : doc_rows()) {
    EXPECT_TRUE(defaults.count(row.key)) << "documented key does not exist: " << row.key;
    EXPECT_TRUE(documented.insert(row.key).second) << "documented twice: " << row.key;
  }
  for (const auto& [key, value] : defaults) EXPECT_TRUE(documented.count(key)) << "undocumented key: " << key;
}

TEST(ConfigDoc, VariablesAndDefaultsMatchTheCode) {
  const auto defaults = flat_defaults();
  for (const auto& row : doc_rows()) {
    if (!defaults.count(row.key)) continue;
    std::string env = "XIAONAO_";
    for (const char c : row.key) env += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_NE(row.env.find("`" + env + "`"), std::string::npos) << row.key << ": " << row.env;
    // The variable really works: setting it to the default loads.
    const json& v = defaults.at(row.key);
    const std::string as_text = v.is_string() ? v.get<std::string>() : v.dump();
    EXPECT_EQ(row.default_value, as_text) << row.key;
    EXPECT_TRUE(load("", {{env, as_text}}).ok()) << env;
  }
}

TEST(ConfigDoc, IntegerRangesMatchTheCode) {
  const auto defaults = flat_defaults();
  int checked = 0;
  for (const auto& row : doc_rows()) {
    if (!defaults.count(row.key) || !defaults.at(row.key).is_number_integer()) continue;
    long long lo = 0, hi = 0;
    ASSERT_TRUE(parse_range(row.allowed, lo, hi)) << row.key << ": " << row.allowed;
    EXPECT_TRUE(from_json_text(with_key(row.key, std::to_string(lo))).ok()) << row.key;
    EXPECT_TRUE(from_json_text(with_key(row.key, std::to_string(hi))).ok()) << row.key;
    EXPECT_FALSE(from_json_text(with_key(row.key, std::to_string(lo - 1))).ok()) << row.key;
    EXPECT_FALSE(from_json_text(with_key(row.key, std::to_string(hi + 1))).ok()) << row.key;
    ++checked;
  }
  EXPECT_EQ(checked, 81);
}

}  // namespace
}  // namespace xiaonao::config
