#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "source.hpp"

namespace kairos::eventsources {

using source_factory = result<std::vector<std::unique_ptr<source>>> (*)(
    const source_context&, const spec::event_source_spec&);

// One source type: its spec key, how many events of it a spec has, and how
// to build them (null: the type is read by spec/ but not run yet).
struct registry_entry {
  std::string_view type;
  std::size_t (*count)(const spec::event_source_spec&);
  source_factory build;
};

// The explicit table of source types; no static registration.
std::span<const registry_entry> source_types();

}  // namespace kairos::eventsources
