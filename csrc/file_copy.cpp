#include "elmai/file_copy.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "elmai/error.hpp"

namespace elmai {
namespace {

constexpr std::uint64_t kMaxMergeGap = 8;  // classic-format padding is at most 3 bytes

[[noreturn]] void io_fail(const std::string& what) {
  throw Error(ErrorKind::File, "copying data " + what + ": " + std::strerror(errno));
}

void copy_slow(int in, int out, std::uint64_t src, std::uint64_t dst, std::uint64_t len,
               const std::string& what) {
  std::vector<char> buf(std::min<std::uint64_t>(len, 8u << 20));
  while (len > 0) {
    ssize_t got = ::pread(in, buf.data(), std::min<std::uint64_t>(len, buf.size()), static_cast<off_t>(src));
    if (got < 0) {
      if (errno == EINTR) continue;
      io_fail(what);
    }
    if (got == 0) return;  // source ends early: caller sizes the destination
    for (ssize_t done = 0; done < got;) {
      ssize_t w = ::pwrite(out, buf.data() + done, got - done, static_cast<off_t>(dst + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        io_fail(what);
      }
      done += w;
    }
    src += got;
    dst += got;
    len -= got;
  }
}

}  // namespace

std::vector<ByteRange> coalesce(std::vector<ByteRange> ranges) {
  ranges.erase(std::remove_if(ranges.begin(), ranges.end(), [](const ByteRange& r) { return r.len == 0; }),
               ranges.end());
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.src < b.src; });
  std::vector<ByteRange> out;
  for (const auto& r : ranges) {
    if (!out.empty()) {
      ByteRange& last = out.back();
      const std::uint64_t src_end = last.src + last.len, dst_end = last.dst + last.len;
      if (r.src >= src_end && r.dst >= dst_end && r.src - src_end == r.dst - dst_end &&
          r.src - src_end <= kMaxMergeGap) {
        last.len = r.src + r.len - last.src;
        continue;
      }
    }
    out.push_back(r);
  }
  return out;
}

void copy_ranges(int in, int out, const std::vector<ByteRange>& ranges, const std::string& what) {
  bool kernel_copy = true;
  for (const auto& r : ranges) {
    off_t src = static_cast<off_t>(r.src), dst = static_cast<off_t>(r.dst);
    std::uint64_t left = r.len;
    while (kernel_copy && left > 0) {
      ssize_t n = ::copy_file_range(in, &src, out, &dst, left, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP || errno == EBADF) {
          kernel_copy = false;  // e.g. across filesystems on old kernels: use plain reads/writes
          break;
        }
        io_fail(what);
      }
      if (n == 0) {
        left = 0;  // source ends early
        break;
      }
      left -= static_cast<std::uint64_t>(n);
    }
    if (left > 0) copy_slow(in, out, static_cast<std::uint64_t>(src), static_cast<std::uint64_t>(dst), left, what);
  }
}

}  // namespace elmai
