// The station console's files (docs/architecture.md, "The console"): GET / is the page,
// GET /assets/{*path} its scripts, styles and images, GET /console.json the page's settings.
// The built files are read into memory once at start-up, so a request never touches the file
// system: a path names a file only if it is a key of that map, after domain::asset_path has
// refused anything that could climb out of the root.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "handler_util.hpp"
#include "xiaonao/domain/assets.hpp"
#include "xiaonao/log/log.hpp"

namespace xiaonao::http {

namespace {

namespace fs = std::filesystem;
using domain::Error;
using domain::ErrorKind;

/// The console is a few MiB; a root far bigger than this is a misconfiguration (a home dir).
constexpr std::uintmax_t kMaxTotalBytes = 64ull * 1024 * 1024;

struct File {
  std::string body;
  std::string type;
  std::string etag;
  bool immutable{false};
};

struct Site {
  std::string index_html;  ///< empty: no console built
  std::string index_etag;
  std::map<std::string, File, std::less<>> assets;  ///< key: the path under assets/
  std::string csp;
  std::string settings_json;
};

std::string etag_of(const std::string& body) {
  // FNV-1a 64: not a security property, only "did this file change".
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  std::ostringstream out;
  out << "\"" << std::hex << h << "-" << std::dec << body.size() << "\"";
  return out.str();
}

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

/// The configured root, or `web` beside the running executable (where the build puts it).
fs::path web_root(const config::Config& cfg) {
  if (!cfg.console.web_root.empty()) return fs::path(cfg.console.web_root);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path() / "web";
}

/// "https://tiles.example:8443/{z}/{x}/{y}.png" → "https://tiles.example:8443".
std::string origin_of(const std::string& url) {
  const auto scheme_end = url.find("//");
  if (scheme_end == std::string::npos) return {};
  const auto host_end = url.find('/', scheme_end + 2);
  return url.substr(0, host_end);
}

std::shared_ptr<const Site> load_site(const config::Config& cfg) {
  auto site = std::make_shared<Site>();
  const std::string tiles = cfg.console.tile_url.empty() ? "" : " " + origin_of(cfg.console.tile_url);
  // The page runs only its own bundled script; it talks to this server alone (the feed's
  // WebSocket included) and shows images from itself, data: URLs (Leaflet) and the tile server.
  site->csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" +
              tiles + "; connect-src 'self'; font-src 'self'; media-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'";
  site->settings_json = nlohmann::json{{"tile_url", cfg.console.tile_url}}.dump();

  const auto root = web_root(cfg);
  std::error_code ec;
  if (root.empty() || !fs::is_regular_file(root / "index.html", ec)) {
    log::warn("console.not_built", {{"web_root", root.string()}, {"hint", "build the xiaonao_web target or set console.web_root"}});
    return site;
  }
  if (!read_file(root / "index.html", site->index_html)) return site;
  site->index_etag = etag_of(site->index_html);
  std::uintmax_t total = site->index_html.size();
  const auto assets = root / "assets";
  if (fs::is_directory(assets, ec)) {
    for (auto it = fs::recursive_directory_iterator(assets, fs::directory_options::none, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const auto rel = it->path().lexically_relative(assets).generic_string();
      // Only names a request could reach are kept; others (dot files) are never served.
      if (!domain::asset_path(rel)) continue;
      total += it->file_size(ec);
      if (total > kMaxTotalBytes) {
        log::error("console.too_big", {{"web_root", root.string()}, {"max_bytes", kMaxTotalBytes}});
        break;
      }
      File f;
      if (!read_file(it->path(), f.body)) continue;
      f.type = std::string(domain::asset_content_type(rel));
      f.etag = etag_of(f.body);
      f.immutable = domain::asset_is_immutable(rel);
      site->assets.emplace(rel, std::move(f));
    }
  }
  log::info("console.loaded", {{"web_root", root.string()}, {"assets", site->assets.size()}, {"bytes", total}});
  return site;
}

Response file_response(const Call& call, const std::string& body, const std::string& type, const std::string& etag,
                       const char* cache_control) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::cache_control, cache_control);
  res.set(bhttp::field::etag, etag);
  if (call.req[bhttp::field::if_none_match] == etag) {
    res.result(bhttp::status::not_modified);
    return res;
  }
  res.set(bhttp::field::content_type, type);
  res.body() = body;
  return res;
}

Response not_found(std::string message) { return error_response(Error{ErrorKind::not_found, std::move(message), ""}); }

}  // namespace

void register_static_routes(Router& r, Context& ctx) {
  using bhttp::verb;
  using P = domain::Permission;
  std::shared_ptr<const Site> site = load_site(ctx.cfg);
  r.add(verb::get, "/", P::open, [site](Call& call, Reply reply) {
    if (site->index_html.empty()) return reply(not_found("the console is not built on this server (see console.web_root)"));
    // The page itself is revalidated every time, so that a new build is picked up at once.
    auto res = file_response(call, site->index_html, "text/html; charset=utf-8", site->index_etag, "no-cache");
    res.set("Content-Security-Policy", site->csp);
    reply(std::move(res));
  });
  r.add(verb::get, "/assets/{*path}", P::open, [site](Call& call, Reply reply) {
    const auto rel = domain::asset_path(call.params.at(0));
    if (!rel) return reply(not_found("no such file"));
    const auto it = site->assets.find(*rel);
    if (it == site->assets.end()) return reply(not_found("no such file"));
    const auto& f = it->second;
    // Hashed names change with their content: cache them for a year. Others are revalidated.
    reply(file_response(call, f.body, f.type, f.etag, f.immutable ? "public, max-age=31536000, immutable" : "no-cache"));
  });
  r.add(verb::get, "/console.json", P::open,
        [site](Call&, Reply reply) { reply(json_response(200, site->settings_json)); });
}

}  // namespace xiaonao::http
