#pragma once

// A trigger's `conditions`: a boolean expression over dependency names with
// `&&`, `||`, `!` and parentheses, e.g. `a && (b || c)`. Names may contain
// letters, digits, `-`, `_` and `.`, as Argo's dependency names do.

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/core/result.hpp"

namespace kairos::sensors {

class condition {
 public:
  // Empty text means "every one of `all_dependencies`" (Argo's default).
  static result<condition> parse(std::string_view text,
                                 const std::vector<std::string>& all_dependencies);

  // True when the dependencies in `satisfied` make the expression true.
  bool evaluate(const std::set<std::string>& satisfied) const;
  // The dependency names the expression mentions, sorted.
  const std::vector<std::string>& names() const noexcept { return names_; }

  struct node;

 private:
  std::shared_ptr<const node> root_;
  std::vector<std::string> names_;
};

}  // namespace kairos::sensors
