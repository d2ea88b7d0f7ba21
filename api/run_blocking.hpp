#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kairos::api {

namespace detail {
template <class T>
boost::asio::awaitable<T> invoke(std::function<T()> fn) {
  co_return fn();
}
}  // namespace detail

// Runs a blocking call (SQLite, the engine) on the worker pool and resumes
// the awaiting coroutine on its own executor (the connection's strand) with
// the result, so no I/O thread ever blocks. Exceptions propagate.
template <class F, class T = std::invoke_result_t<F>>
boost::asio::awaitable<T> run_blocking(boost::asio::thread_pool& pool, F fn) {
  co_return co_await boost::asio::co_spawn(
      pool, detail::invoke<T>(std::function<T()>(std::move(fn))), boost::asio::use_awaitable);
}

}  // namespace kairos::api
