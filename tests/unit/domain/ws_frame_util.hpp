#pragma once
// Test helper: frames as a client sends them (masked), which the server code never produces.
#include <cstdint>
#include <string>
#include <string_view>

#include "xiaonao/domain/ws_frame.hpp"

namespace xiaonao::domain::ws::test {

/// One masked client frame; `mask` is the 4-byte masking key.
inline std::string client_frame(Opcode op, std::string_view payload, bool fin = true,
                                std::uint32_t mask = 0x37fa213d) {
  std::string out;
  append_header(out, op, payload.size());
  if (!fin) out[0] = static_cast<char>(out[0] & 0x7F);
  out[1] = static_cast<char>(out[1] | 0x80);
  const unsigned char key[4] = {static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
                                static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

}  // namespace xiaonao::domain::ws::test
