#pragma once

#include <cstdint>

namespace kairos::store::detail {

// A VFS over SQLite's default one that hands a transaction's WAL frames to
// the kernel in one write instead of two per page (a 24-byte frame header,
// then the page). Everything else goes through unchanged.
//
// Frames are held only while they are invisible to every other connection:
// a transaction's frames are flushed when its commit frame is complete,
// before SQLite syncs the log (at synchronous=FULL) and before it publishes
// the commit in the WAL index (at NORMAL). Any other call on the log (read,
// sync, size, truncate, close, a write out of sequence) flushes first, and a
// write that is not a frame header or the page that follows it is passed
// through as it came.
//
// Registers the VFS on first use and returns its name for sqlite3_open_v2.
const char* wal_vfs_name();

struct wal_vfs_stats {
  std::uint64_t frames = 0;  // frames written through the VFS
  std::uint64_t writes = 0;  // writes the log's file received for them
};
// Totals over every connection of the process since it started.
wal_vfs_stats wal_vfs_totals();

}  // namespace kairos::store::detail
