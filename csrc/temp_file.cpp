#include "elmai/temp_file.hpp"

#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "elmai/error.hpp"

namespace elmai {

std::string dir_of(const std::string& path) {
  std::string copy = path;
  return ::dirname(copy.data());
}

std::string base_of(const std::string& path) {
  std::string copy = path;
  return ::basename(copy.data());
}

TempFile::TempFile(const std::string& dst) {
  path_ = dir_of(dst) + "/." + base_of(dst) + ".elmai-XXXXXX";
  int fd = ::mkstemp(path_.data());
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    path_.clear();
    throw Error(ErrorKind::File, "cannot create a temporary file beside '" + dst + "': " + why);
  }
  ::close(fd);
}

TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

void TempFile::commit(const std::string& dst, mode_t mode) {
  ::chmod(path_.c_str(), mode);
  if (::rename(path_.c_str(), dst.c_str()) != 0)
    throw Error(ErrorKind::File, "cannot move the new file into '" + dst + "': " + std::strerror(errno));
  path_.clear();
}

}  // namespace elmai
