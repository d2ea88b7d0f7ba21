#include "data_dir_lock.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace kairos::cli {

namespace fs = std::filesystem;

namespace {

// The pid a holder wrote, or "" while it has not written it yet.
std::string holder_pid(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char c : s)
    if (c < '0' || c > '9') return {};
  return s;
}

}  // namespace

result<data_dir_lock> data_dir_lock::acquire(const fs::path& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec)
    return make_error(errc::internal, "cannot create " + data_dir.string() + ": " + ec.message());
  fs::path path = data_dir / file_name;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(errc::internal, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    std::string message;
    if (err == EWOULDBLOCK) {
      const std::string pid = holder_pid(fd);
      message = "the data directory " + data_dir.string() + " is in use by another kairos process" +
                (pid.empty() ? std::string() : " (pid " + pid + ")") +
                "; one process at a time may run the engine over a store (" + path.string() +
                " is locked)";
    } else {
      message = "cannot lock " + path.string() + ": " + std::strerror(err);
    }
    ::close(fd);
    return make_error(err == EWOULDBLOCK ? errc::failed_precondition : errc::internal,
                      std::move(message));
  }
  // Only for the message of a process that is refused; a failed write
  // leaves the lock itself intact.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return data_dir_lock(fd, std::move(path));
}

data_dir_lock::data_dir_lock(data_dir_lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace kairos::cli
