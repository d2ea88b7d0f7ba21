#pragma once

#include <string>
#include <string_view>

namespace kairos {

// The failure categories every module reports in. The API maps them onto HTTP
// statuses and the CLI onto exit codes, so they are deliberately coarse.
enum class errc {
  invalid_argument,     // malformed or semantically invalid input (400)
  not_found,            // the named thing does not exist (404)
  already_exists,       // create of an existing name (409)
  conflict,             // stale resourceVersion or state clash (409)
  failed_precondition,  // the operation does not apply in the current state (412/409)
  unauthenticated,      // missing or wrong credentials (401)
  payload_too_large,    // a body over the configured bound (413)
  unavailable,          // temporarily or not yet able to serve (503)
  internal,             // a bug or an I/O failure we could not classify (500)
};

std::string_view to_string(errc code) noexcept;

struct error {
  errc code = errc::internal;
  std::string message;
};

inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

}  // namespace kairos
