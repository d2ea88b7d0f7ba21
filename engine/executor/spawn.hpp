#pragma once

// Starting processes: the node's main process (own process group, optional
// mount namespace with bind mounts, prepared entirely before fork so the
// child only makes async-signal-safe calls), the one-off namespace probe,
// and short helper tools such as tar.

#include <string>
#include <vector>

#include <sys/types.h>

#include "kairos/core/result.hpp"

namespace kairos::engine::detail {

struct bind_mount {
  std::string source;  // host path, opened before the namespace hides it
  std::string target;  // as the node sees it; must exist
  bool read_only = false;
};

struct spawn_spec {
  std::string executable;  // resolved; execve'd as is
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=value
  std::string working_dir;       // as the node sees it
  bool mount_namespace = false;
  // Applied in order inside the new namespace; later targets may sit inside
  // earlier ones.
  std::vector<bind_mount> binds;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Forks and execs. Returns the child's pid (also its process group id) once
// exec succeeded, or why the child could not get there.
result<pid_t> spawn_process(const spawn_spec& spec);

struct namespace_probe {
  bool available = false;
  std::string reason;
};

// Forks a child that tries unshare(CLONE_NEWNS), a private / and a tmpfs on
// /tmp, all confined to the child.
namespace_probe probe_mount_namespace();

// Runs a short-lived tool (argv[0] found on PATH) to completion on the
// calling thread; the error carries its stderr. Worker threads only.
result<void> run_tool(const std::vector<std::string>& argv);

// Finds `name` on `path_list` (colon-separated); empty when not found.
// A name containing '/' is returned as is.
std::string find_on_path(const std::string& name, const std::string& path_list);

}  // namespace kairos::engine::detail
