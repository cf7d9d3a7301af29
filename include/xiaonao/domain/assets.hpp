#pragma once
/// The console's static files: which request paths name a file, and what type each file is.
#include <optional>
#include <string>
#include <string_view>

namespace xiaonao::domain {

/// The longest asset path accepted, in bytes.
inline constexpr std::size_t kMaxAssetPath = 256;

/// Checks a path relative to the web root (what follows "/assets/", already percent-decoded)
/// and returns it when it can only name a file inside the root: 1–8 segments separated by
/// single '/', each 1–64 of `A-Z a-z 0-9 . _ -`, none starting with '.' (so no "..", ".", or
/// hidden file), at most kMaxAssetPath bytes. Anything else (NUL, '\\', "%2e", empty segments,
/// a leading or trailing '/') is nullopt: answer 404 without touching the file system.
std::optional<std::string> asset_path(std::string_view relative);

/// The Content-Type for a file name by its extension (html, js, mjs, css, json, map, svg, png,
/// jpg, jpeg, gif, webp, ico, woff, woff2, txt); "application/octet-stream" for any other.
std::string_view asset_content_type(std::string_view name);

/// Whether a built file's name carries a content hash ("app-5KXQ2B7D.js": esbuild's
/// [name]-[hash]), so that it may be cached for a year: a new build gets a new name.
bool asset_is_immutable(std::string_view name);

}  // namespace xiaonao::domain
