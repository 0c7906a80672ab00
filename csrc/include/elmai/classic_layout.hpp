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

// The raw header plus where its editable parts sit, for rewriting it without netcdf-c's
// define path (which costs O(variables) calls and moves data to unaligned offsets).
struct ClassicHeader {
  ClassicLayout layout;
  std::vector<unsigned char> bytes;  // [0, header_end)
  std::uint64_t gatt_tag_pos = 0;    // NC_ATTRIBUTE tag (or ABSENT) of the global list
  std::uint64_t gatt_end = 0;        // first byte after the global attribute list
  std::uint64_t history_pos = 0;     // the history attribute entry [pos, end), if any
  std::uint64_t history_end = 0;
  bool history_is_text = false;
  std::vector<std::uint64_t> begin_pos;  // where each variable's `begin` field sits
  std::uint64_t data_begin() const;      // smallest variable offset (header_end if none)
};

ClassicHeader read_classic_header(const std::string& path);

// A copy of `h` whose global `history` is `history` and whose variable offsets are all
// moved by `shift` bytes. Returns false (and leaves `out` empty) when that cannot be
// expressed, e.g. offsets past CDF-1's 32-bit limit or a non-text history.
bool rewrite_classic_header(const ClassicHeader& h, const std::string& history, std::uint64_t shift,
                            std::vector<unsigned char>& out);

// True when the file starts with the classic magic "CDF\x01|\x02|\x05".
bool is_classic_file(const std::string& path);

// Parses the header; throws elmai::Error(Format) on a malformed or truncated header.
ClassicLayout read_classic_layout(const std::string& path);

}  // namespace elmai
