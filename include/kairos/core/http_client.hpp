#pragma once

// A small HTTP/1.1 client over Beast (http and https through OpenSSL), for
// the engine's http templates and artifacts, sensor http triggers and the
// S3 listing of the minio source. One request per connection; every wait
// has the request's deadline.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "kairos/core/result.hpp"

namespace kairos::http_client {

struct request {
  std::string method = "GET";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};  // whole exchange: resolve, connect, write, read
  bool insecure_skip_verify = false;
  std::size_t max_response_bytes = 16 * 1024 * 1024;
};

struct response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Awaitable form, for coroutines on an io_context.
boost::asio::awaitable<result<response>> async_perform(request r);

// Blocking form: runs its own io_context on the calling thread. Call it from
// worker threads only, never from an I/O thread.
result<response> perform(const request& r);

}  // namespace kairos::http_client
