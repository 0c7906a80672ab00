// C ABI. No C++ exception may cross this boundary: each entry point runs its body
// through guarded(), which turns exceptions into status codes and a message.
#include "elmai.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "elmai/build_info.hpp"
#include "elmai/restart_file.hpp"

struct elmai_restart {
  elmai::RestartFile file;
};

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& body) {
  last_error.clear();
  try {
    body();
    return ELMAI_OK;
  } catch (const elmai::Error& e) {
    last_error = e.what();
    return static_cast<int>(e.kind());
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown error";
  }
  return ELMAI_ERR_INTERNAL;
}

void require(bool ok, const char* what) {
  if (!ok) throw elmai::Error(elmai::ErrorKind::Argument, what);
}

}  // namespace

extern "C" {

const char* elmai_last_error(void) { return last_error.c_str(); }

const char* elmai_version(void) { return elmai::kVersion; }

int elmai_restart_open(const char* path, elmai_restart** out) {
  return guarded([&] {
    require(path && out, "elmai_restart_open: null argument");
    *out = nullptr;
    *out = new elmai_restart{elmai::RestartFile(path)};
  });
}

int elmai_restart_close(elmai_restart* file) {
  return guarded([&] {
    if (!file) return;
    std::unique_ptr<elmai_restart> owned(file);
    owned->file.close();
  });
}

int elmai_restart_var_shape(elmai_restart* file, const char* name, int* ndims, int64_t* shape, int maxdims) {
  return guarded([&] {
    require(file && name && ndims, "elmai_restart_var_shape: null argument");
    const auto& v = file->file.info(name);
    *ndims = static_cast<int>(v.shape.size());
    if (*ndims > maxdims)
      throw elmai::Error(elmai::ErrorKind::Shape, std::string("'") + name + "' has " + std::to_string(*ndims) +
                                                      " dimensions, more than the " + std::to_string(maxdims) +
                                                      " the caller allows");
    for (int k = 0; k < *ndims; ++k) shape[k] = static_cast<int64_t>(v.shape[k]);
  });
}

int elmai_restart_read_double(elmai_restart* file, const char* name, double* out, int ndims,
                              const int64_t* shape) {
  return guarded([&] {
    require(file && name && ndims >= 0 && (shape || ndims == 0), "elmai_restart_read_double: invalid argument");
    const auto& v = file->file.info(name);
    std::vector<std::size_t> given(shape, shape + ndims);
    if (given != v.shape) {
      auto text = [](const std::vector<std::size_t>& s) {
        std::string t = "(";
        for (std::size_t k = 0; k < s.size(); ++k) t += (k ? ", " : "") + std::to_string(s[k]);
        return t + ")";
      };
      throw elmai::Error(elmai::ErrorKind::Shape, "array for '" + v.name + "' in '" + file->file.path() +
                                                      "' has C-order shape " + text(given) + ", the variable is " +
                                                      text(v.shape));
    }
    require(out || v.count() == 0, "elmai_restart_read_double: null output array");
    file->file.read_as_double(name, out, v.count());
  });
}

}  // extern "C"
