#include "elmai/temp_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>

#include "elmai/error.hpp"

namespace elmai {
namespace {

constexpr long kStaleAgeSeconds = 3600;  // a named temp untouched this long is abandoned

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "host";
  std::string h(buf);
  for (char& c : h)
    if (c == '/' || c == '-' || c == '@') c = '_';
  return h.substr(0, 40);
}

std::string prefix_of(const std::string& dst) { return "." + base_of(dst) + ".elmai-"; }

// A write lock on the whole file, owned by the open file description: released when
// the writer closes it or dies, not when netcdf-c opens and closes the same path.
bool lock_fd(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

bool locked_by_someone(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno != ENOENT;  // cannot tell: leave it
  const bool ok = lock_fd(fd);
  ::close(fd);
  return !ok;
}

bool env_true(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<unsigned long>(::getpid()));
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(6, 'x');
  for (char& c : s) c = chars[rng() % (sizeof chars - 1)];
  return s;
}

}  // namespace

std::string dir_of(const std::string& path) {
  std::string copy = path;
  return ::dirname(copy.data());
}

std::string base_of(const std::string& path) {
  std::string copy = path;
  return ::basename(copy.data());
}

int remove_stale_temporaries(const std::string& dst) {
  const std::string dir = dir_of(dst), prefix = prefix_of(dst), host = host_name();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  const std::time_t now = std::time(nullptr);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
    // <pid>@<host>-XXXXXX (this version) or XXXXXX (earlier versions: age rule only)
    const std::string rest = name.substr(prefix.size());
    bool owner_gone = false;
    const auto at = rest.find('@'), dash = rest.rfind('-');
    if (at != std::string::npos && dash != std::string::npos && dash > at) {
      const long pid = std::strtol(rest.substr(0, at).c_str(), nullptr, 10);
      if (rest.substr(at + 1, dash - at - 1) == host && pid > 0)
        owner_gone = ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    }
    const bool old = now - st.st_mtime > kStaleAgeSeconds;
    if (!(owner_gone || old) || locked_by_someone(path)) continue;
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

TempFile::TempFile(const std::string& dst, bool allow_anonymous) : dst_(dst) {
  remove_stale_temporaries(dst);
  const std::string dir = dir_of(dst);
#ifdef O_TMPFILE
  if (allow_anonymous && !env_true("ELMAI_NO_O_TMPFILE")) {
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      path_ = "/proc/self/fd/" + std::to_string(fd_);
      if (::access(path_.c_str(), R_OK | W_OK) == 0) {
        anonymous_ = true;
        return;
      }
      ::close(fd_);  // no /proc: netcdf-c could not reach the file
      fd_ = -1;
    }
    // EOPNOTSUPP / EISDIR / EINVAL: the file system (or kernel) has no O_TMPFILE
  }
#endif
  path_ = dir + "/" + prefix_of(dst) + std::to_string(::getpid()) + "@" + host_name() + "-XXXXXX";
  fd_ = ::mkstemp(path_.data());
  if (fd_ < 0) {
    const std::string why = std::strerror(errno);
    path_.clear();
    throw Error(ErrorKind::File, "cannot create a temporary file beside '" + dst + "': " + why);
  }
  ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
  lock_fd(fd_);  // best effort: marks the file as in use while this process lives
}

TempFile::~TempFile() {
  if (!anonymous_ && !path_.empty()) ::unlink(path_.c_str());
  if (fd_ >= 0) ::close(fd_);
}

void TempFile::commit(const std::string& dst, mode_t mode) {
  if (!anonymous_) {
    ::chmod(path_.c_str(), mode);
    if (::rename(path_.c_str(), dst.c_str()) != 0)
      throw Error(ErrorKind::File, "cannot move the new file into '" + dst + "': " + std::strerror(errno));
    path_.clear();
    return;
  }
  ::fchmod(fd_, mode);
  // Link the anonymous file under a fresh temporary name, then rename it over dst (a
  // link cannot replace an existing file). The name exists only between the two calls.
  const std::string dir = dir_of(dst);
  std::string named;
  for (int attempt = 0;; ++attempt) {
    named = dir + "/" + prefix_of(dst) + std::to_string(::getpid()) + "@" + host_name() + "-" + random_suffix();
    if (::linkat(AT_FDCWD, path_.c_str(), AT_FDCWD, named.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
    if (errno != EEXIST || attempt > 100)
      throw Error(ErrorKind::File, "cannot link the new file into '" + dir + "': " + std::strerror(errno));
  }
  lock_fd(fd_);  // the linked name shares this file description's lock until renamed
  if (::rename(named.c_str(), dst.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(named.c_str());
    throw Error(ErrorKind::File, "cannot move the new file into '" + dst + "': " + why);
  }
  ::close(fd_);
  fd_ = -1;
  path_.clear();
}

}  // namespace elmai
