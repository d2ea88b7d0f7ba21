#include "kairos/core/placeholders.hpp"

#include "expr_value.hpp"
#include "kairos/core/expr.hpp"

namespace kairos::placeholders {

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\n\r\v\f";
  const auto b = s.find_first_not_of(space);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(space);
  return s.substr(b, e - b + 1);
}

// Calls `tag(whole, inner)` for each `{{...}}` and `text(chunk)` for what
// lies between; a `{{` with no closing `}}` is plain text, as in Argo's
// fasttemplate.
template <class Text, class Tag>
bool scan(std::string_view s, Text&& text, Tag&& tag) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto open = s.find("{{", pos);
    if (open == std::string_view::npos) break;
    const auto close = s.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    text(s.substr(pos, open - pos));
    if (!tag(s.substr(open, close + 2 - open), s.substr(open + 2, close - open - 2))) return false;
    pos = close + 2;
  }
  text(s.substr(pos));
  return true;
}

}  // namespace

result<std::string> substitute(std::string_view text, const lookup_fn& lookup,
                               const nlohmann::json& expr_env, const options& opts) {
  std::string out;
  out.reserve(text.size());
  std::optional<kairos::error> failure;
  scan(
      text, [&](std::string_view chunk) { out += chunk; },
      [&](std::string_view whole, std::string_view inner) {
        const auto name = trim(inner);
        if (!name.empty() && name.front() == '=') {
          const auto source = trim(name.substr(1));
          auto v = expr::evaluate(source, expr_env);
          if (v && !v->is_null()) {
            out += expr::detail::to_display(*v);
            return true;
          }
          if (opts.keep_unresolved) {
            out += whole;
            return true;
          }
          failure = make_error(errc::invalid_argument,
                               "failed to evaluate expression " + std::string(whole) + ": " +
                                   (v ? std::string("the result is nil") : v.error().message));
          return false;
        }
        std::optional<std::string> value;
        if (lookup) value = lookup(name);
        if (value) {
          out += *value;
          return true;
        }
        if (opts.keep_unresolved) {
          out += whole;
          return true;
        }
        failure =
            make_error(errc::invalid_argument, "failed to resolve " + std::string(whole) + " (" +
                                                   std::string(name) + " is not defined here)");
        return false;
      });
  if (failure) return std::move(*failure);
  return out;
}

std::vector<std::string> references(std::string_view text) {
  std::vector<std::string> names;
  scan(
      text, [](std::string_view) {},
      [&](std::string_view, std::string_view inner) {
        const auto name = trim(inner);
        if (!name.empty() && name.front() != '=') names.emplace_back(name);
        return true;
      });
  return names;
}

}  // namespace kairos::placeholders
