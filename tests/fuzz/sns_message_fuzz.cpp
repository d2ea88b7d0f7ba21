// Fuzz target: an SNS endpoint takes JSON from anyone who can reach it, and
// fetches the certificate or subscription URL the message names. The first
// line is tried as such a URL, the rest as a message body. Whatever the
// bytes: a URL is trusted only when it is https on an SNS host or on the
// configured endpoint's host, and the signature check returns a verdict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/url/parse.hpp>

#include "kairos/core/json_text.hpp"
#include "sns/sns_source.hpp"

namespace {

bool plausible_sns_host(std::string_view host) {
  if (!host.starts_with("sns.")) return false;
  return host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kairos::eventsources;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const auto url = text.substr(0, newline);
  const auto body =
      newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

  for (const std::string_view endpoint_host : {std::string_view{}, std::string_view("sns.local")}) {
    if (!sns_trusted_url(url, endpoint_host)) continue;
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || parsed->scheme() != "https") __builtin_trap();
    const std::string host(parsed->host_address());
    if (!plausible_sns_host(host) && (endpoint_host.empty() || host != endpoint_host))
      __builtin_trap();
  }

  const auto message = kairos::parse_json(body);
  if (message.is_discarded()) return 0;
  (void)sns_string_to_sign(message);
  // No certificate: the check must still end in a verdict, not a crash.
  (void)verify_sns_signature(message, "");
  (void)verify_sns_signature(message,
                             "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  return 0;
}
