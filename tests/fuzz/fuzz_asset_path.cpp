// libFuzzer harness for the console's static file paths (GET /assets/{*path}): the bytes are
//   (a) a path relative to the web root, given straight to domain::asset_path;
//   (b) the rest of a request target, "/assets/" + bytes, through parse_target first as the
//       server does.
// Whatever asset_path accepts must stay inside the root once joined to it and normalised, and
// must be free of every byte and segment shape the check promises to refuse.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "xiaonao/domain/assets.hpp"
#include "xiaonao/domain/query.hpp"

namespace {

using namespace xiaonao;

[[noreturn]] void fail(const char* invariant, std::string_view detail) {
  std::fprintf(stderr, "fuzz_asset_path: %s: [%.*s]\n", invariant, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(std::string_view rel) {
  const auto p = domain::asset_path(rel);
  if (!p) return;
  if (*p != rel) fail("an accepted path was changed", rel);
  if (p->empty() || p->size() > domain::kMaxAssetPath) fail("accepted length out of range", rel);
  if (p->front() == '/' || p->back() == '/' || p->find("//") != std::string::npos) fail("empty segment accepted", rel);
  if (p->front() == '.' || p->find("/.") != std::string::npos) fail("dot-led segment accepted", rel);
  for (const char c : *p) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '/';
    if (!ok) fail("a byte outside the allowed set accepted", rel);
  }
  const std::filesystem::path root("/srv/web/assets");
  const auto joined = (root / *p).lexically_normal().generic_string();
  if (joined.rfind("/srv/web/assets/", 0) != 0) fail("the joined path leaves the root", rel);
  (void)domain::asset_content_type(*p);
  (void)domain::asset_is_immutable(*p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input);
  const auto t = domain::parse_target("/assets/" + std::string(input));
  if (t && t->path.rfind("/assets/", 0) == 0) check(std::string_view(t->path).substr(8));
  return 0;
}
