#include "minio/list_objects.hpp"

#include <charconv>

namespace kairos::eventsources {

namespace {

constexpr std::size_t max_depth = 64;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string_view local_name(std::string_view qualified) {
  const auto colon = qualified.find(':');
  return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
}

bool name_char(char c) {
  return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '/' && c != '>';
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

std::string strip_quotes(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    return etag.substr(1, etag.size() - 2);
  return etag;
}

}  // namespace

std::optional<std::string> xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return std::nullopt;
    const std::string_view ref = text.substr(i + 1, semi - i - 1);
    if (ref == "amp") {
      out.push_back('&');
    } else if (ref == "lt") {
      out.push_back('<');
    } else if (ref == "gt") {
      out.push_back('>');
    } else if (ref == "quot") {
      out.push_back('"');
    } else if (ref == "apos") {
      out.push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || cp == 0 ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return std::nullopt;
      append_utf8(out, cp);
    } else {
      return std::nullopt;
    }
    i = semi;
  }
  return out;
}

result<list_page> parse_list_objects_v2(std::string_view xml) {
  list_page page;
  std::vector<std::string> stack;
  std::string text;
  s3_object current;
  std::string error_code, error_message;
  std::string root;

  const auto bad = [](std::string what) {
    return make_error(errc::invalid_argument, "malformed ListObjectsV2 response: " + what);
  };

  // Assigns the text of the element being closed, by where it sits.
  const auto close = [&](std::string_view name) {
    const std::string value = trimmed(text);
    text.clear();
    if (stack.size() == 3 && stack[0] == "ListBucketResult" && stack[1] == "Contents") {
      if (name == "Key")
        current.key = value;
      else if (name == "ETag")
        current.etag = strip_quotes(value);
      else if (name == "LastModified")
        current.last_modified = value;
      else if (name == "Size") {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc{} && end == value.data() + value.size()) current.size = n;
      }
    } else if (stack.size() == 2 && stack[0] == "ListBucketResult") {
      if (name == "Contents") {
        if (!current.key.empty()) page.objects.push_back(std::move(current));
        current = {};
      } else if (name == "IsTruncated") {
        page.is_truncated = value == "true";
      } else if (name == "NextContinuationToken") {
        page.next_continuation_token = value;
      }
    } else if (stack.size() == 2 && stack[0] == "Error") {
      if (name == "Code")
        error_code = value;
      else if (name == "Message")
        error_message = value;
    }
  };

  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] != '<') {
      const auto lt = xml.find('<', i);
      const auto chunk = xml.substr(i, lt == std::string_view::npos ? xml.size() - i : lt - i);
      if (!stack.empty()) {
        auto decoded = xml_unescape(chunk);
        if (!decoded) return bad("bad character reference");
        text += *decoded;
      } else if (chunk.find_first_not_of(" \t\r\n") != std::string_view::npos) {
        return bad("text outside the root element");
      }
      i = lt == std::string_view::npos ? xml.size() : lt;
      continue;
    }
    const std::string_view rest = xml.substr(i);
    if (rest.starts_with("<?")) {
      const auto end = xml.find("?>", i + 2);
      if (end == std::string_view::npos) return bad("unterminated processing instruction");
      i = end + 2;
    } else if (rest.starts_with("<!--")) {
      const auto end = xml.find("-->", i + 4);
      if (end == std::string_view::npos) return bad("unterminated comment");
      i = end + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      const auto end = xml.find("]]>", i + 9);
      if (end == std::string_view::npos) return bad("unterminated CDATA section");
      if (stack.empty()) return bad("CDATA outside the root element");
      text += xml.substr(i + 9, end - i - 9);
      i = end + 3;
    } else if (rest.starts_with("<!")) {
      const auto end = xml.find('>', i + 2);
      if (end == std::string_view::npos) return bad("unterminated declaration");
      i = end + 1;
    } else if (rest.starts_with("</")) {
      const auto end = xml.find('>', i + 2);
      if (end == std::string_view::npos) return bad("unterminated end tag");
      std::string_view name = xml.substr(i + 2, end - i - 2);
      while (!name.empty() && !name_char(name.back())) name.remove_suffix(1);
      name = local_name(name);
      if (stack.empty() || stack.back() != name)
        return bad("end tag </" + std::string(name) + "> does not match");
      close(name);
      stack.pop_back();
      i = end + 1;
    } else {
      std::size_t j = i + 1;
      while (j < xml.size() && name_char(xml[j])) ++j;
      const std::string_view name = local_name(xml.substr(i + 1, j - i - 1));
      if (name.empty()) return bad("empty element name");
      // Attributes are skipped, quotes respected so that '>' inside one is not the end.
      char quote = 0;
      while (j < xml.size() && (quote || xml[j] != '>')) {
        if (quote && xml[j] == quote)
          quote = 0;
        else if (!quote && (xml[j] == '"' || xml[j] == '\''))
          quote = xml[j];
        ++j;
      }
      if (j >= xml.size()) return bad("unterminated start tag");
      const bool self_closing = xml[j - 1] == '/' && !quote;
      if (stack.empty()) {
        if (!root.empty()) return bad("more than one root element");
        root = std::string(name);
      }
      if (stack.size() >= max_depth) return bad("elements nested too deeply");
      stack.emplace_back(name);
      text.clear();
      if (self_closing) {
        close(name);
        stack.pop_back();
      }
      i = j + 1;
    }
  }
  if (!stack.empty()) return bad("unterminated element <" + stack.back() + ">");
  if (root == "Error")
    return make_error(errc::unavailable,
                      "S3 error " + (error_code.empty() ? std::string("(no code)") : error_code) +
                          (error_message.empty() ? "" : ": " + error_message));
  if (root != "ListBucketResult")
    return bad(root.empty() ? "no root element" : "root element is <" + root + ">");
  if (page.is_truncated && page.next_continuation_token.empty())
    return bad("IsTruncated without NextContinuationToken");
  return page;
}

}  // namespace kairos::eventsources
