#include "elmai/netcdf_util.hpp"

#include "elmai/classic_layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace elmai::nc {

namespace {

bool is_hdf5_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char m[8] = {0};
  const bool hdf5 = ::pread(fd, m, 8, 0) == 8 && std::memcmp(m, "\x89HDF\r\n\x1a\n", 8) == 0;
  ::close(fd);
  return hdf5;
}

// Inside an MPI job (ELM's ranks) a fork is unsafe for the MPI library: no probe there.
bool may_fork() {
  for (const char* v : {"ELMAI_NO_OPEN_PROBE", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMIX_RANK", "MPI_LOCALRANKID"})
    if (std::getenv(v) != nullptr) return false;
  return true;
}

// HDF5 (Debian's 1.10) can crash on a damaged file: the restart fuzzer found a double free
// in its link table (H5G__link_release_table) on a NetCDF-4 file with flipped bytes. So a
// NetCDF-4 file's header is first read in a forked child; a child killed by a signal means
// a damaged file, reported as an error instead of taking the host process down.
// Returns netcdf-c's status of the child's open (NC_NOERR also when no child could be made):
// a file the child could not open is never opened again in this process.
int probe_hdf5_header(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid < 0) return NC_NOERR;  // no child: open in this process as before
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 2);  // HDF5's own complaints are the parent's to tell
    int id = -1;
    const int opened = nc_open(path.c_str(), NC_NOWRITE, &id);
    if (opened == NC_NOERR) {
      int nvars = 0;
      nc_inq_nvars(id, &nvars);
      for (int v = 0; v < nvars; ++v) {
        char name[NC_MAX_NAME + 1];
        int nd = 0, natts = 0;
        nc_type type;
        int dims[NC_MAX_VAR_DIMS];
        nc_inq_var(id, v, name, &type, &nd, dims, &natts);
      }
      nc_close(id);
    }
    ::_exit(opened == NC_NOERR ? 0 : (-opened) & 0xff);  // netcdf-c's errors are small negatives
  }
  // HDF5 can also loop forever on a damaged file (seen in the fuzzer; netCDF4-python hangs
  // on it too): a header that takes longer than the limit is a damaged file
  const char* limit_env = std::getenv("ELMAI_OPEN_PROBE_SECONDS");
  const double limit = limit_env ? std::atof(limit_env) : 20.0;
  int status = 0;
  for (double waited = 0.0;; waited += 0.005) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return NC_NOERR;
    if (waited > limit) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      throw Error(ErrorKind::Format, "'" + path + "' is a damaged NetCDF-4 file: the HDF5 library did not finish " +
                                         "reading its header in " + std::to_string(static_cast<int>(limit)) + " s");
    }
    ::usleep(5000);
  }
  if (WIFSIGNALED(status))
    throw Error(ErrorKind::Format, "'" + path + "' is a damaged NetCDF-4 file: the HDF5 library crashed reading " +
                                       "its header (signal " + std::to_string(WTERMSIG(status)) + ")");
  return WIFEXITED(status) && WEXITSTATUS(status) != 0 ? -WEXITSTATUS(status) : NC_NOERR;
}

}  // namespace

std::recursive_mutex& mutex() {
  static std::recursive_mutex m;  // never destroyed before static Handles close: function-local
  return m;
}

void check(int status, const std::string& path, const std::string& what, const std::string& var) {
  if (status == NC_NOERR) return;
  std::string msg = what + " failed for '" + path + "'";
  if (!var.empty()) msg += ", variable '" + var + "'";
  msg += ": ";
  msg += nc_strerror(status);  // a static table: no lock needed
  ErrorKind kind = ErrorKind::Format;
  switch (status) {
    case NC_ENOTVAR:
    case NC_ENOTATT:
    case NC_EBADDIM:
      kind = ErrorKind::Variable;
      break;
    case NC_EPERM:
    case NC_EEXIST:
      kind = ErrorKind::File;
      break;
    case NC_ERANGE:
      kind = ErrorKind::Value;
      break;
    default:
      if (status > 0) kind = ErrorKind::File;  // positive statuses are errno values
  }
  throw Error(kind, msg);
}

std::size_t type_size(nc_type type) {
  switch (type) {
    case NC_BYTE: case NC_CHAR: case NC_UBYTE: return 1;
    case NC_SHORT: case NC_USHORT: return 2;
    case NC_INT: case NC_UINT: case NC_FLOAT: return 4;
    case NC_DOUBLE: case NC_INT64: case NC_UINT64: return 8;
    default:
      throw Error(ErrorKind::Dtype, "unsupported netCDF type " + std::to_string(type) +
                                        " (only atomic types are supported)");
  }
}

std::string dtype_of(nc_type type) {
  switch (type) {
    case NC_BYTE: return "|i1";
    case NC_CHAR: return "|S1";
    case NC_UBYTE: return "|u1";
    case NC_SHORT: return "<i2";
    case NC_USHORT: return "<u2";
    case NC_INT: return "<i4";
    case NC_UINT: return "<u4";
    case NC_FLOAT: return "<f4";
    case NC_DOUBLE: return "<f8";
    case NC_INT64: return "<i8";
    case NC_UINT64: return "<u8";
    default:
      throw Error(ErrorKind::Dtype, "unsupported netCDF type " + std::to_string(type));
  }
}

nc_type type_of_dtype(const std::string& dtype) {
  static const nc_type all[] = {NC_BYTE, NC_CHAR, NC_UBYTE, NC_SHORT, NC_USHORT, NC_INT,
                                NC_UINT, NC_FLOAT, NC_DOUBLE, NC_INT64, NC_UINT64};
  for (nc_type t : all)
    if (dtype_of(t) == dtype) return t;
  throw Error(ErrorKind::Dtype, "dtype " + dtype + " has no netCDF equivalent");
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    if (ncid_ >= 0) {
      const auto guard = lock();
      nc_close(ncid_);
    }
    ncid_ = o.ncid_;
    path_ = std::move(o.path_);
    o.ncid_ = -1;
  }
  return *this;
}

Handle::~Handle() {
  if (ncid_ >= 0) {
    const auto guard = lock();
    nc_close(ncid_);
  }
}

void Handle::close() {
  const auto guard = lock();  // before touching ncid_: a read on another thread holds it
  if (ncid_ < 0) return;
  int id = ncid_;
  ncid_ = -1;
  check(nc_close(id), path_, "closing");
}

Handle open_readonly(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ErrorKind::File, "cannot open '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorKind::File, "cannot open '" + path + "': not a regular file");
  if (is_classic_file(path)) {
    // elmai's own header parse first, bounded by the file's size: netcdf-c trusts the
    // header's counts and allocates what a corrupted one claims (gigabytes, then the OOM
    // killer); and it reads past the end of a truncated file as zeros
    const auto need = read_classic_layout(path).required_size();
    if (static_cast<std::uint64_t>(st.st_size) < need)
      throw Error(ErrorKind::Format, "'" + path + "' is truncated: the header describes " +
                                         std::to_string(need) + " bytes of data but the file has " +
                                         std::to_string(st.st_size));
  }
  int ncid = -1;
  const auto guard = lock();  // held across the fork: no other thread is inside netcdf-c/HDF5
  int status = NC_NOERR;
  if (is_hdf5_file(path) && may_fork()) status = probe_hdf5_header(path);
  if (status == NC_NOERR) status = nc_open(path.c_str(), NC_NOWRITE, &ncid);
  if (status == NC_ENOTNC || status == NC_EHDFERR || status == NC_EINVAL || status == NC_ENOMEM ||
      status == NC_EVARSIZE || status == NC_ENOTBUILT)
    throw Error(ErrorKind::Format, "'" + path + "' is not a readable NetCDF file (" +
                                       nc_strerror(status) + "); is it truncated or another format?");
  check(status, path, "opening");
  return Handle(ncid, path);
}

}  // namespace elmai::nc
