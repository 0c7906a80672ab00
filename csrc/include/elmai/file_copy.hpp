// Kernel-side byte copies (copy_file_range, falling back to pread/pwrite), the floor
// for writing a modified restart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elmai {

struct ByteRange {
  std::uint64_t src = 0, dst = 0, len = 0;
};

// Sorts and merges ranges that are contiguous (or separated by the same small
// padding gap) in both files, so a restart's untouched data moves in few syscalls.
std::vector<ByteRange> coalesce(std::vector<ByteRange> ranges);

// Copies each range from in_fd to out_fd. `what` names the files for error messages.
void copy_ranges(int in_fd, int out_fd, const std::vector<ByteRange>& ranges, const std::string& what);

}  // namespace elmai
