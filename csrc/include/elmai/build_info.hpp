// What the core was built with: lets Python verify it runs against the same torch
// it was compiled with (an ABI mismatch would otherwise crash at first use).
#pragma once

#include <map>
#include <string>

namespace elmai {

// The package version, from pyproject.toml through CMake (ELMAI_VERSION_STRING): one source.
const char* version();

std::map<std::string, std::string> build_info();

}  // namespace elmai
