#include "elmai/build_info.hpp"

#include <netcdf.h>
#include <torch/version.h>

namespace elmai {

std::map<std::string, std::string> build_info() {
  return {
      {"elmai", kVersion},
      {"netcdf", nc_inq_libvers()},
      {"torch", TORCH_VERSION},
      {"cxx11_abi", std::to_string(_GLIBCXX_USE_CXX11_ABI)},
      {"compiler", __VERSION__},
  };
}

}  // namespace elmai
