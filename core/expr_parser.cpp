#include "expr_parser.hpp"

#include <cctype>
#include <unordered_map>
#include <utility>

#include "expr_value.hpp"
#include "kairos/core/json_text.hpp"

namespace kairos::expr::detail {

std::string column_message(std::size_t column, std::string_view message) {
  return std::string(message) + " (column " + std::to_string(column) + ")";
}

namespace {

struct parse_error {
  std::size_t column;
  std::string message;
};

enum class tok { end, number, string, ident, op };

struct token {
  tok kind = tok::end;
  std::string text;
  nlohmann::json value;
  std::size_t column = 1;
};

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool ident_char(char c) {
  return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

class lexer {
 public:
  explicit lexer(std::string_view src) : src_(src) {}

  std::vector<token> run() {
    std::vector<token> out;
    for (;;) {
      skip_space();
      token t;
      t.column = pos_ + 1;
      if (pos_ >= src_.size()) {
        t.kind = tok::end;
        out.push_back(std::move(t));
        return out;
      }
      const char c = src_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && pos_ + 1 < src_.size() &&
           std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])) &&
           (out.empty() || out.back().kind == tok::op))) {
        lex_number(t);
      } else if (c == '"' || c == '\'') {
        lex_string(t, c);
      } else if (c == '`') {
        const auto close = src_.find('`', pos_ + 1);
        if (close == std::string_view::npos) throw parse_error{t.column, "unterminated string"};
        t.kind = tok::string;
        t.value = std::string(src_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close + 1;
      } else if (ident_start(c)) {
        const auto start = pos_;
        while (pos_ < src_.size() && ident_char(src_[pos_])) ++pos_;
        t.kind = tok::ident;
        t.text = std::string(src_.substr(start, pos_ - start));
      } else {
        lex_operator(t);
      }
      out.push_back(std::move(t));
    }
  }

 private:
  void skip_space() {
    for (;;) {
      while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) ++pos_;
      if (src_.substr(pos_, 2) == "//") {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else if (src_.substr(pos_, 2) == "/*") {
        const auto close = src_.find("*/", pos_ + 2);
        if (close == std::string_view::npos) throw parse_error{pos_ + 1, "unterminated comment"};
        pos_ = close + 2;
      } else {
        return;
      }
    }
  }

  void lex_number(token& t) {
    const auto start = pos_;
    std::string digits;
    t.kind = tok::number;
    if (src_[pos_] == '0' && pos_ + 1 < src_.size() &&
        std::string_view("xXoObB").find(src_[pos_ + 1]) != std::string_view::npos) {
      pos_ += 2;
      while (pos_ < src_.size() &&
             (std::isxdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_'))
        ++pos_;
      for (char ch : src_.substr(start, pos_ - start))
        if (ch != '_') digits += ch;
      auto v = parse_int(digits, true);
      if (!v) throw parse_error{t.column, "invalid number " + digits};
      t.value = *v;
      return;
    }
    bool is_float = false;
    auto take_digits = [&] {
      while (pos_ < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
        if (src_[pos_] != '_') digits += src_[pos_];
        ++pos_;
      }
    };
    take_digits();
    // `1..3` is a range, `1.5` a float.
    if (pos_ < src_.size() && src_[pos_] == '.' &&
        !(pos_ + 1 < src_.size() && src_[pos_ + 1] == '.')) {
      is_float = true;
      digits += '.';
      ++pos_;
      take_digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        is_float = true;
        digits += 'e';
        digits += src_.substr(pos_ + 1, p - pos_ - 1);
        pos_ = p;
        take_digits();
      }
    }
    if (pos_ < src_.size() && ident_start(src_[pos_]))
      throw parse_error{t.column,
                        "invalid number " + std::string(src_.substr(start, pos_ - start + 1))};
    if (is_float) {
      if (digits.front() == '.') digits.insert(digits.begin(), '0');
      if (digits.back() == '.') digits += '0';
      auto v = parse_float(digits);
      if (!v) throw parse_error{t.column, "invalid number " + digits};
      t.value = *v;
    } else {
      auto v = parse_int(digits);
      if (!v) throw parse_error{t.column, "integer literal out of range: " + digits};
      t.value = *v;
    }
  }

  void lex_string(token& t, char quote) {
    std::string out;
    ++pos_;
    for (;;) {
      if (pos_ >= src_.size()) throw parse_error{t.column, "unterminated string"};
      const char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) throw parse_error{t.column, "unterminated string"};
      const char e = src_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
        case '\'':
        case '"':
        case '`':
          out += e;
          break;
        case 'x':
        case 'u':
        case 'U': {
          const std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > src_.size()) throw parse_error{pos_, "invalid escape sequence"};
          std::uint32_t cp = 0;
          for (std::size_t i = 0; i < n; ++i) {
            const char h = src_[pos_ + i];
            if (!std::isxdigit(static_cast<unsigned char>(h)))
              throw parse_error{pos_, "invalid escape sequence"};
            cp = cp * 16 + static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                          ? h - '0'
                                                          : (h | 0x20) - 'a' + 10);
          }
          pos_ += n;
          if (e == 'x')
            out += static_cast<char>(cp);
          else if (cp > 0x10ffff)
            throw parse_error{pos_, "invalid escape sequence"};
          else
            append_utf8(out, cp);
          break;
        }
        default:
          throw parse_error{pos_ - 1, std::string("invalid escape sequence \\") + e};
      }
    }
    t.kind = tok::string;
    t.value = std::move(out);
  }

  void lex_operator(token& t) {
    static constexpr std::string_view two[] = {
        "?.", "??", "**", "==", "!=", "<=", ">=", "&&", "||", ".."};
    for (auto op : two) {
      if (src_.substr(pos_, 2) == op) {
        // `a?.5:1` is a ternary with a float, not optional chaining.
        if (op == "?." && pos_ + 2 < src_.size() &&
            std::isdigit(static_cast<unsigned char>(src_[pos_ + 2])))
          break;
        t.kind = tok::op;
        t.text = std::string(op);
        pos_ += 2;
        return;
      }
    }
    const char c = src_[pos_];
    if (std::string_view("+-*/%^<>!?:.,()[]{}|#").find(c) == std::string_view::npos)
      throw parse_error{t.column, std::string("unexpected character '") + c + "'"};
    t.kind = tok::op;
    t.text = std::string(1, c);
    ++pos_;
  }

  std::string_view src_;
  std::size_t pos_ = 0;
};

struct binary_info {
  int precedence;
  bool right_assoc;
};

const binary_info* binary_op(std::string_view s) {
  static const std::unordered_map<std::string_view, binary_info> table = {
      {"or", {10, false}},       {"||", {10, false}},         {"and", {15, false}},
      {"&&", {15, false}},       {"==", {20, false}},         {"!=", {20, false}},
      {"<", {20, false}},        {">", {20, false}},          {"<=", {20, false}},
      {">=", {20, false}},       {"in", {20, false}},         {"matches", {20, false}},
      {"contains", {20, false}}, {"startsWith", {20, false}}, {"endsWith", {20, false}},
      {"..", {25, false}},       {"+", {30, false}},          {"-", {30, false}},
      {"*", {60, false}},        {"/", {60, false}},          {"%", {60, false}},
      {"**", {100, true}},       {"^", {100, true}},          {"??", {500, false}},
  };
  auto it = table.find(s);
  return it == table.end() ? nullptr : &it->second;
}

bool takes_predicate(std::string_view fn) {
  static constexpr std::string_view names[] = {
      "all",  "any",       "none",     "one",           "filter", "map",     "count",
      "find", "findIndex", "findLast", "findLastIndex", "sum",    "groupBy", "sortBy"};
  for (auto n : names)
    if (n == fn) return true;
  return false;
}

class parser {
 public:
  explicit parser(std::vector<token> toks) : toks_(std::move(toks)) {}

  node_ptr parse_all() {
    auto n = parse_expression(0);
    if (cur().kind != tok::end) fail("unexpected token " + describe(cur()));
    return n;
  }

 private:
  struct depth_guard {
    explicit depth_guard(parser& p) : p_(p) {
      if (++p_.depth_ > max_depth) p_.fail("expression nested too deeply");
    }
    ~depth_guard() { --p_.depth_; }
    parser& p_;
  };

  const token& cur() const { return toks_[pos_]; }
  const token& peek(std::size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  bool is_op(std::string_view s) const { return cur().kind == tok::op && cur().text == s; }
  bool is_word(std::string_view s) const { return cur().kind == tok::ident && cur().text == s; }
  [[noreturn]] void fail(std::string message) const {
    throw parse_error{cur().column, std::move(message)};
  }
  static std::string describe(const token& t) {
    switch (t.kind) {
      case tok::end:
        return "end of expression";
      case tok::number:
        return dump_json_replacing(t.value);
      case tok::string:
        return "string " + dump_json_replacing(t.value);
      default:
        return "'" + t.text + "'";
    }
  }
  void expect(std::string_view s) {
    if (!is_op(s)) fail("expected '" + std::string(s) + "' but found " + describe(cur()));
    ++pos_;
  }
  node_ptr make(node_kind k, std::size_t column) {
    auto n = std::make_unique<node>();
    n->kind = k;
    n->column = column;
    return n;
  }

  // Loops (a + b + c ..., a.b.c ...) build trees deeper than the
  // recursion that parsed them; the evaluator and the destructor recurse
  // over the tree, so its height is bounded too.
  void add(node& parent, node_ptr kid) {
    if (kid && kid->height + 1 > parent.height) parent.height = kid->height + 1;
    if (parent.height > max_height) fail("expression nested too deeply");
    parent.kids.push_back(std::move(kid));
  }

  node_ptr parse_expression(int precedence) {
    depth_guard guard(*this);
    auto left = parse_primary();
    for (;;) {
      const token& t = cur();
      if (t.kind != tok::op && t.kind != tok::ident) break;
      bool negate = false;
      std::string op = t.text;
      std::size_t skip = 1;
      if (t.kind == tok::ident && t.text == "not") {
        const token& next = peek();
        if (next.kind != tok::ident) break;
        const auto* info = binary_op(next.text);
        if (!info || info->precedence != 20 || next.text == "==") break;
        negate = true;
        op = next.text;
        skip = 2;
      }
      const auto* info = binary_op(op);
      if (!info || info->precedence < precedence) break;
      if (t.kind == tok::ident && !negate &&
          !(op == "and" || op == "or" || op == "in" || op == "matches" || op == "contains" ||
            op == "startsWith" || op == "endsWith"))
        break;
      const auto column = t.column;
      pos_ += skip;
      auto right = parse_expression(info->right_assoc ? info->precedence : info->precedence + 1);
      auto n = make(node_kind::binary, column);
      n->name = op;
      n->negate = negate;
      add(*n, std::move(left));
      add(*n, std::move(right));
      left = std::move(n);
    }
    if (precedence == 0) {
      left = parse_pipes(std::move(left));
      if (is_op("?")) {
        const auto column = cur().column;
        ++pos_;
        auto n = make(node_kind::ternary, column);
        add(*n, std::move(left));
        if (is_op(":")) {
          // Elvis `a ?: b`: a unless it is nil or false.
          ++pos_;
          n->name = "?:";
          add(*n, parse_expression(0));
          return n;
        }
        add(*n, parse_expression(0));
        expect(":");
        add(*n, parse_expression(0));
        left = std::move(n);
      }
    }
    return left;
  }

  // `x | f(a)` is f(x, a).
  node_ptr parse_pipes(node_ptr left) {
    while (is_op("|")) {
      ++pos_;
      bool sprig = false;
      if (is_word("sprig") && peek().kind == tok::op && peek().text == ".") {
        sprig = true;
        pos_ += 2;
      }
      if (cur().kind != tok::ident) fail("expected a function after '|'");
      auto call = make(node_kind::call, cur().column);
      call->name = cur().text;
      call->sprig = sprig;
      ++pos_;
      add(*call, std::move(left));
      if (is_op("(")) {
        ++pos_;
        parse_arguments(*call);
      }
      left = std::move(call);
    }
    return left;
  }

  node_ptr parse_primary() {
    depth_guard guard(*this);
    const token& t = cur();
    if ((t.kind == tok::ident && t.text == "not") ||
        (t.kind == tok::op && (t.text == "!" || t.text == "-" || t.text == "+"))) {
      const int precedence = (t.text == "-" || t.text == "+") ? 90 : 50;
      auto n = make(node_kind::unary, t.column);
      n->name = t.text == "not" ? "!" : t.text;
      ++pos_;
      add(*n, parse_expression(precedence));
      return parse_postfix(std::move(n));
    }
    if (is_op("(")) {
      ++pos_;
      auto inner = parse_expression(0);
      expect(")");
      return parse_postfix(std::move(inner));
    }
    return parse_postfix(parse_operand());
  }

  node_ptr parse_operand() {
    const token& t = cur();
    const auto column = t.column;
    switch (t.kind) {
      case tok::end:
        fail("unexpected end of expression");
      case tok::number:
      case tok::string: {
        auto n = make(node_kind::literal, column);
        n->value = t.value;
        ++pos_;
        return n;
      }
      case tok::ident: {
        ++pos_;
        if (t.text == "true" || t.text == "false") {
          auto n = make(node_kind::literal, column);
          n->value = t.text == "true";
          return n;
        }
        if (t.text == "nil") {
          auto n = make(node_kind::literal, column);
          n->value = nullptr;
          return n;
        }
        if (is_op("(")) {
          ++pos_;
          auto call = make(node_kind::call, column);
          call->name = t.text;
          parse_arguments(*call);
          return call;
        }
        auto n = make(node_kind::ident, column);
        n->name = t.text;
        return n;
      }
      case tok::op:
        break;
    }
    if (t.text == "#") {
      ++pos_;
      auto n = make(node_kind::pointer, column);
      if (cur().kind == tok::ident && cur().column == column + 1) {
        n->name = cur().text;
        ++pos_;
      }
      return n;
    }
    if (t.text == "." && peek().kind == tok::ident) {
      // `.field` inside a predicate is `#.field`.
      ++pos_;
      auto member = make(node_kind::member, column);
      add(*member, make(node_kind::pointer, column));
      member->name = cur().text;
      ++pos_;
      return member;
    }
    if (t.text == "[") {
      ++pos_;
      auto n = make(node_kind::array, column);
      while (!is_op("]")) {
        add(*n, parse_expression(0));
        if (is_op(",")) {
          ++pos_;
          continue;
        }
        if (!is_op("]")) fail("expected ',' or ']' but found " + describe(cur()));
      }
      ++pos_;
      return n;
    }
    if (t.text == "{") {
      ++pos_;
      auto n = make(node_kind::map, column);
      while (!is_op("}")) {
        const token& k = cur();
        if (k.kind == tok::ident || k.kind == tok::string || k.kind == tok::number) {
          auto key = make(node_kind::literal, k.column);
          key->value = k.kind == tok::ident    ? nlohmann::json(k.text)
                       : k.kind == tok::string ? k.value
                                               : nlohmann::json(to_json(k.value));
          ++pos_;
          add(*n, std::move(key));
        } else if (is_op("(")) {
          ++pos_;
          add(*n, parse_expression(0));
          expect(")");
        } else {
          fail("a map key must be a name, a string, a number or (expression), found " +
               describe(k));
        }
        expect(":");
        add(*n, parse_expression(0));
        if (is_op(",")) {
          ++pos_;
          continue;
        }
        if (!is_op("}")) fail("expected ',' or '}' but found " + describe(cur()));
      }
      ++pos_;
      return n;
    }
    fail("unexpected token " + describe(t));
  }

  // After '(' of a call; consumes the closing ')'.
  void parse_arguments(node& call) {
    const bool predicates = !call.sprig && takes_predicate(call.name);
    while (!is_op(")")) {
      const bool closure_slot = predicates && !call.kids.empty();
      if (closure_slot) {
        auto closure = make(node_kind::closure, cur().column);
        if (is_op("{")) {
          ++pos_;
          add(*closure, parse_expression(0));
          expect("}");
        } else {
          add(*closure, parse_expression(0));
        }
        add(call, std::move(closure));
      } else {
        add(call, parse_expression(0));
      }
      if (is_op(",")) {
        ++pos_;
        continue;
      }
      if (!is_op(")")) fail("expected ',' or ')' but found " + describe(cur()));
    }
    ++pos_;
  }

  node_ptr parse_postfix(node_ptr n) {
    bool chained = false;
    for (;;) {
      if (is_op(".") || is_op("?.")) {
        const bool optional = cur().text == "?.";
        const auto column = cur().column;
        ++pos_;
        if (optional && is_op("[")) {
          chained = true;
          n = parse_index(std::move(n), true);
          continue;
        }
        if (cur().kind != tok::ident)
          fail("expected a name after '.' but found " + describe(cur()));
        std::string name = cur().text;
        ++pos_;
        if (is_op("(")) {
          if (n->kind != node_kind::ident || n->name != "sprig")
            throw parse_error{column, "unknown method " + name + "()"};
          ++pos_;
          auto call = make(node_kind::call, n->column);
          call->name = std::move(name);
          call->sprig = true;
          parse_arguments(*call);
          n = std::move(call);
          continue;
        }
        auto member = make(node_kind::member, column);
        member->name = std::move(name);
        member->optional = optional;
        chained = chained || optional;
        add(*member, std::move(n));
        n = std::move(member);
        continue;
      }
      if (is_op("[")) {
        n = parse_index(std::move(n), false);
        continue;
      }
      break;
    }
    if (chained) {
      auto chain = make(node_kind::chain, n->column);
      add(*chain, std::move(n));
      return chain;
    }
    return n;
  }

  node_ptr parse_index(node_ptr base, bool optional) {
    depth_guard guard(*this);
    const auto column = cur().column;
    expect("[");
    if (is_op(":")) {
      ++pos_;
      auto s = make(node_kind::slice, column);
      add(*s, std::move(base));
      add(*s, nullptr);
      add(*s, is_op("]") ? nullptr : parse_expression(0));
      expect("]");
      return s;
    }
    auto first = parse_expression(0);
    if (is_op(":")) {
      ++pos_;
      auto s = make(node_kind::slice, column);
      add(*s, std::move(base));
      add(*s, std::move(first));
      add(*s, is_op("]") ? nullptr : parse_expression(0));
      expect("]");
      return s;
    }
    expect("]");
    auto n = make(node_kind::index, column);
    n->optional = optional;
    add(*n, std::move(base));
    add(*n, std::move(first));
    return n;
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

result<node_ptr> parse(std::string_view source) {
  try {
    auto toks = lexer(source).run();
    return parser(std::move(toks)).parse_all();
  } catch (const parse_error& e) {
    return make_error(errc::invalid_argument, column_message(e.column, e.message));
  } catch (const std::exception& e) {
    return make_error(errc::invalid_argument, std::string("invalid expression: ") + e.what());
  }
}

}  // namespace kairos::expr::detail
