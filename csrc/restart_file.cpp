#include "elmai/restart_file.hpp"

#include <sys/stat.h>

#include "elmai/classic_layout.hpp"

namespace elmai {

std::size_t VariableInfo::count() const {
  std::size_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string format_name(FileFormat f) {
  switch (f) {
    case FileFormat::Classic: return "NETCDF3_CLASSIC";
    case FileFormat::Offset64: return "NETCDF3_64BIT_OFFSET";
    case FileFormat::Cdf5: return "NETCDF3_64BIT_DATA";
    case FileFormat::Netcdf4: return "NETCDF4";
    case FileFormat::Netcdf4Classic: return "NETCDF4_CLASSIC";
  }
  return "unknown";
}

namespace {

// NetCDF names are UTF-8 (the format specification); a damaged header can hold anything
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

void require_name(const std::string& name, const std::string& path, const char* what, int id) {
  if (name.empty() || !valid_utf8(name))
    throw Error(ErrorKind::Format, "'" + path + "': " + what + " " + std::to_string(id) +
                                       " has a name that is not UTF-8 text (a damaged header)");
}

}  // namespace

RestartFile::RestartFile(const std::string& path) : handle_(nc::open_readonly(path)) {
  const auto guard = nc::lock();
  const int id = handle_.id();
  int fmt = 0;
  nc::check(nc_inq_format(id, &fmt), path, "inquiring format");
  switch (fmt) {
    case NC_FORMAT_CLASSIC: format_ = FileFormat::Classic; break;
    case NC_FORMAT_64BIT_OFFSET: format_ = FileFormat::Offset64; break;
    case NC_FORMAT_CDF5: format_ = FileFormat::Cdf5; break;
    case NC_FORMAT_NETCDF4: format_ = FileFormat::Netcdf4; break;
    case NC_FORMAT_NETCDF4_CLASSIC: format_ = FileFormat::Netcdf4Classic; break;
    default: throw Error(ErrorKind::Format, "'" + path + "': unsupported NetCDF format " + std::to_string(fmt));
  }
  // classic files: header and size were checked by open_readonly before netcdf-c saw them

  int ndims = 0, nvars = 0, unlim = -1;
  nc::check(nc_inq(id, &ndims, &nvars, nullptr, &unlim), path, "inquiring file");
  std::vector<int> dimids(ndims);
  nc::check(nc_inq_dimids(id, &ndims, dimids.data(), 0), path, "listing dimensions");
  std::map<int, std::size_t> dim_pos;
  for (int d : dimids) {
    char name[NC_MAX_NAME + 1];
    std::size_t len = 0;
    nc::check(nc_inq_dim(id, d, name, &len), path, "inquiring dimension");
    require_name(name, path, "dimension", d);
    dim_pos[d] = dims_.size();
    dims_.push_back({name, len, d == unlim});
  }
  vars_.reserve(nvars);
  for (int v = 0; v < nvars; ++v) {
    char name[NC_MAX_NAME + 1];
    int nd = 0;
    nc_type type;
    int vdims[NC_MAX_VAR_DIMS];
    nc::check(nc_inq_var(id, v, name, &type, &nd, vdims, nullptr), path, "inquiring variable");
    require_name(name, path, "variable", v);
    VariableInfo info;
    info.name = name;
    info.varid = v;
    info.type = type;
    for (int k = 0; k < nd; ++k) {
      const auto found = dim_pos.find(vdims[k]);
      if (found == dim_pos.end())
        throw Error(ErrorKind::Format, "'" + path + "': variable '" + info.name + "' names dimension id " +
                                           std::to_string(vdims[k]) + ", which the file does not define");
      const Dimension& dim = dims_.at(found->second);
      info.dims.push_back(dim.name);
      info.shape.push_back(dim.length);
    }
    index_[info.name] = vars_.size();
    vars_.push_back(std::move(info));
  }
}

void RestartFile::require_open() const {
  if (!handle_.is_open()) throw Error(ErrorKind::Argument, "'" + path() + "' is closed");
}

const VariableInfo& RestartFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw Error(ErrorKind::Variable, "'" + path() + "' has no variable '" + name + "'");
  return vars_[it->second];
}

void RestartFile::read(const std::string& name, void* out, std::size_t out_bytes) const {
  const auto guard = nc::lock();  // also keeps close() on another thread out
  require_open();
  const VariableInfo& v = info(name);
  const std::size_t need = v.count() * nc::type_size(v.type);
  if (out_bytes != need)
    throw Error(ErrorKind::Shape, "buffer for '" + name + "' in '" + path() + "' holds " +
                                      std::to_string(out_bytes) + " bytes, need " + std::to_string(need));
  if (need == 0) return;
  nc::check(nc_get_var(handle_.id(), v.varid, out), path(), "reading", name);
}

void RestartFile::read_as_double(const std::string& name, double* out, std::size_t n) const {
  const auto guard = nc::lock();  // also keeps close() on another thread out
  require_open();
  const VariableInfo& v = info(name);
  if (n != v.count())
    throw Error(ErrorKind::Shape, "array for '" + name + "' in '" + path() + "' holds " + std::to_string(n) +
                                      " values, the variable has " + std::to_string(v.count()));
  if (v.type == NC_CHAR) throw Error(ErrorKind::Dtype, "'" + name + "' in '" + path() + "' is text, not numeric");
  if (n) nc::check(nc_get_var_double(handle_.id(), v.varid, out), path(), "reading", name);
}

void RestartFile::read_rows_as_double(const std::string& name, std::size_t row0, std::size_t nrows, double* out) const {
  const auto guard = nc::lock();  // also keeps close() on another thread out
  require_open();
  const VariableInfo& v = info(name);
  if (v.type == NC_CHAR) throw Error(ErrorKind::Dtype, "'" + name + "' in '" + path() + "' is text, not numeric");
  if (v.shape.empty()) {
    if (row0 != 0 || nrows != 1) throw Error(ErrorKind::Shape, "'" + name + "' is a scalar: read row 0 only");
    nc::check(nc_get_var_double(handle_.id(), v.varid, out), path(), "reading", name);
    return;
  }
  if (row0 + nrows > v.shape[0])
    throw Error(ErrorKind::Shape, "rows " + std::to_string(row0) + ".." + std::to_string(row0 + nrows) + " of '" +
                                      name + "' in '" + path() + "' exceed its " + std::to_string(v.shape[0]) + " rows");
  if (nrows == 0) return;
  std::vector<std::size_t> start(v.shape.size(), 0), count = v.shape;
  start[0] = row0;
  count[0] = nrows;
  nc::check(nc_get_vara_double(handle_.id(), v.varid, start.data(), count.data(), out), path(), "reading", name);
}

std::vector<Attribute> RestartFile::attributes(const std::string& var) const {
  const auto guard = nc::lock();  // also keeps close() on another thread out
  require_open();
  const int id = handle_.id();
  const int varid = var.empty() ? NC_GLOBAL : info(var).varid;
  int natts = 0;
  nc::check(nc_inq_varnatts(id, varid, &natts), path(), "counting attributes", var);
  std::vector<Attribute> out(natts);
  for (int a = 0; a < natts; ++a) {
    char name[NC_MAX_NAME + 1];
    nc::check(nc_inq_attname(id, varid, a, name), path(), "reading attribute name", var);
    Attribute& at = out[a];
    at.name = name;
    nc::check(nc_inq_att(id, varid, name, &at.type, &at.length), path(), "inquiring attribute " + at.name, var);
    if (at.type == NC_STRING) {  // NETCDF4 string attribute: flatten to text
      std::vector<char*> strs(at.length);
      nc::check(nc_get_att_string(id, varid, name, strs.data()), path(), "reading attribute " + at.name, var);
      std::string joined;
      for (auto* s : strs) joined += s ? s : "";
      nc_free_string(at.length, strs.data());
      at.type = NC_CHAR;
      at.length = joined.size();
      at.bytes.assign(joined.begin(), joined.end());
      continue;
    }
    at.bytes.resize(at.length * nc::type_size(at.type));
    if (at.length) nc::check(nc_get_att(id, varid, name, at.bytes.data()), path(), "reading attribute " + at.name, var);
  }
  return out;
}

}  // namespace elmai
