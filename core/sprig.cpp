#include "kairos/core/sprig.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <string>
#include <unordered_map>

#include "expr_value.hpp"
#include "kairos/core/digest.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/regex.hpp"

namespace kairos::sprig {

namespace {

using nlohmann::json;
using namespace kairos::expr::detail;
using args_t = std::vector<json>;
using fn = std::function<result<json>(const args_t&)>;

constexpr std::size_t max_string = 1 << 20;

kairos::error bad(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

kairos::error wrong_count(std::size_t want, std::size_t got) {
  return bad("wrong number of arguments: want " + std::to_string(want) + ", got " +
             std::to_string(got));
}

// sprig's strval: strings as is, everything else through %v.
std::string strval(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return sprint_v(v);
}

// cast.ToInt64 as sprig uses it: lenient, 0 on failure.
std::int64_t to_i64(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_float()) return double_to_int64(v.get<double>());
  if (v.is_number()) return to_int64(v);
  if (v.is_string()) {
    auto s = v.get<std::string>();
    if (auto i = parse_int(s, true)) return *i;
    // cast trims a trailing ".0..." for values like "3.0".
    if (auto d = parse_float(s)) return double_to_int64(*d);
  }
  return 0;
}

double to_f64(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number()) return to_double(v);
  if (v.is_string())
    if (auto d = parse_float(v.get<std::string>())) return *d;
  return 0;
}

bool empty_value(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return true;
    case json::value_t::boolean:
      return !v.get<bool>();
    case json::value_t::string:
      return v.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return v.empty();
    default:
      return to_double(v) == 0;
  }
}

std::string go_quote(const std::string& s, char q) {
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (q == '"' && c == '\n') {
      out += "\\n";
    } else if (q == '"' && c == '\t') {
      out += "\\t";
    } else if (q == '"' && c == '\r') {
      out += "\\r";
    } else if (q == '"' && c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += q;
  return out;
}

std::string title(std::string s) {
  bool start = true;
  for (auto& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '_' || c == '\'' || u >= 0x80) {
      if (start && u < 0x80) c = static_cast<char>(std::toupper(u));
      start = false;
    } else {
      start = true;
    }
  }
  return s;
}

std::string snakecase(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isupper(c)) {
      if (i > 0 && !out.empty() && out.back() != '_' &&
          (std::islower(static_cast<unsigned char>(s[i - 1])) ||
           std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
           (i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1])))))
        out += '_';
      out += static_cast<char>(std::tolower(c));
    } else if (c == ' ' || c == '-' || c == '.') {
      if (!out.empty() && out.back() != '_') out += '_';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string indent_lines(std::int64_t n, const std::string& s) {
  const std::string pad(static_cast<std::size_t>(std::clamp<std::int64_t>(n, 0, 1024)), ' ');
  std::string out = pad;
  for (char c : s) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::string trim_cut(const std::string& s, const std::string& set) {
  const auto b = s.find_first_not_of(set);
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(set);
  return s.substr(b, e - b + 1);
}

json list_of(const json& v) {
  if (v.is_array()) return v;
  if (v.is_null()) return json::array();
  return json::array({v});
}

// Wraps a function of a fixed number of arguments.
template <std::size_t N, class F>
fn fixed(F f) {
  return [f](const args_t& a) -> result<json> {
    if (a.size() != N) return wrong_count(N, a.size());
    return f(a);
  };
}

template <class F>
fn string1(F f) {
  return fixed<1>([f](const args_t& a) -> result<json> { return json(f(strval(a[0]))); });
}

json split_into(const std::string& sep, const std::string& s) {
  json parts = json::array();
  if (sep.empty()) {
    for (auto& r : split_runes(s)) parts.push_back(r);
    return parts;
  }
  std::size_t start = 0;
  for (;;) {
    const auto at = s.find(sep, start);
    if (at == std::string::npos) break;
    parts.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
  parts.push_back(s.substr(start));
  return parts;
}

result<json> arith(const args_t& a, const std::string& op) {
  if (a.size() < 2 && op != "add" && op != "mul") return wrong_count(2, a.size());
  if (a.empty()) return json(op == "mul" ? 1 : 0);
  std::int64_t acc = to_i64(a[0]);
  for (std::size_t i = 1; i < a.size(); ++i) {
    const auto x = to_i64(a[i]);
    if (op == "add") acc = wrap_add(acc, x);
    if (op == "sub") acc = wrap_sub(acc, x);
    if (op == "mul") acc = wrap_mul(acc, x);
    if (op == "div" || op == "mod") {
      if (x == 0) return bad("integer divide by zero");
      if (x == -1)
        acc = op == "div" ? wrap_sub(0, acc) : 0;
      else
        acc = op == "div" ? acc / x : acc % x;
    }
  }
  return json(acc);
}

const std::unordered_map<std::string_view, fn>& table() {
  static const std::unordered_map<std::string_view, fn> t = {
      {"upper", string1([](std::string s) {
         for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         return s;
       })},
      {"lower", string1([](std::string s) {
         for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
         return s;
       })},
      {"title", string1([](std::string s) { return title(std::move(s)); })},
      {"snakecase", string1([](std::string s) { return snakecase(s); })},
      {"trim", string1([](std::string s) { return trim_cut(s, " \t\n\v\f\r"); })},
      {"nospace", string1([](std::string s) {
         s.erase(std::remove_if(s.begin(), s.end(),
                                [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
                 s.end());
         return s;
       })},
      {"trimAll", fixed<2>([](const args_t& a) -> result<json> {
         return json(trim_cut(strval(a[1]), strval(a[0])));
       })},
      {"trimPrefix", fixed<2>([](const args_t& a) -> result<json> {
         auto p = strval(a[0]);
         auto s = strval(a[1]);
         return json(s.rfind(p, 0) == 0 ? s.substr(p.size()) : s);
       })},
      {"trimSuffix", fixed<2>([](const args_t& a) -> result<json> {
         auto p = strval(a[0]);
         auto s = strval(a[1]);
         const bool has = s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
         return json(has ? s.substr(0, s.size() - p.size()) : s);
       })},
      {"replace", fixed<3>([](const args_t& a) -> result<json> {
         const auto from = strval(a[0]);
         const auto to = strval(a[1]);
         const auto s = strval(a[2]);
         if (from.empty()) return json(s);
         std::string out;
         std::size_t start = 0;
         for (;;) {
           const auto at = s.find(from, start);
           if (at == std::string::npos) break;
           out.append(s, start, at - start);
           out += to;
           start = at + from.size();
           if (out.size() > max_string) return bad("result too large");
         }
         out.append(s, start);
         return json(out);
       })},
      {"contains", fixed<2>([](const args_t& a) -> result<json> {
         return json(strval(a[1]).find(strval(a[0])) != std::string::npos);
       })},
      {"hasPrefix", fixed<2>([](const args_t& a) -> result<json> {
         return json(strval(a[1]).rfind(strval(a[0]), 0) == 0);
       })},
      {"hasSuffix", fixed<2>([](const args_t& a) -> result<json> {
         const auto p = strval(a[0]);
         const auto s = strval(a[1]);
         return json(s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
       })},
      {"quote", [](const args_t& a) -> result<json> {
         std::string out;
         for (const auto& v : a) {
           if (v.is_null()) continue;
           if (!out.empty()) out += ' ';
           out += go_quote(strval(v), '"');
         }
         return json(out);
       }},
      {"squote", [](const args_t& a) -> result<json> {
         std::string out;
         for (const auto& v : a) {
           if (v.is_null()) continue;
           if (!out.empty()) out += ' ';
           out += "'" + strval(v) + "'";
         }
         return json(out);
       }},
      {"cat", [](const args_t& a) -> result<json> {
         std::string out;
         for (const auto& v : a) {
           if (v.is_null()) continue;
           if (!out.empty()) out += ' ';
           out += strval(v);
         }
         return json(out);
       }},
      {"default", [](const args_t& a) -> result<json> {
         if (a.empty() || a.size() > 2) return wrong_count(2, a.size());
         if (a.size() == 1 || empty_value(a[1])) return a[0];
         return a[1];
       }},
      {"empty", fixed<1>([](const args_t& a) -> result<json> { return json(empty_value(a[0])); })},
      {"coalesce", [](const args_t& a) -> result<json> {
         for (const auto& v : a)
           if (!empty_value(v)) return v;
         return json(nullptr);
       }},
      {"ternary", fixed<3>([](const args_t& a) -> result<json> {
         if (!a[2].is_boolean()) return bad("ternary needs a boolean condition");
         return a[2].get<bool>() ? a[0] : a[1];
       })},
      {"toJson", fixed<1>([](const args_t& a) -> result<json> { return json(to_json(a[0])); })},
      {"toRawJson", fixed<1>([](const args_t& a) -> result<json> { return json(to_json(a[0])); })},
      {"toPrettyJson",
       fixed<1>([](const args_t& a) -> result<json> { return json(to_json(a[0], true)); })},
      {"fromJson", fixed<1>([](const args_t& a) -> result<json> {
         auto v = parse_json(strval(a[0]));
         if (v.is_discarded()) return json(nullptr);
         return v;
       })},
      {"mustFromJson", fixed<1>([](const args_t& a) -> result<json> {
         auto v = parse_json(strval(a[0]));
         if (v.is_discarded()) return bad("invalid JSON");
         return v;
       })},
      {"b64enc", string1([](std::string s) { return base64_encode(s); })},
      {"b64dec", string1([](std::string s) -> std::string {
         auto d = base64_decode(s);
         // sprig returns the decoding error's text instead of failing.
         return d ? *d : "illegal base64 data";
       })},
      {"sha256sum", string1([](std::string s) { return digest::sha256_hex(s); })},
      {"sha1sum", string1([](std::string s) { return digest::sha1_hex(s); })},
      {"substr", fixed<3>([](const args_t& a) -> result<json> {
         const auto s = strval(a[2]);
         const auto size = static_cast<std::int64_t>(s.size());
         auto start = to_i64(a[0]);
         auto end = to_i64(a[1]);
         if (start < 0) start = 0;
         if (start > size) start = size;
         if (end < 0 || end > size) end = size;
         if (end < start) return json("");
         return json(s.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start)));
       })},
      {"trunc", fixed<2>([](const args_t& a) -> result<json> {
         const auto s = strval(a[1]);
         const auto size = static_cast<std::int64_t>(s.size());
         const auto c = to_i64(a[0]);
         if (c < 0 && -c < size) return json(s.substr(static_cast<std::size_t>(size + c)));
         if (c >= 0 && c < size) return json(s.substr(0, static_cast<std::size_t>(c)));
         return json(s);
       })},
      {"repeat", fixed<2>([](const args_t& a) -> result<json> {
         const auto n = to_i64(a[0]);
         const auto s = strval(a[1]);
         if (n <= 0) return json("");
         if (!s.empty() && static_cast<std::uint64_t>(n) > max_string / s.size())
           return bad("result too large");
         std::string out;
         for (std::int64_t i = 0; i < n; ++i) out += s;
         return json(out);
       })},
      {"indent", fixed<2>([](const args_t& a) -> result<json> {
         return json(indent_lines(to_i64(a[0]), strval(a[1])));
       })},
      {"nindent", fixed<2>([](const args_t& a) -> result<json> {
         return json("\n" + indent_lines(to_i64(a[0]), strval(a[1])));
       })},
      {"split", fixed<2>([](const args_t& a) -> result<json> {
         const auto parts = split_into(strval(a[0]), strval(a[1]));
         json out = json::object();
         for (std::size_t i = 0; i < parts.size(); ++i) out["_" + std::to_string(i)] = parts[i];
         return out;
       })},
      {"splitList", fixed<2>([](const args_t& a) -> result<json> {
         return split_into(strval(a[0]), strval(a[1]));
       })},
      {"join", fixed<2>([](const args_t& a) -> result<json> {
         const auto sep = strval(a[0]);
         std::string out;
         bool first = true;
         for (const auto& e : list_of(a[1])) {
           if (!first) out += sep;
           first = false;
           out += strval(e);
           if (out.size() > max_string) return bad("result too large");
         }
         return json(out);
       })},
      {"list", [](const args_t& a) -> result<json> { return json(a); }},
      {"dict", [](const args_t& a) -> result<json> {
         json out = json::object();
         for (std::size_t i = 0; i < a.size(); i += 2)
           out[strval(a[i])] = i + 1 < a.size() ? a[i + 1] : json("");
         return out;
       }},
      {"get", fixed<2>([](const args_t& a) -> result<json> {
         if (!a[0].is_object()) return json("");
         auto it = a[0].find(strval(a[1]));
         return it == a[0].end() ? json("") : *it;
       })},
      {"hasKey", fixed<2>([](const args_t& a) -> result<json> {
         return json(a[0].is_object() && a[0].contains(strval(a[1])));
       })},
      {"keys", [](const args_t& a) -> result<json> {
         json out = json::array();
         for (const auto& d : a)
           if (d.is_object())
             for (auto it = d.begin(); it != d.end(); ++it) out.push_back(it.key());
         return out;
       }},
      {"values", fixed<1>([](const args_t& a) -> result<json> {
         json out = json::array();
         if (a[0].is_object())
           for (const auto& v : a[0]) out.push_back(v);
         return out;
       })},
      {"first", fixed<1>([](const args_t& a) -> result<json> {
         const auto l = list_of(a[0]);
         return l.empty() ? json(nullptr) : l.front();
       })},
      {"last", fixed<1>([](const args_t& a) -> result<json> {
         const auto l = list_of(a[0]);
         return l.empty() ? json(nullptr) : l.back();
       })},
      {"rest", fixed<1>([](const args_t& a) -> result<json> {
         auto l = list_of(a[0]);
         if (!l.empty()) l.erase(l.begin());
         return l;
       })},
      {"initial", fixed<1>([](const args_t& a) -> result<json> {
         auto l = list_of(a[0]);
         if (!l.empty()) l.erase(l.end() - 1);
         return l;
       })},
      {"append", fixed<2>([](const args_t& a) -> result<json> {
         auto l = list_of(a[0]);
         l.push_back(a[1]);
         return l;
       })},
      {"prepend", fixed<2>([](const args_t& a) -> result<json> {
         auto l = list_of(a[0]);
         l.insert(l.begin(), a[1]);
         return l;
       })},
      {"concat", [](const args_t& a) -> result<json> {
         json out = json::array();
         for (const auto& l : a)
           for (const auto& e : list_of(l)) out.push_back(e);
         return out;
       }},
      {"reverse", fixed<1>([](const args_t& a) -> result<json> {
         auto l = list_of(a[0]);
         std::reverse(l.begin(), l.end());
         return l;
       })},
      {"uniq", fixed<1>([](const args_t& a) -> result<json> {
         json out = json::array();
         for (const auto& e : list_of(a[0]))
           if (std::none_of(out.begin(), out.end(), [&](const json& o) { return values_equal(o, e); }))
             out.push_back(e);
         return out;
       })},
      {"compact", fixed<1>([](const args_t& a) -> result<json> {
         json out = json::array();
         for (const auto& e : list_of(a[0]))
           if (!empty_value(e)) out.push_back(e);
         return out;
       })},
      {"has", fixed<2>([](const args_t& a) -> result<json> {
         const auto l = list_of(a[1]);
         return json(std::any_of(l.begin(), l.end(), [&](const json& e) { return values_equal(e, a[0]); }));
       })},
      {"sortAlpha", fixed<1>([](const args_t& a) -> result<json> {
         std::vector<std::string> items;
         for (const auto& e : list_of(a[0])) items.push_back(strval(e));
         std::sort(items.begin(), items.end());
         return json(items);
       })},
      {"toString", fixed<1>([](const args_t& a) -> result<json> { return json(strval(a[0])); })},
      {"toStrings", fixed<1>([](const args_t& a) -> result<json> {
         json out = json::array();
         for (const auto& e : list_of(a[0])) out.push_back(strval(e));
         return out;
       })},
      {"atoi", fixed<1>([](const args_t& a) -> result<json> {
         auto i = parse_int(strval(a[0]));
         return json(i ? *i : 0);
       })},
      {"int", fixed<1>([](const args_t& a) -> result<json> { return json(to_i64(a[0])); })},
      {"int64", fixed<1>([](const args_t& a) -> result<json> { return json(to_i64(a[0])); })},
      {"float64", fixed<1>([](const args_t& a) -> result<json> { return json(to_f64(a[0])); })},
      {"add", [](const args_t& a) { return arith(a, "add"); }},
      {"add1", fixed<1>([](const args_t& a) -> result<json> { return json(wrap_add(to_i64(a[0]), 1)); })},
      {"sub", [](const args_t& a) { return arith(a, "sub"); }},
      {"mul", [](const args_t& a) { return arith(a, "mul"); }},
      {"div", [](const args_t& a) { return arith(a, "div"); }},
      {"mod", [](const args_t& a) { return arith(a, "mod"); }},
      {"max", [](const args_t& a) -> result<json> {
         if (a.empty()) return wrong_count(1, 0);
         std::int64_t m = to_i64(a[0]);
         for (const auto& v : a) m = std::max(m, to_i64(v));
         return json(m);
       }},
      {"min", [](const args_t& a) -> result<json> {
         if (a.empty()) return wrong_count(1, 0);
         std::int64_t m = to_i64(a[0]);
         for (const auto& v : a) m = std::min(m, to_i64(v));
         return json(m);
       }},
      {"floor", fixed<1>([](const args_t& a) -> result<json> { return json(std::floor(to_f64(a[0]))); })},
      {"ceil", fixed<1>([](const args_t& a) -> result<json> { return json(std::ceil(to_f64(a[0]))); })},
      {"round", [](const args_t& a) -> result<json> {
         if (a.size() < 2 || a.size() > 3) return wrong_count(2, a.size());
         const auto places = std::clamp<std::int64_t>(to_i64(a[1]), 0, 15);
         const double scale = std::pow(10.0, static_cast<double>(places));
         return json(std::round(to_f64(a[0]) * scale) / scale);
       }},
      {"regexMatch", fixed<2>([](const args_t& a) -> result<json> {
         auto r = regex::search(strval(a[0]), strval(a[1]));
         if (!r) return std::move(r).error();
         return json(*r);
       })},
      {"regexFind", fixed<2>([](const args_t& a) -> result<json> {
         auto r = regex::find_all(strval(a[0]), strval(a[1]), 1);
         if (!r) return std::move(r).error();
         return json(r->empty() ? std::string() : r->front());
       })},
      {"regexFindAll", fixed<3>([](const args_t& a) -> result<json> {
         auto r = regex::find_all(strval(a[0]), strval(a[1]), to_i64(a[2]));
         if (!r) return std::move(r).error();
         return json(*r);
       })},
      {"regexReplaceAll", fixed<3>([](const args_t& a) -> result<json> {
         auto r = regex::replace_all(strval(a[0]), strval(a[1]), strval(a[2]));
         if (!r) return std::move(r).error();
         return json(std::move(*r));
       })},
      {"regexReplaceAllLiteral", fixed<3>([](const args_t& a) -> result<json> {
         auto r = regex::replace_all_literal(strval(a[0]), strval(a[1]), strval(a[2]));
         if (!r) return std::move(r).error();
         return json(std::move(*r));
       })},
  };
  return t;
}

}  // namespace

bool has(std::string_view name) {
  return table().count(name) > 0;
}

std::optional<result<nlohmann::json>> call(std::string_view name,
                                           const std::vector<nlohmann::json>& args) {
  auto it = table().find(name);
  if (it == table().end()) return std::nullopt;
  try {
    return it->second(args);
  } catch (const std::exception& e) {
    return result<nlohmann::json>(bad(std::string(name) + ": " + e.what()));
  }
}

}  // namespace kairos::sprig
