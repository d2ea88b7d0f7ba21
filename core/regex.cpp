#include "kairos/core/regex.hpp"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include <re2/re2.h>

#include "kairos/core/text.hpp"

namespace kairos::regex {

namespace {

// Sensors and `when` conditions evaluate the same few patterns over and over;
// compiling costs far more than an RE2 match, so each thread keeps the ones
// it compiled. Clearing the lot when full is simpler than LRU and the sizes
// involved make the difference immaterial.
// Each keeps its program and the DFA RE2 builds lazily while matching,
// within RE2's default 8 MB budget per pattern; a smaller budget refuses
// patterns Go takes, such as [\p{L}\d_-]{1,200}.
constexpr std::size_t cache_capacity = 16;

// Go 1.22 takes `(?<name>re)` for a named group, as Perl does; Debian 12's
// RE2 knows only `(?P<name>re)`. Rewrites the former outside character
// classes and quoted text; lookbehind `(?<=` and `(?<!` stays as written, for
// RE2 to refuse as Go does.
std::string with_p_named_groups(std::string_view pattern) {
  std::string out;
  if (pattern.find("(?<") == std::string_view::npos) return out;
  out.reserve(pattern.size() + 4);
  bool in_class = false, quoted = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (quoted) {
      // \Q...\E: literal up to \E.
      if (c == '\\' && i + 1 < pattern.size() && pattern[i + 1] == 'E') quoted = false;
    } else if (c == '\\' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'Q') quoted = true;
      out += c;
      out += pattern[++i];
      continue;
    } else if (in_class) {
      if (c == '[' && pattern.substr(i, 2) == "[:") {
        // A POSIX class such as [:alpha:] inside a class.
        const auto close = pattern.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
      }
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      out += c;
      // A `]` first (after an optional `^`) is a member, not the end.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    } else if (pattern.substr(i, 3) == "(?<" && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
               pattern[i + 3] != '!') {
      out += "(?P<";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

result<const RE2*> compile(std::string_view pattern) {
  thread_local std::unordered_map<std::string, std::unique_ptr<const RE2>> cache;
  const std::string key(pattern);
  if (auto it = cache.find(key); it != cache.end()) return it->second.get();

  RE2::Options options;
  // RE2 would otherwise print each bad pattern on stderr; the caller reports it.
  options.set_log_errors(false);
  const std::string rewritten = with_p_named_groups(pattern);
  const std::string_view source = rewritten.empty() ? pattern : std::string_view(rewritten);
  auto re = std::make_unique<const RE2>(re2::StringPiece(source.data(), source.size()), options);
  if (!re->ok()) {
    return make_error(errc::invalid_argument,
                      "invalid regular expression " + key + ": " + re->error());
  }
  if (cache.size() >= cache_capacity) cache.clear();
  return cache.emplace(key, std::move(re)).first->second.get();
}

// utf8.DecodeRuneInString's width: 0 at the end, and Go steps over a byte
// that does not start a well-formed sequence one byte at a time.
std::size_t rune_width(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return 0;
  return std::max<std::size_t>(utf8_sequence_length(s, pos), 1);
}

// A match's groups as offsets into the subject; -1 for a group that did not
// take part.
struct match {
  std::vector<std::ptrdiff_t> offsets;  // begin, end for each group

  std::ptrdiff_t begin(std::size_t group = 0) const { return offsets[2 * group]; }
  std::ptrdiff_t end(std::size_t group = 0) const { return offsets[2 * group + 1]; }
};

bool find_from(const RE2& re, std::string_view subject, std::size_t pos, std::size_t groups,
               match& out) {
  std::vector<re2::StringPiece> found(groups);
  // The whole subject stays the context, so `^` and `\b` see what precedes pos.
  if (!re.Match(re2::StringPiece(subject.data(), subject.size()), pos, subject.size(),
                RE2::UNANCHORED, found.data(), static_cast<int>(groups))) {
    return false;
  }
  out.offsets.assign(2 * groups, -1);
  for (std::size_t g = 0; g < groups; ++g) {
    if (found[g].data() == nullptr) continue;
    out.offsets[2 * g] = found[g].data() - subject.data();
    out.offsets[2 * g + 1] = out.offsets[2 * g] + static_cast<std::ptrdiff_t>(found[g].size());
  }
  return true;
}

// The length of the `$name` at the start of `s`: Go reads letters, decimal
// digits and `_` of any script (so `$1é` names a group "1é", not group 1),
// though a group's own name can only be ASCII.
std::size_t name_length(std::string_view s) {
  static const RE2 name_re(R"([\p{L}\p{Nd}_]*)");
  re2::StringPiece name;
  if (!name_re.Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::ANCHOR_START, &name,
                     1)) {
    return 0;
  }
  return name.size();
}

// Regexp.Expand.
void expand(const RE2& re, std::string_view tmpl, std::string_view subject, const match& m,
            std::string& out) {
  while (!tmpl.empty()) {
    const auto dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl.front() == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    const bool brace = !tmpl.empty() && tmpl.front() == '{';
    const std::size_t name_begin = brace ? 1 : 0;
    const std::size_t i = name_begin + name_length(tmpl.substr(name_begin));
    const auto name = tmpl.substr(name_begin, i - name_begin);
    if (name.empty() || (brace && (i >= tmpl.size() || tmpl[i] != '}'))) {
      out += '$';  // malformed: the `$` stays as text
      continue;
    }
    tmpl.remove_prefix(brace ? i + 1 : i);

    long group = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || group >= 100000000) {
        group = -1;
        break;
      }
      group = group * 10 + (c - '0');
    }
    if (name.size() > 1 && name.front() == '0') group = -1;
    if (group < 0) {
      const auto& names = re.NamedCapturingGroups();
      const auto it = names.find(std::string(name));
      if (it == names.end()) continue;
      group = it->second;
    }
    const auto g = static_cast<std::size_t>(group);
    if (2 * g + 1 < m.offsets.size() && m.begin(g) >= 0) {
      out.append(subject.substr(static_cast<std::size_t>(m.begin(g)),
                                static_cast<std::size_t>(m.end(g) - m.begin(g))));
    }
  }
  out.append(tmpl);
}

// Regexp.replaceAll: successive matches, the text between them kept, and an
// empty match right after another match not replaced.
result<std::string> replace(std::string_view pattern, std::string_view subject,
                            std::string_view replacement, bool literal) {
  auto compiled = compile(pattern);
  if (!compiled) return std::move(compiled).error();
  const RE2& re = **compiled;
  const bool uses_groups = !literal && replacement.find('$') != std::string_view::npos;
  const std::size_t groups =
      uses_groups ? static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1 : 1;

  std::string out;
  std::size_t last_end = 0;
  std::size_t pos = 0;
  match m;
  while (pos <= subject.size() && find_from(re, subject, pos, groups, m)) {
    const auto begin = static_cast<std::size_t>(m.begin());
    const auto end = static_cast<std::size_t>(m.end());
    out.append(subject.substr(last_end, begin - last_end));
    if (end > last_end || begin == 0) {
      if (literal) {
        out.append(replacement);
      } else {
        expand(re, replacement, subject, m, out);
      }
    }
    last_end = end;
    const std::size_t width = rune_width(subject, pos);
    if (pos + width > end) {
      pos += width;
    } else if (pos + 1 > end) {
      ++pos;
    } else {
      pos = end;
    }
  }
  out.append(subject.substr(last_end));
  return out;
}

}  // namespace

result<bool> search(std::string_view pattern, std::string_view subject) {
  auto compiled = compile(pattern);
  if (!compiled) return std::move(compiled).error();
  return (*compiled)->Match(re2::StringPiece(subject.data(), subject.size()), 0, subject.size(),
                            RE2::UNANCHORED, nullptr, 0);
}

result<std::string> replace_all(std::string_view pattern, std::string_view subject,
                                std::string_view replacement) {
  return replace(pattern, subject, replacement, false);
}

result<std::string> replace_all_literal(std::string_view pattern, std::string_view subject,
                                        std::string_view replacement) {
  return replace(pattern, subject, replacement, true);
}

result<std::vector<std::string>> find_all(std::string_view pattern, std::string_view subject,
                                          std::int64_t limit) {
  auto compiled = compile(pattern);
  if (!compiled) return std::move(compiled).error();
  std::vector<std::string> out;
  std::ptrdiff_t prev_end = -1;
  std::size_t pos = 0;
  match m;
  while ((limit < 0 || static_cast<std::int64_t>(out.size()) < limit) && pos <= subject.size() &&
         find_from(**compiled, subject, pos, 1, m)) {
    bool accept = true;
    if (static_cast<std::size_t>(m.end()) == pos) {
      // An empty match right after the previous match is not a new one.
      if (m.begin() == prev_end) accept = false;
      pos += std::max<std::size_t>(rune_width(subject, pos), 1);
    } else {
      pos = static_cast<std::size_t>(m.end());
    }
    prev_end = m.end();
    if (accept) {
      out.emplace_back(subject.substr(static_cast<std::size_t>(m.begin()),
                                      static_cast<std::size_t>(m.end() - m.begin())));
    }
  }
  return out;
}

}  // namespace kairos::regex
