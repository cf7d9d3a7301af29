#include "xiaonao/domain/ws_frame.hpp"

namespace xiaonao::domain::ws {

namespace {
bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

bool is_known(std::uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

// How many bytes of `s` (at most `limit`) end on a UTF-8 character boundary.
std::size_t utf8_cut(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return s.size();
  std::size_t n = limit;
  // Step back over continuation bytes (10xxxxxx) so that no character is split.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}
}  // namespace

void append_header(std::string& out, Opcode op, std::uint64_t length) {
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(op)));  // FIN + opcode
  if (length < 126) {
    out.push_back(static_cast<char>(length));
  } else if (length <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((length >> 8) & 0xFF));
    out.push_back(static_cast<char>(length & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xFF));
  }
}

void append_frame(std::string& out, Opcode op, std::string_view payload) {
  append_header(out, op, payload.size());
  out.append(payload);
}

std::string text_frame(std::string_view payload) { return text_frame({payload}); }

std::string text_frame(std::initializer_list<std::string_view> payload) {
  std::size_t n = 0;
  for (const auto part : payload) n += part.size();
  std::string out;
  out.reserve(n + 10);
  append_header(out, Opcode::text, n);
  for (const auto part : payload) out.append(part);
  return out;
}

void append_close(std::string& out, std::uint16_t code, std::string_view reason) {
  if (code == close_code::no_status) return append_header(out, Opcode::close, 0);
  const auto n = utf8_cut(reason, max_control_payload - 2);
  append_header(out, Opcode::close, 2 + n);
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.substr(0, n));
}

bool is_valid_close_code(std::uint16_t code) {
  // 1004-1006 and 1015 are reserved for reporting and must never appear on the wire; 1016-2999
  // are for future RFCs; 3000-4999 are for libraries and applications.
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

std::uint16_t FrameParser::fail(std::uint16_t code) {
  error_ = code;
  buf_.clear();
  buf_.shrink_to_fit();
  message_.clear();
  message_.shrink_to_fit();
  return code;
}

std::uint16_t FrameParser::feed(std::string_view bytes, std::vector<ClientEvent>& out) {
  struct Copy final : EventSink {
    std::vector<ClientEvent>& out;
    explicit Copy(std::vector<ClientEvent>& o) : out(o) {}
    void on_event(const EventView& ev) override { out.push_back({ev.op, std::string(ev.payload), ev.code}); }
  } copy(out);
  return feed(bytes, copy);
}

std::uint16_t FrameParser::feed(std::string_view bytes, EventSink& sink) {
  if (error_) return error_;
  // Whole frames are parsed where they lie: in `bytes` when nothing is held back (the usual
  // case), else in buf_ with `bytes` appended. Only an incomplete tail is copied.
  const bool direct = buf_.empty();
  if (!direct) buf_.append(bytes);
  const std::string_view data = direct ? bytes : std::string_view(buf_);
  std::size_t pos = 0;
  while (pos < data.size()) {
    const auto used = parse_one(data, pos, sink);
    if (error_) return error_;
    if (used == 0) break;
    pos += used;
  }
  if (direct) {
    buf_.assign(bytes.substr(pos));
  } else {
    buf_.erase(0, pos);
  }
  return 0;
}

std::size_t FrameParser::parse_one(std::string_view data, std::size_t pos, EventSink& sink) {
  const auto avail = data.size() - pos;
  if (avail < 2) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
  const bool fin = (p[0] & 0x80) != 0;
  const std::uint8_t op_bits = p[0] & 0x0F;
  const bool masked = (p[1] & 0x80) != 0;
  std::uint64_t length = p[1] & 0x7F;

  // Checks that need only the first two bytes come first, so a bad stream fails as early as
  // it can be recognised.
  if ((p[0] & 0x70) != 0) { fail(close_code::protocol_error); return 0; }  // RSV1-3: no extension
  if (!is_known(op_bits)) { fail(close_code::protocol_error); return 0; }
  const auto op = static_cast<Opcode>(op_bits);
  if (masked != masked_) { fail(close_code::protocol_error); return 0; }  // clients mask, servers not (5.1)
  if (is_control(op)) {
    if (!fin || length > max_control_payload) { fail(close_code::protocol_error); return 0; }
  } else if (op == Opcode::continuation) {
    if (!in_message_) { fail(close_code::protocol_error); return 0; }
  } else if (in_message_) {
    fail(close_code::protocol_error);  // a new message before the last one's final fragment
    return 0;
  }

  std::size_t header = 2;
  if (length == 126) {
    if (avail < 4) return 0;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    if (length < 126) { fail(close_code::protocol_error); return 0; }  // not the shortest form
    header = 4;
  } else if (length == 127) {
    if (avail < 10) return 0;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
    if ((length >> 63) != 0 || length <= 0xFFFF) { fail(close_code::protocol_error); return 0; }
    header = 10;
  }
  if (!is_control(op)) {
    // Fail on the announced size, before buffering any of it.
    const auto so_far = in_message_ ? message_.size() : 0;
    if (length > max_message_ || so_far + length > max_message_) { fail(close_code::too_big); return 0; }
  }
  if (masked_) header += 4;  // the masking key
  if (avail < header || avail - header < length) return 0;

  std::string_view payload(reinterpret_cast<const char*>(p + header), static_cast<std::size_t>(length));
  if (masked_) {
    const unsigned char* key = p + header - 4;
    unmasked_.assign(payload);
    for (std::size_t i = 0; i < unmasked_.size(); ++i) unmasked_[i] = static_cast<char>(unmasked_[i] ^ key[i & 3]);
    payload = unmasked_;
  }
  const std::size_t used = header + static_cast<std::size_t>(length);
  if (fin && (op == Opcode::text || op == Opcode::binary)) {
    // A whole message in one frame (nearly all of them): no detour through message_.
    sink.on_event({op, payload, 0});
    return used;
  }

  switch (op) {
    case Opcode::ping:
    case Opcode::pong:
      sink.on_event({op, payload, 0});
      break;
    case Opcode::close: {
      EventView ev{Opcode::close, {}, close_code::no_status};
      if (payload.size() == 1) { fail(close_code::protocol_error); return 0; }
      if (payload.size() >= 2) {
        ev.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                             static_cast<unsigned char>(payload[1]));
        if (!is_valid_close_code(ev.code)) { fail(close_code::protocol_error); return 0; }
        ev.payload = payload.substr(2);
      }
      sink.on_event(ev);
      break;
    }
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
      if (op != Opcode::continuation) {
        in_message_ = true;
        message_op_ = op;
        message_.clear();
      }
      message_ += payload;
      if (fin) {
        in_message_ = false;
        sink.on_event({message_op_, message_, 0});
        message_.clear();
      }
      break;
  }
  return used;
}

}  // namespace xiaonao::domain::ws
