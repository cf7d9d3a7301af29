#include "xiaonao/domain/assets.hpp"

#include <array>
#include <utility>

namespace xiaonao::domain {

namespace {
bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
}  // namespace

std::optional<std::string> asset_path(std::string_view relative) {
  if (relative.empty() || relative.size() > kMaxAssetPath) return std::nullopt;
  std::size_t segments = 0;
  std::size_t begin = 0;
  while (begin <= relative.size()) {
    auto end = relative.find('/', begin);
    if (end == std::string_view::npos) end = relative.size();
    const auto seg = relative.substr(begin, end - begin);
    // Empty segments ("a//b", "/a", "a/") and dot-led ones (".", "..", ".env") never name a file.
    if (seg.empty() || seg.size() > 64 || seg.front() == '.') return std::nullopt;
    for (const char c : seg) {
      if (!name_char(c)) return std::nullopt;
    }
    if (++segments > 8) return std::nullopt;
    begin = end + 1;
  }
  return std::string(relative);
}

std::string_view asset_content_type(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  const auto slash = name.rfind('/');
  const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  const auto ext = base.substr(dot);
  for (const auto& [e, type] : kTypes) {
    if (ext.size() != e.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < e.size() && same; ++i) {
      const char c = ext[i] >= 'A' && ext[i] <= 'Z' ? static_cast<char>(ext[i] - 'A' + 'a') : ext[i];
      same = c == e[i];
    }
    if (same) return type;
  }
  return "application/octet-stream";
}

bool asset_is_immutable(std::string_view name) {
  const auto slash = name.rfind('/');
  const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = base.find('.');
  const auto stem = base.substr(0, dot);
  const auto dash = stem.rfind('-');
  if (dash == std::string_view::npos) return false;
  const auto hash = stem.substr(dash + 1);
  // esbuild's hashes are 8 characters of A-Z and 2-7 (base32).
  if (hash.size() != 8) return false;
  for (const char c : hash) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

}  // namespace xiaonao::domain
