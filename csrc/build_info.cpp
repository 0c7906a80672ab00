#include "elmai/build_info.hpp"

#include <netcdf.h>

#include "elmai/netcdf_util.hpp"
#include <torch/version.h>

#ifndef ELMAI_VERSION_STRING
#error "ELMAI_VERSION_STRING must be defined by the build (CMakeLists.txt reads pyproject.toml)"
#endif

namespace elmai {

const char* version() { return ELMAI_VERSION_STRING; }

std::map<std::string, std::string> build_info() {
  const auto guard = nc::lock();
  return {
      {"elmai", version()},
      {"netcdf", nc_inq_libvers()},
      {"torch", TORCH_VERSION},
      {"cxx11_abi", std::to_string(_GLIBCXX_USE_CXX11_ABI)},
      {"compiler", __VERSION__},
  };
}

}  // namespace elmai
