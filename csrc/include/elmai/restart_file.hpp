// Read access to an ELM restart (or any flat NetCDF file): metadata on open,
// variable data only when asked.
#pragma once

#include <netcdf.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "elmai/netcdf_util.hpp"

namespace elmai {

struct Dimension {
  std::string name;
  std::size_t length = 0;
  bool unlimited = false;
};

struct VariableInfo {
  std::string name;
  int varid = -1;
  nc_type type = NC_NAT;
  std::vector<std::string> dims;
  std::vector<std::size_t> shape;
  std::size_t count() const;  // number of elements
};

// A raw attribute value: bytes of `length` elements of `type` (text for NC_CHAR).
struct Attribute {
  std::string name;
  nc_type type = NC_NAT;
  std::size_t length = 0;
  std::vector<unsigned char> bytes;
};

enum class FileFormat { Classic, Offset64, Cdf5, Netcdf4, Netcdf4Classic };
std::string format_name(FileFormat f);

class RestartFile {
 public:
  explicit RestartFile(const std::string& path);

  const std::string& path() const { return handle_.path(); }
  FileFormat format() const { return format_; }
  const std::vector<Dimension>& dims() const { return dims_; }
  const std::vector<VariableInfo>& variables() const { return vars_; }
  bool has_variable(const std::string& name) const { return index_.count(name) > 0; }
  const VariableInfo& info(const std::string& name) const;  // throws Variable

  // Reads the whole variable into `out`, which must hold info(name).count() elements
  // of the stored type. Values are returned exactly as stored (fill values included).
  void read(const std::string& name, void* out, std::size_t out_bytes) const;

  std::vector<Attribute> attributes(const std::string& var) const;  // "" = global
  // Same as read() but converted to double by netcdf-c (for the C ABI / Fortran).
  void read_as_double(const std::string& name, double* out, std::size_t n) const;

  // Rows [row0, row0 + nrows) along the first dimension, converted to double; `out` holds
  // nrows * (elements per row) values. Lets callers stream big variables in cache-sized blocks.
  void read_rows_as_double(const std::string& name, std::size_t row0, std::size_t nrows, double* out) const;

  int ncid() const { return handle_.id(); }
  void close() { handle_.close(); }
  bool is_open() const { return handle_.is_open(); }

 private:
  void require_open() const;
  nc::Handle handle_;
  FileFormat format_ = FileFormat::Classic;
  std::vector<Dimension> dims_;
  std::vector<VariableInfo> vars_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace elmai
