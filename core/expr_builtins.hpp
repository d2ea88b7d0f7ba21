#pragma once

// The evaluator's value type and its builtin functions (len, asInt, filter,
// jsonpath, ...). Builtins receive the call node so that predicate
// arguments are evaluated once per element.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "expr_parser.hpp"

namespace kairos::expr::detail {

using json = nlohmann::json;

// Either a reference into the environment (or another value that outlives
// it) or an owned temporary; member chains over a large env copy nothing.
class value {
 public:
  value() = default;
  static value ref(const json& j);
  static value own(json j);
  const json& get() const { return ref_ ? *ref_ : owned_; }
  bool is_ref() const { return ref_ != nullptr; }
  json take() &&;
  json take_copy() { return std::move(*this).take(); }

 private:
  json owned_;
  const json* ref_ = nullptr;
};

// Thrown inside the evaluator only; evaluate() turns it into a result.
struct eval_error {
  std::size_t column;
  std::string message;
  bool nil_access;  // fetching from nil: `??` falls back instead
};
// `?.` on nil unwinds to the enclosing chain, which yields nil.
struct chain_nil {};

[[noreturn]] void fail(std::size_t column, std::string message);
std::string op_types(std::string_view op, const json& a, const json& b);

class context {
 public:
  virtual value eval(const node& n) = 0;
  virtual void push_frame(const json* element, std::int64_t index) = 0;
  virtual void pop_frame() = 0;

 protected:
  ~context() = default;
};

bool is_builtin(std::string_view name);
value call_builtin(context& ctx, const node& call);

// Argo's jsonpath(): `$`, `.a`, `['a']`, `[n]`, `[*]`, `.*`, `..a`.
result<json> json_path(const json& doc, std::string_view path);

}  // namespace kairos::expr::detail
