#include "xiaonao/http/server.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <boost/asio/strand.hpp>
#include <openssl/ssl.h>

#include "sessions.hpp"
#include "xiaonao/log/log.hpp"

namespace xiaonao::http {

namespace {
// Mozilla's "intermediate" list for TLS 1.2 without the finite-field DHE suites: ECDHE key
// exchange (forward secrecy) and AEAD only. TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's own message for a missing file is "system lib": check readability first so the
// operator reads which key, which file and why.
void require_readable(const char* key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(key) + ": cannot read " + path + ": " + std::strerror(errno));
}
}  // namespace

std::shared_ptr<net::ssl::context> make_tls_context(const config::Http& cfg) {
  namespace ssl = net::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx->native_handle(), kTls12Ciphers) != 1)
    throw std::runtime_error("TLS: the built-in cipher list was refused by this OpenSSL");
  require_readable("http.tls_cert", cfg.tls_cert);
  require_readable("http.tls_key", cfg.tls_key);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cfg.tls_cert, ec);
  if (ec) throw std::runtime_error("http.tls_cert: " + cfg.tls_cert + " is not a PEM certificate chain: " + ec.message());
  ctx->use_private_key_file(cfg.tls_key, ssl::context::pem, ec);
  // This also refuses a key that does not belong to the certificate ("key values mismatch").
  if (ec)
    throw std::runtime_error("http.tls_key: " + cfg.tls_key +
                             " is not a PEM private key of the certificate in http.tls_cert: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("http.tls_key: " + cfg.tls_key + " does not belong to the certificate in http.tls_cert");
  return ctx;
}

Server::Server(boost::asio::io_context& ioc, Context ctx, std::shared_ptr<net::ssl::context> tls)
    : ioc_(ioc),
      ctx_(ctx),
      tls_(std::move(tls)),
      hsts_("max-age=" + std::to_string(ctx.cfg.http.hsts_max_age_s)),
      acceptor_(net::make_strand(ioc)) {
  register_routes(router_, ctx_);
  register_auth_routes(router_, ctx_);
}

Server::~Server() = default;

unsigned short Server::listen(const std::string& host, unsigned short port) {
  const tcp::endpoint ep{net::ip::make_address(host), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  do_accept();
  return acceptor_.local_endpoint().port();
}

void Server::do_accept() {
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      fail(ec, "accept");
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls_) {
        auto s = std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(socket), *tls_), *this);
        track(s);
        s->run();
      } else {
        auto s = std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)), *this);
        track(s);
        s->run();
      }
    }
    if (!shutting_down_) do_accept();
  });
}

void Server::track(const std::shared_ptr<Session>& s) {
  std::lock_guard lk(mu_);
  // Prune now and then so the list does not grow with every connection ever made.
  if (sessions_.size() > 64 && sessions_.size() % 64 == 0) {
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  }
  sessions_.push_back(s);
}

void Server::recheck_credentials() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lk(mu_);
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->recheck_credentials();
}

void Server::begin_shutdown() {
  if (shutting_down_.exchange(true)) return;
  log::info("server.shutdown_begin", {{"sessions", active_->load()}});
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lk(mu_);
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    sessions_.clear();
  }
  for (auto& s : live) s->shutdown();
}

}  // namespace xiaonao::http
