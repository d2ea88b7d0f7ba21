#include "kairos/core/go_template.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "expr_value.hpp"
#include "kairos/core/expr.hpp"
#include "kairos/core/sprig.hpp"

namespace kairos::go_template {
namespace {

using json = nlohmann::json;

// Bounds that keep an untrusted template from exhausting the process.
constexpr std::size_t max_output = 1 << 20;
constexpr std::uint64_t max_steps = 1'000'000;
constexpr int max_nesting = 100;

// ---------------------------------------------------------------- lexing

enum class tok {
  text,
  left,   // {{
  right,  // }}
  ident,
  field,     // .name
  dot,       // .
  variable,  // $ or $name
  string,
  number,
  character,
  pipe,
  lparen,
  rparen,
  declare,  // :=
  assign,   // =
  comma,
  eof,
};

struct token {
  tok kind = tok::eof;
  std::string text;  // decoded for strings, name for fields/variables
  std::size_t pos = 0;
  bool spaced = true;  // whitespace (or a delimiter) precedes it
};

struct position {
  std::size_t line = 1;
  std::size_t column = 1;
};

class failure {
 public:
  failure(std::size_t pos, std::string message) : pos_(pos), message_(std::move(message)) {}
  std::size_t pos_;
  std::string message_;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

class lexer {
 public:
  explicit lexer(std::string_view src) : src_(src) {}

  std::vector<token> run() {
    std::size_t i = 0;
    while (i < src_.size()) {
      const auto open = src_.find("{{", i);
      if (open == std::string_view::npos) {
        push_text(i, src_.size());
        break;
      }
      std::size_t text_end = open;
      std::size_t inner = open + 2;
      // `{{- ` trims the whitespace before the action.
      if (inner + 1 < src_.size() && src_[inner] == '-' && is_space(src_[inner + 1])) {
        while (text_end > i && is_space(src_[text_end - 1])) --text_end;
        inner += 2;
      }
      push_text(i, text_end);
      tokens_.push_back({tok::left, "{{", open, true});
      i = lex_action(inner);
    }
    tokens_.push_back({tok::eof, "", src_.size(), true});
    return std::move(tokens_);
  }

 private:
  void push_text(std::size_t from, std::size_t to) {
    if (trim_next_) {
      while (from < to && is_space(src_[from])) ++from;
      trim_next_ = false;
    }
    if (to > from) tokens_.push_back({tok::text, std::string(src_.substr(from, to - from)), from});
  }

  // Returns the index after the closing delimiter.
  std::size_t lex_action(std::size_t i) {
    bool spaced = true;
    // A comment is the whole action.
    {
      std::size_t j = i;
      while (j < src_.size() && is_space(src_[j])) ++j;
      if (src_.substr(j).starts_with("/*")) {
        const auto end = src_.find("*/", j + 2);
        if (end == std::string_view::npos) throw failure(j, "unclosed comment");
        tokens_.pop_back();  // a comment produces no action
        return close_action(end + 2, true);
      }
    }
    while (true) {
      if (i >= src_.size()) throw failure(i, "unclosed action");
      const char c = src_[i];
      if (is_space(c)) {
        // ` -}}` ends the action with trimming.
        std::size_t j = i;
        while (j < src_.size() && is_space(src_[j])) ++j;
        if (src_.substr(j).starts_with("-}}")) {
          tokens_.push_back({tok::right, "}}", j, true});
          trim_next_ = true;
          return j + 3;
        }
        i = j;
        spaced = true;
        continue;
      }
      if (src_.substr(i).starts_with("}}")) {
        tokens_.push_back({tok::right, "}}", i, true});
        return i + 2;
      }
      const std::size_t start = i;
      token t;
      t.pos = start;
      t.spaced = spaced;
      spaced = false;
      if (c == '|') {
        t.kind = tok::pipe;
        ++i;
      } else if (c == '(') {
        t.kind = tok::lparen;
        ++i;
      } else if (c == ')') {
        t.kind = tok::rparen;
        ++i;
      } else if (c == ',') {
        t.kind = tok::comma;
        ++i;
      } else if (c == ':' && i + 1 < src_.size() && src_[i + 1] == '=') {
        t.kind = tok::declare;
        i += 2;
      } else if (c == '=') {
        t.kind = tok::assign;
        ++i;
      } else if (c == '"') {
        t.kind = tok::string;
        i = lex_quoted(i, t.text);
      } else if (c == '`') {
        const auto end = src_.find('`', i + 1);
        if (end == std::string_view::npos) throw failure(i, "unterminated raw quoted string");
        t.kind = tok::string;
        t.text = std::string(src_.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (c == '\'') {
        t.kind = tok::character;
        i = lex_char(i, t.text);
      } else if (c == '$') {
        std::size_t j = i + 1;
        while (j < src_.size() && is_alnum(src_[j])) ++j;
        t.kind = tok::variable;
        t.text = std::string(src_.substr(i, j - i));
        i = j;
      } else if (c == '.') {
        if (i + 1 < src_.size() && src_[i + 1] >= '0' && src_[i + 1] <= '9') {
          t.kind = tok::number;
          i = lex_number(i, t.text);
        } else {
          std::size_t j = i + 1;
          while (j < src_.size() && is_alnum(src_[j])) ++j;
          if (j == i + 1) {
            t.kind = tok::dot;
          } else {
            t.kind = tok::field;
            t.text = std::string(src_.substr(i + 1, j - i - 1));
          }
          i = j;
        }
      } else if ((c >= '0' && c <= '9') ||
                 ((c == '-' || c == '+') && i + 1 < src_.size() &&
                  ((src_[i + 1] >= '0' && src_[i + 1] <= '9') || src_[i + 1] == '.'))) {
        t.kind = tok::number;
        i = lex_number(i, t.text);
      } else if (is_alnum(c)) {
        std::size_t j = i;
        while (j < src_.size() && is_alnum(src_[j])) ++j;
        t.kind = tok::ident;
        t.text = std::string(src_.substr(i, j - i));
        i = j;
      } else {
        throw failure(i, fmt::format("unexpected character '{}' in action", c));
      }
      tokens_.push_back(std::move(t));
    }
  }

  std::size_t close_action(std::size_t i, bool) {
    std::size_t j = i;
    while (j < src_.size() && is_space(src_[j])) ++j;
    if (src_.substr(j).starts_with("-}}")) {
      trim_next_ = true;
      return j + 3;
    }
    if (src_.substr(j).starts_with("}}")) return j + 2;
    throw failure(j, "comment ends before closing delimiter");
  }

  std::size_t lex_quoted(std::size_t i, std::string& out) {
    std::size_t j = i + 1;
    while (true) {
      if (j >= src_.size() || src_[j] == '\n') throw failure(i, "unterminated quoted string");
      const char c = src_[j];
      if (c == '"') return j + 1;
      if (c == '\\') {
        if (j + 1 >= src_.size()) throw failure(i, "unterminated quoted string");
        const char e = src_[j + 1];
        j += 2;
        switch (e) {
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case '"':
            out.push_back('"');
            break;
          case '\'':
            out.push_back('\'');
            break;
          case 'x': {
            if (j + 2 > src_.size()) throw failure(j, "bad escape in string");
            const auto v = std::strtol(std::string(src_.substr(j, 2)).c_str(), nullptr, 16);
            out.push_back(static_cast<char>(v));
            j += 2;
            break;
          }
          default:
            throw failure(j - 2, fmt::format("unknown escape sequence \\{}", e));
        }
        continue;
      }
      out.push_back(c);
      ++j;
    }
  }

  std::size_t lex_char(std::size_t i, std::string& out) {
    std::size_t j = i + 1;
    if (j < src_.size() && src_[j] == '\\' && j + 2 < src_.size() && src_[j + 2] == '\'') {
      const char e = src_[j + 1];
      const char v = e == 'n' ? '\n' : e == 't' ? '\t' : e;
      out = std::to_string(static_cast<int>(v));
      return j + 3;
    }
    if (j + 1 < src_.size() && src_[j + 1] == '\'') {
      out = std::to_string(static_cast<int>(static_cast<unsigned char>(src_[j])));
      return j + 2;
    }
    throw failure(i, "malformed character constant");
  }

  std::size_t lex_number(std::size_t i, std::string& out) {
    std::size_t j = i;
    if (src_[j] == '-' || src_[j] == '+') ++j;
    while (j < src_.size() &&
           (is_alnum(src_[j]) || src_[j] == '.' ||
            ((src_[j] == '-' || src_[j] == '+') && (src_[j - 1] == 'e' || src_[j - 1] == 'E'))))
      ++j;
    out = std::string(src_.substr(i, j - i));
    return j;
  }

  std::string_view src_;
  std::vector<token> tokens_;
  bool trim_next_ = false;
};

// ---------------------------------------------------------------- syntax

struct pipeline;

struct operand {
  enum class kind { dot, field_chain, variable, literal, function, sub_pipeline } k = kind::dot;
  std::string name;                 // variable or function name
  std::vector<std::string> fields;  // field chain applied after the base
  json literal;                     // for literals
  std::shared_ptr<pipeline> sub;    // for parenthesised pipelines
  std::size_t pos = 0;
};

struct command {
  std::vector<operand> args;
  std::size_t pos = 0;
};

struct pipeline {
  std::vector<std::string> vars;  // declared or assigned variables
  bool declare = false;
  std::vector<command> commands;
  std::size_t pos = 0;
};

struct node;
using node_list = std::vector<node>;

struct node {
  enum class kind { text, action, if_, range, with } k = kind::text;
  std::string text;
  pipeline pipe;
  node_list body;
  node_list else_body;
  std::size_t pos = 0;
};

bool is_builtin(std::string_view name) {
  static constexpr std::string_view names[] = {
      "and", "or", "not", "len", "index", "print", "printf", "println", "eq",
      "ne",  "lt", "le",  "gt",  "ge",    "html",  "js",     "urlquery"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

class parser {
 public:
  explicit parser(std::vector<token> tokens) : t_(std::move(tokens)) {}

  node_list parse_root() {
    std::string end_word;
    auto list = parse_list(end_word, 0);
    if (!end_word.empty()) throw failure(last_pos_, fmt::format("unexpected {{{{{}}}}}", end_word));
    return list;
  }

 private:
  const token& peek() const { return t_[i_]; }
  const token& next() {
    const token& t = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return t;
  }
  void expect(tok k, std::string_view what) {
    if (peek().kind != k)
      throw failure(peek().pos, fmt::format("expected {}, found {}", what, describe(peek())));
    next();
  }
  static std::string describe(const token& t) {
    switch (t.kind) {
      case tok::eof:
        return "end of template";
      case tok::right:
        return "\"}}\"";
      case tok::text:
        return "text";
      default:
        return fmt::format("\"{}\"", t.kind == tok::field ? "." + t.text : t.text);
    }
  }

  // Parses nodes until EOF or an `{{end}}` / `{{else ...}}` at this level;
  // `terminator` reports which ("end", "else" or empty at EOF). After
  // "else", the parser is positioned after the `else` keyword.
  node_list parse_list(std::string& terminator, int depth) {
    if (depth > max_nesting) throw failure(peek().pos, "template nested too deeply");
    node_list out;
    while (true) {
      const token& t = peek();
      if (t.kind == tok::eof) {
        terminator.clear();
        return out;
      }
      if (t.kind == tok::text) {
        node n;
        n.k = node::kind::text;
        n.text = t.text;
        n.pos = t.pos;
        next();
        out.push_back(std::move(n));
        continue;
      }
      // tok::left
      const std::size_t action_pos = t.pos;
      next();
      const token& head = peek();
      last_pos_ = head.pos;
      if (head.kind == tok::ident) {
        if (head.text == "end") {
          next();
          expect(tok::right, "\"}}\" after end");
          terminator = "end";
          return out;
        }
        if (head.text == "else") {
          next();
          terminator = "else";
          return out;
        }
        if (head.text == "if" || head.text == "range" || head.text == "with") {
          const std::string word = head.text;
          next();
          out.push_back(parse_control(word, action_pos, depth));
          continue;
        }
        if (head.text == "define" || head.text == "template" || head.text == "block" ||
            head.text == "break" || head.text == "continue")
          throw failure(head.pos, fmt::format("{{{{{}}}}} is not supported", head.text));
      }
      node n;
      n.k = node::kind::action;
      n.pos = action_pos;
      n.pipe = parse_pipeline(false, depth);
      expect(tok::right, "\"}}\"");
      out.push_back(std::move(n));
    }
  }

  node parse_control(const std::string& word, std::size_t pos, int depth) {
    node n;
    n.k = word == "if" ? node::kind::if_ : word == "range" ? node::kind::range : node::kind::with;
    n.pos = pos;
    n.pipe = parse_pipeline(n.k == node::kind::range, depth);
    expect(tok::right, "\"}}\"");
    std::string term;
    n.body = parse_list(term, depth + 1);
    if (term.empty())
      throw failure(pos, fmt::format("unexpected EOF: {{{{{}}}}} has no {{{{end}}}}", word));
    if (term == "else") {
      // `{{else if ...}}` / `{{else with ...}}` chain into a nested node that
      // shares this node's {{end}}.
      if (peek().kind == tok::ident && (peek().text == "if" || peek().text == "with") &&
          n.k != node::kind::range) {
        const std::string inner = peek().text;
        const std::size_t inner_pos = peek().pos;
        next();
        n.else_body.push_back(parse_control(inner, inner_pos, depth + 1));
        return n;
      }
      expect(tok::right, "\"}}\" after else");
      n.else_body = parse_list(term, depth + 1);
      if (term != "end")
        throw failure(pos,
                      fmt::format("{{{{{}}}}}: expected {{{{end}}}} after {{{{else}}}}", word));
    }
    return n;
  }

  pipeline parse_pipeline(bool allow_two_vars, int depth) {
    if (depth > max_nesting) throw failure(peek().pos, "expression nested too deeply");
    pipeline p;
    p.pos = peek().pos;
    // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
    if (peek().kind == tok::variable) {
      const std::size_t save = i_;
      std::vector<std::string> vars{next().text};
      if (peek().kind == tok::comma && allow_two_vars) {
        next();
        if (peek().kind != tok::variable) throw failure(peek().pos, "expected variable after ','");
        vars.push_back(next().text);
      }
      if (peek().kind == tok::declare || peek().kind == tok::assign) {
        p.declare = peek().kind == tok::declare;
        next();
        p.vars = std::move(vars);
      } else {
        i_ = save;
      }
    }
    while (true) {
      command c;
      c.pos = peek().pos;
      while (true) {
        const tok k = peek().kind;
        if (k == tok::pipe || k == tok::right || k == tok::rparen || k == tok::eof) break;
        c.args.push_back(parse_operand(depth));
      }
      if (c.args.empty()) throw failure(peek().pos, "missing value for command");
      p.commands.push_back(std::move(c));
      if (peek().kind != tok::pipe) break;
      next();
    }
    if (p.commands.empty()) throw failure(p.pos, "missing value for command");
    return p;
  }

  operand parse_operand(int depth) {
    operand o;
    const token& t = peek();
    o.pos = t.pos;
    switch (t.kind) {
      case tok::dot:
        o.k = operand::kind::dot;
        next();
        break;
      case tok::field:
        o.k = operand::kind::field_chain;
        o.fields.push_back(next().text);
        break;
      case tok::variable:
        o.k = operand::kind::variable;
        o.name = next().text;
        break;
      case tok::string:
        o.k = operand::kind::literal;
        o.literal = next().text;
        break;
      case tok::character:
        o.k = operand::kind::literal;
        o.literal = std::stoll(next().text);
        break;
      case tok::number:
        o.k = operand::kind::literal;
        o.literal = parse_number(next());
        break;
      case tok::lparen: {
        next();
        o.k = operand::kind::sub_pipeline;
        o.sub = std::make_shared<pipeline>(parse_pipeline(false, depth + 1));
        expect(tok::rparen, "\")\"");
        break;
      }
      case tok::ident: {
        const std::string word = next().text;
        if (word == "true" || word == "false") {
          o.k = operand::kind::literal;
          o.literal = word == "true";
        } else if (word == "nil") {
          o.k = operand::kind::literal;
          o.literal = nullptr;
        } else {
          if (!is_builtin(word) && !sprig::has(word))
            throw failure(t.pos, fmt::format("function \"{}\" not defined", word));
          o.k = operand::kind::function;
          o.name = word;
        }
        break;
      }
      default:
        throw failure(t.pos, fmt::format("unexpected {} in command", describe(t)));
    }
    // Fields directly attached (`.a.b`, `$x.a`, `(pipe).a`).
    while (peek().kind == tok::field && !peek().spaced) {
      if (o.k == operand::kind::literal || o.k == operand::kind::function)
        throw failure(peek().pos, "unexpected field after a literal or function");
      if (o.k == operand::kind::dot) o.k = operand::kind::field_chain;
      o.fields.push_back(next().text);
    }
    return o;
  }

  static json parse_number(const token& t) {
    const std::string& s = t.text;
    const bool is_float = s.find_first_of(".eE") != std::string::npos &&
                          !(s.size() > 1 && (s[0] == '0' || s[1] == '0') &&
                            s.find_first_of("xX") != std::string::npos);
    errno = 0;
    char* end = nullptr;
    if (!is_float) {
      const long long v = std::strtoll(s.c_str(), &end, 0);
      if (end && *end == '\0' && errno == 0) return json(static_cast<std::int64_t>(v));
    }
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && errno == 0 && std::isfinite(d)) return json(d);
    throw failure(t.pos, fmt::format("bad number syntax: \"{}\"", s));
  }

  std::vector<token> t_;
  std::size_t i_ = 0;
  std::size_t last_pos_ = 0;
};

// ---------------------------------------------------------------- execution

// A value during execution. `missing` is Go's invalid reflect.Value: a map
// lookup that found nothing, printed as "<no value>".
struct value {
  json v;
  bool missing = false;
};

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float64";
    case json::value_t::array:
      return "[]interface {}";
    case json::value_t::object:
      return "map[string]interface {}";
    default:
      return "interface {}";
  }
}

bool truthy(const value& x) {
  if (x.missing) return false;
  const json& v = x.v;
  switch (v.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return v.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return v.get<std::int64_t>() != 0;
    case json::value_t::number_float:
      return v.get<double>() != 0.0;
    case json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

std::string print_value(const value& x) {
  if (x.missing || x.v.is_null()) return "<no value>";
  return expr::detail::sprint_v(x.v);
}

// fmt.Sprint: a space between operands when neither side is a string.
std::string sprint(const std::vector<value>& args) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && !args[i].v.is_string() && !args[i - 1].v.is_string()) out.push_back(' ');
    out += args[i].missing ? "<nil>" : expr::detail::sprint_v(args[i].v);
  }
  return out;
}

// fmt.Sprintf for the verbs templates use: %v %s %d %f %g %e %q %t %x %X %c %%
// with flags - + 0 space, width and precision.
std::string sprintf(std::string_view format, const std::vector<value>& args) {
  std::string out;
  std::size_t arg = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    std::string flags;
    ++i;
    while (i < format.size() && std::string_view("-+ 0#").find(format[i]) != std::string_view::npos)
      flags.push_back(format[i++]);
    int width = -1, precision = -1;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9')
      width = std::min((width < 0 ? 0 : width) * 10 + (format[i++] - '0'), 1000);
    if (i < format.size() && format[i] == '.') {
      ++i;
      precision = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9')
        precision = std::min(precision * 10 + (format[i++] - '0'), 100);
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[i];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (arg >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const value& a = args[arg++];
    const json& v = a.v;
    std::string body;
    const bool left = flags.find('-') != std::string::npos;
    const bool zero = flags.find('0') != std::string::npos && !left;
    const bool plus = flags.find('+') != std::string::npos;
    switch (verb) {
      case 'v':
      case 's':
        body = a.missing ? "<nil>" : expr::detail::sprint_v(v);
        if (verb == 's' && precision >= 0 && body.size() > static_cast<std::size_t>(precision))
          body.resize(static_cast<std::size_t>(precision));
        break;
      case 'q':
        body = expr::quote(v.is_string() ? v.get_ref<const std::string&>()
                                         : expr::detail::sprint_v(v));
        break;
      case 'd':
        if (v.is_number()) {
          const auto n = v.is_number_float() ? expr::detail::double_to_int64(v.get<double>())
                                             : v.get<std::int64_t>();
          body = (plus && n >= 0 ? "+" : "") + std::to_string(n);
        } else {
          body = fmt::format("%!d({}={})", type_of(v), expr::detail::sprint_v(v));
        }
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'g':
        if (v.is_number()) {
          const double d = v.get<double>();
          const int p = precision >= 0 ? precision : (verb == 'g' ? -1 : 6);
          if (verb == 'g' && p < 0)
            body = expr::detail::format_float_v(d);
          else if (verb == 'e')
            body = fmt::format("{:.{}e}", d, p);
          else if (verb == 'g')
            body = fmt::format("{:.{}g}", d, p);
          else
            body = fmt::format("{:.{}f}", d, p);
          if (plus && d >= 0) body.insert(body.begin(), '+');
        } else {
          body = fmt::format("%!{}({}={})", verb, type_of(v), expr::detail::sprint_v(v));
        }
        break;
      case 't':
        body = v.is_boolean() ? (v.get<bool>() ? "true" : "false")
                              : fmt::format("%!t({}={})", type_of(v), expr::detail::sprint_v(v));
        break;
      case 'x':
      case 'X': {
        if (v.is_number_integer()) {
          body = verb == 'x' ? fmt::format("{:x}", v.get<std::int64_t>())
                             : fmt::format("{:X}", v.get<std::int64_t>());
        } else {
          const std::string s =
              v.is_string() ? v.get_ref<const std::string&>() : expr::detail::sprint_v(v);
          for (unsigned char ch : s)
            body += verb == 'x' ? fmt::format("{:02x}", ch) : fmt::format("{:02X}", ch);
        }
        break;
      }
      case 'c':
        if (v.is_number_integer()) {
          const auto cp = v.get<std::int64_t>();
          if (cp >= 0 && cp < 0x80) body.push_back(static_cast<char>(cp));
        }
        break;
      default:
        body = fmt::format("%!{}({}={})", verb, type_of(v), expr::detail::sprint_v(v));
    }
    if (width > 0 && body.size() < static_cast<std::size_t>(width)) {
      const std::size_t pad = static_cast<std::size_t>(width) - body.size();
      if (left) {
        body.append(pad, ' ');
      } else if (zero && v.is_number()) {
        const std::size_t sign = (!body.empty() && (body[0] == '-' || body[0] == '+')) ? 1 : 0;
        body.insert(sign, pad, '0');
      } else {
        body.insert(0, pad, ' ');
      }
    }
    out += body;
  }
  if (arg < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = arg; k < args.size(); ++k) {
      if (k > arg) out += ", ";
      out += type_of(args[k].v) + "=" + expr::detail::sprint_v(args[k].v);
    }
    out += ")";
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string js_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '<':
        out += "\\u003C";
        break;
      case '>':
        out += "\\u003E";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '=':
        out += "\\u003D";
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
        if (c < 0x20)
          out += fmt::format("\\u{:04X}", c);
        else
          out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string query_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~')
      out.push_back(static_cast<char>(c));
    else if (c == ' ')
      out.push_back('+');
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// Go's eq/lt on basic kinds; numbers of any kind compare by value (Go would
// refuse int against float64, which Argo's float64-only event data makes a
// common surprise).
std::optional<int> compare_basic(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) {
      const double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const auto x = a.get<std::int64_t>(), y = b.get<std::int64_t>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_boolean() && b.is_boolean()) return a.get<bool>() == b.get<bool>() ? 0 : 2;
  return std::nullopt;
}

class executor {
 public:
  executor(std::string_view src, const json& data) : src_(src), root_(data) {}

  std::string run(const node_list& nodes) {
    vars_.push_back({"$", value{root_, false}});
    exec_list(nodes, value{root_, false});
    return std::move(out_);
  }

 private:
  void step(std::size_t pos) {
    if (++steps_ > max_steps) throw failure(pos, "template execution exceeds its step budget");
  }

  void emit(std::string_view s, std::size_t pos) {
    if (out_.size() + s.size() > max_output)
      throw failure(pos, fmt::format("template output exceeds {} bytes", max_output));
    out_ += s;
  }

  void exec_list(const node_list& nodes, const value& dot) {
    for (const auto& n : nodes) exec_node(n, dot);
  }

  void exec_node(const node& n, const value& dot) {
    step(n.pos);
    switch (n.k) {
      case node::kind::text:
        emit(n.text, n.pos);
        return;
      case node::kind::action: {
        const value v = eval_pipeline(n.pipe, dot);
        if (n.pipe.vars.empty()) emit(print_value(v), n.pos);
        return;
      }
      case node::kind::if_:
      case node::kind::with: {
        const std::size_t mark = vars_.size();
        const value v = eval_pipeline(n.pipe, dot);
        if (truthy(v))
          exec_list(n.body, n.k == node::kind::with ? v : dot);
        else
          exec_list(n.else_body, dot);
        vars_.resize(mark);
        return;
      }
      case node::kind::range:
        exec_range(n, dot);
        return;
    }
  }

  void exec_range(const node& n, const value& dot) {
    const std::size_t mark = vars_.size();
    // The range pipeline's variables are bound per element, not to the
    // pipeline's value.
    pipeline p = n.pipe;
    const auto names = p.vars;
    p.vars.clear();
    const value v = eval_pipeline(p, dot);
    auto bind = [&](const json& key, const json& element) {
      vars_.resize(mark);
      if (names.size() == 1) {
        vars_.push_back({names[0], value{element, false}});
      } else if (names.size() == 2) {
        vars_.push_back({names[0], value{key, false}});
        vars_.push_back({names[1], value{element, false}});
      }
    };
    bool any = false;
    if (!v.missing && v.v.is_array()) {
      for (std::size_t i = 0; i < v.v.size(); ++i) {
        any = true;
        bind(json(static_cast<std::int64_t>(i)), v.v[i]);
        exec_list(n.body, value{v.v[i], false});
      }
    } else if (!v.missing && v.v.is_object()) {
      for (const auto& [key, element] : v.v.items()) {
        any = true;
        bind(json(key), element);
        exec_list(n.body, value{element, false});
      }
    } else if (!v.missing && !v.v.is_null()) {
      throw failure(n.pos, fmt::format("range can't iterate over {}", print_value(v)));
    }
    vars_.resize(mark);
    if (!any) exec_list(n.else_body, dot);
    vars_.resize(mark);
  }

  value eval_pipeline(const pipeline& p, const value& dot) {
    std::optional<value> piped;
    for (const auto& c : p.commands) piped = eval_command(c, dot, piped);
    assert(piped.has_value());
    if (!p.vars.empty()) {
      if (p.declare) {
        for (const auto& name : p.vars) vars_.push_back({name, *piped});
      } else {
        for (const auto& name : p.vars) lookup(name, p.pos) = *piped;
      }
    }
    return *piped;
  }

  value& lookup(const std::string& name, std::size_t pos) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return it->second;
    throw failure(pos, fmt::format("undefined variable: {}", name));
  }

  value eval_command(const command& c, const value& dot, const std::optional<value>& piped) {
    step(c.pos);
    const operand& head = c.args.front();
    if (head.k == operand::kind::function) {
      std::vector<value> args;
      for (std::size_t i = 1; i < c.args.size(); ++i) args.push_back(eval_operand(c.args[i], dot));
      if (piped) args.push_back(*piped);
      return call(head.name, args, c.args, dot, head.pos);
    }
    if (c.args.size() > 1 || piped) throw failure(head.pos, "can't give argument to non-function");
    return eval_operand(head, dot);
  }

  value eval_operand(const operand& o, const value& dot) {
    step(o.pos);
    value base;
    switch (o.k) {
      case operand::kind::dot:
      case operand::kind::field_chain:
        base = dot;
        break;
      case operand::kind::variable:
        base = lookup(o.name, o.pos);
        break;
      case operand::kind::literal:
        return value{o.literal, false};
      case operand::kind::sub_pipeline: {
        const std::size_t mark = vars_.size();
        base = eval_pipeline(*o.sub, dot);
        vars_.resize(mark);
        break;
      }
      case operand::kind::function:
        return call(o.name, {}, {}, dot, o.pos);
    }
    for (const auto& f : o.fields) {
      if (base.missing || base.v.is_null())
        throw failure(o.pos, fmt::format("nil pointer evaluating interface {{}}.{}", f));
      if (!base.v.is_object())
        throw failure(o.pos, fmt::format("can't evaluate field {} in type {}", f, type_of(base.v)));
      const auto it = base.v.find(f);
      if (it == base.v.end())
        base = value{json(), true};
      else
        base = value{*it, false};
    }
    return base;
  }

  static json arg_json(const value& v) { return v.missing ? json() : v.v; }

  value call(const std::string& name, const std::vector<value>& args,
             const std::vector<operand>& operands, const value& dot, std::size_t pos) {
    auto need = [&](std::size_t n) {
      if (args.size() != n)
        throw failure(
            pos, fmt::format("wrong number of args for {}: want {} got {}", name, n, args.size()));
    };
    if (name == "and" || name == "or") {
      if (args.empty())
        throw failure(pos, fmt::format("wrong number of args for {}: want at least 1 got 0", name));
      for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (truthy(args[i]) != (name == "and")) return args[i];
      return args.back();
    }
    if (name == "not") {
      need(1);
      return value{json(!truthy(args[0])), false};
    }
    if (name == "len") {
      need(1);
      const json& v = args[0].v;
      if (v.is_string()) return value{json(v.get_ref<const std::string&>().size()), false};
      if (v.is_array() || v.is_object()) return value{json(v.size()), false};
      throw failure(pos, fmt::format("error calling len: len of type {}", type_of(v)));
    }
    if (name == "index") {
      if (args.empty()) throw failure(pos, "wrong number of args for index: want at least 1 got 0");
      value cur = args[0];
      for (std::size_t i = 1; i < args.size(); ++i) {
        const json& k = args[i].v;
        if (cur.v.is_array()) {
          if (!k.is_number_integer())
            throw failure(
                pos, fmt::format("error calling index: cannot index slice with {}", type_of(k)));
          const auto idx = k.get<std::int64_t>();
          if (idx < 0 || static_cast<std::size_t>(idx) >= cur.v.size())
            throw failure(pos, fmt::format("error calling index: index out of range: {}", idx));
          cur = value{cur.v[static_cast<std::size_t>(idx)], false};
        } else if (cur.v.is_object()) {
          if (!k.is_string())
            throw failure(pos,
                          fmt::format("error calling index: value has type {}; should be string",
                                      type_of(k)));
          const auto it = cur.v.find(k.get<std::string>());
          cur = it == cur.v.end() ? value{json(), true} : value{*it, false};
        } else if (cur.v.is_string() && k.is_number_integer()) {
          const auto& s = cur.v.get_ref<const std::string&>();
          const auto idx = k.get<std::int64_t>();
          if (idx < 0 || static_cast<std::size_t>(idx) >= s.size())
            throw failure(pos, fmt::format("error calling index: index out of range: {}", idx));
          cur = value{json(static_cast<std::int64_t>(static_cast<unsigned char>(s[idx]))), false};
        } else {
          throw failure(
              pos, fmt::format("error calling index: can't index item of type {}", type_of(cur.v)));
        }
      }
      return cur;
    }
    if (name == "print") return value{json(sprint(args)), false};
    if (name == "println") {
      std::string s;
      for (std::size_t i = 0; i < args.size(); ++i) {
        if (i) s.push_back(' ');
        s += args[i].missing ? "<nil>" : expr::detail::sprint_v(args[i].v);
      }
      return value{json(s + "\n"), false};
    }
    if (name == "printf") {
      if (args.empty() || !args[0].v.is_string())
        throw failure(pos, "printf needs a format string");
      return value{json(sprintf(args[0].v.get_ref<const std::string&>(),
                                std::vector<value>(args.begin() + 1, args.end()))),
                   false};
    }
    if (name == "html" || name == "js" || name == "urlquery") {
      const std::string s = sprint(args);
      return value{json(name == "html" ? html_escape(s)
                        : name == "js" ? js_escape(s)
                                       : query_escape(s)),
                   false};
    }
    if (name == "eq" || name == "ne" || name == "lt" || name == "le" || name == "gt" ||
        name == "ge") {
      if (name == "eq") {
        if (args.size() < 2) throw failure(pos, "missing argument for comparison");
        for (std::size_t i = 1; i < args.size(); ++i) {
          const json a = arg_json(args[0]), b = arg_json(args[i]);
          if (a.is_null() || b.is_null()) {
            if (a.is_null() && b.is_null()) return value{json(true), false};
            continue;
          }
          const auto c = compare_basic(a, b);
          if (!c) throw failure(pos, "error calling eq: incompatible types for comparison");
          if (*c == 0) return value{json(true), false};
        }
        return value{json(false), false};
      }
      need(2);
      const json a = arg_json(args[0]), b = arg_json(args[1]);
      if (name == "ne" && (a.is_null() || b.is_null()))
        return value{json(!(a.is_null() && b.is_null())), false};
      const auto c = compare_basic(a, b);
      if (!c || (*c == 2 && name != "ne"))
        throw failure(pos,
                      fmt::format("error calling {}: incompatible types for comparison", name));
      bool r = false;
      if (name == "ne") r = *c != 0;
      if (name == "lt") r = *c < 0;
      if (name == "le") r = *c <= 0;
      if (name == "gt") r = *c > 0;
      if (name == "ge") r = *c >= 0;
      return value{json(r), false};
    }
    std::vector<json> plain;
    plain.reserve(args.size());
    for (const auto& a : args) plain.push_back(arg_json(a));
    auto r = sprig::call(name, plain);
    if (!r) throw failure(pos, fmt::format("function \"{}\" not defined", name));
    if (!*r) throw failure(pos, fmt::format("error calling {}: {}", name, r->error().message));
    return value{std::move(**r), false};
  }

  std::string_view src_;
  const json& root_;
  std::vector<std::pair<std::string, value>> vars_;
  std::string out_;
  std::uint64_t steps_ = 0;
};

position position_of(std::string_view src, std::size_t pos) {
  position p;
  for (std::size_t i = 0; i < pos && i < src.size(); ++i) {
    if (src[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

}  // namespace

result<std::string> render(std::string_view source, const nlohmann::json& data) {
  try {
    auto tokens = lexer(source).run();
    const auto nodes = parser(std::move(tokens)).parse_root();
    return executor(source, data).run(nodes);
  } catch (const failure& f) {
    const auto p = position_of(source, f.pos_);
    return make_error(errc::invalid_argument,
                      fmt::format("template:{}:{}: {}", p.line, p.column, f.message_));
  } catch (const std::exception& e) {
    // nlohmann or fmt on a pathological value; never let it escape.
    return make_error(errc::invalid_argument, fmt::format("template: {}", e.what()));
  }
}

}  // namespace kairos::go_template
