// libFuzzer harness for the alert validator: any body must give a valid alert or a documented
// error, and a valid alert must survive to_json and validate again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/alert.hpp"

using namespace xiaonao::domain;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto r = parse_alert(body);
  if (!r.ok()) {
    const Error& e = r.error();
    const bool known = e.kind == ErrorKind::malformed_json || e.kind == ErrorKind::missing_field ||
                       e.kind == ErrorKind::invalid_field;
    if (!known || e.message.empty()) std::abort();
    if (e.kind == ErrorKind::missing_field && e.field.empty()) std::abort();
    if (e.kind == ErrorKind::malformed_json && !e.field.empty()) std::abort();
    return 0;
  }
  const nlohmann::json j = to_json(*r);
  const auto again = parse_alert(j.dump());
  if (!again.ok() || to_json(*again) != j) std::abort();
  return 0;
}
