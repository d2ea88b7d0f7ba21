#pragma once

#include <string_view>

namespace kairos {

inline constexpr std::string_view version = "0.1.0";

}  // namespace kairos
