#include "kairos/core/error.hpp"

namespace kairos {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return "InvalidArgument";
    case errc::not_found:
      return "NotFound";
    case errc::already_exists:
      return "AlreadyExists";
    case errc::conflict:
      return "Conflict";
    case errc::failed_precondition:
      return "FailedPrecondition";
    case errc::unauthenticated:
      return "Unauthenticated";
    case errc::payload_too_large:
      return "PayloadTooLarge";
    case errc::unavailable:
      return "Unavailable";
    case errc::internal:
      return "Internal";
  }
  return "Internal";
}

}  // namespace kairos
