#include "wal_vfs.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

#include <sqlite3.h>

namespace kairos::store::detail {

namespace {

// SQLite's frame header (wal.c): page number, then the database size in
// pages after the commit for a transaction's last frame, zero before it.
constexpr int frame_header_bytes = 24;
// A transaction that spills this much before its commit is flushed as it
// goes; it is far more than a batch of events writes.
constexpr std::size_t max_pending_bytes = std::size_t{1} << 20;
constexpr std::size_t max_write_bytes = std::size_t{64} << 10;

std::atomic<std::uint64_t> frames_total{0};
std::atomic<std::uint64_t> writes_total{0};

sqlite3_vfs* base_vfs = nullptr;
sqlite3_vfs shim_vfs{};
int base_offset = 0;  // where the wrapped file sits inside ours

// A log's frames not yet written, all contiguous from `offset`.
struct log_buffer {
  std::vector<unsigned char> bytes;
  sqlite3_int64 offset = 0;
  bool expecting_page = false;  // a frame header was the last write
  bool commit = false;          // ... and it was the transaction's last frame
};

struct shim_file {
  sqlite3_file base;
  sqlite3_file* wrapped;
  log_buffer* log;  // null but for a WAL file
};

shim_file* shim(sqlite3_file* f) {
  return reinterpret_cast<shim_file*>(f);
}
sqlite3_file* wrapped(sqlite3_file* f) {
  return shim(f)->wrapped;
}

int flush(shim_file* f) {
  log_buffer* log = f->log;
  if (log == nullptr) return SQLITE_OK;
  log->expecting_page = false;
  log->commit = false;
  int rc = SQLITE_OK;
  // The unix VFS writes at most 128 KiB - 1 per call (it masks the length).
  for (std::size_t at = 0; at < log->bytes.size() && rc == SQLITE_OK; at += max_write_bytes) {
    const std::size_t n = std::min(max_write_bytes, log->bytes.size() - at);
    rc = f->wrapped->pMethods->xWrite(f->wrapped, log->bytes.data() + at, static_cast<int>(n),
                                      log->offset + static_cast<sqlite3_int64>(at));
    writes_total.fetch_add(1, std::memory_order_relaxed);
  }
  log->bytes.clear();
  return rc;
}

void append(log_buffer& log, const void* data, int amount, sqlite3_int64 offset) {
  if (log.bytes.empty()) log.offset = offset;
  const auto* p = static_cast<const unsigned char*>(data);
  log.bytes.insert(log.bytes.end(), p, p + amount);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  shim_file* f = shim(file);
  log_buffer* log = f->log;
  if (log == nullptr) return f->wrapped->pMethods->xWrite(f->wrapped, data, amount, offset);
  const sqlite3_int64 end = log->offset + static_cast<sqlite3_int64>(log->bytes.size());
  const bool in_sequence = log->bytes.empty() || offset == end;
  if (log->expecting_page && in_sequence && amount != frame_header_bytes) {
    append(*log, data, amount, offset);
    log->expecting_page = false;
    return log->commit ? flush(f) : SQLITE_OK;
  }
  if (amount == frame_header_bytes && !log->expecting_page) {
    if (!in_sequence || log->bytes.size() + amount > max_pending_bytes) {
      if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    }
    const auto* h = static_cast<const unsigned char*>(data);
    append(*log, data, amount, offset);
    log->expecting_page = true;
    log->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
    frames_total.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  // Not the shape of a frame: what is held goes first, then this, as it came.
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  writes_total.fetch_add(1, std::memory_order_relaxed);
  return f->wrapped->pMethods->xWrite(f->wrapped, data, amount, offset);
}

int x_close(sqlite3_file* file) {
  shim_file* f = shim(file);
  const int flushed = flush(f);
  delete f->log;
  f->log = nullptr;
  const int rc = f->wrapped->pMethods->xClose(f->wrapped);
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
  if (const int rc = flush(shim(file)); rc != SQLITE_OK) return rc;
  return wrapped(file)->pMethods->xRead(wrapped(file), data, amount, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = flush(shim(file)); rc != SQLITE_OK) return rc;
  return wrapped(file)->pMethods->xTruncate(wrapped(file), size);
}

int x_sync(sqlite3_file* file, int flags) {
  if (const int rc = flush(shim(file)); rc != SQLITE_OK) return rc;
  return wrapped(file)->pMethods->xSync(wrapped(file), flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = flush(shim(file)); rc != SQLITE_OK) return rc;
  return wrapped(file)->pMethods->xFileSize(wrapped(file), size);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  if (const int rc = flush(shim(file)); rc != SQLITE_OK) return rc;
  return wrapped(file)->pMethods->xFileControl(wrapped(file), op, arg);
}

int x_lock(sqlite3_file* file, int level) {
  return wrapped(file)->pMethods->xLock(wrapped(file), level);
}
int x_unlock(sqlite3_file* file, int level) {
  return wrapped(file)->pMethods->xUnlock(wrapped(file), level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return wrapped(file)->pMethods->xCheckReservedLock(wrapped(file), out);
}
int x_sector_size(sqlite3_file* file) {
  return wrapped(file)->pMethods->xSectorSize(wrapped(file));
}
int x_device_characteristics(sqlite3_file* file) {
  return wrapped(file)->pMethods->xDeviceCharacteristics(wrapped(file));
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return wrapped(file)->pMethods->xShmMap(wrapped(file), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return wrapped(file)->pMethods->xShmLock(wrapped(file), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  wrapped(file)->pMethods->xShmBarrier(wrapped(file));
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return wrapped(file)->pMethods->xShmUnmap(wrapped(file), delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return wrapped(file)->pMethods->xFetch(wrapped(file), offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  return wrapped(file)->pMethods->xUnfetch(wrapped(file), offset, p);
}

const sqlite3_io_methods shim_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  shim_file* f = shim(file);
  f->base.pMethods = nullptr;
  f->wrapped = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + base_offset);
  f->log = nullptr;
  const int rc = base_vfs->xOpen(base_vfs, name, f->wrapped, flags, out_flags);
  // SQLite closes a file whose pMethods is set even when opening failed.
  if (f->wrapped->pMethods == nullptr) return rc;
  // The methods above forward every call of version 3; an older wrapped
  // file would be asked for what it does not have.
  if (f->wrapped->pMethods->iVersion < 3) {
    f->wrapped->pMethods->xClose(f->wrapped);
    return SQLITE_CANTOPEN;
  }
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0) f->log = new (std::nothrow) log_buffer();
  f->base.pMethods = &shim_methods;
  return rc;
}

// Everything but opening a file is the wrapped VFS's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return base_vfs->xDlOpen(base_vfs, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* out) {
  base_vfs->xDlError(base_vfs, n, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
  base_vfs->xDlClose(base_vfs, handle);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xRandomness(base_vfs, n, out);
}
int x_sleep(sqlite3_vfs*, int micros) {
  return base_vfs->xSleep(base_vfs, micros);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return base_vfs->xCurrentTime(base_vfs, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xGetLastError(base_vfs, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

constexpr const char* vfs_name = "kairos-wal";

}  // namespace

const char* wal_vfs_name() {
  static std::once_flag once;
  static const char* registered = nullptr;
  std::call_once(once, [] {
    base_vfs = sqlite3_vfs_find(nullptr);
    // Without a usable default VFS there is nothing to wrap; callers then
    // open with the default (a null name).
    if (base_vfs == nullptr || base_vfs->iVersion < 2) return;
    base_offset = static_cast<int>((sizeof(shim_file) + 7) / 8 * 8);
    shim_vfs.iVersion = 2;
    shim_vfs.szOsFile = base_offset + base_vfs->szOsFile;
    shim_vfs.mxPathname = base_vfs->mxPathname;
    shim_vfs.zName = vfs_name;
    shim_vfs.xOpen = x_open;
    shim_vfs.xDelete = x_delete;
    shim_vfs.xAccess = x_access;
    shim_vfs.xFullPathname = x_full_pathname;
    shim_vfs.xDlOpen = x_dl_open;
    shim_vfs.xDlError = x_dl_error;
    shim_vfs.xDlSym = x_dl_sym;
    shim_vfs.xDlClose = x_dl_close;
    shim_vfs.xRandomness = x_randomness;
    shim_vfs.xSleep = x_sleep;
    shim_vfs.xCurrentTime = x_current_time;
    shim_vfs.xGetLastError = x_get_last_error;
    shim_vfs.xCurrentTimeInt64 = x_current_time_int64;
    if (sqlite3_vfs_register(&shim_vfs, 0) == SQLITE_OK) registered = vfs_name;
  });
  return registered;
}

wal_vfs_stats wal_vfs_totals() {
  return {frames_total.load(std::memory_order_relaxed),
          writes_total.load(std::memory_order_relaxed)};
}

}  // namespace kairos::store::detail
