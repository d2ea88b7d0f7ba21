#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "kairos/core/error.hpp"

namespace kairos {

// Either a value or an error. The middle tier of kairos's error handling:
// I/O paths use error_code, broken invariants assert, and everything that
// loads or validates user input returns a result carrying a precise message.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  result(kairos::error err)
      : state_(std::in_place_index<1>, std::move(err)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const kairos::error& error() const& {
    assert(!ok());
    return std::get<1>(state_);
  }
  kairos::error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, kairos::error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(kairos::error err)
      : error_(std::move(err)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const kairos::error& error() const& {
    assert(!ok_);
    return error_;
  }
  kairos::error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  kairos::error error_;
  bool ok_ = true;
};

}  // namespace kairos
