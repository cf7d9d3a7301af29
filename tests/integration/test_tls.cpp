// The listener over TLS (http.tls_cert / http.tls_key): HTTPS with the usual credentials, HSTS
// only over TLS, plain HTTP on the TLS port refused without harm, the feed over wss://, and a
// bad certificate setting that stops start-up naming the key.
#include <set>

#include "harness.hpp"

namespace xiaonao::itest {
namespace {

class Tls : public IntegrationTest {
 protected:
  /// A server with a fresh self-signed certificate; `extra` goes into its environment.
  Server& start_tls_server(Env extra = {}) {
    std::tie(cert_, key_) = make_self_signed(dir());
    ServerOptions options;
    options.env = {{"XIAONAO_HTTP_TLS_CERT", cert_.string()}, {"XIAONAO_HTTP_TLS_KEY", key_.string()}};
    options.env.insert(options.env.end(), extra.begin(), extra.end());
    options.tls_ca = cert_.string();
    return start_server(options);
  }
  client::Response get(Server& s, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = auth_headers()) {
    return tls_request(s.port(), cert_.string(), "GET", target, headers);
  }

  std::filesystem::path cert_, key_;
};

TEST_F(Tls, RequestsWithCredentialsWorkAndCarryHsts) {
  Server& server = start_tls_server();
  auto r = get(server, "/api/v1/categories");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["strict-transport-security"], "max-age=31536000");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  // Errors carry it too, and the credentials rules are unchanged.
  auto unauth = get(server, "/api/v1/categories", {});
  EXPECT_EQ(unauth.status, 401) << unauth.body;
  EXPECT_EQ(unauth.headers["strict-transport-security"], "max-age=31536000");
  // An alert posted over TLS is stored like any other.
  auto posted = tls_request(server.port(), cert_.string(), "POST", "/api/v1/alerts", auth_headers(),
                            make_alert("theft").dump());
  EXPECT_EQ(posted.status, 201) << posted.body;
}

TEST_F(Tls, HstsMaxAgeFollowsTheConfig) {
  Server& server = start_tls_server({{"XIAONAO_HTTP_HSTS_MAX_AGE_S", "600"}});
  auto r = get(server, "/healthz", {});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["strict-transport-security"], "max-age=600");
}

TEST_F(Tls, NoHstsWithoutTls) {
  Server& server = start_server();
  ApiClient http(server.port());
  auto r = http.get("/api/v1/categories");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("strict-transport-security"), 0u);
}

TEST_F(Tls, PlainHttpOnTheTlsPortIsRefusedAndTheServerKeepsServing) {
  Server& server = start_tls_server({{"XIAONAO_HTTP_READ_TIMEOUT_MS", "1000"}});
  {
    RawConnection raw(server.port());
    raw.send(raw_request("GET", "/healthz"));
    // No HTTP answer comes back, only the end of the connection.
    EXPECT_TRUE(raw.peer_closed_within(5s));
  }
  {
    // A client that connects and says nothing is cut off by the handshake time-out.
    RawConnection silent(server.port());
    EXPECT_TRUE(silent.peer_closed_within(5s));
  }
  EXPECT_EQ(get(server, "/healthz", {}).status, 200);
  EXPECT_NE(server.log().find("http.tls_handshake_failed"), std::string::npos) << server.log_tail();
  EXPECT_TRUE(server.running());
}

// The tools' HTTP client speaks TLS: xiaonao-replay posts to an https:// URL trusting the CA
// given with --ca, and refuses a server whose certificate it cannot verify.
TEST_F(Tls, TheReplayPostsOverHttps) {
  Server& server = start_tls_server();
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());
  auto r = run_command({XIAONAO_REPLAY_PATH, "--url", url, "--ca", cert_.string(), "--rate", "20", "--count", "3",
                        "--seed", "5"},
                       {{"XIAONAO_API_KEY", test_api_key()}}, dir(), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), 3);

  // Without --ca the system's CAs do not know this self-signed certificate: nothing is posted.
  r = run_command({XIAONAO_REPLAY_PATH, "--url", url, "--rate", "20", "--count", "1", "--seed", "6"},
                  {{"XIAONAO_API_KEY", test_api_key()}}, dir(), 60s);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE((r.out + r.err).find("certificate verify failed"), std::string::npos) << r.out << r.err;
  // An unreadable CA file is a usage error, said at once.
  r = run_command({XIAONAO_REPLAY_PATH, "--url", url, "--ca", (dir() / "no-such.pem").string(), "--count", "1"},
                  {{"XIAONAO_API_KEY", test_api_key()}}, dir(), 60s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no-such.pem"), std::string::npos) << r.err;
  EXPECT_EQ(sql().scalar("SELECT count(*) FROM alerts"), 3);
}

// --watch follows the feed over wss:// as well: the events before it started (--since 0),
// then one posted while it watches; SIGTERM ends it cleanly.
TEST_F(Tls, TheReplayWatchesTheFeedOverWss) {
  Server& server = start_tls_server();
  const auto post = [&] {
    auto r = tls_request(server.port(), cert_.string(), "POST", "/api/v1/alerts", auth_headers(),
                         make_alert("theft").dump());
    ASSERT_EQ(r.status, 201) << r.body;
  };
  post();
  const auto out = dir() / "watch.out", err = dir() / "watch.err";
  Process watch({XIAONAO_REPLAY_PATH, "--url", "https://127.0.0.1:" + std::to_string(server.port()), "--ca",
                 cert_.string(), "--watch", "--since", "0"},
                {{"XIAONAO_API_KEY", test_api_key()}}, out, err);
  const auto received = [&] {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = read_file(out).find("\"type\":\"alert.received\"", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return received() == 1; }, 30s)) << read_file(out) << read_file(err);
  post();
  EXPECT_TRUE(wait_until([&] { return received() == 2; }, 30s)) << read_file(out) << read_file(err);
  EXPECT_NE(read_file(err).find("watching wss://"), std::string::npos) << read_file(err);
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_for(30s), 0) << read_file(err);
}

TEST_F(Tls, FeedWorksOverWss) {
  Server& server = start_tls_server();
  // 1. Connect, TLS handshake (the certificate checked), WebSocket upgrade with the key.
  client::WsClient ws("127.0.0.1", server.port(), "/ws/feed", 10s, auth_headers(), client::TlsTrust{cert_.string()});
  // The system's CAs do not know this self-signed certificate: no feed for such a client.
  try {
    client::WsClient untrusting("127.0.0.1", server.port(), "/ws/feed", 5s, auth_headers(), client::TlsTrust{});
    ADD_FAILURE() << "an unverified certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos) << e.what();
  }

  // 2. Two alerts, posted over TLS as well.
  for (int i = 0; i < 2; ++i) {
    auto r = tls_request(server.port(), cert_.string(), "POST", "/api/v1/alerts", auth_headers(),
                         make_alert("fraud").dump());
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // 3. Two frames arrive, in seq order, as the usual feed frames.
  std::vector<json> frames;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (frames.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    if (auto text = ws.read(1s)) frames.push_back(json::parse(*text));
  }
  ASSERT_EQ(frames.size(), 2u) << "frames over wss did not arrive";
  // The first alert's events: its incident and the alert itself, with consecutive seqs.
  std::set<std::string> types{frames[0].value("type", ""), frames[1].value("type", "")};
  EXPECT_EQ(types.count("alert.received"), 1u) << frames[0].dump() << "\n" << frames[1].dump();
  EXPECT_GT(frames[0].value("seq", 0), 0);
  EXPECT_EQ(frames[1].value("seq", 0), frames[0].value("seq", 0) + 1);

  // 4. Shutdown closes the wss feed with "going away" and the server exits cleanly.
  server.signal(SIGTERM);
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!ws.closed() && std::chrono::steady_clock::now() < until) ws.read(1s);
  EXPECT_EQ(ws.close_code(), 1001);
  const auto code = server.wait_exit(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << server.log_tail();
}

TEST_F(Tls, MissingCertificateFileStopsStartUpNamingTheKey) {
  const auto [cert, key] = make_self_signed(dir());
  ServerOptions options;
  options.env = {{"XIAONAO_HTTP_TLS_CERT", (dir() / "no-such-cert.pem").string()},
                 {"XIAONAO_HTTP_TLS_KEY", key.string()}};
  Server& server = add_server(options);
  server.spawn();
  const auto code = server.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "the server kept running without its certificate";
  EXPECT_NE(*code, 0);
  EXPECT_NE(server.log().find("http.tls_cert"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("no-such-cert.pem"), std::string::npos) << server.log();
}

TEST_F(Tls, KeyThatDoesNotFitTheCertificateStopsStartUp) {
  const auto [cert, key] = make_self_signed(dir(), "one");
  const auto [other_cert, other_key] = make_self_signed(dir(), "two");
  ServerOptions options;
  options.env = {{"XIAONAO_HTTP_TLS_CERT", cert.string()}, {"XIAONAO_HTTP_TLS_KEY", other_key.string()}};
  Server& server = add_server(options);
  server.spawn();
  const auto code = server.wait_exit(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(server.log().find("http.tls_key"), std::string::npos) << server.log();
}

TEST_F(Tls, CertificateWithoutKeyIsAConfigurationError) {
  const auto [cert, key] = make_self_signed(dir());
  ServerOptions options;
  options.env = {{"XIAONAO_HTTP_TLS_CERT", cert.string()}};
  Server& server = add_server(options);
  server.spawn();
  const auto code = server.wait_exit(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(server.log().find("http.tls_key"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace xiaonao::itest
