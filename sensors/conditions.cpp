#include "kairos/sensors/conditions.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kairos::sensors {

struct condition::node {
  enum class kind { name, not_, and_, or_ } k = kind::name;
  std::string name;
  std::shared_ptr<const node> left, right;
};

namespace {

using node_ptr = std::shared_ptr<const condition::node>;
constexpr int max_depth = 64;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

class parser {
 public:
  explicit parser(std::string_view s) : s_(s) {}

  result<node_ptr> parse() {
    auto n = parse_or(0);
    if (!n) return n;
    skip();
    if (i_ != s_.size()) return fail("unexpected character");
    return n;
  }

  std::vector<std::string> names;

 private:
  error fail(std::string_view what) const {
    return make_error(errc::invalid_argument,
                      fmt::format("conditions \"{}\": column {}: {}", s_, i_ + 1, what));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  bool eat(std::string_view op) {
    skip();
    if (s_.substr(i_).starts_with(op)) {
      i_ += op.size();
      return true;
    }
    return false;
  }

  result<node_ptr> parse_or(int depth) {
    auto left = parse_and(depth);
    if (!left) return left;
    node_ptr l = *left;
    while (eat("||")) {
      auto right = parse_and(depth);
      if (!right) return right;
      auto n = std::make_shared<condition::node>();
      n->k = condition::node::kind::or_;
      n->left = l;
      n->right = *right;
      l = n;
    }
    return l;
  }

  result<node_ptr> parse_and(int depth) {
    auto left = parse_unary(depth);
    if (!left) return left;
    node_ptr l = *left;
    while (eat("&&")) {
      auto right = parse_unary(depth);
      if (!right) return right;
      auto n = std::make_shared<condition::node>();
      n->k = condition::node::kind::and_;
      n->left = l;
      n->right = *right;
      l = n;
    }
    return l;
  }

  result<node_ptr> parse_unary(int depth) {
    if (depth > max_depth) return fail("nested too deeply");
    if (eat("!")) {
      auto inner = parse_unary(depth + 1);
      if (!inner) return inner;
      auto n = std::make_shared<condition::node>();
      n->k = condition::node::kind::not_;
      n->left = *inner;
      return node_ptr(n);
    }
    if (eat("(")) {
      auto inner = parse_or(depth + 1);
      if (!inner) return inner;
      if (!eat(")")) return fail("expected ')'");
      return inner;
    }
    skip();
    const std::size_t start = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    if (i_ == start)
      return fail(i_ == s_.size() ? "expected a dependency name at the end"
                                  : "expected a dependency name");
    auto n = std::make_shared<condition::node>();
    n->name = std::string(s_.substr(start, i_ - start));
    names.push_back(n->name);
    return node_ptr(n);
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool eval(const condition::node& n, const std::set<std::string>& satisfied) {
  switch (n.k) {
    case condition::node::kind::name:
      return satisfied.count(n.name) > 0;
    case condition::node::kind::not_:
      return !eval(*n.left, satisfied);
    case condition::node::kind::and_:
      return eval(*n.left, satisfied) && eval(*n.right, satisfied);
    case condition::node::kind::or_:
      return eval(*n.left, satisfied) || eval(*n.right, satisfied);
  }
  return false;
}

}  // namespace

result<condition> condition::parse(std::string_view text,
                                   const std::vector<std::string>& all_dependencies) {
  condition c;
  // Bounds the depth of the tree that evaluate() walks.
  if (text.size() > 4096)
    return make_error(errc::invalid_argument, "conditions: longer than 4096 characters");
  const bool blank = text.find_first_not_of(" \t\n") == std::string_view::npos;
  if (blank) {
    if (all_dependencies.empty())
      return make_error(errc::invalid_argument, "a sensor needs at least one dependency");
    node_ptr root;
    for (const auto& d : all_dependencies) {
      auto leaf = std::make_shared<node>();
      leaf->name = d;
      if (!root) {
        root = leaf;
        continue;
      }
      auto both = std::make_shared<node>();
      both->k = node::kind::and_;
      both->left = root;
      both->right = leaf;
      root = both;
    }
    c.root_ = root;
    c.names_ = all_dependencies;
  } else {
    parser p(text);
    auto root = p.parse();
    if (!root) return std::move(root).error();
    for (const auto& n : p.names) {
      if (std::find(all_dependencies.begin(), all_dependencies.end(), n) == all_dependencies.end())
        return make_error(errc::invalid_argument,
                          fmt::format("conditions \"{}\": unknown dependency \"{}\"", text, n));
    }
    c.root_ = *root;
    c.names_ = std::move(p.names);
  }
  std::sort(c.names_.begin(), c.names_.end());
  c.names_.erase(std::unique(c.names_.begin(), c.names_.end()), c.names_.end());
  return c;
}

bool condition::evaluate(const std::set<std::string>& satisfied) const {
  return root_ && eval(*root_, satisfied);
}

}  // namespace kairos::sensors
