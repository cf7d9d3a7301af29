// A small blocking HTTP/1.1 and WebSocket client over Beast.
//
// Each object owns its own io_context and drives it only from inside its own calls, so the
// objects are blocking and single-threaded from the caller's point of view while every I/O step
// is an async operation bounded by a deadline (a plain blocking socket read cannot time out).
#include "xiaonao/client/client.hpp"

#include <cstdlib>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

namespace xiaonao::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kUserAgent = "xiaonao-client/0.1";
/// Responses larger than this are a server bug as far as these tools are concerned.
constexpr std::uint64_t kMaxResponseBody = 256ULL * 1024 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Runs `ioc` until `done` is set, `deadline` passes, or the io_context runs out of work.
/// Returns whether `done` was set. Operations still pending stay pending for a later call.
bool run_until(asio::io_context& ioc, const bool& done, Clock::time_point deadline) {
  // An io_context that ran out of work is stopped; restart it so pending operations of a later
  // call (a kept-alive read, say) can run.
  if (ioc.stopped()) ioc.restart();
  while (!done) {
    if (ioc.run_one_until(deadline) == 0) break;  // deadline passed, or no work left
  }
  if (ioc.stopped()) ioc.restart();
  return done;
}

/// Runs only the handlers that are ready now (used after a close to retire aborted operations).
void drain(asio::io_context& ioc) {
  if (ioc.stopped()) ioc.restart();
  ioc.poll();
  if (ioc.stopped()) ioc.restart();
}

/// Resolves and connects `stream` to host:port within `timeout`.
void connect_stream(asio::io_context& ioc, beast::tcp_stream& stream, const std::string& host,
                    unsigned short port, std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  // Numeric hosts need no lookup; names are resolved synchronously (getaddrinfo has no timeout
  // we could impose anyway, and these tools talk to local or well-known hosts).
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw std::runtime_error("resolve " + host + ": " + ec.message());
  bool done = false;
  boost::system::error_code cec;
  stream.expires_after(timeout);
  stream.async_connect(results, [&](const boost::system::error_code& e, const tcp::endpoint&) {
    cec = e;
    done = true;
  });
  if (!run_until(ioc, done, Clock::now() + timeout + std::chrono::seconds(1))) {
    stream.close();
    drain(ioc);
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": timed out");
  }
  if (cec) {
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " +
                             (cec == beast::error::timeout ? std::string("timed out")
                                                           : cec.message()));
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
}

/// A client TLS context that trusts `trust`'s CA file, or the system's CAs.
std::unique_ptr<asio::ssl::context> make_tls_context(const TlsTrust& trust) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (trust.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(trust.ca_file, ec);
  }
  if (ec)
    throw std::runtime_error("TLS trust " + (trust.ca_file.empty() ? std::string("(system)") : trust.ca_file) + ": " +
                             ec.message());
  return ctx;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

/// Connects `tls` to host:port and shakes hands within `timeout`: the certificate must chain to
/// the trusted CAs and name the host (an IP literal is checked against its IP addresses).
void connect_tls(asio::io_context& ioc, TlsStream& tls, const std::string& host, unsigned short port,
                 std::chrono::milliseconds timeout) {
  connect_stream(ioc, tls.next_layer(), host, port, timeout);
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec && !SSL_set_tlsext_host_name(tls.native_handle(), host.c_str()))  // SNI, for names only
    throw std::runtime_error("TLS " + host + ": cannot set the server name");
  tls.set_verify_callback(asio::ssl::host_name_verification(host));
  bool done = false;
  boost::system::error_code hec;
  tls.next_layer().expires_after(timeout);
  tls.async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& e) {
    hec = e;
    done = true;
  });
  const std::string where = host + ":" + std::to_string(port);
  if (!run_until(ioc, done, Clock::now() + timeout + std::chrono::seconds(1)))
    throw std::runtime_error("TLS handshake with " + where + ": timed out");
  if (hec)
    throw std::runtime_error("TLS handshake with " + where + ": " +
                             (hec == beast::error::timeout ? std::string("timed out") : hec.message()));
  tls.next_layer().expires_never();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpClient

struct HttpClient::Impl {
  std::vector<std::pair<std::string, std::string>> default_headers;
  std::string host;
  unsigned short port;
  std::chrono::milliseconds timeout;
  asio::io_context ioc{1};
  beast::tcp_stream stream{ioc};  // plain HTTP
  // HTTPS: the context, and a stream made afresh for every connection (a TLS stream cannot be
  // reused after a close).
  std::unique_ptr<asio::ssl::context> tls_ctx;
  std::unique_ptr<TlsStream> tls;
  beast::flat_buffer buffer;
  bool connected = false;
  /// How many responses this connection has delivered; only a reused connection may have been
  /// closed by the server while idle, so only then is a failure retried on a fresh one.
  std::uint64_t used = 0;

  Impl(std::string h, unsigned short p, std::chrono::milliseconds t, const std::optional<TlsTrust>& trust)
      : host(std::move(h)), port(p), timeout(t) {
    if (trust) tls_ctx = make_tls_context(*trust);
  }

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : stream; }

  void disconnect() {
    if (!connected && !tls) return;
    boost::system::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    connected = false;
    used = 0;
    buffer.clear();
    // Retire the handlers of anything the close aborted (before the stream they refer to goes).
    drain(ioc);
    tls.reset();
  }

  void connect() {
    disconnect();
    if (!tls_ctx) {
      stream.expires_never();
      connect_stream(ioc, stream, host, port, timeout);
    } else {
      tls = std::make_unique<TlsStream>(ioc, *tls_ctx);
      try {
        connect_tls(ioc, *tls, host, port, timeout);
      } catch (...) {
        disconnect();
        throw;
      }
    }
    connected = true;
    used = 0;
    buffer.clear();
  }

  /// The outcome of one attempt: either a response, or an error and whether any response byte
  /// had arrived (if none had, the request may be retried on a new connection).
  struct Attempt {
    boost::system::error_code ec;
    bool got_bytes = false;
    std::optional<Response> response;
  };

  Attempt attempt(const http::request<http::string_body>& req) {
    Attempt a;
    bool done = false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    parser.header_limit(64 * 1024);
    // A response to HEAD announces a body it does not carry.
    if (req.method() == http::verb::head) parser.skip(true);

    lowest().expires_after(timeout);
    const auto exchange = [&](auto& s) {
      http::async_write(s, req, [&](const boost::system::error_code& ec, std::size_t) {
        if (ec) {
          a.ec = ec;
          done = true;
          return;
        }
        http::async_read(s, buffer, parser, [&](const boost::system::error_code& rec, std::size_t n) {
          a.ec = rec;
          a.got_bytes = n > 0 || parser.got_some();
          done = true;
        });
      });
    };
    if (tls) {
      exchange(*tls);
    } else {
      exchange(stream);
    }
    // The tcp_stream's own timer aborts the operation on time-out; the extra second only
    // guards against a handler that never runs.
    if (!run_until(ioc, done, Clock::now() + timeout + std::chrono::seconds(1))) {
      // The handlers refer to locals of this frame: retire them before it ends.
      disconnect();
      a.ec = beast::error::timeout;
      a.got_bytes = true;
      return a;
    }
    if (a.ec) return a;
    lowest().expires_never();

    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name = lower(field.name_string());
      auto value = std::string(field.value());
      auto [it, inserted] = out.headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) disconnect();
    a.response = std::move(out);
    return a;
  }

  Response request(std::string_view method, std::string_view target, std::string_view body,
                   std::string_view content_type,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host + ":" + std::to_string(port));
    req.set(http::field::user_agent, kUserAgent);
    req.keep_alive(true);
    for (const auto& [k, v] : default_headers) req.set(k, v);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      if (!content_type.empty()) req.set(http::field::content_type, content_type);
      req.body() = std::string(body);
      req.prepare_payload();
    }

    for (int round = 0; round < 2; ++round) {
      bool reused = connected && used > 0;
      if (!connected) connect();
      Attempt a = attempt(req);
      if (a.response) {
        ++used;
        return std::move(*a.response);
      }
      disconnect();
      // A kept-alive connection the server had already closed fails with eof / reset / broken
      // pipe before any byte of the answer arrives: send once more on a fresh connection.
      bool stale = reused && !a.got_bytes &&
                   (a.ec == http::error::end_of_stream || a.ec == asio::error::eof ||
                    a.ec == asio::error::connection_reset || a.ec == asio::error::broken_pipe ||
                    a.ec == asio::error::connection_aborted || a.ec == asio::ssl::error::stream_truncated);
      if (round == 0 && stale) continue;
      throw std::runtime_error(std::string(method) + " " + std::string(target) + ": " +
                               (a.ec == beast::error::timeout ? std::string("timed out")
                                                              : a.ec.message()));
    }
    throw std::runtime_error("unreachable");
  }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout,
                       std::optional<TlsTrust> tls)
    : impl_(new Impl(std::move(host), port, timeout, tls)) {}

HttpClient::~HttpClient() {
  try {
    impl_->disconnect();
  } catch (...) {
  }
  delete impl_;
}

void HttpClient::set_header(std::string name, std::string value) {
  for (auto& [k, v] : impl_->default_headers) {
    if (beast::iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  impl_->default_headers.emplace_back(std::move(name), std::move(value));
}

Response HttpClient::request(std::string_view method, std::string_view target,
                             std::string_view body, std::string_view content_type,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  return impl_->request(method, target, body, content_type, headers);
}

// ---------------------------------------------------------------------------------------------
// WsClient

namespace {

/// A WebSocket connection over `Next`: beast::tcp_stream (ws://) or TlsStream (wss://).
struct WsConn {
  virtual ~WsConn() = default;
  virtual std::optional<std::string> read(std::chrono::milliseconds timeout) = 0;
  virtual void close() = 0;
  virtual void abort() = 0;
  bool closed = false;
  int close_code = 0;
};

template <class Next>
struct WsConnOver final : WsConn {
  static constexpr bool kTls = std::is_same_v<Next, TlsStream>;
  asio::io_context ioc{1};
  std::unique_ptr<asio::ssl::context> tls_ctx;  // wss:// only; declared before the stream on it
  websocket::stream<Next> ws;
  beast::flat_buffer buffer;
  /// A read stays in flight across read() calls that time out, so that no frame is lost and
  /// the stream is never left with a cancelled (and thus unusable) read.
  bool read_pending = false;
  bool read_done = false;
  boost::system::error_code read_ec;
  bool close_done = false;

  explicit WsConnOver(const std::optional<TlsTrust>& trust)
      : tls_ctx(kTls ? make_tls_context(*trust) : nullptr), ws(make_stream()) {}

  websocket::stream<Next> make_stream() {
    if constexpr (kTls) {
      return websocket::stream<Next>(ioc, *tls_ctx);
    } else {
      return websocket::stream<Next>(ioc);
    }
  }

  void connect(const std::string& host, unsigned short port, const std::string& target,
               std::chrono::milliseconds timeout, const std::vector<std::pair<std::string, std::string>>& headers) {
    auto& lowest = beast::get_lowest_layer(ws);
    if constexpr (kTls) {
      try {
        connect_tls(ioc, ws.next_layer(), host, port, timeout);
      } catch (...) {
        abort();
        throw;
      }
    } else {
      connect_stream(ioc, lowest, host, port, timeout);
    }

    // Beast's advice: no tcp_stream timer under a websocket; the websocket has its own.
    lowest.expires_never();
    auto opt = websocket::stream_base::timeout::suggested(beast::role_type::client);
    opt.handshake_timeout = timeout;
    ws.set_option(opt);
    ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      req.set(http::field::user_agent, kUserAgent);
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    ws.read_message_max(64ULL * 1024 * 1024);

    websocket::response_type res;
    bool done = false;
    boost::system::error_code ec;
    ws.async_handshake(res, host + ":" + std::to_string(port), target,
                       [&](const boost::system::error_code& e) {
                         ec = e;
                         done = true;
                       });
    if (!run_until(ioc, done, Clock::now() + timeout + std::chrono::seconds(1))) {
      abort();
      throw std::runtime_error("websocket handshake " + target + ": timed out");
    }
    if (ec) {
      std::string msg = "websocket handshake " + target + ": ";
      if (res.result_int() != 0 && res.result() != http::status::switching_protocols) {
        msg += "HTTP " + std::to_string(res.result_int());
        if (!res.body().empty()) msg += " " + res.body();
      } else {
        msg += ec.message();
      }
      abort();
      throw std::runtime_error(msg);
    }
  }

  /// Closes the socket at once and lets any pending handler finish.
  void abort() override {
    auto& lowest = beast::get_lowest_layer(ws);
    boost::system::error_code ec;
    lowest.socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest.close();
    drain(ioc);
    read_pending = false;
    closed = true;
  }

  void start_read() {
    read_pending = true;
    read_done = false;
    ws.async_read(buffer, [this](const boost::system::error_code& ec, std::size_t) {
      read_ec = ec;
      read_done = true;
    });
  }

  /// Takes the result of a completed read.
  std::optional<std::string> finish_read() {
    read_pending = false;
    read_done = false;
    if (read_ec) {
      closed = true;
      // The server's close code, also when the teardown after it failed (a TLS peer that
      // hung up without its close_notify).
      if (const auto code = ws.reason().code; code != websocket::close_code::none)
        close_code = static_cast<int>(code);
      return std::nullopt;
    }
    std::string msg = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    return msg;
  }

  std::optional<std::string> read(std::chrono::milliseconds timeout) override {
    if (closed) return std::nullopt;
    if (!read_pending) start_read();
    if (!read_done) {
      if (timeout.count() <= 0) {
        // A poll: run whatever is ready (including answering a ping) without waiting.
        if (ioc.stopped()) ioc.restart();
        ioc.poll();
        if (ioc.stopped()) ioc.restart();
      } else {
        run_until(ioc, read_done, Clock::now() + timeout);
      }
    }
    if (!read_done) return std::nullopt;
    return finish_read();
  }

  void close() override {
    if (closed) return;
    close_done = false;
    ws.async_close(websocket::close_code::normal,
                   [this](const boost::system::error_code&) { close_done = true; });
    auto deadline = Clock::now() + std::chrono::seconds(2);
    // With a read in flight, the server's close frame completes that read and the close
    // operation waits for it; without one, async_close reads up to the close frame itself.
    run_until(ioc, close_done, deadline);
    if (read_pending && !read_done) run_until(ioc, read_done, deadline);
    if (ws.reason().code != websocket::close_code::none)
      close_code = static_cast<int>(ws.reason().code);
    abort();
  }
};

template <class Next>
std::unique_ptr<WsConn> open_ws(const std::string& host, unsigned short port, const std::string& target,
                                std::chrono::milliseconds timeout,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::optional<TlsTrust>& tls) {
  auto c = std::make_unique<WsConnOver<Next>>(tls);
  c->connect(host, port, target, timeout, headers);
  return c;
}

}  // namespace

struct WsClient::Impl {
  std::unique_ptr<WsConn> conn;
};

WsClient::WsClient(std::string host, unsigned short port, std::string target,
                   std::chrono::milliseconds connect_timeout,
                   const std::vector<std::pair<std::string, std::string>>& headers, std::optional<TlsTrust> tls)
    : impl_(new Impl) {
  try {
    impl_->conn = tls ? open_ws<TlsStream>(host, port, target, connect_timeout, headers, tls)
                      : open_ws<beast::tcp_stream>(host, port, target, connect_timeout, headers, tls);
  } catch (...) {
    delete impl_;
    throw;
  }
}

WsClient::~WsClient() {
  try {
    if (!impl_->conn->closed) impl_->conn->abort();
  } catch (...) {
  }
  delete impl_;
}

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
  return impl_->conn->read(timeout);
}

bool WsClient::closed() const { return impl_->conn->closed; }

int WsClient::close_code() const { return impl_->conn->close_code; }

void WsClient::close() { impl_->conn->close(); }

std::optional<Endpoint> parse_http_url(std::string_view url, std::string& why) {
  std::string_view rest = url;
  Endpoint e;
  if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
    e.tls = true;
    e.port = 443;
  } else if (rest.find("://") != std::string_view::npos) {
    why = "the URL must be http://HOST:PORT or https://HOST:PORT";
    return std::nullopt;
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  const auto bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string port(rest.substr(colon + 1));
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
      why = "bad port in the URL";
      return std::nullopt;
    }
    e.port = static_cast<unsigned short>(p);
    rest = rest.substr(0, colon);
  }
  if (rest.size() > 2 && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) {
    why = "no host in the URL";
    return std::nullopt;
  }
  e.host = std::string(rest);
  return e;
}

}  // namespace xiaonao::client
