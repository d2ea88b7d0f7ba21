// Fuzz target: what a webhook or GitHub endpoint makes of request bytes.
// The first byte picks method and content type, the rest is split into a
// query and a body at the first newline. Whatever the bytes, the data is
// built, its printed form (when there is one) parses back as the built data,
// and the GitHub signature and payload checks return a verdict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "github/github_source.hpp"
#include "webhook/webhook_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kairos::eventsources;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto newline = rest.find('\n');
  inbound_request req;
  req.method = (selector & 1) ? "GET" : "POST";
  req.query = std::string(rest.substr(0, newline));
  req.body =
      newline == std::string_view::npos ? std::string() : std::string(rest.substr(newline + 1));
  static const char* const types[] = {"application/json", "application/x-www-form-urlencoded",
                                      "text/plain", "Application/X-WWW-Form-Urlencoded; charset=x"};
  req.headers = {{"Content-Type", types[(selector >> 1) & 3]}, {"x-odd header", req.query}};
  const auto built = webhook_data(req, nlohmann::json::object());
  (void)built.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // The printed path must say exactly what the built one says.
  if (const auto text = webhook_data_text(req, "{}")) {
    if (nlohmann::json::parse(*text) != built) __builtin_trap();
  }
  (void)verify_github_signature("secret", req.body, req.query, std::nullopt);
  (void)verify_github_signature("secret", req.body, std::nullopt, req.query);
  (void)form_values(req.body);
  return 0;
}
