#include "expr_builtins.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <unordered_map>
#include <vector>

#include "expr_value.hpp"
#include "kairos/core/json_text.hpp"

namespace kairos::expr::detail {

namespace {

constexpr std::size_t max_string = 1 << 20;

using builtin = std::function<value(context&, const node&)>;

void arity(const node& call, std::size_t min, std::size_t max) {
  const auto n = call.kids.size();
  if (n < min || n > max) {
    std::string want =
        min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    fail(call.column, call.name + "() takes " + want + " argument" + (max == 1 ? "" : "s") +
                          ", got " + std::to_string(n));
  }
}

std::vector<value> eager(context& ctx, const node& call, std::size_t min, std::size_t max) {
  arity(call, min, max);
  std::vector<value> args;
  args.reserve(call.kids.size());
  for (const auto& k : call.kids) args.push_back(ctx.eval(*k));
  return args;
}

const std::string& str(const node& call, const std::vector<value>& args, std::size_t i) {
  const json& v = args[i].get();
  if (!v.is_string())
    fail(call.kids[i]->column, call.name + "() argument " + std::to_string(i + 1) +
                                   " must be a string, not " + std::string(type_name(v)));
  return v.get_ref<const std::string&>();
}

std::int64_t integer(const node& call, const std::vector<value>& args, std::size_t i) {
  const json& v = args[i].get();
  if (!v.is_number())
    fail(call.kids[i]->column, call.name + "() argument " + std::to_string(i + 1) +
                                   " must be a number, not " + std::string(type_name(v)));
  return v.is_number_float() ? double_to_int64(v.get<double>()) : to_int64(v);
}

const json& array(const node& call, const std::vector<value>& args, std::size_t i) {
  const json& v = args[i].get();
  if (!v.is_array())
    fail(call.kids[i]->column, call.name + "() argument " + std::to_string(i + 1) +
                                   " must be an array, not " + std::string(type_name(v)));
  return v;
}

value to_int_value(const node& call, const json& v) {
  if (is_int(v)) return value::own(to_int64(v));
  if (v.is_number_float()) return value::own(double_to_int64(v.get<double>()));
  if (v.is_string()) {
    auto i = parse_int(v.get<std::string>());
    if (!i) fail(call.column, "invalid operation: " + call.name + "(" + v.get<std::string>() + ")");
    return value::own(*i);
  }
  fail(call.column, "invalid operation: " + call.name + "(" + std::string(type_name(v)) + ")");
}

value to_float_value(const node& call, const json& v) {
  if (v.is_number()) return value::own(to_double(v));
  if (v.is_string()) {
    auto d = parse_float(v.get<std::string>());
    if (!d) fail(call.column, "invalid operation: " + call.name + "(" + v.get<std::string>() + ")");
    return value::own(*d);
  }
  fail(call.column, "invalid operation: " + call.name + "(" + std::string(type_name(v)) + ")");
}

std::string ascii_map(std::string s, int (*f)(int)) {
  for (auto& c : s) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  return s;
}

std::string trim_set(std::string_view s, std::string_view set) {
  const auto b = s.find_first_not_of(set);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(set);
  return std::string(s.substr(b, e - b + 1));
}

constexpr std::string_view space_chars = " \t\n\v\f\r";

json split_string(const std::string& s, const std::string& sep, std::int64_t n) {
  json out = json::array();
  if (n == 0) return out;
  if (sep.empty()) {
    auto runes = split_runes(s);
    for (std::size_t i = 0; i < runes.size(); ++i) {
      if (n > 0 && static_cast<std::int64_t>(out.size()) == n - 1) {
        std::string rest;
        for (std::size_t j = i; j < runes.size(); ++j) rest += runes[j];
        out.push_back(rest);
        return out;
      }
      out.push_back(runes[i]);
    }
    return out;
  }
  std::size_t start = 0;
  for (;;) {
    if (n > 0 && static_cast<std::int64_t>(out.size()) == n - 1) break;
    const auto at = s.find(sep, start);
    if (at == std::string::npos) break;
    out.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
  out.push_back(s.substr(start));
  return out;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  if (from.empty()) {
    // Go inserts the replacement around every rune.
    out = to;
    for (const auto& r : split_runes(s)) {
      out += r;
      out += to;
      if (out.size() > max_string) break;
    }
    return out;
  }
  std::size_t start = 0;
  for (;;) {
    const auto at = s.find(from, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += to;
    start = at + from.size();
    if (out.size() > max_string) return out;
  }
  out.append(s, start);
  return out;
}

bool predicate_result(const node& closure, const value& v) {
  if (!v.get().is_boolean())
    fail(closure.column,
         "predicate should return a boolean, not " + std::string(type_name(v.get())));
  return v.get().get<bool>();
}

// Runs `each` for every element of the first argument with `#` bound.
template <class F>
void for_each_element(context& ctx, const node& call, const json& items, F&& each) {
  const node& closure = *call.kids[1];
  for (std::size_t i = 0; i < items.size(); ++i) {
    ctx.push_frame(&items[i], static_cast<std::int64_t>(i));
    struct pop {
      context& c;
      ~pop() { c.pop_frame(); }
    } guard{ctx};
    if (!each(i, ctx.eval(closure))) break;
  }
}

value predicate_builtin(context& ctx, const node& call) {
  const std::string& name = call.name;
  if (name == "sum" && call.kids.size() == 1) {
    auto args = eager(ctx, call, 1, 1);
    const json& items = array(call, args, 0);
    bool floating = false;
    std::int64_t isum = 0;
    double fsum = 0;
    for (const auto& e : items) {
      if (!e.is_number()) fail(call.column, "sum() of a non-number " + std::string(type_name(e)));
      if (e.is_number_float()) floating = true;
      isum = wrap_add(isum, to_int64(e));
      fsum += to_double(e);
    }
    return floating ? value::own(fsum) : value::own(isum);
  }
  const bool sort_desc = name == "sortBy" && call.kids.size() == 3;
  arity(call, 2, name == "sortBy" ? 3 : 2);
  auto base = ctx.eval(*call.kids[0]);
  const json& items = base.get();
  if (items.is_null() && name != "map" && name != "filter")
    fail(call.kids[0]->column, name + "() of nil");
  if (!items.is_array() && !items.is_null())
    fail(call.kids[0]->column, name + "() needs an array, not " + std::string(type_name(items)));
  static const json empty = json::array();
  const json& list = items.is_null() ? empty : items;
  const node& closure = *call.kids[1];

  if (name == "map") {
    json out = json::array();
    for_each_element(ctx, call, list, [&](std::size_t, value v) {
      out.push_back(v.take_copy());
      return true;
    });
    return value::own(std::move(out));
  }
  if (name == "filter") {
    json out = json::array();
    for_each_element(ctx, call, list, [&](std::size_t i, value v) {
      if (predicate_result(closure, v)) out.push_back(list[i]);
      return true;
    });
    return value::own(std::move(out));
  }
  if (name == "sum") {
    bool floating = false;
    std::int64_t isum = 0;
    double fsum = 0;
    for_each_element(ctx, call, list, [&](std::size_t, value v) {
      const json& e = v.get();
      if (!e.is_number())
        fail(closure.column, "sum() of a non-number " + std::string(type_name(e)));
      if (e.is_number_float()) floating = true;
      isum = wrap_add(isum, to_int64(e));
      fsum += to_double(e);
      return true;
    });
    return floating ? value::own(fsum) : value::own(isum);
  }
  if (name == "groupBy") {
    json out = json::object();
    for_each_element(ctx, call, list, [&](std::size_t i, value v) {
      const std::string key = sprint_v(v.get());
      if (!out.contains(key)) out[key] = json::array();
      out[key].push_back(list[i]);
      return true;
    });
    return value::own(std::move(out));
  }
  if (name == "sortBy") {
    std::vector<std::pair<json, std::size_t>> keys;
    for_each_element(ctx, call, list, [&](std::size_t i, value v) {
      keys.emplace_back(v.take_copy(), i);
      return true;
    });
    bool desc = false;
    if (sort_desc) {
      auto order = ctx.eval(*call.kids[2]);
      desc = order.get() == "desc";
    }
    bool bad = false;
    std::stable_sort(keys.begin(), keys.end(), [&](const auto& x, const auto& y) {
      const json& a = desc ? y.first : x.first;
      const json& b = desc ? x.first : y.first;
      if (a.is_number() && b.is_number()) return to_double(a) < to_double(b);
      if (a.is_string() && b.is_string())
        return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
      bad = true;
      return false;
    });
    if (bad) fail(call.column, "sortBy() keys must all be numbers or all strings");
    json out = json::array();
    for (const auto& k : keys) out.push_back(list[k.second]);
    return value::own(std::move(out));
  }

  std::int64_t matched = 0;
  std::int64_t found = -1;
  bool missed = false;
  const bool from_end = name == "findLast" || name == "findLastIndex";
  if (from_end) {
    for (std::size_t j = list.size(); j-- > 0;) {
      ctx.push_frame(&list[j], static_cast<std::int64_t>(j));
      struct pop {
        context& c;
        ~pop() { c.pop_frame(); }
      } guard{ctx};
      if (predicate_result(closure, ctx.eval(closure))) {
        found = static_cast<std::int64_t>(j);
        break;
      }
    }
  } else {
    const bool stop_on_first = name == "find" || name == "findIndex" || name == "any";
    for_each_element(ctx, call, list, [&](std::size_t i, value v) {
      if (predicate_result(closure, v)) {
        ++matched;
        if (found < 0) found = static_cast<std::int64_t>(i);
        if (stop_on_first || name == "none" || (name == "one" && matched > 1)) return false;
      } else if (name == "all") {
        missed = true;
        return false;
      }
      return true;
    });
  }
  if (name == "all") return value::own(!missed);
  if (name == "any") return value::own(found >= 0);
  if (name == "none") return value::own(matched == 0);
  if (name == "one") return value::own(matched == 1);
  if (name == "count") return value::own(matched);
  if (name == "findIndex" || name == "findLastIndex") return value::own(found);
  if (found < 0) return value::own(nullptr);
  return value::own(list[static_cast<std::size_t>(found)]);
}

value number_extreme(context& ctx, const node& call, bool want_max) {
  arity(call, 1, 64);
  auto args = eager(ctx, call, 1, 64);
  std::vector<const json*> items;
  if (args.size() == 1 && args[0].get().is_array()) {
    for (const auto& e : args[0].get()) items.push_back(&e);
  } else {
    for (const auto& a : args) items.push_back(&a.get());
  }
  if (items.empty()) return value::own(nullptr);
  const json* best = nullptr;
  for (const json* e : items) {
    if (!e->is_number())
      fail(call.column, call.name + "() of a non-number " + std::string(type_name(*e)));
    if (!best || (want_max ? to_double(*e) > to_double(*best) : to_double(*e) < to_double(*best)))
      best = e;
  }
  return value::own(*best);
}

value rounding(context& ctx, const node& call, double (*f)(double)) {
  auto args = eager(ctx, call, 1, 1);
  const json& v = args[0].get();
  if (is_int(v)) return value::own(to_int64(v));
  if (!v.is_number())
    fail(call.column, call.name + "() of a non-number " + std::string(type_name(v)));
  return value::own(f(to_double(v)));
}

const std::unordered_map<std::string_view, builtin>& table() {
  static const std::unordered_map<std::string_view, builtin> t = {
      {"len",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (v.is_string())
           return value::own(static_cast<std::int64_t>(rune_count(v.get<std::string>())));
         if (v.is_array() || v.is_object()) return value::own(static_cast<std::int64_t>(v.size()));
         fail(call.column, "invalid argument for len (type " + std::string(type_name(v)) + ")");
       }},
      {"abs",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (is_int(v)) {
           const auto i = to_int64(v);
           return value::own(i < 0 ? wrap_sub(0, i) : i);
         }
         if (v.is_number()) return value::own(std::fabs(to_double(v)));
         fail(call.column, "invalid argument for abs (type " + std::string(type_name(v)) + ")");
       }},
      {"ceil", [](context& ctx, const node& call) { return rounding(ctx, call, std::ceil); }},
      {"floor", [](context& ctx, const node& call) { return rounding(ctx, call, std::floor); }},
      {"round", [](context& ctx, const node& call) { return rounding(ctx, call, std::round); }},
      {"int",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return to_int_value(call, args[0].get());
       }},
      {"asInt",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return to_int_value(call, args[0].get());
       }},
      {"float",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return to_float_value(call, args[0].get());
       }},
      {"asFloat",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return to_float_value(call, args[0].get());
       }},
      {"string",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(sprint_v(args[0].get()));
       }},
      {"type",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(std::string(type_name(args[0].get())));
       }},
      {"toJson",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(to_json(args[0].get()));
       }},
      {"toJSON",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(to_json(args[0].get(), true));
       }},
      {"fromJSON",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         auto parsed = parse_json(str(call, args, 0));
         if (parsed.is_discarded()) fail(call.column, "fromJSON(): invalid JSON");
         return value::own(std::move(parsed));
       }},
      {"toBase64",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(base64_encode(str(call, args, 0)));
       }},
      {"fromBase64",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         auto d = base64_decode(str(call, args, 0));
         if (!d) fail(call.column, "fromBase64(): illegal base64 data");
         return value::own(std::move(*d));
       }},
      {"lower",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(ascii_map(str(call, args, 0), [](int c) { return std::tolower(c); }));
       }},
      {"upper",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         return value::own(ascii_map(str(call, args, 0), [](int c) { return std::toupper(c); }));
       }},
      {"trim",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 2);
         return value::own(
             trim_set(str(call, args, 0), args.size() == 2 ? str(call, args, 1) : space_chars));
       }},
      {"trimPrefix",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto& p = str(call, args, 1);
         return value::own(s.rfind(p, 0) == 0 ? s.substr(p.size()) : s);
       }},
      {"trimSuffix",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto& p = str(call, args, 1);
         const bool has = s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
         return value::own(has ? s.substr(0, s.size() - p.size()) : s);
       }},
      {"hasPrefix",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         return value::own(str(call, args, 0).rfind(str(call, args, 1), 0) == 0);
       }},
      {"hasSuffix",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto& p = str(call, args, 1);
         return value::own(s.size() >= p.size() &&
                           s.compare(s.size() - p.size(), p.size(), p) == 0);
       }},
      {"split",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 3);
         const std::int64_t n = args.size() == 3 ? integer(call, args, 2) : -1;
         return value::own(split_string(str(call, args, 0), str(call, args, 1), n));
       }},
      {"replace",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 3, 3);
         auto out = replace_all(str(call, args, 0), str(call, args, 1), str(call, args, 2));
         if (out.size() > max_string) fail(call.column, "replace(): result too large");
         return value::own(std::move(out));
       }},
      {"repeat",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto n = integer(call, args, 1);
         if (n < 0) fail(call.column, "repeat(): negative count");
         if (!s.empty() && static_cast<std::uint64_t>(n) > max_string / s.size())
           fail(call.column, "repeat(): result too large");
         std::string out;
         for (std::int64_t i = 0; i < n; ++i) out += s;
         return value::own(std::move(out));
       }},
      {"indexOf",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto at = s.find(str(call, args, 1));
         if (at == std::string::npos) return value::own(-1);
         return value::own(
             static_cast<std::int64_t>(rune_count(std::string_view(s).substr(0, at))));
       }},
      {"lastIndexOf",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const auto& s = str(call, args, 0);
         const auto at = s.rfind(str(call, args, 1));
         if (at == std::string::npos) return value::own(-1);
         return value::own(
             static_cast<std::int64_t>(rune_count(std::string_view(s).substr(0, at))));
       }},
      {"join",
       [](context& ctx, const node& call) {
         // expr-lang's order: join(array, separator); sprig.join is the reverse.
         auto args = eager(ctx, call, 1, 2);
         const json& items = array(call, args, 0);
         const std::string sep = args.size() == 2 ? str(call, args, 1) : "";
         std::string out;
         bool first = true;
         for (const auto& e : items) {
           if (!first) out += sep;
           first = false;
           out += sprint_v(e);
           if (out.size() > max_string) fail(call.column, "join(): result too large");
         }
         return value::own(std::move(out));
       }},
      {"max", [](context& ctx, const node& call) { return number_extreme(ctx, call, true); }},
      {"min", [](context& ctx, const node& call) { return number_extreme(ctx, call, false); }},
      {"mean",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& items = array(call, args, 0);
         if (items.empty()) return value::own(0.0);
         double s = 0;
         for (const auto& e : items) {
           if (!e.is_number()) fail(call.column, "mean() of a non-number");
           s += to_double(e);
         }
         return value::own(s / static_cast<double>(items.size()));
       }},
      {"first",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (v.is_array() && !v.empty()) return value::own(v.front());
         return value::own(nullptr);
       }},
      {"last",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (v.is_array() && !v.empty()) return value::own(v.back());
         return value::own(nullptr);
       }},
      {"get",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const json& v = args[0].get();
         const json& k = args[1].get();
         if (v.is_object() && k.is_string()) {
           auto it = v.find(k.get<std::string>());
           if (it != v.end()) return value::own(*it);
         } else if (v.is_array() && k.is_number()) {
           auto i = to_int64(k);
           const auto size = static_cast<std::int64_t>(v.size());
           if (i < 0) i += size;
           if (i >= 0 && i < size) return value::own(v[static_cast<std::size_t>(i)]);
         }
         return value::own(nullptr);
       }},
      {"keys",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (!v.is_object())
           fail(call.column, "keys() needs a map, not " + std::string(type_name(v)));
         json out = json::array();
         for (auto it = v.begin(); it != v.end(); ++it) out.push_back(it.key());
         return value::own(std::move(out));
       }},
      {"values",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         const json& v = args[0].get();
         if (!v.is_object())
           fail(call.column, "values() needs a map, not " + std::string(type_name(v)));
         json out = json::array();
         for (const auto& e : v) out.push_back(e);
         return value::own(std::move(out));
       }},
      {"reverse",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         json out = array(call, args, 0);
         std::reverse(out.begin(), out.end());
         return value::own(std::move(out));
       }},
      {"uniq",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         json out = json::array();
         for (const auto& e : array(call, args, 0)) {
           const bool seen = std::any_of(out.begin(), out.end(),
                                         [&](const json& o) { return values_equal(o, e); });
           if (!seen) out.push_back(e);
         }
         return value::own(std::move(out));
       }},
      {"flatten",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 1);
         json out = json::array();
         std::function<void(const json&)> add = [&](const json& v) {
           if (v.is_array())
             for (const auto& e : v) add(e);
           else
             out.push_back(v);
         };
         add(array(call, args, 0));
         return value::own(std::move(out));
       }},
      {"concat",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 64);
         json out = json::array();
         for (std::size_t i = 0; i < args.size(); ++i)
           for (const auto& e : array(call, args, i)) out.push_back(e);
         return value::own(std::move(out));
       }},
      {"sort",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 1, 2);
         json out = array(call, args, 0);
         const bool desc = args.size() == 2 && str(call, args, 1) == "desc";
         const bool numbers =
             std::all_of(out.begin(), out.end(), [](const json& e) { return e.is_number(); });
         const bool strings =
             std::all_of(out.begin(), out.end(), [](const json& e) { return e.is_string(); });
         if (!numbers && !strings) fail(call.column, "sort() needs all numbers or all strings");
         std::stable_sort(out.begin(), out.end(), [&](const json& a, const json& b) {
           const json& x = desc ? b : a;
           const json& y = desc ? a : b;
           if (numbers) return to_double(x) < to_double(y);
           return x.get_ref<const std::string&>() < y.get_ref<const std::string&>();
         });
         return value::own(std::move(out));
       }},
      {"jsonpath",
       [](context& ctx, const node& call) {
         auto args = eager(ctx, call, 2, 2);
         const json& doc = args[0].get();
         const auto& path = str(call, args, 1);
         json parsed;
         const json* target = &doc;
         if (doc.is_string()) {
           parsed = parse_json(doc.get<std::string>());
           if (parsed.is_discarded()) fail(call.kids[0]->column, "jsonpath(): invalid JSON");
           target = &parsed;
         }
         auto r = json_path(*target, path);
         if (!r) fail(call.kids[1]->column, "jsonpath(): " + r.error().message);
         return value::own(std::move(*r));
       }},
  };
  return t;
}

bool is_predicate_builtin(std::string_view name) {
  static constexpr std::string_view names[] = {
      "all",  "any",       "none",     "one",           "filter", "map",     "count",
      "find", "findIndex", "findLast", "findLastIndex", "sum",    "groupBy", "sortBy"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

}  // namespace

bool is_builtin(std::string_view name) {
  return is_predicate_builtin(name) || table().count(name) > 0 || name == "fromJson";
}

value call_builtin(context& ctx, const node& call) {
  if (is_predicate_builtin(call.name)) return predicate_builtin(ctx, call);
  std::string_view name = call.name;
  if (name == "fromJson") name = "fromJSON";
  auto it = table().find(name);
  if (it == table().end()) fail(call.column, "unknown function " + call.name);
  return it->second(ctx, call);
}

result<json> json_path(const json& doc, std::string_view path) {
  if (path.empty() || path[0] != '$')
    return make_error(errc::invalid_argument, "a JSONPath must start with $");
  std::vector<const json*> current{&doc};
  bool multi = false;
  std::size_t i = 1;
  auto missing = [](std::string_view what) {
    return make_error(errc::invalid_argument, "key " + std::string(what) + " not found");
  };
  auto step_key = [&](std::string_view key) -> result<void> {
    std::vector<const json*> next;
    for (const json* c : current) {
      if (c->is_object()) {
        auto it = c->find(std::string(key));
        if (it != c->end()) next.push_back(&*it);
      }
    }
    if (next.empty() && !multi) return missing(key);
    current = std::move(next);
    return {};
  };
  auto step_all = [&] {
    std::vector<const json*> next;
    for (const json* c : current)
      if (c->is_array() || c->is_object())
        for (const auto& e : *c) next.push_back(&e);
    current = std::move(next);
    multi = true;
  };
  while (i < path.size()) {
    if (path.compare(i, 2, "..") == 0) {
      i += 2;
      std::size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      const std::string key(path.substr(start, i - start));
      std::vector<const json*> next;
      std::function<void(const json&)> walk = [&](const json& v) {
        if (v.is_object()) {
          auto it = v.find(key);
          if (it != v.end()) next.push_back(&*it);
        }
        if (v.is_array() || v.is_object())
          for (const auto& e : v) walk(e);
      };
      for (const json* c : current) walk(*c);
      current = std::move(next);
      multi = true;
      continue;
    }
    if (path[i] == '.') {
      ++i;
      std::size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      const auto key = path.substr(start, i - start);
      if (key.empty()) return make_error(errc::invalid_argument, "empty key in JSONPath");
      if (key == "*") {
        step_all();
        continue;
      }
      if (auto r = step_key(key); !r) return std::move(r).error();
      continue;
    }
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      if (close == std::string_view::npos)
        return make_error(errc::invalid_argument, "unterminated [ in JSONPath");
      auto inner = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (inner == "*") {
        step_all();
        continue;
      }
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
          inner.back() == inner.front()) {
        if (auto r = step_key(inner.substr(1, inner.size() - 2)); !r) return std::move(r).error();
        continue;
      }
      auto idx = parse_int(inner);
      if (!idx)
        return make_error(errc::invalid_argument,
                          "invalid JSONPath index [" + std::string(inner) + "]");
      std::vector<const json*> next;
      for (const json* c : current) {
        if (!c->is_array()) continue;
        auto k = *idx;
        const auto size = static_cast<std::int64_t>(c->size());
        if (k < 0) k += size;
        if (k >= 0 && k < size) next.push_back(&(*c)[static_cast<std::size_t>(k)]);
      }
      if (next.empty() && !multi)
        return make_error(errc::invalid_argument,
                          "index [" + std::string(inner) + "] out of range");
      current = std::move(next);
      continue;
    }
    return make_error(errc::invalid_argument,
                      "unexpected character '" + std::string(1, path[i]) + "' in JSONPath");
  }
  if (!multi) return *current.front();
  json out = json::array();
  for (const json* c : current) out.push_back(*c);
  return out;
}

}  // namespace kairos::expr::detail
