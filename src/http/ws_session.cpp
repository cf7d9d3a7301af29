#include <pqxx/pqxx>

#include "sessions.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::http {

namespace {
constexpr std::uint16_t close_too_slow = 4001;
}

WsSession::WsSession(tcp::socket&& socket, Server& server, std::int64_t since, std::set<std::string> categories,
                     std::string request_id, std::shared_ptr<const domain::Principal> principal)
    : ws_(std::move(socket)),
      server_(server),
      active_(server.active_counter()),
      cursor_(since),
      categories_(std::move(categories)),
      rid_(std::move(request_id)),
      principal_(std::move(principal)),
      close_timer_(ws_.get_executor()) {
  ++*active_;
}

WsSession::~WsSession() { --*active_; }

void WsSession::run(Request req) {
  const auto& feed = server_.context().cfg.feed;
  // The websocket stream has its own timeouts; the tcp_stream's must be off.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::server);
  // Pings go out when the peer has been quiet for half of idle_timeout; silence for the whole
  // idle_timeout closes the connection.
  t.idle_timeout = std::chrono::milliseconds(2 * feed.ping_interval_ms);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  // A browser that sent its token as a subprotocol must get one of its offered protocols back.
  const bool offered_v1 = std::string_view(req[bhttp::field::sec_websocket_protocol]).find(kFeedProtocol) !=
                          std::string_view::npos;
  ws_.set_option(websocket::stream_base::decorator([offered_v1](websocket::response_type& res) {
    res.set(bhttp::field::server, "xiaonao");
    if (offered_v1) res.set(bhttp::field::sec_websocket_protocol, kFeedProtocol);
  }));
  // Clients only send control frames; anything big is a mistake or an attack.
  ws_.read_message_max(4096);
  ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::on_accept(beast::error_code ec) {
  accepted_ = true;
  if (ec) {
    fail(ec, "ws_accept");
    return on_closed();
  }
  // A close asked for during the handshake waits until now: a close frame needs an open socket.
  if (pending_close_) return start_close();
  if (server_.shutting_down()) {
    return close_with(static_cast<std::uint16_t>(websocket::close_code::going_away), "server shutting down");
  }
  log::info("feed.subscribed", {{"rid", rid_},
                                {"since", cursor_},
                                {"categories", categories_},
                                {"principal", principal_->ref()},
                                {"station", principal_->county_wide ? "*" : principal_->station_id}});
  do_read();
  if (cursor_ < 0) cursor_ = server_.context().hub.last_released();
  step_replay();
}

void WsSession::do_read() {
  ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      fail(ec, "ws_read");
      return self->on_closed();
    }
    // Text from the client carries no meaning in this protocol; drop it.
    self->read_buffer_.consume(self->read_buffer_.size());
    self->do_read();
  });
}

void WsSession::step_replay() {
  if (closing_ || live_ || replay_in_flight_) return;
  auto& ctx = server_.context();
  const auto max_backlog = ctx.cfg.feed.send_queue_max / 2;
  if (auto backlog = ctx.hub.attach(shared_from_this(), cursor_, max_backlog)) {
    live_ = true;
    for (const auto& f : *backlog) enqueue(f);
    return do_write();
  }
  // Behind the in-memory ring: read the next page from the event table.
  replay_in_flight_ = true;
  const auto from = cursor_;
  const int page = static_cast<int>(replay_page());
  auto self = shared_from_this();
  const bool queued = ctx.pool.submit([self, from, page](pqxx::connection* c) {
    std::vector<domain::Frame> frames;
    bool failed = c == nullptr;
    std::exception_ptr broken;
    if (c) {
      try {
        frames = store::read_events(*c, from, page);
      } catch (const std::exception& e) {
        failed = true;
        log::warn("feed.replay_failed", {{"rid", self->rid_}, {"error", e.what()}});
        if (store::is_connection_error(e)) broken = std::current_exception();
      }
    }
    net::post(self->ws_.get_executor(), [self, frames = std::move(frames), failed]() mutable {
      self->on_replay(std::move(frames), failed);
    });
    if (broken) std::rethrow_exception(broken);  // lets the pool replace the connection
  });
  if (!queued) {
    replay_in_flight_ = false;
    close_with(static_cast<std::uint16_t>(websocket::close_code::try_again_later), "server busy; resume with since");
  }
}

void WsSession::on_replay(std::vector<domain::Frame> frames, bool failed) {
  replay_in_flight_ = false;
  if (closing_) return;
  if (failed || frames.empty()) {
    return close_with(static_cast<std::uint16_t>(websocket::close_code::internal_error),
                      "replay failed; resume with since");
  }
  for (const auto& f : frames) enqueue(f);
  do_write();
  // Fetch the next page once this one is mostly sent (see on_write).
  if (queue_.size() < replay_page() / 2) step_replay();
}

void WsSession::deliver(service::FrameBatch batch) {
  net::post(ws_.get_executor(), [self = shared_from_this(), batch = std::move(batch)] {
    if (self->closing_) return;
    for (const auto& f : *batch) self->enqueue(f);
    self->do_write();
  });
}

void WsSession::enqueue(const domain::Frame& f) {
  if (closing_ || f.seq <= cursor_) return;  // already sent: the seam between replay and live
  cursor_ = f.seq;
  if (!categories_.empty() && !categories_.count(f.category)) return;
  // Station terminals: only their own station's events.
  if (!principal_->county_wide && f.station_id != principal_->station_id) return;
  queue_.push_back(f.text);
  if (queue_.size() > server_.context().cfg.feed.send_queue_max) {
    log::warn("feed.slow_subscriber", {{"rid", rid_}, {"queued", queue_.size()}, {"seq", f.seq}});
    close_with(close_too_slow, "too slow; resume with since");
  }
}

void WsSession::do_write() {
  if (writing_ || closed_ || queue_.empty() || pending_close_) return;
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(*queue_.front()),
                  beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (ec) {
    fail(ec, "ws_write");
    return on_closed();
  }
  if (!queue_.empty()) queue_.pop_front();
  if (pending_close_) return start_close();
  do_write();
  if (!live_ && queue_.size() < replay_page() / 2) step_replay();
}

void WsSession::close_with(std::uint16_t code, const char* reason) {
  if (closing_ || closed_) return;
  closing_ = true;
  server_.context().hub.detach(this);
  // Keep only the frame being written (its buffer is in use); the client resumes with since.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  pending_close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
  if (accepted_ && !writing_) start_close();
  // A peer that does not read cannot take the close frame either: cut it off after a grace.
  close_timer_.expires_after(std::chrono::milliseconds(server_.context().cfg.feed.slow_close_grace_ms));
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_) return;
    beast::get_lowest_layer(self->ws_).close();
  });
}

void WsSession::start_close() {
  ws_.async_close(*pending_close_, [self = shared_from_this()](beast::error_code) { self->on_closed(); });
}

// Replay pages are sized to the send queue: a page, half of the next and the live frames that
// arrive meanwhile must fit under send_queue_max, or a client that is merely behind would be
// cut off as slow.
std::size_t WsSession::replay_page() const {
  const auto& feed = server_.context().cfg.feed;
  return std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(feed.replay_page), feed.send_queue_max / 4));
}

void WsSession::shutdown() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->close_with(static_cast<std::uint16_t>(websocket::close_code::going_away), "server shutting down");
  });
}

void WsSession::on_closed() {
  if (closed_) return;
  closed_ = true;
  server_.context().hub.detach(this);
  close_timer_.cancel();
  beast::get_lowest_layer(ws_).close();
  log::info("feed.closed", {{"rid", rid_}, {"cursor", cursor_}});
}

}  // namespace xiaonao::http
