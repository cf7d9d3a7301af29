#include <random>

#include "sessions.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/domain/units.hpp"
#include "xiaonao/http/ws_handshake.hpp"
#include "xiaonao/log/log.hpp"

namespace xiaonao::http {

void fail(beast::error_code ec, const char* what) {
  // Our own cancellations and a peer hanging up are not worth a warning.
  if (ec == net::error::operation_aborted || ec == websocket::error::closed || ec == net::error::eof ||
      ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == net::ssl::error::stream_truncated)
    return;
  log::warn("io.error", {{"op", what}, {"error", ec.message()}});
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(16, '0');
  auto v = rng();
  for (auto& c : id) {
    c = hex[v & 15];
    v >>= 4;
  }
  return id;
}

namespace {
// Accept a caller's request id only when it is short and harmless in logs.
bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool valid_categories(const std::string& list, std::set<std::string>& out) {
  std::size_t i = 0;
  while (i <= list.size()) {
    const auto j = list.find(',', i);
    const auto item = list.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (item.empty() || item.size() > 32) return false;
    for (char c : item) {
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
        return false;
    }
    out.insert(item);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return !out.empty();
}
}  // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, Server& server)
    : stream_(std::move(stream)),
      executor_(stream_.get_executor()),
      server_(server),
      active_(server.active_counter()),
      linger_(executor_) {
  beast::error_code ec;
  const auto ep = raw_socket(stream_).remote_endpoint(ec);
  address_ = ec ? "unknown" : ep.address().to_string();
  ++*active_;
}

template <class Stream>
HttpSession<Stream>::~HttpSession() { --*active_; }

template <class Stream>
void HttpSession<Stream>::run() {
  if constexpr (tls) {
    // The handshake is bounded like a request: a client that opens a connection and says
    // nothing (or speaks plain HTTP to the TLS port) costs one socket for read_timeout_ms at most.
    net::dispatch(executor_, [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_)
          .expires_after(std::chrono::milliseconds(self->server_.context().cfg.http.read_timeout_ms));
      self->stream_.async_handshake(net::ssl::stream_base::server,
                                    beast::bind_front_handler(&HttpSession::on_handshake, self));
    });
  } else {
    net::dispatch(executor_, beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
  }
}

template <class Stream>
void HttpSession<Stream>::on_handshake(beast::error_code ec) {
  if (closing_) return;
  if (ec) {
    // One line and nothing else: scanners, plain HTTP on the TLS port, clients that do not
    // trust the certificate. Nothing was read, so nothing is answered.
    log::info("http.tls_handshake_failed", {{"address", address_}, {"error", ec.message()}});
    return close();
  }
  do_read();
}

template <class Stream>
void HttpSession<Stream>::shutdown() {
  net::post(executor_, [self = shared_from_this()] {
    self->stop_reading_ = true;
    if (!self->slots_.empty()) return;  // on_write closes after the last owed response
    // A request whose bytes have already arrived is in flight too: let the read finish and
    // answer it (with Connection: close).
    // The bytes may also be on their way through the reactor into our buffer, invisible
    // from here for a moment: an idle connection therefore gets a short linger first.
    if (!self->reading_) return self->close();
    self->linger_.expires_after(std::chrono::seconds(1));
    self->linger_.async_wait([self](beast::error_code ec) {
      if (ec) return;
      const bool started = self->parser_ && self->parser_->got_some();
      if (self->slots_.empty() && !started) self->close();
    });
  });
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  if (closing_ || stop_reading_ || reading_) return;
  const auto& cfg = server_.context().cfg.http;
  // Back-pressure on pipelining: stop reading while this many responses are owed.
  if (slots_.size() >= static_cast<std::size_t>(cfg.pipeline_limit)) return;
  reading_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
  // Until the header says which route this is, allow the largest body any route takes;
  // on_header narrows it to the route's own limit before a byte of the body is read.
  parser_->body_limit(std::max(cfg.max_body_bytes, server_.router().largest_body_limit()));
  // Waiting for a new request is the idle timeout; once bytes are buffered, the read timeout.
  beast::get_lowest_layer(stream_).expires_after(
      std::chrono::milliseconds(buffer_.size() > 0 ? cfg.read_timeout_ms : cfg.idle_timeout_ms));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

template <class Stream>
void HttpSession<Stream>::on_header(beast::error_code ec) {
  // A read that completed just before close() still reports success: a request that arrives
  // on a connection we already closed must not be processed, since it can no longer be answered.
  if (closing_) return;
  if (ec == bhttp::error::header_limit) return reject(431, "request headers too large");
  if (ec == bhttp::error::body_limit) return reject(413, "request body too large");
  if (ec) {
    reading_ = false;
    if (ec != bhttp::error::end_of_stream) fail(ec, "read_header");
    stop_reading_ = true;
    if (slots_.empty()) close();
    return;
  }
  // The route's body limit: a declared Content-Length over it is refused now; a chunked
  // body is counted against it as it arrives.
  const auto limit = body_limit_for(parser_->get());
  if (const auto len = parser_->content_length(); len && *len > limit) return reject(413, "request body too large");
  parser_->body_limit(limit);
  beast::get_lowest_layer(stream_).expires_after(
      std::chrono::milliseconds(server_.context().cfg.http.read_timeout_ms));
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

template <class Stream>
std::size_t HttpSession<Stream>::body_limit_for(const Request& req) const {
  const auto fallback = server_.context().cfg.http.max_body_bytes;
  const auto target = domain::parse_target(req.target());
  if (!target) return fallback;
  const auto m = server_.router().match(req.method(), target->path);
  return m.handler && m.max_body_bytes ? m.max_body_bytes : fallback;
}

template <class Stream>
void HttpSession<Stream>::reject(unsigned status, const std::string& message, const Request* req) {
  auto kind = status == 413 ? domain::ErrorKind::payload_too_large : domain::ErrorKind::bad_request;
  if (status == 401) kind = domain::ErrorKind::unauthorized;
  if (status == 403) kind = domain::ErrorKind::forbidden;
  if (status == 503) kind = domain::ErrorKind::unavailable;
  auto res = status == 401 ? unauthorized(message) : error_response(domain::Error{kind, message, ""});
  res.result(status);
  reject(std::move(res), req);
}

template <class Stream>
void HttpSession<Stream>::reject(Response res, const Request* req) {
  reading_ = false;
  stop_reading_ = true;
  auto ex = std::make_shared<Exchange>();
  ex->slot = std::make_shared<Slot>();
  ex->slot->keep_alive = false;
  slots_.push_back(ex->slot);
  ex->method = req ? std::string(req->method_string()) : "-";
  ex->rid = new_request_id();
  ex->target = req ? std::string(req->target()) : "-";
  ex->started = std::chrono::steady_clock::now();
  finish(*ex, std::move(res));
}

template <class Stream>
void HttpSession<Stream>::on_read(beast::error_code ec) {
  reading_ = false;
  if (closing_) return;  // see on_header
  if (ec == bhttp::error::body_limit) return reject(413, "request body too large");
  if (ec) {
    fail(ec, "read");
    stop_reading_ = true;
    if (slots_.empty()) close();
    return;
  }
  auto req = parser_->release();
  if (websocket::is_upgrade(req)) return upgrade(std::move(req));
  handle(std::move(req));
  do_read();
}

namespace {
// Whether `origin` is one of the configured CORS origins (exact match).
bool allowed_origin(const std::string& list, std::string_view origin) {
  if (origin.empty() || list.empty()) return false;
  const auto items = domain::split_list(list);
  return std::find(items.begin(), items.end(), origin) != items.end();
}
}  // namespace

// The feed: checked like any request (credentials, feed:read, filters), then handed to a
// WsSession. Errors are plain HTTP answers, since the handshake has not happened yet.
template <class Stream>
void HttpSession<Stream>::upgrade(Request&& req) {
  const auto target = domain::parse_target(req.target());
  const auto rid = new_request_id();
  if (!target || target->path != "/ws/feed") return reject(404, "no WebSocket at this path", &req);
  if (!slots_.empty()) return reject(400, "upgrade while earlier requests are unanswered", &req);
  std::int64_t since = -1;
  if (auto it = target->query.find("since"); it != target->query.end()) {
    const auto& s = it->second;
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      return reject(400, "since must be a non-negative integer", &req);
    since = std::stoll(s);
  }
  std::set<std::string> cats;
  if (auto it = target->query.find("category"); it != target->query.end()) {
    if (!valid_categories(it->second, cats)) return reject(400, "category must be a comma-separated list of codes", &req);
    for (const auto& c : cats) {
      if (!server_.context().categories.find(c)) return reject(400, "unknown category '" + c + "'", &req);
    }
  }
  std::string station;
  if (auto it = target->query.find("station"); it != target->query.end()) {
    if (!domain::is_reference_id(it->second)) return reject(400, "station must be a station id", &req);
    station = it->second;
  }
  std::string why;
  if (const auto status = ws_handshake_problem(req, why)) {
    auto res = error_response(domain::Error{domain::ErrorKind::bad_request, why, ""});
    res.result(status);
    if (status == 426) res.set(bhttp::field::sec_websocket_version, "13");
    return reject(std::move(res), &req);
  }
  const auto credential = credential_of(req);
  if (credential.empty()) return reject(401, "the feed needs a token: Authorization: Bearer, or the subprotocol xiaonao.bearer.<token>", &req);
  // Keep reading nothing more on this connection: it becomes the feed or closes.
  stop_reading_ = true;
  auto shared_req = std::make_shared<Request>(std::move(req));
  auto self = shared_from_this();
  authenticate(server_.context(), credential,
               [self, shared_req, since, cats = std::move(cats), rid, credential, station](AuthOutcome o) mutable {
                 net::dispatch(self->executor_, [self, shared_req, since, cats = std::move(cats), rid,
                                                              credential, station, o = std::move(o)]() mutable {
                   if (self->closing_) return;
                   if (o.unavailable) return self->reject(503, "database unavailable", shared_req.get());
                   if (!o.principal) return self->reject(401, "invalid or expired credentials", shared_req.get());
                   if (!o.principal->may(domain::Permission::feed_read))
                     return self->reject(403, "this needs the permission feed:read", shared_req.get());
                   // A station role may narrow its feed to its own station only.
                   if (!station.empty() && !o.principal->county_wide && station != o.principal->station_id)
                     return self->reject(403, "a station terminal reads its own station's feed only", shared_req.get());
                   beast::get_lowest_layer(self->stream_).expires_never();
                   // Bytes the client sent right after its request belong to the WebSocket stream.
                   auto early = beast::buffers_to_string(self->buffer_.data());
                   using Feed = WsSession<typename FeedTransport<Stream>::type>;
                   auto ws = std::make_shared<Feed>(self->release_for_feed(), self->server_, since, std::move(cats),
                                                    rid, std::move(early), o.principal, credential, station);
                   self->server_.track(ws);
                   ws->run(*shared_req);
                   self->closing_ = true;
                 });
               });
}

template <class Stream>
void HttpSession<Stream>::handle(Request&& req) {
  auto ex = std::make_shared<Exchange>();
  ex->started = std::chrono::steady_clock::now();
  ex->slot = std::make_shared<Slot>();
  ex->slot->keep_alive = req.keep_alive();
  slots_.push_back(ex->slot);
  const auto given = req["X-Request-Id"];
  ex->rid = sane_request_id(given) ? std::string(given) : new_request_id();
  ex->method = std::string(req.method_string());
  ex->target = std::string(req.target());
  auto& ctx = server_.context();
  const auto origin = req[bhttp::field::origin];
  if (allowed_origin(ctx.cfg.security.cors_origins, origin)) ex->origin = std::string(origin);

  auto target = domain::parse_target(req.target());
  if (!target) return finish(*ex, error_response({domain::ErrorKind::bad_request, "malformed request target", "target"}));
  auto m = server_.router().match(req.method(), target->path);
  ex->route = m.route;
  // CORS preflight: answered here for allowed origins; nothing is allowed by default.
  if (req.method() == bhttp::verb::options && !origin.empty() && m.route != "unmatched") {
    if (ex->origin.empty()) {
      return finish(*ex, error_response({domain::ErrorKind::forbidden, "cross-origin requests from this origin are not allowed", "Origin"}));
    }
    Response res{bhttp::status::no_content, 11};
    res.set(bhttp::field::access_control_allow_methods, m.handler ? ex->method : (m.allow.empty() ? "GET" : m.allow));
    res.set(bhttp::field::access_control_allow_headers, "Authorization, Content-Type, X-Api-Key, X-Request-Id");
    res.set(bhttp::field::access_control_max_age, "600");
    return finish(*ex, std::move(res));
  }
  if (!m.handler) {
    if (!m.allow.empty()) {
      auto res = error_response({domain::ErrorKind::method_not_allowed, "method not allowed here", ""});
      res.set(bhttp::field::allow, m.allow);
      return finish(*ex, std::move(res));
    }
    return finish(*ex, error_response({domain::ErrorKind::not_found, "no such route", ""}));
  }
  auto shared_req = std::make_shared<Request>(std::move(req));
  const auto now = std::chrono::steady_clock::now();
  double retry = 0;
  const bool open = m.permission == domain::Permission::open ||
                    (m.permission == domain::Permission::metrics_read && ctx.cfg.security.open_metrics);
  if (open) {
    if (!ctx.guard.allow_address(address_, now, retry)) return finish(*ex, too_many_requests(retry, "too many requests from this address"));
    return dispatch_call(shared_req, ex, m.handler, std::move(target->path), std::move(target->query),
                         std::move(m.params), nullptr);
  }
  const auto credential = credential_of(*shared_req);
  if (credential.empty()) {
    if (!ctx.guard.allow_address(address_, now, retry)) return finish(*ex, too_many_requests(retry, "too many requests from this address"));
    return finish(*ex, unauthorized("credentials required: Authorization: Bearer <token> or X-Api-Key"));
  }
  auto self = shared_from_this();
  authenticate(ctx, credential,
               [self, shared_req, ex, handler = m.handler, permission = m.permission, path = std::move(target->path),
                query = std::move(target->query), params = std::move(m.params)](AuthOutcome o) mutable {
                 net::dispatch(self->executor_, [self, shared_req, ex, handler, permission,
                                                              path = std::move(path), query = std::move(query),
                                                              params = std::move(params), o = std::move(o)]() mutable {
                   auto& ctx = self->server_.context();
                   const auto now = std::chrono::steady_clock::now();
                   double retry = 0;
                   if (o.unavailable) {
                     return self->finish(*ex, error_response({domain::ErrorKind::unavailable, "database unavailable", ""}));
                   }
                   if (!o.principal) {
                     if (!ctx.guard.allow_address(self->address_, now, retry))
                       return self->finish(*ex, too_many_requests(retry, "too many requests from this address"));
                     return self->finish(*ex, unauthorized("invalid or expired credentials"));
                   }
                   if (!ctx.guard.allow_principal(o.principal->ref(), now, retry))
                     return self->finish(*ex, too_many_requests(retry, "rate limit of this user or key exceeded"));
                   if (!o.principal->may(permission)) return self->finish(*ex, forbidden(permission));
                   self->dispatch_call(shared_req, ex, handler, std::move(path), std::move(query), std::move(params),
                                       std::move(o.principal));
                 });
               });
}

template <class Stream>
void HttpSession<Stream>::dispatch_call(std::shared_ptr<Request> req, std::shared_ptr<Exchange> ex, const Handler* handler,
                                std::string path, std::map<std::string, std::string> query,
                                std::vector<std::string> params, std::shared_ptr<const domain::Principal> principal) {
  Call call{*req, std::move(path), std::move(query), std::move(params), ex->rid, std::move(principal), address_};
  auto self = shared_from_this();
  // The request stays alive until the reply: handlers may keep references into it.
  Reply reply = [self, ex, req](Response res) {
    net::post(self->executor_, [self, ex, res = std::move(res)]() mutable { self->finish(*ex, std::move(res)); });
  };
  (*handler)(call, std::move(reply));
}

template <class Stream>
void HttpSession<Stream>::finish(const Exchange& ex, Response res) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ex.started).count();
  server_.context().metrics.observe_request(ex.route, ex.method, static_cast<int>(res.result_int()), seconds);
  if (log::enabled(spdlog::level::info)) log::info("http.request", {{"rid", ex.rid},
                             {"method", ex.method},
                             {"target", ex.target},
                             {"route", ex.route},
                             {"status", res.result_int()},
                             {"ms", static_cast<double>(static_cast<long>(seconds * 1e5)) / 100.0}});
  if (closing_) return;
  res.set(bhttp::field::server, "xiaonao");
  res.set("X-Request-Id", ex.rid);
  // The API serves data, never pages: nothing may frame, sniff or run it.
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  if (res.find("Content-Security-Policy") == res.end())
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  if (!ex.origin.empty()) {
    res.set(bhttp::field::access_control_allow_origin, ex.origin);
    res.set(bhttp::field::vary, "Origin");
  }
  // Browsers that reached us over TLS must not fall back to plain HTTP later (docs/security.md).
  if constexpr (tls) res.set(bhttp::field::strict_transport_security, server_.hsts_value());
  res.keep_alive(ex.slot->keep_alive && !server_.shutting_down());
  res.prepare_payload();
  ex.slot->response = std::move(res);
  maybe_write();
}

template <class Stream>
void HttpSession<Stream>::maybe_write() {
  if (writing_ || closing_ || slots_.empty() || !slots_.front()->response) return;
  writing_ = true;
  auto& res = *slots_.front()->response;
  const bool close_after = !res.keep_alive();
  beast::get_lowest_layer(stream_).expires_after(
      std::chrono::milliseconds(server_.context().cfg.http.read_timeout_ms));
  bhttp::async_write(stream_, res, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
    self->on_write(close_after, ec);
  });
}

template <class Stream>
void HttpSession<Stream>::on_write(bool close_after, beast::error_code ec) {
  writing_ = false;
  if (ec) {
    fail(ec, "write");
    return close();
  }
  slots_.pop_front();
  if (close_after || (stop_reading_ && slots_.empty())) return close();
  maybe_write();
  do_read();
}

template <class Stream>
void HttpSession<Stream>::close() {
  if (closing_) return;
  closing_ = true;
  linger_.cancel();
  // Over TLS too, just the TCP close, no close_notify: an SSL shutdown would have to wait for
  // the peer's reply and cannot run beside a pending read. Every response is length-delimited,
  // so a client still tells a complete answer from a cut one.
  beast::error_code ec;
  raw_socket(stream_).shutdown(tcp::socket::shutdown_send, ec);
  raw_socket(stream_).close(ec);
}

template <class Stream>
typename FeedTransport<Stream>::type HttpSession<Stream>::release_for_feed() {
  if constexpr (tls) {
    return std::move(stream_);
  } else {
    return stream_.release_socket();
  }
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

}  // namespace xiaonao::http
