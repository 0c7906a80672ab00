// A temporary file beside a destination, moved into place on commit() and removed
// otherwise, so a failed write never leaves a half-written file under the real name.
//
// Where the file system supports it (Linux O_TMPFILE: ext4, xfs, btrfs, tmpfs) the file
// is anonymous until commit() links it in, so even a process killed with SIGKILL leaves
// nothing behind. Elsewhere it is a named file `.<dst>.elmai-<pid>@<host>-XXXXXX` holding
// an open-file-description lock while its writer lives; each new TempFile for the same
// destination removes the ones a dead writer left (unlocked, and either their pid is
// gone on this host or they were last modified more than an hour ago).
// HDF5 (NETCDF4 files) cannot create or reopen a file through /proc/self/fd, so callers
// writing NETCDF4 ask for the named form (allow_anonymous = false).
// ELMAI_NO_O_TMPFILE=1 forces the named form (tests, or file systems that misreport).
#pragma once

#include <sys/types.h>

#include <string>

namespace elmai {

class TempFile {
 public:
  explicit TempFile(const std::string& dst, bool allow_anonymous = true);
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();
  // A path that open() and netcdf-c accept: the named file, or /proc/self/fd/N.
  const std::string& path() const { return path_; }
  bool anonymous() const { return anonymous_; }
  void commit(const std::string& dst, mode_t mode);

 private:
  std::string path_;
  std::string dst_;
  int fd_ = -1;
  bool anonymous_ = false;
};

// Removes stale named temporaries of `dst` (see above); returns how many.
int remove_stale_temporaries(const std::string& dst);

std::string dir_of(const std::string& path);
std::string base_of(const std::string& path);

}  // namespace elmai
