#pragma once

// Readers shared by the EventSource and Sensor readers: Argo Events types
// both kinds use (secrets, TLS, SASL, backoff) and small checks. Defined in
// event_source_reader.cpp.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"
#include "readers.hpp"
#include "yaml_reader.hpp"

namespace kairos::spec {

void read_fields(map_reader& m, tls_config& out);
void read_fields(map_reader& m, sasl_config& out);
void read_fields(map_reader& m, event_backoff& out);

template <class E>
struct enum_choice {
  std::string_view name;
  E value;
};

// "'x' is not one of a, b, c (did you mean b?)", as map_reader::optional_enum
// words it.
std::string not_one_of(std::string_view value, std::span<const std::string_view> names);

// An optional enum-valued string mapped onto E. Values in `unsupported` are
// Argo's but not kairos's, and are reported as such rather than as typos.
template <class E, std::size_t N>
bool read_enum(map_reader& m, std::string_view key, E& out, const enum_choice<E> (&choices)[N],
               std::initializer_list<std::string_view> unsupported = {}) {
  std::string text;
  const bool present = m.has(key);
  // optional() also declares the key, so an absent key still counts for
  // did-you-mean hints.
  if (!m.optional(key, text)) return false;
  if (!present) return true;
  for (const auto& c : choices) {
    if (c.name == text) {
      out = c.value;
      return true;
    }
  }
  std::vector<std::string_view> names;
  for (const auto& c : choices) names.push_back(c.name);
  for (auto u : unsupported) {
    if (u == text) {
      std::string supported;
      for (auto n : names) supported += (supported.empty() ? "" : ", ") + std::string(n);
      m.error(key, "'" + text + "' is not supported by kairos (supported: " + supported + ")");
      return false;
    }
  }
  m.error(key, not_one_of(text, names));
  return false;
}

// A Go duration string ("10s", "1h30m"). Reports and returns nullopt on a
// bad value; an absent key returns nullopt silently.
std::optional<std::chrono::nanoseconds> read_go_duration(map_reader& m, std::string_view key,
                                                         bool must_be_positive);

// Empty when `zone` names an IANA time zone, else what is wrong.
std::string check_timezone(std::string_view zone);

// Reads an optional `timezone`-like key and checks it.
void read_timezone(map_reader& m, std::string_view key, std::string& out);

// A TCP port as Argo writes it (a string or number), 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view text);

// Comma-separated host:port list (Kafka bootstrap brokers). Empty when valid.
std::string check_broker_list(std::string_view text);

}  // namespace kairos::spec
