#pragma once
/// A small blocking HTTP/1.1 and WebSocket client over Beast, for the replay tool,
/// the benchmark and the integration tests. Not used by the server.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace xiaonao::client {

/// Where a server listens.
struct Endpoint {
  std::string host;
  unsigned short port{80};
  bool tls{false};  ///< https://
};

/// Parses "http://HOST[:PORT][/...]", "https://HOST[:PORT][/...]" (port 443 by default) or
/// "HOST:PORT"; IPv6 hosts in brackets. Returns nullopt with a reason in `why` for anything
/// else.
std::optional<Endpoint> parse_http_url(std::string_view url, std::string& why);

/// One HTTP response. Header names are lowercased.
struct Response {
  int status{0};
  std::string body;
  std::map<std::string, std::string> headers;
  /// The body parsed as JSON (throws nlohmann::json::parse_error when it is not).
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// Whom an HTTPS client trusts: the CA certificates in `ca_file` (PEM), or the system's when
/// empty. The server's certificate must also name the host connected to.
struct TlsTrust {
  std::string ca_file;
};

/// One keep-alive connection to host:port, over TLS when `tls` is given; reconnects once when
/// the server closed it. Not thread-safe: one per thread. Throws std::runtime_error when the
/// trusted certificates cannot be read.
class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port,
             std::chrono::milliseconds timeout = std::chrono::seconds(30),
             std::optional<TlsTrust> tls = std::nullopt);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends one request and reads the response. Throws std::runtime_error on I/O failure.
  Response request(std::string_view method, std::string_view target, std::string_view body = {},
                   std::string_view content_type = "application/json",
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  /// A header sent with every request from now on (e.g. Authorization); replaces one of the
  /// same name.
  void set_header(std::string name, std::string value);
  Response get(std::string_view target) { return request("GET", target); }
  Response post_json(std::string_view target, const nlohmann::json& body) {
    return request("POST", target, body.dump());
  }

 private:
  struct Impl;
  Impl* impl_;
};

/// A WebSocket client connected to ws://host:port/target (wss:// with `tls`, trusted as for
/// HttpClient). Throws on a failed handshake
/// (the exception message carries the HTTP status when the server refused the upgrade).
class WsClient {
 public:
  /// `headers` go with the handshake (e.g. Authorization, or Sec-WebSocket-Protocol).
  WsClient(std::string host, unsigned short port, std::string target,
           std::chrono::milliseconds connect_timeout = std::chrono::seconds(10),
           const std::vector<std::pair<std::string, std::string>>& headers = {},
           std::optional<TlsTrust> tls = std::nullopt);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  /// The next text frame, or nullopt if none arrived within `timeout` or the connection closed.
  std::optional<std::string> read(std::chrono::milliseconds timeout);
  /// True once the server closed the connection (or it failed).
  bool closed() const;
  /// The close code the server sent (0 if none yet).
  int close_code() const;
  /// Sends a close frame and waits briefly for the server's.
  void close();

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace xiaonao::client
