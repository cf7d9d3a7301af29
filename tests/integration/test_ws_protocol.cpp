// The feed's WebSocket protocol as seen by a raw client: the handshake, ping/pong, the close
// handshake, what the server does with text and with broken frames, and keep-alive. The server
// owns its framing (domain::ws); these are the cases Beast's client never produces.
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "harness.hpp"
#include "xiaonao/domain/ws_frame.hpp"

namespace xiaonao::itest {
namespace {

namespace wsf = domain::ws;
using Clock = std::chrono::steady_clock;

/// One frame as the server sent it (unmasked, final).
struct ServerFrame {
  wsf::Opcode op;
  std::string payload;
  int close_code() const {
    return payload.size() < 2 ? 0 : (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  }
};

std::string masked(wsf::Opcode op, std::string_view payload, bool mask = true) {
  std::string out;
  wsf::append_header(out, op, payload.size());
  if (!mask) return out.append(payload);
  out[1] = static_cast<char>(out[1] | 0x80);
  const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

std::string upgrade_request(std::string_view target, std::string_view version = "13") {
  std::string r = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: " + std::string(version) + "\r\n"
                  "Authorization: Bearer " + test_api_key() + "\r\n\r\n";
  return r;
}

/// A client that speaks WebSocket by hand.
class RawWs {
 public:
  explicit RawWs(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawWs() { ::close(fd_); }
  RawWs(const RawWs&) = delete;
  RawWs& operator=(const RawWs&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Reads the HTTP response head; returns it (without the blank line).
  std::string read_head(std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    for (;;) {
      if (auto end = buf_.find("\r\n\r\n"); end != std::string::npos) {
        auto head = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        return head;
      }
      if (!fill(until)) throw std::runtime_error("connection closed before a response head");
    }
  }

  /// The next frame; nullopt when the connection closed first. Throws after `timeout`.
  std::optional<ServerFrame> read_frame(std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    for (;;) {
      if (buf_.size() >= 2) {
        const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
        std::size_t header = 2;
        std::uint64_t len = p[1] & 0x7F;
        if ((p[1] & 0x80) != 0) throw std::runtime_error("the server masked a frame");
        if (len == 126 && buf_.size() >= 4) {
          len = (std::uint64_t{p[2]} << 8) | p[3];
          header = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
          header = 10;
        }
        if ((len < 126 || header > 2) && buf_.size() >= header + len) {
          ServerFrame f{static_cast<wsf::Opcode>(p[0] & 0x0F), buf_.substr(header, len)};
          buf_.erase(0, header + len);
          return f;
        }
      }
      if (!fill(until)) return std::nullopt;
    }
  }

  /// The next frame that is not a text frame (events are skipped).
  std::optional<ServerFrame> read_control(std::chrono::milliseconds timeout = 10s) {
    for (;;) {
      auto f = read_frame(timeout);
      if (!f || f->op != wsf::Opcode::text) return f;
    }
  }

  /// True when the server hung up (EOF after any remaining frames) within `timeout`.
  bool hung_up_within(std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    try {
      while (fill(until)) buf_.clear();
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }

 private:
  // Reads more bytes; false on EOF or reset. Throws at `until`.
  bool fill(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) throw std::runtime_error("timed out");
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) throw std::runtime_error("timed out");
    char tmp[65536];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_{-1};
  std::string buf_;
};

class WsProtocol : public IntegrationTest {};

TEST_F(WsProtocol, HandshakePingPongTextIgnoredAndCloseEchoed) {
  Server& server = start_server();
  RawWs ws(server.port());
  // A ping sent in the same packet as the upgrade request is answered too.
  ws.send(upgrade_request("/ws/feed") + masked(wsf::Opcode::ping, "early"));
  const auto head = ws.read_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << head;
  auto f = ws.read_control();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, wsf::Opcode::pong);
  EXPECT_EQ(f->payload, "early");

  // Text from the client means nothing; the feed goes on.
  ws.send(masked(wsf::Opcode::text, "hello?") + masked(wsf::Opcode::ping, "p2"));
  f = ws.read_control();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, wsf::Opcode::pong);
  EXPECT_EQ(f->payload, "p2");
  ApiClient http(server.port());
  ASSERT_EQ(post_alert(http, make_alert("theft")).status, 201);
  for (int i = 0; i < 2; ++i) {
    f = ws.read_frame();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->op, wsf::Opcode::text);
    std::string error;
    EXPECT_TRUE(parse_feed_frame(f->payload, error)) << error;
  }

  // The client closes: the server echoes the code and hangs up.
  ws.send(masked(wsf::Opcode::close, std::string("\x03\xe8" "bye", 5)));
  f = ws.read_control();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, wsf::Opcode::close);
  EXPECT_EQ(f->close_code(), 1000);
  EXPECT_TRUE(ws.hung_up_within(5s));
}

TEST_F(WsProtocol, UnmaskedClientFrameIsClosedWith1002) {
  Server& server = start_server();
  RawWs ws(server.port());
  ws.send(upgrade_request("/ws/feed"));
  ws.read_head();
  ws.send(masked(wsf::Opcode::ping, "x", false));
  auto f = ws.read_control();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, wsf::Opcode::close);
  EXPECT_EQ(f->close_code(), 1002);
  EXPECT_TRUE(ws.hung_up_within(5s));
}

TEST_F(WsProtocol, OversizedMessageIsClosedWith1009) {
  Server& server = start_server();
  RawWs ws(server.port());
  ws.send(upgrade_request("/ws/feed"));
  ws.read_head();
  // Only the header of a 5000-byte message: the server needs no more to refuse it.
  ws.send(masked(wsf::Opcode::text, std::string(5000, 'x')).substr(0, 8));
  auto f = ws.read_control();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->op, wsf::Opcode::close);
  EXPECT_EQ(f->close_code(), 1009);
  EXPECT_TRUE(ws.hung_up_within(5s));
}

TEST_F(WsProtocol, WrongVersionIsRefusedWith426) {
  Server& server = start_server();
  RawWs ws(server.port());
  ws.send(upgrade_request("/ws/feed", "8"));
  const auto head = ws.read_head();
  EXPECT_EQ(head.rfind("HTTP/1.1 426 ", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Version: 13"), std::string::npos) << head;
}

TEST_F(WsProtocol, SilentPeerIsPingedThenDisconnectedWhileAnAnsweringOneStays) {
  ServerOptions options;
  options.env = {{"XIAONAO_FEED_PING_INTERVAL_MS", "200"}};
  Server& server = start_server(options);
  RawWs silent(server.port());
  silent.send(upgrade_request("/ws/feed"));
  silent.read_head();
  RawWs answering(server.port());
  answering.send(upgrade_request("/ws/feed"));
  answering.read_head();

  // The answering one answers every ping, on its own thread, and stays connected.
  int pings = 0;
  bool hung_up = false;
  std::thread answer([&] {
    try {
      const auto until = Clock::now() + 1500ms;
      while (Clock::now() < until) {
        auto p = answering.read_control(2s);
        if (!p || p->op != wsf::Opcode::ping) {
          hung_up = true;
          return;
        }
        ++pings;
        answering.send(masked(wsf::Opcode::pong, p->payload));
      }
    } catch (const std::exception&) {
      hung_up = true;  // no ping within 2 s, or the connection broke
    }
  });

  const auto start = Clock::now();
  auto f = silent.read_control(5s);
  EXPECT_TRUE(f && f->op == wsf::Opcode::ping) << "no ping for a silent peer";
  EXPECT_TRUE(silent.hung_up_within(5s));
  EXPECT_GE(Clock::now() - start, 300ms) << "cut off before two ping periods";
  answer.join();
  EXPECT_FALSE(hung_up) << "the server hung up on a peer that answers pings";
  EXPECT_GE(pings, 2);
}

}  // namespace
}  // namespace xiaonao::itest
