#pragma once

// Shared fixtures of the event-source tests: a real SQLite store in a temp
// directory behind a decorator that can refuse appends, an io_context on its
// own thread, and a blocking HTTP(S) client.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "kairos/core/text.hpp"
#include "kairos/store/store.hpp"

namespace kairos::testing {

namespace http = boost::beast::http;

inline std::filesystem::path make_temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("kairos-es-" + random_suffix(10));
  std::filesystem::create_directories(dir);
  return dir;
}

// Every call goes to a real store; appends fail on demand.
class failing_store final : public store::database {
 public:
  explicit failing_store(std::unique_ptr<store::database> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> fail_appends{false};
  std::atomic<int> appends{0};

  int schema_version() const override { return inner_->schema_version(); }
  const std::filesystem::path& data_dir() const override { return inner_->data_dir(); }
  result<store::resource_record> create_resource(store::resource_record r) override {
    return inner_->create_resource(std::move(r));
  }
  result<store::resource_record> update_resource(store::resource_record r,
                                                 std::optional<std::int64_t> v) override {
    return inner_->update_resource(std::move(r), v);
  }
  result<store::resource_record> apply_resource(store::resource_record r) override {
    return inner_->apply_resource(std::move(r));
  }
  result<store::resource_record> get_resource(const std::string& k, const std::string& ns,
                                              const std::string& n) override {
    return inner_->get_resource(k, ns, n);
  }
  result<std::vector<store::resource_record>> list_resources(const std::string& k,
                                                             const std::string& ns) override {
    return inner_->list_resources(k, ns);
  }
  result<void> delete_resource(const std::string& k, const std::string& ns,
                               const std::string& n) override {
    return inner_->delete_resource(k, ns, n);
  }
  result<store::workflow_record> create_workflow(store::workflow_record w) override {
    return inner_->create_workflow(std::move(w));
  }
  result<store::workflow_record> update_workflow(store::workflow_record w) override {
    return inner_->update_workflow(std::move(w));
  }
  result<store::workflow_record> get_workflow(const std::string& ns,
                                              const std::string& n) override {
    return inner_->get_workflow(ns, n);
  }
  result<std::vector<store::workflow_record>> list_workflows(const std::string& ns,
                                                             std::size_t limit) override {
    return inner_->list_workflows(ns, limit);
  }
  result<void> delete_workflow(const std::string& ns, const std::string& n) override {
    return inner_->delete_workflow(ns, n);
  }
  result<void> put_nodes(const std::vector<store::node_record>& nodes) override {
    return inner_->put_nodes(nodes);
  }
  result<std::vector<store::node_record>> list_nodes(const std::string& uid) override {
    return inner_->list_nodes(uid);
  }
  result<store::append_outcome> append_event(store::event_record e) override {
    ++appends;
    if (fail_appends) return make_error(errc::unavailable, "disk full (test)");
    return inner_->append_event(std::move(e));
  }
  void append_events_async(std::vector<store::event_record> events, append_callback done) override {
    appends += static_cast<int>(events.size());
    if (fail_appends) {
      done(make_error(errc::unavailable, "disk full (test)"));
      return;
    }
    inner_->append_events_async(std::move(events), std::move(done));
  }
  result<std::vector<store::event_record>> read_events(std::int64_t after,
                                                       std::size_t limit) override {
    return inner_->read_events(after, limit);
  }
  result<std::vector<store::event_record>> read_events_shared(std::int64_t after,
                                                              std::size_t limit) override {
    return inner_->read_events_shared(after, limit);
  }
  result<std::vector<store::event_record>> read_newest_events(std::size_t limit) override {
    return inner_->read_newest_events(limit);
  }
  result<std::size_t> trim_events(const std::string& before, std::size_t keep_last) override {
    return inner_->trim_events(before, keep_last);
  }
  result<void> put_state(const std::string& s, const std::string& ns, const std::string& n,
                         const nlohmann::json& state) override {
    return inner_->put_state(s, ns, n, state);
  }
  result<std::optional<nlohmann::json>> get_state(const std::string& s, const std::string& ns,
                                                  const std::string& n) override {
    return inner_->get_state(s, ns, n);
  }
  result<void> delete_state(const std::string& s, const std::string& ns,
                            const std::string& n) override {
    return inner_->delete_state(s, ns, n);
  }

 private:
  std::unique_ptr<store::database> inner_;
};

struct temp_store {
  temp_store() : dir(make_temp_dir()) {
    store::settings s;
    s.data_dir = dir;
    auto opened = store::database::open(s);
    if (!opened) throw std::runtime_error(opened.error().message);
    db = std::make_unique<failing_store>(std::move(*opened));
  }
  ~temp_store() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void write_secret(const std::string& name, const std::string& key, const std::string& value) {
    auto d = dir / "secrets" / name;
    std::filesystem::create_directories(d);
    std::ofstream(d / key, std::ios::binary) << value;
  }
  std::vector<store::event_record> events() {
    auto r = db->read_events(0, 0);
    return r ? *r : std::vector<store::event_record>{};
  }
  std::filesystem::path dir;
  std::unique_ptr<failing_store> db;
};

// An io_context with two threads, for servers under test.
struct io_runner {
  io_runner() : guard(boost::asio::make_work_guard(ioc)) {
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
  }
  ~io_runner() {
    guard.reset();
    ioc.stop();
    for (auto& t : threads) t.join();
  }
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::vector<std::thread> threads;
};

struct reply {
  unsigned status = 0;
  std::string body;
  http::fields headers;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

template <class Stream>
reply exchange(Stream& stream, http::verb method, const std::string& target,
               const std::string& body, const header_list& headers) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  boost::system::error_code ec;
  http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(stream, buffer, parser, ec);
  reply r;
  if (!parser.is_header_done()) return r;
  auto res = parser.release();
  r.status = res.result_int();
  r.body = res.body();
  r.headers = res.base();
  return r;
}

inline reply send(std::uint16_t port, http::verb method, const std::string& target,
                  const std::string& body = {}, const header_list& headers = {}) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  return exchange(socket, method, target, body, headers);
}

inline reply send_tls(std::uint16_t port, http::verb method, const std::string& target,
                      const std::string& body = {}, const header_list& headers = {}) {
  boost::asio::io_context ioc;
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_client);
  ctx.set_verify_mode(boost::asio::ssl::verify_none);  // self-signed test certificate
  boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
  stream.handshake(boost::asio::ssl::stream_base::client);
  return exchange(stream, method, target, body, headers);
}

}  // namespace kairos::testing
