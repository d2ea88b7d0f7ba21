#include "kairos/core/expr.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>
#include <vector>

#include "expr_builtins.hpp"
#include "expr_parser.hpp"
#include "expr_value.hpp"
#include "kairos/core/regex.hpp"
#include "kairos/core/sprig.hpp"

namespace kairos::expr {

namespace detail {

value value::ref(const json& j) {
  value v;
  v.ref_ = &j;
  return v;
}

value value::own(json j) {
  value v;
  v.owned_ = std::move(j);
  return v;
}

json value::take() && {
  if (ref_) return *ref_;
  return std::move(owned_);
}

namespace {

// The budget keeps hostile expressions (nested map over ranges) from
// running for minutes; real Argo expressions use a few hundred steps.
constexpr std::size_t max_steps = 2'000'000;
constexpr std::int64_t max_range = 100'000;

}  // namespace

[[noreturn]] void fail(std::size_t column, std::string message) {
  throw eval_error{column, std::move(message), false};
}

std::string op_types(std::string_view op, const json& a, const json& b) {
  return "invalid operation: " + std::string(type_name(a)) + " " + std::string(op) + " " +
         std::string(type_name(b));
}

class evaluator final : public context {
 public:
  explicit evaluator(const json& env) : env_(env) {}

  value eval(const node& n) override {
    if (++steps_ > max_steps) fail(n.column, "expression exceeds its evaluation budget");
    switch (n.kind) {
      case node_kind::literal:
        return value::ref(n.value);
      case node_kind::ident:
        return lookup(n);
      case node_kind::pointer:
        return pointer(n);
      case node_kind::array: {
        json out = json::array();
        for (const auto& k : n.kids) out.push_back(eval(*k).take_copy());
        return value::own(std::move(out));
      }
      case node_kind::map: {
        json out = json::object();
        for (std::size_t i = 0; i + 1 < n.kids.size(); i += 2) {
          auto key = eval(*n.kids[i]);
          std::string k;
          if (key.get().is_string())
            k = key.get().get<std::string>();
          else if (key.get().is_number())
            k = to_json(key.get());
          else
            fail(n.kids[i]->column,
                 "a map key must be a string, not " + std::string(type_name(key.get())));
          out[k] = eval(*n.kids[i + 1]).take_copy();
        }
        return value::own(std::move(out));
      }
      case node_kind::unary:
        return unary(n);
      case node_kind::binary:
        return binary(n);
      case node_kind::ternary:
        return ternary(n);
      case node_kind::member:
        return member(n);
      case node_kind::index:
        return index(n);
      case node_kind::slice:
        return slice(n);
      case node_kind::call:
        return call(n);
      case node_kind::closure:
        return eval(*n.kids[0]);
      case node_kind::chain:
        try {
          return eval(*n.kids[0]);
        } catch (const chain_nil&) {
          return value::own(nullptr);
        }
    }
    fail(n.column, "unsupported expression");
  }

  void push_frame(const json* element, std::int64_t index) override {
    frames_.push_back({element, index});
  }
  void pop_frame() override { frames_.pop_back(); }

 private:
  struct frame {
    const json* element;
    std::int64_t index;
  };

  value lookup(const node& n) {
    if (n.name == "$env") return value::ref(env_);
    if (env_.is_object()) {
      auto it = env_.find(n.name);
      if (it != env_.end()) return value::ref(*it);
    }
    return value::own(nullptr);
  }

  value pointer(const node& n) {
    if (frames_.empty()) fail(n.column, "# can only be used inside a predicate");
    const auto& f = frames_.back();
    if (n.name.empty()) return value::ref(*f.element);
    if (n.name == "index") return value::own(f.index);
    fail(n.column, "unknown pointer #" + n.name);
  }

  value unary(const node& n) {
    auto v = eval(*n.kids[0]);
    const json& x = v.get();
    if (n.name == "!") {
      if (!x.is_boolean()) fail(n.column, "invalid operation: ! " + std::string(type_name(x)));
      return value::own(!x.get<bool>());
    }
    if (!x.is_number())
      fail(n.column, "invalid operation: " + n.name + " " + std::string(type_name(x)));
    if (n.name == "+") return value::own(json(x));
    if (is_int(x)) return value::own(wrap_sub(0, to_int64(x)));
    return value::own(-to_double(x));
  }

  bool require_bool(const node& at, const value& v, std::string_view op) {
    if (!v.get().is_boolean())
      fail(at.column, "invalid operation: " + std::string(op) + " on " +
                          std::string(type_name(v.get())) + " (boolean required)");
    return v.get().get<bool>();
  }

  value binary(const node& n) {
    const std::string& op = n.name;
    if (op == "&&" || op == "and") {
      if (!require_bool(n, eval(*n.kids[0]), op)) return value::own(false);
      return value::own(require_bool(n, eval(*n.kids[1]), op));
    }
    if (op == "||" || op == "or") {
      if (require_bool(n, eval(*n.kids[0]), op)) return value::own(true);
      return value::own(require_bool(n, eval(*n.kids[1]), op));
    }
    if (op == "??") {
      // A nil anywhere on the left (a missing map, not only a missing
      // key) falls back, which is what `inputs.parameters.x ?? 'd'` wants.
      try {
        auto left = eval(*n.kids[0]);
        if (!left.get().is_null()) return left;
      } catch (const chain_nil&) {
      } catch (const eval_error& e) {
        if (!e.nil_access) throw;
      }
      return eval(*n.kids[1]);
    }
    auto lv = eval(*n.kids[0]);
    auto rv = eval(*n.kids[1]);
    const json& a = lv.get();
    const json& b = rv.get();
    if (op == "==") return value::own(values_equal(a, b));
    if (op == "!=") return value::own(!values_equal(a, b));
    if (op == "<" || op == ">" || op == "<=" || op == ">=") return value::own(compare(n, a, b));
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%" || op == "**" || op == "^")
      return arithmetic(n, a, b);
    if (op == "..") {
      if (!is_int(a) || !is_int(b)) fail(n.column, op_types(op, a, b));
      const auto from = to_int64(a);
      const auto to = to_int64(b);
      json out = json::array();
      if (to >= from) {
        if (static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from) >=
            static_cast<std::uint64_t>(max_range))
          fail(n.column, "range too large");
        for (auto i = from; i <= to; ++i) out.push_back(i);
      }
      return value::own(std::move(out));
    }
    bool r = false;
    if (op == "in") {
      if (b.is_array()) {
        r = std::any_of(b.begin(), b.end(), [&](const json& e) { return values_equal(a, e); });
      } else if (b.is_object()) {
        if (!a.is_string()) fail(n.column, op_types(op, a, b));
        r = b.contains(a.get<std::string>());
      } else if (b.is_null()) {
        r = false;
      } else {
        fail(n.column, op_types(op, a, b));
      }
    } else {
      if (!a.is_string() || !b.is_string()) fail(n.column, op_types(op, a, b));
      const auto& s = a.get_ref<const std::string&>();
      const auto& t = b.get_ref<const std::string&>();
      if (op == "contains") {
        r = s.find(t) != std::string::npos;
      } else if (op == "startsWith") {
        r = s.rfind(t, 0) == 0;
      } else if (op == "endsWith") {
        r = s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
      } else if (op == "matches") {
        auto m = regex::search(t, s);
        if (!m) fail(n.kids[1]->column, m.error().message);
        r = *m;
      } else {
        fail(n.column, "unknown operator " + op);
      }
    }
    return value::own(n.negate ? !r : r);
  }

  bool compare(const node& n, const json& a, const json& b) {
    const std::string& op = n.name;
    int c = 0;
    if (a.is_number() && b.is_number()) {
      if (is_int(a) && is_int(b) && !a.is_number_unsigned() && !b.is_number_unsigned()) {
        const auto x = to_int64(a);
        const auto y = to_int64(b);
        c = x < y ? -1 : x > y ? 1 : 0;
      } else {
        const auto x = to_double(a);
        const auto y = to_double(b);
        if (std::isnan(x) || std::isnan(y)) return false;
        c = x < y ? -1 : x > y ? 1 : 0;
      }
    } else if (a.is_string() && b.is_string()) {
      c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    } else {
      fail(n.column, op_types(op, a, b));
    }
    if (op == "<") return c < 0;
    if (op == ">") return c > 0;
    if (op == "<=") return c <= 0;
    return c >= 0;
  }

  value arithmetic(const node& n, const json& a, const json& b) {
    const std::string& op = n.name;
    if (op == "+" && a.is_string() && b.is_string())
      return value::own(a.get<std::string>() + b.get<std::string>());
    if (!a.is_number() || !b.is_number()) fail(n.column, op_types(op, a, b));
    if (op == "/") return value::own(to_double(a) / to_double(b));
    if (op == "**" || op == "^") return value::own(std::pow(to_double(a), to_double(b)));
    if (is_int(a) && is_int(b)) {
      const auto x = to_int64(a);
      const auto y = to_int64(b);
      if (op == "+") return value::own(wrap_add(x, y));
      if (op == "-") return value::own(wrap_sub(x, y));
      if (op == "*") return value::own(wrap_mul(x, y));
      if (y == 0) fail(n.column, "integer divide by zero");
      if (y == -1) return value::own(0);
      return value::own(x % y);
    }
    if (op == "%") fail(n.column, op_types(op, a, b));
    const auto x = to_double(a);
    const auto y = to_double(b);
    if (op == "+") return value::own(x + y);
    if (op == "-") return value::own(x - y);
    return value::own(x * y);
  }

  value ternary(const node& n) {
    auto cond = eval(*n.kids[0]);
    if (n.name == "?:") {
      const json& c = cond.get();
      if (c.is_null() || (c.is_boolean() && !c.get<bool>())) return eval(*n.kids[1]);
      return cond;
    }
    if (!cond.get().is_boolean())
      fail(n.column, "non-bool " + std::string(type_name(cond.get())) +
                         " used as condition of the ternary operator");
    return eval(cond.get().get<bool>() ? *n.kids[1] : *n.kids[2]);
  }

  [[noreturn]] void nil_fetch(const node& n, const std::string& what) {
    if (n.optional) throw chain_nil{};
    throw eval_error{n.column, "cannot fetch " + what + " from nil", true};
  }

  // Member of a referenced value stays a reference; of an owned one is moved out.
  static value child(value&& base, const json& element) {
    if (base.is_ref()) return value::ref(element);
    return value::own(json(element));
  }

  value member(const node& n) {
    auto base = eval(*n.kids[0]);
    const json& b = base.get();
    if (b.is_null()) nil_fetch(n, n.name);
    if (!b.is_object())
      fail(n.column, "cannot fetch " + n.name + " from " + std::string(type_name(b)));
    auto it = b.find(n.name);
    if (it == b.end()) return value::own(nullptr);
    return child(std::move(base), *it);
  }

  static std::int64_t index_of(const json& i) {
    if (i.is_number_float()) return double_to_int64(i.get<double>());
    return to_int64(i);
  }

  value index(const node& n) {
    auto base = eval(*n.kids[0]);
    auto key = eval(*n.kids[1]);
    const json& b = base.get();
    const json& k = key.get();
    if (b.is_null()) nil_fetch(n, to_display(k));
    if (b.is_object()) {
      if (!k.is_string())
        fail(n.column, "cannot use " + std::string(type_name(k)) + " as a map key");
      auto it = b.find(k.get<std::string>());
      if (it == b.end()) return value::own(nullptr);
      return child(std::move(base), *it);
    }
    if (!k.is_number())
      fail(n.column,
           "cannot index " + std::string(type_name(b)) + " with " + std::string(type_name(k)));
    auto i = index_of(k);
    if (b.is_array()) {
      const auto size = static_cast<std::int64_t>(b.size());
      if (i < 0) i += size;
      if (i < 0 || i >= size)
        fail(n.column, "index out of range: " + std::to_string(index_of(k)) + " (array length is " +
                           std::to_string(size) + ")");
      return child(std::move(base), b[static_cast<std::size_t>(i)]);
    }
    if (b.is_string()) {
      auto runes = split_runes(b.get_ref<const std::string&>());
      const auto size = static_cast<std::int64_t>(runes.size());
      if (i < 0) i += size;
      if (i < 0 || i >= size)
        fail(n.column, "index out of range: " + std::to_string(index_of(k)) +
                           " (string length is " + std::to_string(size) + ")");
      return value::own(runes[static_cast<std::size_t>(i)]);
    }
    fail(n.column, "cannot index " + std::string(type_name(b)));
  }

  value slice(const node& n) {
    auto base = eval(*n.kids[0]);
    const json& b = base.get();
    std::vector<std::string> runes;
    std::int64_t size = 0;
    if (b.is_array()) {
      size = static_cast<std::int64_t>(b.size());
    } else if (b.is_string()) {
      runes = split_runes(b.get_ref<const std::string&>());
      size = static_cast<std::int64_t>(runes.size());
    } else {
      fail(n.column, "cannot slice " + std::string(type_name(b)));
    }
    auto bound = [&](const node_ptr& k, std::int64_t fallback) {
      if (!k) return fallback;
      auto v = eval(*k);
      if (!v.get().is_number())
        fail(k->column, "slice bound must be a number, not " + std::string(type_name(v.get())));
      auto i = index_of(v.get());
      if (i < 0) i += size;
      return std::clamp<std::int64_t>(i, 0, size);
    };
    const auto from = bound(n.kids[1], 0);
    auto to = bound(n.kids[2], size);
    if (to < from) to = from;
    if (b.is_array()) {
      json out = json::array();
      for (auto i = from; i < to; ++i) out.push_back(b[static_cast<std::size_t>(i)]);
      return value::own(std::move(out));
    }
    std::string out;
    for (auto i = from; i < to; ++i) out += runes[static_cast<std::size_t>(i)];
    return value::own(std::move(out));
  }

  value call(const node& n) {
    if (n.sprig) {
      std::vector<json> args;
      args.reserve(n.kids.size());
      for (const auto& k : n.kids) args.push_back(eval(*k).take_copy());
      auto r = sprig::call(n.name, args);
      if (!r) fail(n.column, "unknown function sprig." + n.name);
      if (!*r) fail(n.column, "sprig." + n.name + ": " + r->error().message);
      return value::own(std::move(**r));
    }
    return call_builtin(*this, n);
  }

  const json& env_;
  std::vector<frame> frames_;
  std::size_t steps_ = 0;
};

result<void> check_calls(const node& n) {
  if (n.kind == node_kind::call) {
    if (n.sprig ? !sprig::has(n.name) : !is_builtin(n.name))
      return make_error(
          errc::invalid_argument,
          column_message(n.column,
                         "unknown function " + std::string(n.sprig ? "sprig." : "") + n.name));
  }
  for (const auto& k : n.kids) {
    if (!k) continue;
    auto r = check_calls(*k);
    if (!r) return r;
  }
  return {};
}

}  // namespace detail

result<nlohmann::json> evaluate(std::string_view source, const nlohmann::json& env) {
  auto ast = detail::parse(source);
  if (!ast) return std::move(ast).error();
  if (auto c = detail::check_calls(**ast); !c) return std::move(c).error();
  try {
    detail::evaluator ev(env);
    return ev.eval(**ast).take_copy();
  } catch (const detail::eval_error& e) {
    return make_error(errc::invalid_argument, detail::column_message(e.column, e.message));
  } catch (const detail::chain_nil&) {
    return nlohmann::json(nullptr);
  } catch (const std::bad_alloc&) {
    return make_error(errc::invalid_argument, "expression needs too much memory");
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, std::string("expression failed: ") + e.what());
  }
}

result<bool> evaluate_bool(std::string_view source, const nlohmann::json& env) {
  auto v = evaluate(source, env);
  if (!v) return std::move(v).error();
  if (!v->is_boolean())
    return make_error(errc::invalid_argument, "expected a boolean result, got " +
                                                  std::string(detail::type_name(*v)) + " " +
                                                  detail::to_display(*v));
  return v->get<bool>();
}

result<void> check(std::string_view source) {
  auto ast = detail::parse(source);
  if (!ast) return std::move(ast).error();
  return detail::check_calls(**ast);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace kairos::expr
