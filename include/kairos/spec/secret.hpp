#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kairos/core/result.hpp"

namespace kairos::spec {

// A Kubernetes secretKeyRef: `{name, key}`. kairos resolves it to the file
// `<data-dir>/secrets/<name>/<key>`.
struct secret_key_selector {
  std::string name;
  std::string key;
  bool optional = false;
};

// A secret's value. It formats as "<redacted>" so it cannot reach a log line
// by accident; `reveal()` is the one deliberate way to read it.
class secret_value {
 public:
  secret_value() = default;
  explicit secret_value(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

class secret_resolver {
 public:
  explicit secret_resolver(std::filesystem::path data_dir);
  // Rejects names and keys that would escape the secrets directory. A missing
  // optional secret resolves to an empty value.
  result<secret_value> resolve(const secret_key_selector& ref) const;
  std::filesystem::path path_of(const secret_key_selector& ref) const;

 private:
  std::filesystem::path root_;
};

}  // namespace kairos::spec

template <>
struct fmt::formatter<kairos::spec::secret_value> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const kairos::spec::secret_value&, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format("<redacted>", ctx);
  }
};
