#include "listen_address.hpp"

#include <charconv>

namespace kairos::cli {

result<listen_address> parse_listen_address(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(errc::invalid_argument,
                      "invalid --listen \"" + std::string(text) + "\": " + std::string(why));
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("want HOST:PORT");
  listen_address out;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return bad("empty host");
  out.host = std::string(host);
  auto port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace kairos::cli
