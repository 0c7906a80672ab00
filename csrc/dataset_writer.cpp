#include "elmai/dataset_writer.hpp"

#include <map>

#include "elmai/netcdf_util.hpp"
#include "elmai/temp_file.hpp"

namespace elmai {
namespace {

int create_mode(const std::string& format, const std::string& path) {
  if (format == "NETCDF3_CLASSIC") return NC_CLOBBER;
  if (format == "NETCDF3_64BIT_OFFSET") return NC_CLOBBER | NC_64BIT_OFFSET;
  if (format == "NETCDF3_64BIT_DATA") return NC_CLOBBER | NC_64BIT_DATA;
  if (format == "NETCDF4") return NC_CLOBBER | NC_NETCDF4;
  if (format == "NETCDF4_CLASSIC") return NC_CLOBBER | NC_NETCDF4 | NC_CLASSIC_MODEL;
  throw Error(ErrorKind::Argument, "cannot write '" + path + "': unknown format '" + format + "'");
}

void put_attrs(int ncid, int varid, const std::vector<NewAttribute>& attrs, const std::string& path,
               const std::string& var) {
  for (const auto& a : attrs)
    nc::check(nc_put_att(ncid, varid, a.name.c_str(), a.type, a.length, a.data), path, "writing attribute " + a.name,
              var);
}

}  // namespace

void create_file(const std::string& path, const std::string& format, const std::vector<NewDimension>& dims,
                 const std::vector<NewAttribute>& global_attrs, const std::vector<NewVariable>& vars,
                 std::size_t header_pad) {
  const int cmode = create_mode(format, path);
  std::map<std::string, const NewDimension*> by_name;
  for (const auto& d : dims) {
    if (d.length == 0 && !d.unlimited)  // netcdf-c would read length 0 as NC_UNLIMITED
      throw Error(ErrorKind::Shape, "dimension '" + d.name + "' for '" + path + "' has length 0");
    by_name[d.name] = &d;
  }
  for (const auto& v : vars) {
    if (v.dims.size() != v.shape.size())
      throw Error(ErrorKind::Shape, "variable '" + v.name + "' for '" + path + "' has " +
                                        std::to_string(v.dims.size()) + " dimensions but data of rank " +
                                        std::to_string(v.shape.size()));
    for (std::size_t k = 0; k < v.dims.size(); ++k) {
      auto it = by_name.find(v.dims[k]);
      if (it == by_name.end())
        throw Error(ErrorKind::Variable, "variable '" + v.name + "' for '" + path + "' uses undefined dimension '" +
                                             v.dims[k] + "'");
      if (!it->second->unlimited && it->second->length != v.shape[k])
        throw Error(ErrorKind::Shape, "variable '" + v.name + "' for '" + path + "': dimension '" + v.dims[k] +
                                          "' has length " + std::to_string(it->second->length) +
                                          " but the data has " + std::to_string(v.shape[k]));
    }
  }

  TempFile tmp(path, /*allow_anonymous=*/!(cmode & NC_NETCDF4));  // HDF5 cannot use /proc/self/fd paths
  int ncid = -1;
  std::unique_lock<std::recursive_mutex> guard = nc::lock();
  nc::check(nc_create(tmp.path().c_str(), cmode, &ncid), tmp.path(), "creating");
  nc::Handle h(ncid, tmp.path());
  int old_fill;
  nc::check(nc_set_fill(ncid, NC_NOFILL, &old_fill), tmp.path(), "setting no-fill mode");
  std::map<std::string, int> dimid;
  for (const auto& d : dims)
    nc::check(nc_def_dim(ncid, d.name.c_str(), d.unlimited ? NC_UNLIMITED : d.length, &dimid[d.name]), tmp.path(),
              "defining dimension " + d.name);
  put_attrs(ncid, NC_GLOBAL, global_attrs, tmp.path(), "");
  std::vector<int> varids;
  for (const auto& v : vars) {
    std::vector<int> ids;
    for (const auto& d : v.dims) ids.push_back(dimid.at(d));
    int varid;
    nc::check(nc_def_var(ncid, v.name.c_str(), v.type, static_cast<int>(ids.size()), ids.data(), &varid),
              tmp.path(), "defining", v.name);
    put_attrs(ncid, varid, v.attrs, tmp.path(), v.name);
    varids.push_back(varid);
  }
  nc::check(nc__enddef(ncid, header_pad, 4, 0, 4), tmp.path(), "finishing the header");
  for (std::size_t i = 0; i < vars.size(); ++i) {
    const auto& v = vars[i];
    std::vector<std::size_t> start(v.shape.size(), 0);
    std::size_t n = 1;
    for (auto s : v.shape) n *= s;
    if (n == 0) continue;
    nc::check(nc_put_vara(ncid, varids[i], start.data(), v.shape.data(), v.data), tmp.path(), "writing", v.name);
  }
  h.close();
  guard.unlock();
  tmp.commit(path, 0644);
}

}  // namespace elmai
