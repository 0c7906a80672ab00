// A temporary file beside a destination, renamed into place on commit() and removed
// otherwise, so a failed write never leaves a half-written file under the real name.
#pragma once

#include <sys/types.h>

#include <string>

namespace elmai {

class TempFile {
 public:
  explicit TempFile(const std::string& dst);
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();
  const std::string& path() const { return path_; }
  void commit(const std::string& dst, mode_t mode);

 private:
  std::string path_;
};

std::string dir_of(const std::string& path);
std::string base_of(const std::string& path);

}  // namespace elmai
