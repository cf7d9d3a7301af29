#pragma once
/// WebSocket framing (RFC 6455) for the server side of the feed, with no I/O: encoding the
/// frames the server sends (unmasked) and incrementally parsing the frames a client sends
/// (always masked). The session in `http` owns the socket; this only turns bytes into events
/// and events into bytes, so that queued frames can leave in one socket write.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace xiaonao::domain::ws {

/// Frame opcodes of RFC 6455 section 5.2.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes this module produces or checks (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t no_status = 1005;  ///< a close frame without a code; never sent
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_code

/// The largest frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask.
inline constexpr std::size_t max_header_size = 14;
/// Control frames carry at most this many payload bytes.
inline constexpr std::size_t max_control_payload = 125;

/// Appends the header of one unmasked, final frame with a payload of `length` bytes to `out`
/// (2, 4 or 10 bytes: the 7-, 16- or 64-bit length form, whichever is shortest).
void append_header(std::string& out, Opcode op, std::uint64_t length);

/// Appends one whole unmasked, final frame (header and payload) to `out`.
void append_frame(std::string& out, Opcode op, std::string_view payload);

/// One whole unmasked, final text frame carrying `payload`: the feed encodes each event once
/// this way, and every subscriber's write sends the same bytes.
std::string text_frame(std::string_view payload);
/// The same for a payload given in pieces (their concatenation), written once, in place.
std::string text_frame(std::initializer_list<std::string_view> payload);

/// Appends a close frame with `code` and `reason` (cut to the 123 bytes that fit, on a UTF-8
/// character boundary). `code` = close_code::no_status appends a close frame without a body.
void append_close(std::string& out, std::uint16_t code, std::string_view reason);

/// True for a close code a peer may put on the wire (1000–1003, 1007–1014, 3000–4999).
bool is_valid_close_code(std::uint16_t code);

/// One complete thing a client sent: a control frame, or a whole (reassembled) data message.
struct ClientEvent {
  Opcode op{Opcode::text};  ///< text, binary, close, ping or pong; never continuation
  std::string payload;      ///< ping/pong data, a data message, or a close frame's reason
  std::uint16_t code{0};    ///< for close: the peer's code, or close_code::no_status
  bool operator==(const ClientEvent&) const = default;
};

/// Parses the byte stream a client sends (or, see Sender, a server), in pieces of any size. Enforces what RFC 6455 asks
/// of a server: every client frame masked, no reserved bits (no extension is negotiated), no
/// reserved opcodes, control frames final and at most 125 bytes, continuation only inside a
/// fragmented message, lengths in their shortest form, valid close codes. A data message
/// (all its fragments together) over `max_message` bytes fails the connection with 1009, as
/// soon as its header announces it. Text is not checked for UTF-8: the feed ignores what
/// clients send other than control frames.
class FrameParser {
 public:
  /// Who sends the bytes parsed: a client masks every frame, a server never does (RFC 6455 5.1).
  enum class Sender { client, server };

  /// `sender` = server turns this into the client side's parser (the benchmark's subscribers):
  /// frames must then be unmasked, and everything else is checked the same way.
  explicit FrameParser(std::size_t max_message = 4096, Sender sender = Sender::client)
      : max_message_(max_message), masked_(sender == Sender::client) {}

  /// Consumes `bytes`, appending each completed event to `out` in order. Returns 0 while the
  /// stream is valid, else the close code to fail the connection with (1002 or 1009); once
  /// failed, it ignores further input and keeps returning that code. Events completed before
  /// the error are still appended.
  std::uint16_t feed(std::string_view bytes, std::vector<ClientEvent>& out);

  /// One completed event, seen in place: `payload` points into `bytes` (an unmasked frame that
  /// arrived whole in one piece), or into the parser's own buffers, and is valid only during
  /// the call to EventSink::on_event.
  struct EventView {
    Opcode op;
    std::string_view payload;
    std::uint16_t code;  ///< for close, as in ClientEvent
  };
  class EventSink {
   public:
    virtual void on_event(const EventView& ev) = 0;

   protected:
    ~EventSink() = default;
  };
  /// The same, handing each event to `sink` without copying it: a reader of many frames (the
  /// benchmark's subscribers, 300,000 a second) allocates nothing per frame.
  std::uint16_t feed(std::string_view bytes, EventSink& sink);

  /// The code of the first error, or 0.
  std::uint16_t error() const { return error_; }
  /// Bytes held back waiting for the rest of a frame (at most a header plus max_message).
  std::size_t buffered() const { return buf_.size(); }

 private:
  // Returns bytes consumed from `data` starting at `pos` (0 = needs more input); sets error_.
  std::size_t parse_one(std::string_view data, std::size_t pos, EventSink& sink);
  std::uint16_t fail(std::uint16_t code);

  std::size_t max_message_;
  bool masked_;                 // frames must be masked (from a client) or must not be (from a server)
  std::string buf_;             // unparsed input
  std::string message_;         // fragments of a data message received so far
  std::string unmasked_;        // a masked frame's payload, unmasked
  Opcode message_op_{Opcode::text};
  bool in_message_{false};
  std::uint16_t error_{0};
};

}  // namespace xiaonao::domain::ws
