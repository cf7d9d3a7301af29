#include "xiaonao/domain/ws_frame.hpp"

#include <gtest/gtest.h>

#include "ws_frame_util.hpp"

namespace xiaonao::domain::ws {
namespace {

using test::client_frame;

std::vector<ClientEvent> parse_all(std::string_view bytes, std::uint16_t expect_error = 0, std::size_t max = 4096) {
  FrameParser p(max);
  std::vector<ClientEvent> out;
  EXPECT_EQ(p.feed(bytes, out), expect_error);
  EXPECT_EQ(p.error(), expect_error);
  return out;
}

// --- encoding ------------------------------------------------------------------------------

TEST(WsFrameEncode, ShortLengthUsesSevenBits) {
  std::string out;
  append_frame(out, Opcode::text, "hi");
  EXPECT_EQ(out, std::string("\x81\x02hi", 4));
  out.clear();
  append_header(out, Opcode::text, 125);
  EXPECT_EQ(out, std::string("\x81\x7d", 2));
}

TEST(WsFrameEncode, TextFrameIsTheWholeFrameOfItsPayload) {
  EXPECT_EQ(text_frame("{}"), std::string("\x81\x02{}", 4));
  const std::string json(300, 'x');
  std::string expected;
  append_frame(expected, Opcode::text, json);
  EXPECT_EQ(text_frame(json), expected);
  EXPECT_EQ(text_frame(json).substr(0, 4), std::string("\x81\x7e\x01\x2c", 4));
  // In pieces: the frame of their concatenation.
  EXPECT_EQ(text_frame({"{\"a\":", "", "1", "}"}), text_frame("{\"a\":1}"));
  EXPECT_EQ(text_frame({json.substr(0, 200), json.substr(200)}), expected);
}

TEST(WsFrameEncode, MediumLengthUsesSixteenBits) {
  std::string out;
  append_header(out, Opcode::text, 126);
  EXPECT_EQ(out, std::string("\x81\x7e\x00\x7e", 4));
  out.clear();
  append_header(out, Opcode::binary, 65535);
  EXPECT_EQ(out, std::string("\x82\x7e\xff\xff", 4));
}

TEST(WsFrameEncode, LongLengthUsesSixtyFourBits) {
  std::string out;
  append_header(out, Opcode::text, 65536);
  EXPECT_EQ(out, std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  out.clear();
  append_header(out, Opcode::text, 0x0102030405060708ULL);
  EXPECT_EQ(out, std::string("\x81\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10));
}

TEST(WsFrameEncode, ControlFrames) {
  std::string out;
  append_frame(out, Opcode::ping, "");
  append_frame(out, Opcode::pong, "ab");
  EXPECT_EQ(out, std::string("\x89\x00\x8a\x02" "ab", 6));
}

TEST(WsFrameEncode, CloseCarriesCodeAndReason) {
  std::string out;
  append_close(out, 4001, "slow");
  EXPECT_EQ(out, std::string("\x88\x06\x0f\xa1slow", 8));
  out.clear();
  append_close(out, close_code::no_status, "ignored");
  EXPECT_EQ(out, std::string("\x88\x00", 2));
}

TEST(WsFrameEncode, CloseReasonIsCutToFitOnACharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 60; ++i) reason += "警";  // 3 bytes each: 180 bytes
  std::string out;
  append_close(out, 1001, reason);
  // 123 bytes would end inside a character; 41 whole characters are 123 bytes exactly.
  ASSERT_EQ(static_cast<unsigned char>(out[1]), 2u + 123u);
  EXPECT_EQ(out.substr(4), reason.substr(0, 123));
  reason = "a" + reason;  // now a 123-byte cut splits a character: step back to 121
  out.clear();
  append_close(out, 1001, reason);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 2u + 121u);
}

TEST(WsFrameEncode, ValidCloseCodes) {
  for (std::uint16_t c : {1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4001, 4999})
    EXPECT_TRUE(is_valid_close_code(c)) << c;
  for (std::uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
    EXPECT_FALSE(is_valid_close_code(c)) << c;
}

// --- parsing -------------------------------------------------------------------------------

TEST(WsFrameParse, MaskedTextPingPong) {
  const auto bytes = client_frame(Opcode::text, "hello") + client_frame(Opcode::ping, "p1") +
                     client_frame(Opcode::pong, "");
  const auto ev = parse_all(bytes);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0], (ClientEvent{Opcode::text, "hello", 0}));
  EXPECT_EQ(ev[1], (ClientEvent{Opcode::ping, "p1", 0}));
  EXPECT_EQ(ev[2], (ClientEvent{Opcode::pong, "", 0}));
}

TEST(WsFrameParse, CloseWithCodeAndReason) {
  const auto ev = parse_all(client_frame(Opcode::close, std::string("\x03\xe8" "bye", 5)));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], (ClientEvent{Opcode::close, "bye", 1000}));
}

TEST(WsFrameParse, CloseWithoutBodyIsNoStatus) {
  const auto ev = parse_all(client_frame(Opcode::close, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].code, close_code::no_status);
}

TEST(WsFrameParse, SixteenAndSixtyFourBitLengths) {
  const std::string medium(300, 'm');
  const std::string large(70000, 'l');
  const auto ev = parse_all(client_frame(Opcode::binary, medium) + client_frame(Opcode::text, large), 0, 100000);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], (ClientEvent{Opcode::binary, medium, 0}));
  EXPECT_EQ(ev[1], (ClientEvent{Opcode::text, large, 0}));
}

TEST(WsFrameParse, FragmentedMessageWithPingInBetween) {
  const auto bytes = client_frame(Opcode::text, "ab", false) + client_frame(Opcode::ping, "x") +
                     client_frame(Opcode::continuation, "cd", false) + client_frame(Opcode::continuation, "e");
  const auto ev = parse_all(bytes);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], (ClientEvent{Opcode::ping, "x", 0}));
  EXPECT_EQ(ev[1], (ClientEvent{Opcode::text, "abcde", 0}));
}

TEST(WsFrameParse, ByteByByteGivesTheSameEvents) {
  const auto bytes = client_frame(Opcode::text, std::string(200, 'z')) + client_frame(Opcode::ping, "q") +
                     client_frame(Opcode::close, std::string("\x0f\xa1", 2));
  FrameParser p;
  std::vector<ClientEvent> out;
  for (char c : bytes) ASSERT_EQ(p.feed(std::string_view(&c, 1), out), 0);
  EXPECT_EQ(out, parse_all(bytes));
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(WsFrameParse, UnmaskedClientFrameIsAProtocolError) {
  std::string unmasked;
  append_frame(unmasked, Opcode::text, "hi");
  parse_all(unmasked, close_code::protocol_error);
}

TEST(WsFrameParse, ReservedBitsAndOpcodesAreProtocolErrors) {
  auto rsv = client_frame(Opcode::text, "hi");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  parse_all(rsv, close_code::protocol_error);
  for (std::uint8_t op : {3, 7, 0xB, 0xF}) {
    auto f = client_frame(Opcode::text, "hi");
    f[0] = static_cast<char>(0x80 | op);
    parse_all(f, close_code::protocol_error);
  }
}

TEST(WsFrameParse, FragmentedOrLongControlFramesAreProtocolErrors) {
  parse_all(client_frame(Opcode::ping, "x", false), close_code::protocol_error);
  parse_all(client_frame(Opcode::ping, std::string(126, 'p')), close_code::protocol_error);
  parse_all(client_frame(Opcode::close, std::string(126, 'p')), close_code::protocol_error);
  // 125 bytes is still allowed.
  EXPECT_EQ(parse_all(client_frame(Opcode::ping, std::string(125, 'p'))).size(), 1u);
}

TEST(WsFrameParse, ContinuationOutOfPlaceIsAProtocolError) {
  parse_all(client_frame(Opcode::continuation, "x"), close_code::protocol_error);
  parse_all(client_frame(Opcode::text, "a", false) + client_frame(Opcode::text, "b"), close_code::protocol_error);
}

TEST(WsFrameParse, BadCloseBodiesAreProtocolErrors) {
  parse_all(client_frame(Opcode::close, "x"), close_code::protocol_error);
  parse_all(client_frame(Opcode::close, std::string("\x03\xed", 2)), close_code::protocol_error);  // 1005
  parse_all(client_frame(Opcode::close, std::string("\x03\xe7", 2)), close_code::protocol_error);  // 999
}

TEST(WsFrameParse, LengthsNotInTheShortestFormAreProtocolErrors) {
  // 5 bytes announced in the 16-bit form.
  std::string f("\x81\xfe\x00\x05" "\x00\x00\x00\x00" "hello", 13);
  parse_all(f, close_code::protocol_error);
  // 200 bytes announced in the 64-bit form.
  std::string g("\x81\xff\x00\x00\x00\x00\x00\x00\x00\xc8" "\x00\x00\x00\x00", 14);
  g += std::string(200, 'x');
  parse_all(g, close_code::protocol_error, 100000);
  // The most significant bit of a 64-bit length must be 0.
  std::string h("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  parse_all(h, close_code::protocol_error);
}

TEST(WsFrameParse, OversizedMessageFailsOnItsHeaderAlone) {
  const auto f = client_frame(Opcode::text, std::string(4097, 'x'));
  FrameParser p;
  std::vector<ClientEvent> out;
  EXPECT_EQ(p.feed(std::string_view(f).substr(0, 4), out), close_code::too_big);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parse_all(client_frame(Opcode::text, std::string(4096, 'x'))).size(), 1u);
}

TEST(WsFrameParse, OversizedFragmentedMessageIsTooBig) {
  const auto bytes = client_frame(Opcode::binary, std::string(3000, 'a'), false) +
                     client_frame(Opcode::continuation, std::string(1097, 'b'));
  parse_all(bytes, close_code::too_big);
}

TEST(WsFrameParse, EventsBeforeAnErrorAreKeptAndLaterInputIgnored) {
  std::string unmasked;
  append_frame(unmasked, Opcode::ping, "");
  FrameParser p;
  std::vector<ClientEvent> out;
  EXPECT_EQ(p.feed(client_frame(Opcode::ping, "a") + unmasked + client_frame(Opcode::ping, "b"), out),
            close_code::protocol_error);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "a");
  EXPECT_EQ(p.feed(client_frame(Opcode::ping, "c"), out), close_code::protocol_error);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(WsFrameParse, ServerSideFramesMustBeUnmasked) {
  std::string from_server;
  append_frame(from_server, Opcode::text, std::string(300, 's'));
  append_close(from_server, 4001, "slow");
  FrameParser p(4096, FrameParser::Sender::server);
  std::vector<ClientEvent> out;
  ASSERT_EQ(p.feed(from_server, out), 0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (ClientEvent{Opcode::text, std::string(300, 's'), 0}));
  EXPECT_EQ(out[1], (ClientEvent{Opcode::close, "slow", 4001}));
  FrameParser q(4096, FrameParser::Sender::server);
  EXPECT_EQ(q.feed(client_frame(Opcode::text, "masked"), out), close_code::protocol_error);
}

// The sink form reads whole frames where they lie: a frame that arrived in one piece is seen
// inside the caller's bytes (no copy); one cut across two reads is seen whole, once.
TEST(WsFrameParse, TheSinkSeesWholeFramesInPlace) {
  struct Seen final : FrameParser::EventSink {
    std::string_view bytes;
    std::vector<ClientEvent> events;
    std::vector<bool> in_place;
    void on_event(const FrameParser::EventView& ev) override {
      events.push_back({ev.op, std::string(ev.payload), ev.code});
      in_place.push_back(ev.payload.data() >= bytes.data() && ev.payload.data() < bytes.data() + bytes.size());
    }
  } seen;
  std::string stream;
  append_frame(stream, Opcode::text, "first");
  append_frame(stream, Opcode::text, "second");
  const auto cut = stream.size() - 3;  // inside "second"
  FrameParser p(4096, FrameParser::Sender::server);
  seen.bytes = std::string_view(stream).substr(0, cut);
  ASSERT_EQ(p.feed(seen.bytes, seen), 0);
  EXPECT_EQ(p.buffered(), cut - 7);  // the cut frame's header and the 3 bytes of it so far
  seen.bytes = std::string_view(stream).substr(cut);
  ASSERT_EQ(p.feed(seen.bytes, seen), 0);
  EXPECT_EQ(p.buffered(), 0u);
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_EQ(seen.events[0], (ClientEvent{Opcode::text, "first", 0}));
  EXPECT_EQ(seen.events[1], (ClientEvent{Opcode::text, "second", 0}));
  EXPECT_EQ(seen.in_place, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace xiaonao::domain::ws
