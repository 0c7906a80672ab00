// Thin helpers over the netcdf-c API: status checks that throw elmai::Error with
// file/variable context, an RAII handle, and type facts.
#pragma once

#include <netcdf.h>

#include <cstddef>
#include <mutex>
#include <string>

#include "elmai/error.hpp"

namespace elmai::nc {

// netcdf-c (and the HDF5 under it) is not thread-safe: every nc_* call in the process
// must run under this one lock (xarray does the same with its global HDF5 lock). It is
// recursive so a helper that locks may call another that locks too. Hold it for a
// whole sequence of calls on one ncid, never across a long byte copy that needs no
// netcdf-c. Python callers release the GIL around reads and writes, so several Python
// threads really do reach netcdf-c at once.
std::recursive_mutex& mutex();
inline std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock<std::recursive_mutex>(mutex()); }

// Throws elmai::Error when status != NC_NOERR. `what` describes the operation.
void check(int status, const std::string& path, const std::string& what,
           const std::string& var = "");

// Size in bytes of one element of a netCDF atomic type; throws for user types.
std::size_t type_size(nc_type type);

// numpy-style dtype string ("<f8", "<i4", "|S1", ...) for a netCDF atomic type.
std::string dtype_of(nc_type type);

// Inverse of dtype_of; throws Dtype when there is no netCDF equivalent.
nc_type type_of_dtype(const std::string& dtype);

// Owns an open ncid; closes it on destruction (errors on close are ignored there:
// explicit close() reports them).
class Handle {
 public:
  Handle() = default;
  Handle(int ncid, std::string path) : ncid_(ncid), path_(std::move(path)) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept { *this = std::move(o); }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle();

  int id() const { return ncid_; }
  bool is_open() const { return ncid_ >= 0; }
  const std::string& path() const { return path_; }
  void close();

 private:
  int ncid_ = -1;
  std::string path_;
};

// Opens an existing file read-only, with a message that tells a missing file from a
// non-NetCDF or truncated one.
Handle open_readonly(const std::string& path);

}  // namespace elmai::nc
