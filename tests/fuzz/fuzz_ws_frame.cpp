// libFuzzer harness for the WebSocket frame parser (client bytes reach it unchecked): the
// first input byte picks where to split the rest; parsing in two pieces, byte by byte and whole
// must give the same events and the same verdict, the verdict must be 0, 1002 or 1009, and
// nothing more than one frame may be buffered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "xiaonao/domain/ws_frame.hpp"

using namespace xiaonao::domain::ws;

namespace {
constexpr std::size_t kMax = 4096;

struct Outcome {
  std::vector<ClientEvent> events;
  std::uint16_t error{0};
};

void check_bound(const FrameParser& p) {
  if (p.buffered() > max_header_size + kMax) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cut_hint = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome whole;
  {
    FrameParser p(kMax);
    whole.error = p.feed(bytes, whole.events);
    check_bound(p);
  }
  if (whole.error != 0 && whole.error != close_code::protocol_error && whole.error != close_code::too_big)
    std::abort();
  for (const auto& ev : whole.events) {
    if (ev.op == Opcode::continuation) std::abort();
    if ((ev.op == Opcode::ping || ev.op == Opcode::pong) && ev.payload.size() > max_control_payload) std::abort();
    if (ev.op == Opcode::close && ev.code != close_code::no_status && !is_valid_close_code(ev.code)) std::abort();
    if ((ev.op == Opcode::text || ev.op == Opcode::binary) && ev.payload.size() > kMax) std::abort();
  }

  Outcome two;
  {
    FrameParser p(kMax);
    const auto cut = bytes.empty() ? 0 : cut_hint * bytes.size() / 255;
    two.error = p.feed(bytes.substr(0, cut), two.events);
    check_bound(p);
    two.error = p.feed(bytes.substr(cut), two.events);
    check_bound(p);
  }
  if (two.error != whole.error || two.events != whole.events) std::abort();

  Outcome single;
  {
    FrameParser p(kMax);
    for (char c : bytes) {
      single.error = p.feed(std::string_view(&c, 1), single.events);
      check_bound(p);
    }
    if (bytes.empty()) single.error = p.error();
  }
  if (single.error != whole.error || single.events != whole.events) std::abort();
  return 0;
}
