// libFuzzer harness for what the server does with a request before any handler runs.
// The same bytes are
//   (a) a request target: domain::parse_target, then Router::match for every common verb on a
//       router that holds the server's routes, checked against a slow reference matcher;
//   (b) header values (the input split at '\n', then at ','): the credential shape checks of
//       security/tokens.cpp, checked against the documented shapes.
// Every finding aborts with a line that says which invariant broke.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/http/router.hpp"
#include "xiaonao/security/tokens.hpp"

namespace {

using namespace xiaonao;
namespace bhttp = boost::beast::http;

[[noreturn]] void fail(const char* invariant, std::string_view detail) {
  std::fprintf(stderr, "fuzz_router: %s: [%.*s]\n", invariant, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// The routes. The server registers them in src/http/handlers.cpp and auth_handlers.cpp, whose
// libraries need libpqxx; docs/security.md's matrix lists exactly the same routes (the unit test
// SecurityMatrix.DocumentListsEveryRoute... proves it), so the harness reads them from there.

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' ');
  const auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i < line.size()) {
    const auto j = line.find('|', i);
    if (j == std::string::npos) break;
    out.push_back(trim(line.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

http::Router load_routes() {
  std::ifstream in(XIAONAO_SECURITY_DOC);
  if (!in) fail("cannot read the route matrix", XIAONAO_SECURITY_DOC);
  http::Router router;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| route | permission |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table || line.rfind("| ---", 0) == 0) continue;
    if (line.rfind("| `", 0) != 0) break;
    const auto cells = table_cells(line);
    if (cells.size() < 2 || cells[0].size() < 3) fail("bad matrix row", line);
    const auto route = cells[0].substr(1, cells[0].size() - 2);  // `GET /path`
    const auto space = route.find(' ');
    if (space == std::string::npos) fail("bad matrix route", route);
    const auto method = bhttp::string_to_verb(route.substr(0, space));
    const auto permission = domain::parse_permission(cells[1]);
    if (method == bhttp::verb::unknown || !permission) fail("bad matrix row", line);
    router.add(method, route.substr(space + 1), *permission, [](http::Call&, http::Reply) {});
  }
  if (router.routes().size() < 10) fail("too few routes in the matrix", XIAONAO_SECURITY_DOC);
  return router;
}

const http::Router& router() {
  static const http::Router r = load_routes();
  return r;
}

// The verbs a client can send that Beast knows; `unknown` stands for any other method.
constexpr bhttp::verb kVerbs[] = {bhttp::verb::get,     bhttp::verb::head,    bhttp::verb::post,
                                  bhttp::verb::put,     bhttp::verb::delete_, bhttp::verb::patch,
                                  bhttp::verb::options, bhttp::verb::trace,   bhttp::verb::connect,
                                  bhttp::verb::unknown};

// ---------------------------------------------------------------------------------------------
// (a) targets and routes

// The path's segments, written independently of the router: '/' separates, empty ones vanish.
std::vector<std::string_view> segments_of(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (i > begin) out.push_back(path.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  return out;
}

bool is_placeholder(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
// `{*name}`: the rest of the path, one or more segments (only as a pattern's last segment).
bool is_tail(std::string_view seg) { return seg.size() > 3 && seg.substr(0, 2) == "{*" && seg.back() == '}'; }

// Each route's pattern segments, split once.
const std::vector<std::vector<std::string_view>>& pattern_segments() {
  static const auto segs = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const auto& r : router().routes()) out.push_back(segments_of(r.pattern));
    return out;
  }();
  return segs;
}

// A route whose pattern fits the path, whatever its method, with its placeholders' values.
struct Fit {
  std::size_t route;
  std::vector<std::string> params;
};

// The reference matcher's first half: every route that fits the path, in registration order.
std::vector<Fit> fitting_routes(const std::vector<std::string_view>& parts) {
  std::vector<Fit> out;
  const auto& all = pattern_segments();
  for (std::size_t r = 0; r < all.size(); ++r) {
    const auto& segs = all[r];
    const bool tail = !segs.empty() && is_tail(segs.back());
    if (tail ? parts.size() < segs.size() : segs.size() != parts.size()) continue;
    Fit f{r, {}};
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (tail && i + 1 == segs.size()) {
        std::string rest;
        for (std::size_t k = i; k < parts.size(); ++k) {
          if (k > i) rest += '/';
          rest += parts[k];
        }
        f.params.push_back(std::move(rest));
      } else if (is_placeholder(segs[i])) {
        f.params.emplace_back(parts[i]);
      } else {
        ok = segs[i] == parts[i];
      }
    }
    if (ok) out.push_back(std::move(f));
  }
  return out;
}

void check_match(bhttp::verb verb, const std::string& path, const std::vector<std::string_view>& parts,
                 const std::vector<Fit>& fits) {
  const auto& routes = router().routes();
  const auto m = router().match(verb, path);

  // The reference's second half: the first fitting route with the verb wins; otherwise every
  // fitting route names its method in Allow (a 405), and none fitting is a 404.
  const Fit* hit = nullptr;
  std::vector<std::string_view> fitting_methods;
  for (const auto& f : fits) {
    if (routes[f.route].method == verb) {
      hit = &f;
      break;
    }
    fitting_methods.push_back(bhttp::to_string(routes[f.route].method));
  }

  if (hit) {
    const auto& r = routes[hit->route];
    if (m.handler != &r.handler) fail("a different handler than the first fitting route's", path);
    if (m.route != r.pattern) fail("route is not the matched pattern", path);
    if (m.params != hit->params) fail("params differ from the path's placeholder segments", path);
    if (m.permission != r.permission) fail("permission is not the matched route's", path);
    if (!m.allow.empty()) fail("allow is set although a handler matched", path);
    // The same facts read off the result alone: one param per {placeholder}, literals equal.
    const auto segs = segments_of(m.route);
    const bool tail = !segs.empty() && is_tail(segs.back());
    if (tail ? parts.size() < segs.size() : segs.size() != parts.size())
      fail("matched route has another segment count", path);
    std::size_t p = 0;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      if (tail && i + 1 == segs.size()) {
        // The tail's value is the remaining segments joined with '/': none empty.
        if (p >= m.params.size() || m.params[p].empty() || m.params[p].front() == '/' || m.params[p].back() == '/' ||
            m.params[p].find("//") != std::string::npos)
          fail("tail param is not the remaining segments", path);
        ++p;
      } else if (is_placeholder(segs[i])) {
        if (p >= m.params.size() || m.params[p] != parts[i]) fail("param is not its path segment", path);
        ++p;
      } else if (segs[i] != parts[i]) {
        fail("matched route's literal segment differs from the path's", path);
      }
    }
    if (p != m.params.size()) fail("params count is not the route's {} count", path);
    for (std::size_t i = 0; i < m.params.size(); ++i) {
      const auto& v = m.params[i];
      const bool is_last_tail = tail && i + 1 == m.params.size();
      if (v.empty() || (!is_last_tail && v.find('/') != std::string::npos)) fail("a param is empty or holds '/'", path);
    }
    return;
  }

  if (m.handler) fail("a handler matched although no route fits with this method", path);
  if (!m.params.empty()) fail("params without a handler", path);
  std::string allow;
  for (std::size_t i = 0; i < fitting_methods.size(); ++i) {
    if (i) allow += ", ";
    allow += fitting_methods[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (fitting_methods[j] == fitting_methods[i]) fail("allow would name a method twice", path);
    }
  }
  if (m.allow != allow) fail("allow is not the methods of the fitting routes", path);
  if (fits.empty()) {
    if (m.route != "unmatched") fail("route is not \"unmatched\" on a 404", path);
  } else if (m.route != routes[fits.back().route].pattern) {
    fail("route on a 405 is not a fitting pattern", path);
  }
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void check_target(std::string_view target) {
  const auto t = domain::parse_target(target);
  if (!t) {
    // Only a bad %XX escape can make a target unparseable.
    if (target.find('%') == std::string_view::npos) fail("a target without '%' was rejected", target);
    return;
  }
  if (t->path.size() > target.size()) fail("decoded path longer than the target", target);

  // Encoding what was decoded and parsing it again must give the same path and query.
  std::string again = encode(t->path, true);
  if (!t->query.empty()) {
    again += '?';
    bool first = true;
    for (const auto& [k, v] : t->query) {
      if (!first) again += '&';
      first = false;
      again += encode(k, false) + '=' + encode(v, false);
    }
  }
  const auto t2 = domain::parse_target(again);
  if (!t2) fail("a re-encoded target was rejected", again);
  if (t2->path != t->path || t2->query != t->query) fail("parse(encode(parse(x))) != parse(x)", target);

  const auto parts = segments_of(t->path);
  const auto fits = fitting_routes(parts);
  for (const auto verb : kVerbs) check_match(verb, t->path, parts, fits);
}

// ---------------------------------------------------------------------------------------------
// (b) credential shapes

bool b64url(std::string_view s) {
  for (const unsigned char c : s) {
    if (!unreserved(c) || c == '.' || c == '~') return false;
  }
  return true;
}
bool lower_hex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void check_credential(std::string_view s) {
  // xnk_<12 lowercase hex>_<43 base64url>, xna_<43>, xnr_<43> (include/xiaonao/security/tokens.hpp).
  const bool want_key = s.size() == 60 && starts_with(s, "xnk_") && lower_hex(s.substr(4, 12)) && s[16] == '_' &&
                        b64url(s.substr(17));
  const bool want_access = s.size() == 47 && starts_with(s, "xna_") && b64url(s.substr(4));
  const bool want_refresh = s.size() == 47 && starts_with(s, "xnr_") && b64url(s.substr(4));

  std::string id = "untouched-id", secret = "untouched-secret";
  const bool key = security::split_api_key(s, id, secret);
  if (key != want_key) fail(key ? "split_api_key accepted a malformed key" : "split_api_key rejected a key", s);
  if (key) {
    if (id.size() != 12 || !lower_hex(id)) fail("key id is not 12 lowercase hex", s);
    if (secret.size() != 43 || !b64url(secret)) fail("key secret is not 43 base64url chars", s);
    if (std::string(security::kKeyPrefix) + id + "_" + secret != s) fail("key does not reassemble", s);
  } else if (id != "untouched-id" || secret != "untouched-secret") {
    fail("a rejected key changed its outputs", s);
  }
  const bool access = security::looks_like_access_token(s);
  const bool refresh = security::looks_like_refresh_token(s);
  if (access != want_access) fail("looks_like_access_token disagrees with the shape", s);
  if (refresh != want_refresh) fail("looks_like_refresh_token disagrees with the shape", s);
  if (int(key) + int(access) + int(refresh) > 1) fail("one string has two credential shapes", s);
}

void check_credentials(std::string_view input) {
  check_credential(input);
  std::size_t i = 0;
  while (i <= input.size()) {
    auto j = input.find('\n', i);
    if (j == std::string_view::npos) j = input.size();
    const auto line = input.substr(i, j - i);
    if (line.size() != input.size()) check_credential(line);
    // A header value may list several (Sec-WebSocket-Protocol: a, b); try each, trimmed.
    std::size_t k = 0;
    while (k <= line.size() && line.find(',') != std::string_view::npos) {
      auto e = line.find(',', k);
      if (e == std::string_view::npos) e = line.size();
      auto item = line.substr(k, e - k);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      check_credential(item);
      k = e + 1;
    }
    i = j + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)pattern_segments();
  // What the server hands out must pass its own shape checks.
  for (int i = 0; i < 8; ++i) {
    const auto k = security::new_api_key();
    std::string id, secret;
    if (!security::split_api_key(k.text, id, secret) || id != k.id || secret != k.secret) {
      fail("a new api key does not split into its id and secret", k.text);
    }
    check_credential(k.text);
    check_credential(security::new_access_token());
    check_credential(security::new_refresh_token());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_target(input);
  check_credentials(input);
  return 0;
}
