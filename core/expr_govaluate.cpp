// govaluate, as Argo evaluates `when` after {{}} substitution and as
// Argo Events evaluates sensor `exprs`. Bare words that are not parameters
// are strings (Argo turns govaluate variables into strings), and a word
// may contain '-', '/', ':' and '.' so that `{{x}} == hello-world` compares
// with the string "hello-world" instead of subtracting two names.
#include <cctype>
#include <cmath>
#include <vector>

#include "expr_parser.hpp"
#include "expr_value.hpp"
#include "kairos/core/expr.hpp"
#include "kairos/core/regex.hpp"

namespace kairos::expr {

namespace {

using detail::column_message;
using detail::max_depth;
using nlohmann::json;

struct gv_error {
  std::size_t column;
  std::string message;
};

enum class gk { end, value, word, op };

struct gtoken {
  gk kind = gk::end;
  std::string text;
  json value;
  std::size_t column = 1;
};

bool word_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == '/' || c == ':' || c == '@' || static_cast<unsigned char>(c) >= 0x80;
}

std::vector<gtoken> lex(std::string_view s) {
  std::vector<gtoken> out;
  std::size_t i = 0;
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    gtoken t;
    t.column = i + 1;
    if (i >= s.size()) {
      out.push_back(std::move(t));
      return out;
    }
    const char c = s[i];
    if (c == '"' || c == '\'') {
      std::string v;
      std::size_t j = i + 1;
      for (;; ++j) {
        if (j >= s.size()) throw gv_error{t.column, "unclosed string literal"};
        if (s[j] == '\\' && j + 1 < s.size()) {
          v += s[++j];
          continue;
        }
        if (s[j] == c) break;
        v += s[j];
      }
      t.kind = gk::value;
      t.value = v;
      i = j + 1;
    } else if (c == '[') {
      // govaluate's escaped parameter name: [any-characters]
      const auto close = s.find(']', i);
      if (close == std::string_view::npos) throw gv_error{t.column, "unclosed parameter bracket"};
      t.kind = gk::word;
      t.text = std::string(s.substr(i + 1, close - i - 1));
      t.value = true;  // marks an escaped name: never a keyword
      i = close + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || word_start(c) ||
               static_cast<unsigned char>(c) >= 0x80) {
      std::size_t j = i;
      while (j < s.size() && word_char(s[j])) ++j;
      // A trailing '-' / ':' belongs to an operator, not the word.
      while (j > i + 1 && (s[j - 1] == '-' || s[j - 1] == ':' || s[j - 1] == '.')) --j;
      const auto run = s.substr(i, j - i);
      i = j;
      if (std::isdigit(static_cast<unsigned char>(c))) {
        if (auto d = detail::parse_float(run)) {
          t.kind = gk::value;
          t.value = *d;
          out.push_back(std::move(t));
          continue;
        }
      }
      t.kind = gk::word;
      t.text = std::string(run);
    } else {
      static constexpr std::string_view ops[] = {
          "==", "!=", ">=", "<=", "=~", "!~", "&&", "||", "**", "<<", ">>", "??", ">", "<", "+",
          "-",  "*",  "/",  "%",  "!",  "~",  "&",  "|",  "^",  "?",  ":",  "(",  ")", ","};
      bool found = false;
      for (auto op : ops) {
        if (s.substr(i, op.size()) == op) {
          t.kind = gk::op;
          t.text = std::string(op);
          i += op.size();
          found = true;
          break;
        }
      }
      if (!found) throw gv_error{t.column, std::string("invalid token '") + c + "'"};
    }
    out.push_back(std::move(t));
  }
}

class gv_parser {
 public:
  gv_parser(std::vector<gtoken> toks, const json& params)
      : toks_(std::move(toks)), params_(params) {}

  json run() {
    auto v = ternary();
    if (cur().kind != gk::end) fail("unexpected token '" + token_text(cur()) + "'");
    return v;
  }

 private:
  struct depth_guard {
    explicit depth_guard(gv_parser& p) : p_(p) {
      if (++p_.depth_ > max_depth) p_.fail("expression nested too deeply");
    }
    ~depth_guard() { --p_.depth_; }
    gv_parser& p_;
  };

  static std::string token_text(const gtoken& t) {
    if (t.kind == gk::value) return detail::sprint_v(t.value);
    if (t.kind == gk::end) return "end of expression";
    return t.text;
  }
  const gtoken& cur() const { return toks_[pos_]; }
  bool is_op(std::string_view s) const { return cur().kind == gk::op && cur().text == s; }
  bool is_word(std::string_view s) const {
    return cur().kind == gk::word && cur().text == s && cur().value.is_null();
  }
  [[noreturn]] void fail(std::string m) const { throw gv_error{cur().column, std::move(m)}; }
  [[noreturn]] static void fail_at(std::size_t column, std::string m) {
    throw gv_error{column, std::move(m)};
  }

  static bool as_bool(const json& v, std::size_t column, std::string_view op) {
    if (!v.is_boolean())
      fail_at(column, "value '" + detail::sprint_v(v) +
                          "' cannot be used with the logical operator '" + std::string(op) + "'");
    return v.get<bool>();
  }
  static double as_number(const json& v, std::size_t column, std::string_view op) {
    if (!v.is_number())
      fail_at(column, "value '" + detail::sprint_v(v) + "' cannot be used with the operator '" +
                          std::string(op) + "'");
    return detail::to_double(v);
  }

  json ternary() {
    depth_guard g(*this);
    auto cond = logical_or();
    if (is_op("??")) {
      ++pos_;
      auto other = ternary();
      return cond.is_null() ? other : cond;
    }
    if (is_op("?")) {
      const auto column = cur().column;
      ++pos_;
      auto then = ternary();
      json otherwise = nullptr;
      if (is_op(":")) {
        ++pos_;
        otherwise = ternary();
      }
      return as_bool(cond, column, "?") ? then : otherwise;
    }
    return cond;
  }

  json logical_or() {
    auto left = logical_and();
    while (is_op("||")) {
      const auto column = cur().column;
      ++pos_;
      auto right = logical_and();
      const bool l = as_bool(left, column, "||");
      const bool r = as_bool(right, column, "||");
      left = l || r;
    }
    return left;
  }

  json logical_and() {
    auto left = comparison();
    while (is_op("&&")) {
      const auto column = cur().column;
      ++pos_;
      auto right = comparison();
      const bool l = as_bool(left, column, "&&");
      const bool r = as_bool(right, column, "&&");
      left = l && r;
    }
    return left;
  }

  static bool equal(const json& a, const json& b) {
    if (a.is_number() && b.is_number()) return detail::to_double(a) == detail::to_double(b);
    return detail::values_equal(a, b);
  }

  json comparison() {
    auto left = bitwise();
    for (;;) {
      std::string op;
      if (cur().kind == gk::op &&
          (cur().text == "==" || cur().text == "!=" || cur().text == ">" || cur().text == "<" ||
           cur().text == ">=" || cur().text == "<=" || cur().text == "=~" || cur().text == "!~"))
        op = cur().text;
      else if (is_word("in"))
        op = "in";
      else
        break;
      const auto column = cur().column;
      ++pos_;
      auto right = bitwise();
      if (op == "==") {
        left = equal(left, right);
      } else if (op == "!=") {
        left = !equal(left, right);
      } else if (op == "in") {
        if (!right.is_array())
          fail_at(column, "value '" + detail::sprint_v(right) +
                              "' cannot be used with the comparator 'in'");
        bool found = false;
        for (const auto& e : right) found = found || equal(left, e);
        left = found;
      } else if (op == "=~" || op == "!~") {
        if (!right.is_string()) fail_at(column, "the pattern of '" + op + "' must be a string");
        const std::string subject = detail::sprint_v(left);
        auto m = regex::search(right.get<std::string>(), subject);
        if (!m) fail_at(column, m.error().message);
        left = op == "=~" ? *m : !*m;
      } else {
        int c = 0;
        if (left.is_number() && right.is_number()) {
          const double x = detail::to_double(left);
          const double y = detail::to_double(right);
          if (std::isnan(x) || std::isnan(y)) {
            left = false;
            continue;
          }
          c = x < y ? -1 : x > y ? 1 : 0;
        } else if (left.is_string() && right.is_string()) {
          c = left.get_ref<const std::string&>().compare(right.get_ref<const std::string&>());
        } else {
          fail_at(column, "value '" + detail::sprint_v(left) + "' cannot be compared with '" +
                              detail::sprint_v(right) + "' using '" + op + "'");
        }
        left = op == ">" ? c > 0 : op == "<" ? c < 0 : op == ">=" ? c >= 0 : c <= 0;
      }
    }
    return left;
  }

  static std::int64_t as_int(double d) { return detail::double_to_int64(d); }

  json bitwise() {
    auto left = shift();
    while (is_op("&") || is_op("|") || is_op("^")) {
      const auto op = cur().text;
      const auto column = cur().column;
      ++pos_;
      auto right = shift();
      const auto x = as_int(as_number(left, column, op));
      const auto y = as_int(as_number(right, column, op));
      left = static_cast<double>(op == "&" ? (x & y) : op == "|" ? (x | y) : (x ^ y));
    }
    return left;
  }

  json shift() {
    auto left = additive();
    while (is_op("<<") || is_op(">>")) {
      const auto op = cur().text;
      const auto column = cur().column;
      ++pos_;
      auto right = additive();
      const auto x = static_cast<std::uint64_t>(as_int(as_number(left, column, op)));
      const auto y = as_int(as_number(right, column, op));
      if (y < 0 || y > 63) {
        left = 0.0;
        continue;
      }
      left = static_cast<double>(static_cast<std::int64_t>(op == "<<" ? x << y : x >> y));
    }
    return left;
  }

  json additive() {
    auto left = multiplicative();
    while (is_op("+") || is_op("-")) {
      const auto op = cur().text;
      const auto column = cur().column;
      ++pos_;
      auto right = multiplicative();
      if (op == "+" && (left.is_string() || right.is_string())) {
        left = detail::sprint_v(left) + detail::sprint_v(right);
        continue;
      }
      const double x = as_number(left, column, op);
      const double y = as_number(right, column, op);
      left = op == "+" ? x + y : x - y;
    }
    return left;
  }

  json multiplicative() {
    auto left = exponential();
    while (is_op("*") || is_op("/") || is_op("%")) {
      const auto op = cur().text;
      const auto column = cur().column;
      ++pos_;
      auto right = exponential();
      const double x = as_number(left, column, op);
      const double y = as_number(right, column, op);
      left = op == "*" ? x * y : op == "/" ? x / y : std::fmod(x, y);
    }
    return left;
  }

  json exponential() {
    auto left = prefix();
    while (is_op("**")) {
      const auto column = cur().column;
      ++pos_;
      auto right = prefix();
      left = std::pow(as_number(left, column, "**"), as_number(right, column, "**"));
    }
    return left;
  }

  json prefix() {
    depth_guard g(*this);
    if (is_op("!") || is_op("-") || is_op("~")) {
      const auto op = cur().text;
      const auto column = cur().column;
      ++pos_;
      auto v = prefix();
      if (op == "!") return !as_bool(v, column, "!");
      if (op == "-") return -as_number(v, column, "-");
      return static_cast<double>(~as_int(as_number(v, column, "~")));
    }
    return primary();
  }

  json lookup(const std::string& word) const {
    if (params_.is_object()) {
      auto it = params_.find(word);
      if (it != params_.end()) return *it;
      // govaluate's accessor syntax: a.b reaches into a parameter's fields.
      const json* at = &params_;
      std::size_t start = 0;
      while (at && at->is_object()) {
        const auto dot = word.find('.', start);
        auto it2 = at->find(word.substr(start, dot == std::string::npos ? dot : dot - start));
        if (it2 == at->end()) {
          at = nullptr;
          break;
        }
        at = &*it2;
        if (dot == std::string::npos) return *at;
        start = dot + 1;
      }
    }
    return word;
  }

  json primary() {
    const gtoken& t = cur();
    if (t.kind == gk::value) {
      ++pos_;
      return t.value;
    }
    if (t.kind == gk::word) {
      ++pos_;
      if (t.value.is_null()) {
        if (t.text == "true") return true;
        if (t.text == "false") return false;
      }
      if (is_op("(")) fail("unknown function '" + t.text + "'");
      return lookup(t.text);
    }
    if (is_op("(")) {
      ++pos_;
      if (is_op(")")) {
        ++pos_;
        return json::array();
      }
      auto first = ternary();
      if (!is_op(",")) {
        if (!is_op(")")) fail("expected ')' but found '" + token_text(cur()) + "'");
        ++pos_;
        return first;
      }
      json list = json::array({first});
      while (is_op(",")) {
        ++pos_;
        list.push_back(ternary());
      }
      if (!is_op(")")) fail("expected ')' but found '" + token_text(cur()) + "'");
      ++pos_;
      return list;
    }
    if (t.kind == gk::end) fail("unexpected end of expression");
    fail("unexpected token '" + token_text(t) + "'");
  }

  std::vector<gtoken> toks_;
  const json& params_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

result<bool> evaluate_govaluate(std::string_view source, const nlohmann::json& parameters) {
  try {
    auto v = gv_parser(lex(source), parameters).run();
    if (!v.is_boolean())
      return make_error(errc::invalid_argument, "expected a boolean result for '" +
                                                    std::string(source) + "', got " +
                                                    detail::sprint_v(v));
    return v.get<bool>();
  } catch (const gv_error& e) {
    return make_error(errc::invalid_argument, column_message(e.column, e.message));
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, std::string("invalid expression: ") + e.what());
  }
}

}  // namespace kairos::expr
