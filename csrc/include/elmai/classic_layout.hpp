// Byte layout of a classic-family NetCDF file (CDF-1, CDF-2, CDF-5), parsed from its
// header. netcdf-c does not expose variable offsets; the core needs them to
// (a) detect truncated files, which netcdf-c would silently read as zeros, and
// (b) copy the unchanged bulk of a restart with copy_file_range at `cp` speed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elmai {

struct ClassicVariable {
  std::string name;
  bool record = false;
  std::uint64_t begin = 0;  // offset of the data (of record 0 for record variables)
  std::uint64_t bytes = 0;  // data bytes, unpadded (one record's worth for record vars)
};

struct ClassicLayout {
  int version = 0;  // 1, 2 or 5
  std::uint64_t numrecs = 0;
  std::uint64_t recsize = 0;  // stride between records
  std::vector<ClassicVariable> vars;
  // Smallest file size that holds every byte of data the header promises.
  std::uint64_t required_size() const;
};

// True when the file starts with the classic magic "CDF\x01|\x02|\x05".
bool is_classic_file(const std::string& path);

// Parses the header; throws elmai::Error(Format) on a malformed or truncated header.
ClassicLayout read_classic_layout(const std::string& path);

}  // namespace elmai
