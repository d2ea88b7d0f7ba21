#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kairos/core/result.hpp"

namespace kairos::cli {

struct listen_address {
  std::string host;
  std::uint16_t port = 0;
};

// "HOST:PORT", "[v6]:PORT"; port 0 is allowed (the kernel picks one).
result<listen_address> parse_listen_address(std::string_view text);

}  // namespace kairos::cli
