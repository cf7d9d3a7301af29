#pragma once
// Private to the http module: the per-connection sessions.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "xiaonao/domain/ws_frame.hpp"

#include "xiaonao/http/server.hpp"
#include "auth.hpp"

namespace xiaonao::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// The sessions are templates on their transport, instantiated for exactly these two
// (explicitly, in http_session.cpp and ws_session.cpp): the plain path pays nothing for TLS.
/// HTTP without TLS.
using PlainStream = beast::tcp_stream;
/// HTTP over TLS (http.tls_cert / http.tls_key); the tcp_stream below keeps the timeouts.
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

/// What a feed session runs on after the upgrade: the bare socket for plain connections (no
/// timer per operation; the feed has its own keep-alive), the whole TLS stream for TLS (the
/// session's keys live in it).
template <class Stream>
struct FeedTransport;
template <>
struct FeedTransport<PlainStream> {
  using type = tcp::socket;
};
template <>
struct FeedTransport<TlsStream> {
  using type = TlsStream;
};

/// The TCP socket under any of the transports (for the peer's address and hanging up).
inline tcp::socket& raw_socket(tcp::socket& s) { return s; }
inline tcp::socket& raw_socket(PlainStream& s) { return s.socket(); }
inline tcp::socket& raw_socket(TlsStream& s) { return beast::get_lowest_layer(s).socket(); }

/// Logs an I/O failure, except the ones that mean "we closed it ourselves".
void fail(beast::error_code ec, const char* what);

/// A short random id for requests that did not bring a usable X-Request-Id.
std::string new_request_id();

/// One HTTP/1.1 connection: reads requests with limits and timeouts, runs up to
/// `pipeline_limit` of them at once, and writes the responses in request order.
/// `Stream` is PlainStream or TlsStream; over TLS, run() does the handshake first.
template <class Stream>
class HttpSession final : public Session, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool tls = std::is_same_v<Stream, TlsStream>;
  HttpSession(Stream&& stream, Server& server);
  ~HttpSession() override;
  void run();
  void shutdown() override;

 private:
  struct Slot {
    std::optional<Response> response;
    bool keep_alive{true};
  };
  /// What the log line, the metrics and the response headers need of one request.
  struct Exchange {
    std::shared_ptr<Slot> slot;
    std::string route{"unmatched"};
    std::string method;
    std::string rid;
    std::string target;
    std::string origin;  ///< an allowed CORS origin to echo, else empty
    std::chrono::steady_clock::time_point started;
  };
  using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_header(beast::error_code ec);
  void on_read(beast::error_code ec);
  void upgrade(Request&& req);
  void handle(Request&& req);
  void dispatch_call(std::shared_ptr<Request> req, std::shared_ptr<Exchange> ex, const Handler* handler,
                     std::string path, std::map<std::string, std::string> query, std::vector<std::string> params,
                     std::shared_ptr<const domain::Principal> principal);
  void finish(const Exchange& ex, Response res);
  /// The body limit of the request's route (http.max_body_bytes unless the route has its own).
  std::size_t body_limit_for(const Request& req) const;
  void reject(unsigned status, const std::string& message, const Request* req = nullptr);
  /// Answers `res` and closes the connection after it.
  void reject(Response res, const Request* req);
  void maybe_write();
  void on_write(bool close, beast::error_code ec);
  void close();
  /// Gives the connection to the feed (after which stream_ is not used again).
  typename FeedTransport<Stream>::type release_for_feed();

  Stream stream_;
  // Kept apart from stream_: after an upgrade over TLS the stream itself moves to the feed.
  net::any_io_executor executor_;
  beast::flat_buffer buffer_;
  Server& server_;
  std::string address_;  // the peer's IP, for per-address limits and the audit log
  std::shared_ptr<std::atomic<std::size_t>> active_;
  net::steady_timer linger_;  // shutdown: how long an idle connection may still deliver a request
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::deque<std::shared_ptr<Slot>> slots_;
  bool reading_{false};
  bool writing_{false};
  bool closing_{false};
  bool stop_reading_{false};
};

/// A feed subscriber: replays from the table, then follows the hub, with a bounded queue.
/// It owns the WebSocket framing (domain::ws) instead of using Beast's websocket stream, so
/// that every frame queued while a write is in flight leaves in the next single socket write
/// (Beast writes one message per call, and writes pongs itself on the same socket).
/// `Socket` is tcp::socket or TlsStream (FeedTransport); the framing is the same on both.
template <class Socket>
class WsSession final : public Session,
                        public service::Subscriber,
                        public std::enable_shared_from_this<WsSession<Socket>> {
 public:
  /// `since` < 0: start live from the next event. `categories` empty: no filter. `early` holds
  /// bytes the client sent after its upgrade request that the HTTP session already read.
  /// `principal` decides the station scope: a station role sees its own station's events only.
  /// `station` (from ?station=ID; empty: none) narrows the feed to one station's events.
  WsSession(Socket&& socket, Server& server, std::int64_t since, std::set<std::string> categories,
            std::string request_id, std::string early, std::shared_ptr<const domain::Principal> principal,
            std::string credential, std::string station = {});
  ~WsSession() override;
  /// Answers the (already validated) upgrade request with 101 and starts the feed.
  void run(const Request& req);
  void shutdown() override;
  /// Closes the feed with 4003 when its token or key no longer passes (revoked, expired,
  /// user disabled); also run on every ping tick.
  void recheck_credentials() override;
  void deliver(service::FrameBatch batch, std::chrono::steady_clock::time_point released) override;

 private:
  using std::enable_shared_from_this<WsSession<Socket>>::shared_from_this;
  // Frames of one batch (a hub release, a ring backlog or a replay page) still to be written,
  // from index `next` on; the batch is shared with every other subscriber.
  // `released`: when the hub released it (live batches only).
  struct Pending {
    service::FrameBatch batch;
    std::size_t next;
    std::optional<std::chrono::steady_clock::time_point> released;
  };
  void do_read();
  void on_read(beast::error_code ec, std::size_t n);
  void on_bytes(std::string_view bytes);
  void on_client_close(std::uint16_t code);
  void step_replay();
  void on_replay(std::vector<domain::Frame> frames, bool failed);
  void enqueue(service::FrameBatch batch, std::optional<std::chrono::steady_clock::time_point> released = {});
  bool wanted(const domain::Frame& f) const;
  bool next_write();
  void do_write();
  void on_write(beast::error_code ec, std::size_t);
  bool written(beast::error_code ec);
  void arm_ping();
  void on_ping_timer(beast::error_code ec);
  void close_with(std::uint16_t code, std::string reason);
  void on_closed();
  std::size_t replay_page() const;

  Socket socket_;
  Server& server_;
  std::shared_ptr<std::atomic<std::size_t>> active_;
  std::int64_t cursor_;       // highest seq already queued or skipped
  std::int64_t written_{0};   // highest seq copied into a write (the seam guard on the way out)
  std::set<std::string> categories_;
  std::string rid_;
  std::shared_ptr<const domain::Principal> principal_;
  std::string credential_;  // what the client authenticated with, to check it again
  std::string station_;     // ?station=ID: only this station's events (empty: the principal's scope)
  domain::ws::FrameParser parser_;
  std::vector<domain::ws::ClientEvent> events_;  // reused between reads
  std::array<char, 2048> read_buf_;
  std::string early_;          // bytes read by the HTTP session after the upgrade request
  std::deque<Pending> queue_;
  std::size_t queued_{0};      // frames in queue_ that pass the filter
  std::string handshake_;      // the 101 response until it is written
  std::string out_;            // the bytes of the write in flight
  // When the oldest live frame in the write in flight was released (xiaonao_feed_delivery_seconds).
  std::optional<std::chrono::steady_clock::time_point> out_released_;
  std::optional<std::string> pong_;  // payload of the latest ping to answer
  bool ping_due_{false};
  bool heard_{false};          // something arrived from the peer since the last ping tick
  int silent_ticks_{0};
  bool live_{false};
  bool replay_in_flight_{false};
  bool writing_{false};
  bool write_now_{false};      // a plain TCP socket in non-blocking mode: do_write tries the write in place
  bool closing_{false};        // no more frames; a close frame is on its way
  bool close_sent_{false};     // our close frame is in a write (or written)
  bool peer_closed_{false};    // the peer's close frame arrived
  bool drop_after_close_{false};  // do not wait for the peer's close reply (protocol error)
  bool closed_{false};
  std::uint16_t close_code_{0};
  std::string close_reason_;
  net::steady_timer close_timer_;
  net::steady_timer ping_timer_;
};

}  // namespace xiaonao::http
