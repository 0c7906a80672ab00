// What the core was built with: lets Python verify it runs against the same torch
// it was compiled with (an ABI mismatch would otherwise crash at first use).
#pragma once

#include <map>
#include <string>

namespace elmai {

inline constexpr const char* kVersion = "0.1.0";

std::map<std::string, std::string> build_info();

}  // namespace elmai
