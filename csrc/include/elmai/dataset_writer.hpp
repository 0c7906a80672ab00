// Creates a new flat NetCDF file in one pass: every dimension, variable and attribute
// is defined first, define mode is left once (classic formats re-lay the header on
// every redefine), fill is off, then the data is written. Temp file + rename.
#pragma once

#include <netcdf.h>

#include <string>
#include <vector>

namespace elmai {

struct NewAttribute {
  std::string name;
  nc_type type = NC_CHAR;
  std::size_t length = 0;
  const void* data = nullptr;
};

struct NewVariable {
  std::string name;
  nc_type type = NC_DOUBLE;
  std::vector<std::string> dims;
  std::vector<std::size_t> shape;  // must agree with dims (record dim: number of records)
  const void* data = nullptr;
  std::vector<NewAttribute> attrs;
};

struct NewDimension {
  std::string name;
  std::size_t length = 0;
  bool unlimited = false;
};

// format: NETCDF3_CLASSIC, NETCDF3_64BIT_OFFSET, NETCDF3_64BIT_DATA, NETCDF4, NETCDF4_CLASSIC.
// header_pad: free bytes reserved after a classic header (room for later attribute edits
// without moving the data, as PIO/PnetCDF files often have).
void create_file(const std::string& path, const std::string& format, const std::vector<NewDimension>& dims,
                 const std::vector<NewAttribute>& global_attrs, const std::vector<NewVariable>& vars,
                 std::size_t header_pad = 0);

}  // namespace elmai
