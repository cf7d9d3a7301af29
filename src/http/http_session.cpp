#include <random>

#include "sessions.hpp"
#include "xiaonao/domain/query.hpp"
#include "xiaonao/http/ws_handshake.hpp"
#include "xiaonao/log/log.hpp"

namespace xiaonao::http {

void fail(beast::error_code ec, const char* what) {
  // Our own cancellations and a peer hanging up are not worth a warning.
  if (ec == net::error::operation_aborted || ec == websocket::error::closed || ec == net::error::eof ||
      ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::broken_pipe)
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

HttpSession::HttpSession(tcp::socket&& socket, Server& server) : stream_(std::move(socket)), server_(server), active_(server.active_counter()), linger_(stream_.get_executor()) {
  ++*active_;
}

HttpSession::~HttpSession() { --*active_; }

void HttpSession::run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
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

void HttpSession::do_read() {
  if (closing_ || stop_reading_ || reading_) return;
  const auto& cfg = server_.context().cfg.http;
  // Back-pressure on pipelining: stop reading while this many responses are owed.
  if (slots_.size() >= static_cast<std::size_t>(cfg.pipeline_limit)) return;
  reading_ = true;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
  parser_->body_limit(cfg.max_body_bytes);
  // Waiting for a new request is the idle timeout; once bytes are buffered, the read timeout.
  stream_.expires_after(std::chrono::milliseconds(buffer_.size() > 0 ? cfg.read_timeout_ms : cfg.idle_timeout_ms));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void HttpSession::on_header(beast::error_code ec) {
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
  stream_.expires_after(std::chrono::milliseconds(server_.context().cfg.http.read_timeout_ms));
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void HttpSession::reject(unsigned status, const std::string& message, const Request* req) {
  auto kind = status == 413 ? domain::ErrorKind::payload_too_large : domain::ErrorKind::bad_request;
  auto res = error_response(domain::Error{kind, message, ""});
  res.result(status);
  reject(std::move(res), req);
}

void HttpSession::reject(Response res, const Request* req) {
  reading_ = false;
  stop_reading_ = true;
  auto slot = std::make_shared<Slot>();
  slot->keep_alive = false;
  slots_.push_back(slot);
  finish(slot, std::move(res), "unmatched", req ? std::string(req->method_string()) : "-", new_request_id(),
         req ? std::string(req->target()) : "-", std::chrono::steady_clock::now());
}

void HttpSession::on_read(beast::error_code ec) {
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
  if (websocket::is_upgrade(req)) {
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
    std::string why;
    if (const auto status = ws_handshake_problem(req, why)) {
      auto res = error_response(domain::Error{domain::ErrorKind::bad_request, why, ""});
      res.result(status);
      if (status == 426) res.set(bhttp::field::sec_websocket_version, "13");
      return reject(std::move(res), &req);
    }
    stream_.expires_never();
    // Bytes the client sent right after its request belong to the WebSocket stream.
    auto early = beast::buffers_to_string(buffer_.data());
    auto ws = std::make_shared<WsSession>(stream_.release_socket(), server_, since, std::move(cats), rid,
                                          std::move(early));
    server_.track(ws);
    ws->run(req);
    closing_ = true;
    return;
  }
  handle(std::move(req));
  do_read();
}

void HttpSession::handle(Request&& req) {
  const auto started = std::chrono::steady_clock::now();
  auto slot = std::make_shared<Slot>();
  slot->keep_alive = req.keep_alive();
  slots_.push_back(slot);
  const auto given = req["X-Request-Id"];
  std::string rid = sane_request_id(given) ? std::string(given) : new_request_id();
  const std::string method(req.method_string());
  const std::string raw_target(req.target());

  auto target = domain::parse_target(req.target());
  if (!target) {
    return finish(slot, error_response({domain::ErrorKind::bad_request, "malformed request target", "target"}),
                  "unmatched", method, rid, raw_target, started);
  }
  auto m = server_.router().match(req.method(), target->path);
  if (!m.handler) {
    if (!m.allow.empty()) {
      auto res = error_response({domain::ErrorKind::method_not_allowed, "method not allowed here", ""});
      res.set(bhttp::field::allow, m.allow);
      return finish(slot, std::move(res), m.route, method, rid, raw_target, started);
    }
    return finish(slot, error_response({domain::ErrorKind::not_found, "no such route", ""}), m.route, method, rid,
                  raw_target, started);
  }
  Call call{req, std::move(target->path), std::move(target->query), std::move(m.params), rid};
  auto self = shared_from_this();
  Reply reply = [self, slot, route = m.route, method, rid, raw_target, started](Response res) {
    net::post(self->stream_.get_executor(), [=, res = std::move(res)]() mutable {
      self->finish(slot, std::move(res), route, method, rid, raw_target, started);
    });
  };
  (*m.handler)(call, std::move(reply));
}

void HttpSession::finish(const std::shared_ptr<Slot>& slot, Response res, const std::string& route,
                         const std::string& method, const std::string& rid, const std::string& target,
                         std::chrono::steady_clock::time_point started) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  server_.context().metrics.observe_request(route, method, static_cast<int>(res.result_int()), seconds);
  if (log::enabled(spdlog::level::info)) log::info("http.request", {{"rid", rid},
                             {"method", method},
                             {"target", target},
                             {"route", route},
                             {"status", res.result_int()},
                             {"ms", static_cast<double>(static_cast<long>(seconds * 1e5)) / 100.0}});
  if (closing_) return;
  res.set(bhttp::field::server, "xiaonao");
  res.set("X-Request-Id", rid);
  res.keep_alive(slot->keep_alive && !server_.shutting_down());
  res.prepare_payload();
  slot->response = std::move(res);
  maybe_write();
}

void HttpSession::maybe_write() {
  if (writing_ || closing_ || slots_.empty() || !slots_.front()->response) return;
  writing_ = true;
  auto& res = *slots_.front()->response;
  const bool close_after = !res.keep_alive();
  stream_.expires_after(std::chrono::milliseconds(server_.context().cfg.http.read_timeout_ms));
  bhttp::async_write(stream_, res, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
    self->on_write(close_after, ec);
  });
}

void HttpSession::on_write(bool close_after, beast::error_code ec) {
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

void HttpSession::close() {
  if (closing_) return;
  closing_ = true;
  linger_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace xiaonao::http
