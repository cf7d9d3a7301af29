#include "xiaonao/http/server.hpp"

#include <boost/asio/strand.hpp>

#include "sessions.hpp"
#include "xiaonao/log/log.hpp"

namespace xiaonao::http {

Server::Server(boost::asio::io_context& ioc, Context ctx) : ioc_(ioc), ctx_(ctx), acceptor_(net::make_strand(ioc)) {
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
      auto s = std::make_shared<HttpSession>(std::move(socket), *this);
      track(s);
      s->run();
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
