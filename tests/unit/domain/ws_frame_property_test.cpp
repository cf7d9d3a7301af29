// Property tests for the WebSocket frame parser (it reads bytes from the outside): whatever
// arrives, in whatever pieces, the parser gives the same events and the same verdict as when
// the bytes arrive whole, never buffers more than one frame, and never crashes. Random inputs
// come from a fixed seed so a failure is repeatable. tests/fuzz/fuzz_ws_frame.cpp is the
// coverage-guided cousin.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ws_frame_util.hpp"
#include "xiaonao/domain/ws_frame.hpp"

namespace xiaonao::domain::ws {
namespace {

constexpr std::uint64_t kSeed = 20261127;
constexpr std::size_t kMax = 4096;

struct Outcome {
  std::vector<ClientEvent> events;
  std::uint16_t error{0};
};

Outcome parse_whole(std::string_view bytes) {
  FrameParser p(kMax);
  Outcome o;
  o.error = p.feed(bytes, o.events);
  return o;
}

// Feeds `bytes` in pieces ending at the given cut points, checking the buffering bound.
Outcome parse_split(std::string_view bytes, std::vector<std::size_t> cuts) {
  FrameParser p(kMax);
  Outcome o;
  std::size_t at = 0;
  cuts.push_back(bytes.size());
  for (auto cut : cuts) {
    if (cut < at) continue;
    o.error = p.feed(bytes.substr(at, cut - at), o.events);
    EXPECT_LE(p.buffered(), max_header_size + kMax);
    at = cut;
  }
  return o;
}

std::vector<std::size_t> random_cuts(std::mt19937_64& rng, std::size_t size) {
  std::vector<std::size_t> cuts;
  if (size == 0) return cuts;
  const auto n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < n; ++i) cuts.push_back(std::uniform_int_distribution<std::size_t>(0, size)(rng));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

std::string random_payload(std::mt19937_64& rng, std::size_t max_len) {
  // Mostly short, sometimes long enough for the 16-bit length form.
  const bool big = std::uniform_int_distribution<int>(0, 5)(rng) == 0;
  const auto len = std::uniform_int_distribution<std::size_t>(0, big ? max_len : std::min<std::size_t>(max_len, 40))(rng);
  std::string s(len, '\0');
  for (auto& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
  return s;
}

// A valid client stream: messages (some fragmented, with control frames between fragments)
// and control frames, ending with a close now and then. Returns the events it must give.
std::string random_valid_stream(std::mt19937_64& rng, std::vector<ClientEvent>& expected) {
  std::string bytes;
  const auto items = std::uniform_int_distribution<int>(1, 10)(rng);
  auto mask = [&] { return static_cast<std::uint32_t>(rng()); };
  auto control = [&] {
    const bool ping = std::uniform_int_distribution<int>(0, 1)(rng) == 0;
    const auto op = ping ? Opcode::ping : Opcode::pong;
    auto payload = random_payload(rng, max_control_payload);
    bytes += test::client_frame(op, payload, true, mask());
    expected.push_back({op, payload, 0});
  };
  for (int i = 0; i < items; ++i) {
    switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
      case 0:
        control();
        break;
      case 1: {
        const auto op = std::uniform_int_distribution<int>(0, 1)(rng) ? Opcode::text : Opcode::binary;
        auto payload = random_payload(rng, 1500);
        bytes += test::client_frame(op, payload, true, mask());
        expected.push_back({op, payload, 0});
        break;
      }
      default: {
        const auto op = std::uniform_int_distribution<int>(0, 1)(rng) ? Opcode::text : Opcode::binary;
        const auto parts = std::uniform_int_distribution<int>(2, 4)(rng);
        std::string whole;
        for (int k = 0; k < parts; ++k) {
          auto piece = random_payload(rng, 1000);
          whole += piece;
          bytes += test::client_frame(k == 0 ? op : Opcode::continuation, piece, k == parts - 1, mask());
          if (k < parts - 1 && std::uniform_int_distribution<int>(0, 2)(rng) == 0) control();
        }
        expected.push_back({op, whole, 0});
        break;
      }
    }
  }
  if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
    std::string body("\x03\xe8", 2);
    body += "done";
    bytes += test::client_frame(Opcode::close, body, true, mask());
    expected.push_back({Opcode::close, "done", close_code::normal});
  }
  return bytes;
}

TEST(WsFrameProperty, ValidStreamsSplitAnywhereParseAsWhole) {
  std::mt19937_64 rng(kSeed);
  for (int round = 0; round < 2000; ++round) {
    std::vector<ClientEvent> expected;
    const auto bytes = random_valid_stream(rng, expected);
    const auto whole = parse_whole(bytes);
    ASSERT_EQ(whole.error, 0) << "round " << round;
    ASSERT_EQ(whole.events, expected) << "round " << round;
    const auto split = parse_split(bytes, random_cuts(rng, bytes.size()));
    ASSERT_EQ(split.error, 0) << "round " << round;
    ASSERT_EQ(split.events, expected) << "round " << round;
  }
}

TEST(WsFrameProperty, RandomBytesSplitAnywhereGiveTheSameVerdict) {
  std::mt19937_64 rng(kSeed + 1);
  for (int round = 0; round < 5000; ++round) {
    const auto len = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    // Half of the inputs get a plausible first header (masked, small, known opcode) so the
    // parser gets past the first two bytes more often than chance allows.
    if (len >= 2 && round % 2 == 0) {
      bytes[0] = static_cast<char>(0x80 | (round % 4 == 0 ? 0x1 : 0x9));
      bytes[1] = static_cast<char>(0x80 | (bytes[1] & 0x3F));
    }
    const auto whole = parse_whole(bytes);
    EXPECT_TRUE(whole.error == 0 || whole.error == close_code::protocol_error || whole.error == close_code::too_big);
    const auto split = parse_split(bytes, random_cuts(rng, bytes.size()));
    ASSERT_EQ(split.error, whole.error) << "round " << round;
    ASSERT_EQ(split.events, whole.events) << "round " << round;
  }
}

TEST(WsFrameProperty, CorruptedValidStreamsSplitAnywhereGiveTheSameVerdict) {
  std::mt19937_64 rng(kSeed + 2);
  for (int round = 0; round < 2000; ++round) {
    std::vector<ClientEvent> expected;
    auto bytes = random_valid_stream(rng, expected);
    const auto flips = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int i = 0; i < flips; ++i) {
      const auto at = std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(rng);
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << std::uniform_int_distribution<int>(0, 7)(rng)));
    }
    const auto whole = parse_whole(bytes);
    const auto split = parse_split(bytes, random_cuts(rng, bytes.size()));
    ASSERT_EQ(split.error, whole.error) << "round " << round;
    ASSERT_EQ(split.events, whole.events) << "round " << round;
  }
}

}  // namespace
}  // namespace xiaonao::domain::ws
