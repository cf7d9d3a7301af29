#include <pqxx/pqxx>

#include "sessions.hpp"
#include "xiaonao/http/ws_handshake.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/readers.hpp"

namespace xiaonao::http {

namespace wsf = domain::ws;

namespace {
constexpr std::uint16_t close_too_slow = 4001;
constexpr std::uint16_t close_credentials_gone = 4003;
constexpr std::uint16_t close_try_again_later = 1013;
constexpr std::uint16_t close_internal_error = 1011;
// Clients only send control frames; anything bigger than this is a mistake or an attack.
constexpr std::size_t max_client_message = 4096;
// One write takes the queued frames up to about this many bytes; the rest go in the next one.
constexpr std::size_t write_chunk = 128 * 1024;
}  // namespace

template <class Socket>
WsSession<Socket>::WsSession(Socket&& socket, Server& server, std::int64_t since, std::set<std::string> categories,
                     std::string request_id, std::string early, std::shared_ptr<const domain::Principal> principal,
                     std::string credential, std::string station)
    : socket_(std::move(socket)),
      server_(server),
      active_(server.active_counter()),
      cursor_(since),
      categories_(std::move(categories)),
      rid_(std::move(request_id)),
      principal_(std::move(principal)),
      credential_(std::move(credential)),
      station_(std::move(station)),
      parser_(max_client_message),
      early_(std::move(early)),
      close_timer_(socket_.get_executor()),
      ping_timer_(socket_.get_executor()) {
  ++*active_;
}

template <class Socket>
WsSession<Socket>::~WsSession() { --*active_; }

template <class Socket>
void WsSession<Socket>::run(const Request& req) {
  // The 101 goes out as the first bytes of the first write; frames may follow it in the same one.
  handshake_ = ws_switching_protocols(req);
  if constexpr (std::is_same_v<Socket, tcp::socket>) {
    beast::error_code ec;
    socket_.non_blocking(true, ec);  // for do_write's write in place; async operations ignore it
    write_now_ = !ec;
  }
  if (server_.shutting_down()) {
    close_with(wsf::close_code::going_away, "server shutting down");
    return do_write();
  }
  log::info("feed.subscribed", {{"rid", rid_},
                                {"since", cursor_},
                                {"categories", categories_},
                                {"principal", principal_->ref()},
                                {"station", !station_.empty() ? station_
                                            : principal_->county_wide ? std::string("*")
                                                                      : principal_->station_id}});
  arm_ping();
  if (!early_.empty()) {
    auto early = std::move(early_);
    on_bytes(early);
  }
  if (closed_) return;
  do_read();
  if (cursor_ < 0) cursor_ = server_.context().hub.last_released();
  written_ = cursor_;
  step_replay();
  do_write();
}

// --- reading: control frames from the client ---------------------------------------------------

template <class Socket>
void WsSession<Socket>::do_read() {
  socket_.async_read_some(net::buffer(read_buf_), beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

template <class Socket>
void WsSession<Socket>::on_read(beast::error_code ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    fail(ec, "ws_read");
    return on_closed();
  }
  on_bytes(std::string_view(read_buf_.data(), n));
  if (!closed_) do_read();
}

template <class Socket>
void WsSession<Socket>::on_bytes(std::string_view bytes) {
  heard_ = true;
  if (peer_closed_ || drop_after_close_) return;  // nothing after a close frame counts
  events_.clear();
  const auto error = parser_.feed(bytes, events_);
  for (auto& ev : events_) {
    switch (ev.op) {
      case wsf::Opcode::ping:
        // Answer only the latest ping when several arrive before we can write (RFC 6455 5.5.3).
        if (!closing_) pong_ = std::move(ev.payload);
        break;
      case wsf::Opcode::close:
        return on_client_close(ev.code);
      default:
        break;  // pongs only prove the peer is alive; data messages mean nothing in this protocol
    }
  }
  if (error) {
    log::info("feed.protocol_error", {{"rid", rid_}, {"code", error}});
    drop_after_close_ = true;
    close_with(error, error == wsf::close_code::too_big ? "message too big" : "protocol error");
  }
  do_write();
}

template <class Socket>
void WsSession<Socket>::on_client_close(std::uint16_t code) {
  peer_closed_ = true;
  if (close_sent_) {
    // The reply to our close: the handshake is complete once our frame is out.
    if (!writing_) on_closed();
    return;
  }
  // The peer started the close: echo its code (RFC 6455 5.5.1), then hang up after the write.
  close_with(code, "");
  do_write();
}

// --- the feed: replay, then live ---------------------------------------------------------------

template <class Socket>
void WsSession<Socket>::step_replay() {
  if (closing_ || live_ || replay_in_flight_) return;
  auto& ctx = server_.context();
  const auto max_backlog = ctx.cfg.feed.send_queue_max / 2;
  if (auto backlog = ctx.hub.attach(shared_from_this(), cursor_, max_backlog)) {
    live_ = true;
    if (!backlog->empty()) enqueue(std::make_shared<const std::vector<domain::Frame>>(std::move(*backlog)));
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
    net::post(self->socket_.get_executor(), [self, frames = std::move(frames), failed]() mutable {
      self->on_replay(std::move(frames), failed);
    });
    if (broken) std::rethrow_exception(broken);  // lets the pool replace the connection
  });
  if (!queued) {
    replay_in_flight_ = false;
    close_with(close_try_again_later, "server busy; resume with since");
  }
}

template <class Socket>
void WsSession<Socket>::on_replay(std::vector<domain::Frame> frames, bool failed) {
  replay_in_flight_ = false;
  if (closing_) return;
  if (failed || frames.empty()) return close_with(close_internal_error, "replay failed; resume with since");
  enqueue(std::make_shared<const std::vector<domain::Frame>>(std::move(frames)));
  do_write();
  // Fetch the next page once this one is mostly sent (see on_write).
  if (queued_ < replay_page() / 2) step_replay();
}

// Called under the hub's lock: one post per batch, whatever its size.
template <class Socket>
void WsSession<Socket>::deliver(service::FrameBatch batch, std::chrono::steady_clock::time_point released) {
  net::post(socket_.get_executor(), [self = shared_from_this(), batch = std::move(batch), released]() mutable {
    if (self->closing_) return;
    self->enqueue(std::move(batch), released);
    self->do_write();
  });
}

template <class Socket>
bool WsSession<Socket>::wanted(const domain::Frame& f) const {
  // Station terminals: only their own station's events.
  if (!principal_->county_wide && f.station_id != principal_->station_id) return false;
  // A terminal that asked for one station (?station=ID).
  if (!station_.empty() && f.station_id != station_) return false;
  return categories_.empty() || categories_.count(f.category) != 0;
}

template <class Socket>
void WsSession<Socket>::enqueue(service::FrameBatch batch, std::optional<std::chrono::steady_clock::time_point> released) {
  if (closing_) return;
  // Frames at or below the cursor were sent already: the seam between replay and live.
  std::size_t first = batch->size();
  std::size_t count = 0;
  for (std::size_t i = 0; i < batch->size(); ++i) {
    const auto& f = (*batch)[i];
    if (f.seq <= cursor_) continue;
    cursor_ = f.seq;
    if (first == batch->size()) first = i;
    if (wanted(f)) ++count;
  }
  if (count == 0) return;
  queue_.push_back({std::move(batch), first, released});
  queued_ += count;
  if (queued_ > server_.context().cfg.feed.send_queue_max) {
    log::warn("feed.slow_subscriber", {{"rid", rid_}, {"queued", queued_}, {"seq", cursor_}});
    close_with(close_too_slow, "too slow; resume with since");
  }
}

// --- writing: everything pending leaves in one socket write ------------------------------------

template <class Socket>
bool WsSession<Socket>::next_write() {
  if (writing_ || closed_ || close_sent_) return false;
  out_.clear();
  out_ += handshake_;
  handshake_.clear();
  if (pong_) {
    wsf::append_frame(out_, wsf::Opcode::pong, *pong_);
    pong_.reset();
  }
  if (ping_due_) {
    wsf::append_frame(out_, wsf::Opcode::ping, {});
    ping_due_ = false;
  }
  while (!queue_.empty() && out_.size() < write_chunk) {
    auto& p = queue_.front();
    const auto& frames = *p.batch;
    for (; p.next < frames.size() && out_.size() < write_chunk; ++p.next) {
      const auto& f = frames[p.next];
      if (f.seq <= written_ || !wanted(f)) continue;
      written_ = f.seq;
      out_ += *f.wire;  // already a whole WebSocket frame, encoded once for everyone
      --queued_;
      if (p.released && !out_released_) out_released_ = p.released;  // the queue is in release order
    }
    if (p.next == frames.size()) queue_.pop_front();
  }
  if (closing_ && queue_.empty()) {
    wsf::append_close(out_, close_code_, close_reason_);
    close_sent_ = true;
  }
  return !out_.empty();
}

// On a plain TCP socket (non-blocking since run) the write is first tried right here: when the
// kernel takes all of it, as it nearly always does, the write is over without a completion
// handler queued behind everyone else's on the I/O threads, and the feed's delivery time is
// taken when the bytes were handed over. What the socket did not take goes by async_write.
template <class Socket>
void WsSession<Socket>::do_write() {
  while (next_write()) {
    writing_ = true;
    std::size_t done = 0;
    if constexpr (std::is_same_v<Socket, tcp::socket>) {
      if (write_now_) {
        beast::error_code ec;
        done = socket_.write_some(net::buffer(out_), ec);
        if (ec == net::error::would_block) {
          done = 0;
        } else if (ec || done == out_.size()) {
          if (!written(ec)) return;
          continue;
        }
      }
    }
    net::async_write(socket_, net::buffer(out_.data() + done, out_.size() - done),
                     beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
    return;
  }
}

template <class Socket>
void WsSession<Socket>::on_write(beast::error_code ec, std::size_t) {
  if (!written(ec)) return;
  do_write();
  if (!live_ && queued_ < replay_page() / 2) step_replay();
}

template <class Socket>
bool WsSession<Socket>::written(beast::error_code ec) {
  writing_ = false;
  const auto released = std::exchange(out_released_, std::nullopt);
  if (closed_) return false;
  if (ec) {
    fail(ec, "ws_write");
    on_closed();
    return false;
  }
  if (released)
    server_.context().metrics.observe_feed_delivery(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - *released).count());
  if (close_sent_) {
    // Our close is out. Hang up now if the peer already closed (or broke the protocol);
    // otherwise wait for its close reply, at most until close_timer_ fires.
    if (peer_closed_ || drop_after_close_) on_closed();
    return false;
  }
  return true;
}

// --- keep-alive --------------------------------------------------------------------------------

// Ticks every ping_interval_ms: a peer silent for a whole period gets a ping, and one still
// silent a period later is taken for dead.
template <class Socket>
void WsSession<Socket>::arm_ping() {
  if (closed_) return;
  ping_timer_.expires_after(std::chrono::milliseconds(server_.context().cfg.feed.ping_interval_ms));
  ping_timer_.async_wait(beast::bind_front_handler(&WsSession::on_ping_timer, shared_from_this()));
}

template <class Socket>
void WsSession<Socket>::on_ping_timer(beast::error_code ec) {
  if (ec || closed_) return;
  if (heard_) {
    heard_ = false;
    silent_ticks_ = 0;
  } else if (++silent_ticks_ >= 2) {
    log::info("feed.ping_timeout", {{"rid", rid_}, {"cursor", cursor_}});
    return on_closed();
  }
  if (silent_ticks_ == 1 && !closing_) {
    ping_due_ = true;
    do_write();
  }
  // Tokens expire: a cached credential is trusted only until its expiry, so this notices it
  // within one ping interval.
  recheck_credentials();
  arm_ping();
}

template <class Socket>
void WsSession<Socket>::recheck_credentials() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closing_ || self->closed_) return;
    authenticate(self->server_.context(), self->credential_, [self](AuthOutcome o) {
      net::post(self->socket_.get_executor(), [self, o = std::move(o)] {
        // A database outage is not a revocation: the feed goes on.
        if (o.principal || o.unavailable || self->closing_ || self->closed_) return;
        log::info("feed.credentials_gone", {{"rid", self->rid_}, {"principal", self->principal_->ref()}});
        self->close_with(close_credentials_gone, "credentials revoked or expired; log in again and resume with since");
      });
    });
  });
}

// --- closing -----------------------------------------------------------------------------------

template <class Socket>
void WsSession<Socket>::close_with(std::uint16_t code, std::string reason) {
  if (closing_ || closed_) return;
  closing_ = true;
  close_code_ = code;
  close_reason_ = std::move(reason);
  server_.context().hub.detach(this);
  // Frames not yet in a write are dropped; the client resumes with since.
  queue_.clear();
  queued_ = 0;
  pong_.reset();
  ping_due_ = false;
  // The close frame goes out with the next write (do_write), after the one in flight.
  if (!writing_) do_write();
  if (closed_) return;  // the close frame went out in place and the peer had already closed
  // A peer that does not read cannot take the close frame either: cut it off after a grace.
  close_timer_.expires_after(std::chrono::milliseconds(server_.context().cfg.feed.slow_close_grace_ms));
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_) return;
    self->on_closed();
  });
}

// Replay pages are sized to the send queue: a page, half of the next and the live frames that
// arrive meanwhile must fit under send_queue_max, or a client that is merely behind would be
// cut off as slow.
template <class Socket>
std::size_t WsSession<Socket>::replay_page() const {
  const auto& feed = server_.context().cfg.feed;
  return std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(feed.replay_page), feed.send_queue_max / 4));
}

template <class Socket>
void WsSession<Socket>::shutdown() {
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    self->close_with(wsf::close_code::going_away, "server shutting down");
  });
}

template <class Socket>
void WsSession<Socket>::on_closed() {
  if (closed_) return;
  closed_ = true;
  server_.context().hub.detach(this);
  close_timer_.cancel();
  ping_timer_.cancel();
  queue_.clear();
  // Over TLS as well just the TCP close: the WebSocket close handshake (or its grace) has
  // already ended the conversation, and a TLS close_notify would mean another wait.
  beast::error_code ignored;
  raw_socket(socket_).shutdown(tcp::socket::shutdown_both, ignored);
  raw_socket(socket_).close(ignored);
  log::info("feed.closed", {{"rid", rid_}, {"cursor", cursor_}});
}

template class WsSession<tcp::socket>;
template class WsSession<TlsStream>;

}  // namespace xiaonao::http
