#pragma once
/// The network edge: accepts connections, serves HTTP and upgrades /ws/feed to the feed.
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "xiaonao/config/config.hpp"
#include "xiaonao/http/router.hpp"
#include "xiaonao/service/abuse_guard.hpp"
#include "xiaonao/service/categories.hpp"
#include "xiaonao/service/credentials.hpp"
#include "xiaonao/service/feed_hub.hpp"
#include "xiaonao/service/metrics.hpp"
#include "xiaonao/store/alert_writer.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/order_writer.hpp"
#include "xiaonao/store/reference_cache.hpp"
#include "xiaonao/store/units_store.hpp"

namespace xiaonao::http {

/// Everything the handlers and sessions use; owned by the composition root.
struct Context {
  const config::Config& cfg;
  store::DbPool& pool;
  store::AlertWriter& writer;
  service::FeedHub& hub;
  service::Metrics& metrics;
  service::CategoryCache& categories;
  service::CredentialCache& credentials;
  service::AbuseGuard& guard;
  /// The batching position writer; null: position reports are answered 503.
  store::PositionWriter* positions = nullptr;
  /// The batching order writer; null: order steps run one transaction each on the pool.
  store::OrderWriter* orders = nullptr;
  /// Where Argon2id runs (a login's check, a new password's hash), holding no database
  /// connection; null: inline, on the thread that asks.
  boost::asio::thread_pool* hashing = nullptr;
  /// The reference data in memory; null when fusion reads the tables only. /readyz answers 503
  /// until its first load has been tried.
  const store::ReferenceCache* reference = nullptr;
};

/// Something the server can ask to wind down on shutdown.
class Session {
 public:
  virtual ~Session() = default;
  /// Called once on shutdown from any thread; the session finishes what is in flight.
  virtual void shutdown() = 0;
  /// Called from any thread when credentials may have been revoked anywhere: a long-lived
  /// session checks its credential again (HTTP requests are checked one by one anyway).
  virtual void recheck_credentials() {}
};

/// The listener's TLS settings from http.tls_cert and http.tls_key: TLS 1.2 and later, AEAD
/// ciphers with forward secrecy for 1.2, OpenSSL's defaults for 1.3. Throws std::runtime_error
/// naming the key and the file when a file cannot be read or the key does not fit the
/// certificate. Call it only when cfg.tls().
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::Http& cfg);

class Server {
 public:
  /// `tls` null: plain HTTP; else every connection starts with a TLS handshake.
  Server(boost::asio::io_context& ioc, Context ctx, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~Server();

  /// Binds and starts accepting; returns the bound port (useful with port 0).
  unsigned short listen(const std::string& host, unsigned short port);
  /// Stops accepting, closes feeds with "going away" and idle keep-alive connections,
  /// and lets in-flight requests finish.
  void begin_shutdown();
  /// Open connections (HTTP and WebSocket).
  std::size_t active_sessions() const { return active_->load(); }

  // Used by sessions.
  const Router& router() const { return router_; }
  Context& context() { return ctx_; }
  bool shutting_down() const { return shutting_down_.load(); }
  /// The Strict-Transport-Security value sent on every response over TLS.
  const std::string& hsts_value() const { return hsts_; }
  void track(const std::shared_ptr<Session>& s);
  /// Asks every open session to check its credential again (after a revocation).
  void recheck_credentials();
  /// Shared with the sessions, which may outlive the server during teardown.
  const std::shared_ptr<std::atomic<std::size_t>>& active_counter() const { return active_; }

 private:
  void do_accept();

  boost::asio::io_context& ioc_;
  Context ctx_;
  Router router_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::string hsts_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> shutting_down_{false};
  std::shared_ptr<std::atomic<std::size_t>> active_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::mutex mu_;
  std::vector<std::weak_ptr<Session>> sessions_;
};

/// Registers every route of the API on `router`.
void register_routes(Router& router, Context& ctx);
/// Registers login, sessions, users, keys and the audit log (auth_handlers.cpp).
void register_auth_routes(Router& router, Context& ctx);
/// Registers live unit data (positions, status, list, tracks) and the map (units_handlers.cpp).
void register_units_routes(Router& router, Context& ctx);
/// Fusion's routes (PATCH an incident's location, split a merged alert); src/http/fusion_handlers.cpp.
void register_fusion_routes(Router& router, Context& ctx);
/// PUT /api/v1/reference/{kind} and GET /api/v1/reference (src/http/reference_handlers.cpp).
void register_reference_routes(Router& router, Context& ctx);
/// GET /api/v1/escalations, the announced missed deadlines (src/http/escalation_handlers.cpp).
void register_escalation_routes(Router& router, Context& ctx);

/// The station console: GET /, GET /assets/{*path}, GET /console.json (src/http/static_handlers.cpp).
void register_static_routes(Router& router, Context& ctx);

/// The incident lifecycle's transitions and the orders (src/http/orders_handlers.cpp).
void register_orders_routes(Router& router, Context& ctx);

/// Support requests, diversions, feedback and evaluation, response times (src/http/support_handlers.cpp).
void register_support_routes(Router& router, Context& ctx);

/// Notes on an incident (src/http/notes_handlers.cpp).
void register_notes_routes(Router& router, Context& ctx);

}  // namespace xiaonao::http
