#pragma once

#include <span>
#include <string_view>

namespace kairos::store::detail {

struct migration {
  int version;
  std::string_view sql;
};

// Every schema change, oldest first, numbered 1, 2, ... without gaps. A
// migration, once released, is never edited: a change is a new entry.
std::span<const migration> migrations();

inline int latest_schema_version() {
  return static_cast<int>(migrations().size());
}

}  // namespace kairos::store::detail
