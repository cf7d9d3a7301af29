#pragma once
// Private to the http module: the per-connection sessions.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "xiaonao/http/server.hpp"
#include "auth.hpp"

namespace xiaonao::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

/// Logs an I/O failure, except the ones that mean "we closed it ourselves".
void fail(beast::error_code ec, const char* what);

/// A short random id for requests that did not bring a usable X-Request-Id.
std::string new_request_id();

/// One HTTP/1.1 connection: reads requests with limits and timeouts, runs up to
/// `pipeline_limit` of them at once, and writes the responses in request order.
class HttpSession final : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Server& server);
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
  void do_read();
  void on_header(beast::error_code ec);
  void on_read(beast::error_code ec);
  void upgrade(Request&& req);
  void handle(Request&& req);
  void dispatch_call(std::shared_ptr<Request> req, std::shared_ptr<Exchange> ex, const Handler* handler,
                     std::string path, std::map<std::string, std::string> query, std::vector<std::string> params,
                     std::shared_ptr<const domain::Principal> principal);
  void finish(const Exchange& ex, Response res);
  void reject(unsigned status, const std::string& message, const Request* req = nullptr);
  void maybe_write();
  void on_write(bool close, beast::error_code ec);
  void close();

  beast::tcp_stream stream_;
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
class WsSession final : public Session, public service::Subscriber, public std::enable_shared_from_this<WsSession> {
 public:
  /// `since` < 0: start live from the next event. `categories` empty: no filter.
  /// `principal` decides the station scope: a station role sees its own station's events only.
  WsSession(tcp::socket&& socket, Server& server, std::int64_t since, std::set<std::string> categories,
            std::string request_id, std::shared_ptr<const domain::Principal> principal);
  ~WsSession() override;
  void run(Request req);
  void shutdown() override;
  void deliver(service::FrameBatch batch) override;

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void step_replay();
  void on_replay(std::vector<domain::Frame> frames, bool failed);
  void enqueue(const domain::Frame& f);
  void do_write();
  void on_write(beast::error_code ec, std::size_t);
  void close_with(std::uint16_t code, const char* reason);
  void start_close();
  void on_closed();
  std::size_t replay_page() const;

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer read_buffer_;
  Server& server_;
  std::shared_ptr<std::atomic<std::size_t>> active_;
  std::int64_t cursor_;  // highest seq already queued or skipped
  std::set<std::string> categories_;
  std::string rid_;
  std::shared_ptr<const domain::Principal> principal_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool accepted_{false};
  bool live_{false};
  bool replay_in_flight_{false};
  bool writing_{false};
  bool closing_{false};
  bool closed_{false};
  std::optional<websocket::close_reason> pending_close_;
  net::steady_timer close_timer_;
};

}  // namespace xiaonao::http
