// xiaonao-county: generates the demo county (docs/operations.md, "The demo county").
//
//   xiaonao-county [--seed S] [--scale full|small] [--out DIR] [--quiet]
//
// Writes one GeoJSON FeatureCollection per reference kind into DIR (default ./county):
// stations, zones, grids, addresses, persons, cameras, units, markers (.geojson), with exactly
// the properties that `PUT /api/v1/reference/{kind}` and `xiaonaod import --kind KIND FILE`
// take; then samples.json (addresses, markers and residents that xiaonao-replay --county draws
// its demo alerts from) and, last, county.json (seed, scale, counts, flag counts, bbox), whose
// presence says the directory is complete. Load the kinds in the order of county.json's
// "load_order" (stations first: zones name their station, persons their address).
//
// The output is a pure function of --seed (default 1) and --scale (default full): the same
// arguments give the same bytes. Full scale: 15 stations, 169 police zones, ~970 grids,
// 200,000 addresses, 1,000,000 persons, 10,000 cameras, 256 units, 220 markers around Yunhe
// county (云和县, ~119.57E 28.12N, 30 × 30 km), in a few seconds. Small scale (tests): 3 stations,
// 12 zones, ~70 grids, 2,000 addresses, 10,000 persons, 200 cameras, 30 units, 20 markers.
//
// Exit codes: 0 written, 1 I/O error, 2 usage.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "xiaonao/county/county.hpp"

namespace {

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::fprintf(stderr, "xiaonao-county: %s\n\n", msg);
  std::fputs("usage: xiaonao-county [--seed S] [--scale full|small] [--out DIR] [--quiet]\n"
             "  --seed S      any unsigned integer; the same seed gives the same files (default 1)\n"
             "  --scale X     full: the demo county (1,000,000 persons); small: for tests (default full)\n"
             "  --out DIR     where to write the files; created if missing (default ./county)\n"
             "  --quiet       print nothing but errors\n",
             stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  auto scale = xiaonao::county::Scale::full;
  std::string out = "county";
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--seed") {
      const std::string v = value();
      char* end = nullptr;
      errno = 0;
      const unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0' || errno != 0) usage("--seed takes an unsigned integer");
      seed = s;
    } else if (a == "--scale") {
      if (!xiaonao::county::parse_scale(value(), scale)) usage("--scale is full or small");
    } else if (a == "--out") {
      out = value();
      if (out.empty()) usage("--out needs a directory");
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "-h" || a == "--help") {
      usage();
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }
  if (::mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "xiaonao-county: cannot create %s: %s\n", out.c_str(), std::strerror(errno));
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const auto county = xiaonao::county::make_county(seed, scale);
    const auto r = xiaonao::county::write_county(county, out);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!quiet) {
      std::printf("xiaonao-county: seed %llu, scale %s -> %s (%.1f MB in %.1f s)\n"
                  "  stations %ld, zones %ld, grids %ld, addresses %ld, persons %ld, cameras %ld, units %ld, "
                  "markers %ld\n  flags:",
                  static_cast<unsigned long long>(seed), xiaonao::county::scale_name(scale), out.c_str(),
                  static_cast<double>(r.bytes) / 1e6, s, r.stations, r.zones, r.grids, r.addresses, r.persons,
                  r.cameras, r.units, r.markers);
      for (std::size_t i = 0; i < std::size(xiaonao::county::kFlags); ++i)
        std::printf(" %s %ld (%.2f%%)", xiaonao::county::kFlags[i], r.flags[i],
                    r.persons ? 100.0 * static_cast<double>(r.flags[i]) / static_cast<double>(r.persons) : 0.0);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xiaonao-county: %s\n", e.what());
    return 1;
  }
  return 0;
}
